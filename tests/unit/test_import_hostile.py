"""Hostile files, generated: every one is refused naming its line, or has every line accounted for."""

from __future__ import annotations

import codecs
import re
import tempfile
from pathlib import Path

from hypothesis import event, given, settings
from hypothesis import strategies as st

from aidflow.domain.errors import InvalidInput
from aidflow.imports.table import read_table
from aidflow.office.screening import ADMISSION_COLUMNS
from tests.properties import examples

ID = "520302200703280019"
HOSTILE = [
    '"', '""', ",", "\r", "\n", "\r\n", "\t", "\ufeff", "\u200b", "\u202e", "\u3000",
    "５", "٥", "X", "ｘ", "5.20302E+17", "王芳", "贵州大学", "𠀀", "\x85", "\u2028", " ",
]  # fmt: skip
field = st.one_of(
    st.sampled_from([ID, "Wang Fang", "王芳", "贵州大学", "6222020217959811144", ""]),
    st.just("".join(chr(ord(c) + 0xFEE0) for c in ID)),  # the same ID in full-width digits
    st.lists(st.sampled_from(HOSTILE), max_size=6).map("".join),
    st.text(st.characters(exclude_characters="\x00"), max_size=12),
    st.integers(1_000, 100_000).map(lambda n: "ab1 " * n),  # a huge field
)
HEADERS = ["national_id,name,university,account", "身份证号码,姓名,录取院校,银行卡号", "a,b"]


def quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


@st.composite
def hostile_files(draw: st.DrawFn) -> bytes:
    width = st.one_of(st.just(4), st.integers(2, 6))
    rows = draw(
        st.lists(width.flatmap(lambda n: st.lists(field, min_size=n, max_size=n)), max_size=12)
    )
    quoting = draw(st.sampled_from(["none", "minimal", "all"]))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))

    def line(fields: list[str]) -> str:
        if quoting == "all":
            return ",".join(quote(f) for f in fields)
        if quoting == "minimal":
            return ",".join(quote(f) if re.search('[",\r\n]', f) else f for f in fields)
        return ",".join(fields)

    header = draw(st.sampled_from(HEADERS[:2]) | st.sampled_from(HEADERS))
    text = ending.join([header, *map(line, rows)])
    if draw(st.booleans()):
        text += ending
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.integers(0, 3)) == 0:  # corrupt: insert raw bytes (a NUL, say) somewhere
        at = draw(st.integers(0, len(data)))
        noise = st.sampled_from([b"\x00", b"\xff", b"PK\x03\x04"]) | st.binary(
            min_size=1, max_size=4
        )
        data = data[:at] + draw(noise) + data[at:]
    if encoding == "utf-8" and draw(st.booleans()):
        data = codecs.BOM_UTF8 + data
    return data


def physical_lines(data: str) -> list[str]:
    lines = re.split(r"\r\n|\r|\n", data)
    return lines[:-1] if lines and lines[-1] == "" else lines


@settings(max_examples=examples(400))
@given(hostile_files())
def test_a_hostile_file_is_refused_with_its_line_or_fully_accounted_for(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "admissions.csv"
        path.write_bytes(data)
        try:
            table = read_table(path, ADMISSION_COLUMNS)
        except InvalidInput as refused:
            message = str(refused)
            event("refused: " + re.sub(r"line \d+.*?: |\(.*", "", message)[:60])
            assert message.startswith("admissions.csv: ") or message.startswith(
                "admissions.csv line "
            )
            assert "line" in message or "empty" in message or "workbook" in message
            assert "\n" not in message
            return
    event(f"read, {len(table.records)} record(s), {len(table.rejected)} rejected")
    assert "\x00" not in "".join(v for r in table.records for v in r.values.values())
    text = _decoded(data, table.format)
    lines = physical_lines(text)
    assert table.header_line + table.blank_lines + table.data_lines == len(lines)
    for number, line in enumerate(lines, start=1):  # a skipped line looks blank
        if number > table.header_line and number not in _accounted(table):
            assert re.fullmatch('[ \u3000,"]*', line), (number, line)


def _accounted(table: object) -> set[int]:
    assert hasattr(table, "records") and hasattr(table, "rejected")
    return {r.line for r in table.records} | {p.line for p in table.rejected}


def _decoded(data: bytes, described: str) -> str:
    codec = {"CSV, UTF-8": "utf-8-sig", "CSV, GBK/GB18030": "gb18030", "CSV, UTF-16": "utf-16"}
    return data.decode(codec[described]).removeprefix("\ufeff")
