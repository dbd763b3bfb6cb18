"""Exports Excel can use (issue 24 §3): amounts as numbers in yuan with a number format,
dates as dates, counts as integers, a totals row where the amounts add up, a frozen
header and columns as wide as their text; CSV keeps long digit strings whole; a private
file is its owner's alone from its first byte; a cell never runs as a formula."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped, unused-ignore]

from aidflow.i18n import using
from aidflow.render import Money, table, times_in
from aidflow.sheets import write_table


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Headers are in the reader's language: English here, whatever an earlier test chose."""
    with using("en"):
        yield


HEADER = ("case", "date", "count", "yuan", "account")
ROWS = [
    ("c1", date(2026, 8, 29), 3, Money(150_000), "6222020200112233445"),
    ("c2", date(2026, 9, 1), 1, Money(-1), '=HYPERLINK("x")'),
]


def _csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as src:
        return list(csv.reader(src))


def test_a_csv_keeps_kinds_excel_reads_and_long_digits_whole(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    write_table(path, HEADER, ROWS, totals=True)
    assert _csv(path) == [
        list(HEADER),
        ["c1", "2026-08-29", "3", "1500.00", '="6222020200112233445"'],
        ["c2", "2026-09-01", "1", "-0.01", '\'=HYPERLINK("x")'],
        ["total", "", "", "1499.99", ""],
    ]


def test_a_workbook_has_numbers_dates_totals_a_frozen_header_and_widths(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    with using("zh"):
        write_table(path, HEADER, ROWS, totals=True)
    sheet = load_workbook(path).active
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].value == "案件"
    c1 = [c for c in sheet[2]]
    assert (c1[1].value, c1[1].number_format) == (datetime(2026, 8, 29), "yyyy-mm-dd")
    assert (c1[2].value, c1[3].value, c1[3].number_format) == (3, 1500.0, "#,##0.00")
    assert (c1[4].value, c1[4].number_format) == ("6222020200112233445", "@")
    assert [c.value for c in sheet[4]] == ["合计", None, None, 1499.99, None]
    assert sheet.column_dimensions["E"].width == len("6222020200112233445") + 2


def test_no_totals_row_unless_asked_and_none_without_amounts(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    write_table(path, HEADER, ROWS)
    assert len(_csv(path)) == 3
    write_table(path, ("case",), [("c1",)], totals=True)
    assert _csv(path) == [["case"], ["c1"]]


def test_a_moment_is_written_on_the_offices_clock_without_a_zone(tmp_path: Path) -> None:
    """Excel has no zones: a face writes the office's wall-clock time (issue 23 §7); a library
    caller that set no clock gets UTC."""
    path = tmp_path / "t.xlsx"
    moment = datetime(2026, 8, 29, 23, 30, tzinfo=UTC)
    write_table(path, ("date",), [(moment,)])
    cell = load_workbook(path).active["A2"]
    assert (cell.value, cell.number_format) == (datetime(2026, 8, 29, 23, 30), "yyyy-mm-dd hh:mm")
    with times_in("Asia/Shanghai"):
        write_table(path, ("date",), [(moment,)])
    assert load_workbook(path).active["A2"].value == datetime(2026, 8, 30, 7, 30)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_private_file_is_its_owners_alone_even_when_it_existed(
    tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"list{suffix}"
    path.write_text("old")
    path.chmod(0o644)
    write_table(path, HEADER, ROWS, private=True)
    assert os.stat(path).st_mode & 0o777 == 0o600
    other = tmp_path / f"other{suffix}"
    write_table(other, HEADER, ROWS)
    assert os.stat(other).st_mode & 0o077 != 0  # an ordinary export keeps the umask's rights


def test_an_amount_reads_in_yuan_in_a_text_table() -> None:
    assert str(Money(150_000)) == "1,500.00" and int(Money(150_000)) == 150_000
    assert "1,500.00" in table([("c1", Money(150_000))], ("case", "yuan"))
