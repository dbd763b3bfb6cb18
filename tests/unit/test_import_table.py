"""The list reader: a malformed file is refused whole, naming its line; otherwise every line is accounted for."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from openpyxl import Workbook  # type: ignore[import-untyped, unused-ignore]

from aidflow.domain.errors import InvalidInput
from aidflow.imports import table as table_module
from aidflow.imports.table import Column, Table, read_table
from aidflow.office.screening import ADMISSION_COLUMNS, REGISTRY_COLUMNS

ID = "520302200703280019"
HEADER = "national_id,name,university,account"


def write(tmp_path: Path, content: str | bytes, name: str = "admissions.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def read(path: Path, **options: str) -> Table:
    return read_table(path, ADMISSION_COLUMNS, **options)


def lines(n: int) -> list[str]:
    return [f"{ID},Student {i},Guizhou University,6222020217959811144" for i in range(n)]


def refusal(path: Path, **options: str) -> str:
    with pytest.raises(InvalidInput) as caught:
        read(path, **options)
    message = str(caught.value)
    assert message.startswith(path.name) and "\n" not in message
    return message


# -- malformed CSV: refused whole --------------------------------------------------------


def test_an_unbalanced_quote_no_longer_swallows_the_rows_after_it(tmp_path: Path) -> None:
    rows = lines(25)
    rows[4] = f'"{ID},Wang Fang,Guizhou University,'  # line 6: a quote opened ...
    rows[23] = 'x",Li Wei,Zunyi Medical University,'  # ... and "closed" on line 25
    path = write(tmp_path, "\n".join([HEADER, *rows]) + "\n")
    assert "line 6, column 1" in refusal(path)


def test_a_quote_left_open_at_the_end_of_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, f'{HEADER}\n{ID},"Wang Fang,Guizhou University,\n')
    assert "line 2, column 20" in refusal(path)


def test_a_stray_quote_inside_a_field_and_text_after_a_closing_quote(tmp_path: Path) -> None:
    stray = write(tmp_path, f'{HEADER}\n{ID},Wang "Fang",Guizhou University,\n')
    assert "line 2, column 25: a stray quote" in refusal(stray)
    after = write(tmp_path, f'{HEADER}\n{ID},"Wang" Fang,Guizhou University,\n')
    assert "line 2, column 26: text after a closing quote" in refusal(after)


def test_quoted_fields_with_commas_and_doubled_quotes_are_read(tmp_path: Path) -> None:
    path = write(
        tmp_path, f'{HEADER}\n"{ID}","Wang ""Xiao"" Fang","Guizhou University, Huaxi",""\n'
    )
    (record,) = read(path).records
    assert record.values == {
        "national_id": ID,
        "name": 'Wang "Xiao" Fang',
        "university": "Guizhou University, Huaxi",
        "account": "",
    }


def test_a_field_spanning_lines_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, f'{HEADER}\n{ID},"Wang\nFang",Guizhou University,\n')
    assert "line 2, column 20" in refusal(path)


def test_a_nul_byte_refuses_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, f"{HEADER}\n{ID},Wang\x00Fang,Guizhou University,\n")
    assert "line 2, column 24: a NUL byte" in refusal(path)


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
        bytes(range(256)),
        "national_id,name\n".encode("utf-16-le"),  # UTF-16 without its byte-order mark
    ],
)
def test_binary_data_is_refused(tmp_path: Path, content: bytes) -> None:
    refusal(write(tmp_path, content))


def test_an_old_xls_workbook_and_a_broken_zip_are_refused(tmp_path: Path) -> None:
    assert "old .xls" in refusal(write(tmp_path, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(50)))
    assert "not a readable .xlsx" in refusal(write(tmp_path, b"PK\x03\x04" + bytes(50)))


def test_an_empty_file_and_a_missing_column(tmp_path: Path) -> None:
    assert "empty" in refusal(write(tmp_path, "\n \n"))
    message = refusal(write(tmp_path, "national_id,name\n"))
    assert "line 1: missing column(s) university (university / 录取院校 / 录取学校)" in message


def test_a_column_given_twice_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "national_id,身份证号,name,university\n")
    assert "national_id appears 2 times (columns 1, 2)" in refusal(path)


def test_a_parser_that_swallows_a_line_is_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lines are counted apart from the parser, so losing one refuses the file."""
    honest = table_module._csv_rows

    def swallowing(text: str, name: str) -> tuple[list[table_module._Row], int]:
        rows, physical = honest(text, name)
        return rows[:-1], physical

    monkeypatch.setattr(table_module, "_csv_rows", swallowing)
    path = write(tmp_path, "\n".join([HEADER, *lines(5)]))
    assert "refused rather than read short" in refusal(path)


# -- encodings ---------------------------------------------------------------------------

CHINESE = "身份证号码,姓名,录取院校,银行卡号\r\n" + f"{ID},王芳,贵州大学,6222020217959811144\r\n"


@pytest.mark.parametrize(
    ("encoded", "described"),
    [
        (CHINESE.encode("utf-8"), "CSV, UTF-8"),
        (codecs.BOM_UTF8 + CHINESE.encode("utf-8"), "CSV, UTF-8"),
        (CHINESE.encode("gbk"), "CSV, GBK/GB18030"),
        (CHINESE.encode("gb18030"), "CSV, GBK/GB18030"),
        (CHINESE.encode("utf-16"), "CSV, UTF-16"),
        (codecs.BOM_UTF16_BE + CHINESE.encode("utf-16-be"), "CSV, UTF-16"),
    ],
)
def test_utf8_gbk_and_utf16_are_detected(tmp_path: Path, encoded: bytes, described: str) -> None:
    table = read(write(tmp_path, encoded))
    assert table.format == described
    assert [r.values["name"] for r in table.records] == ["王芳"]
    assert table.records[0].values["university"] == "贵州大学"


def test_an_encoding_can_be_named(tmp_path: Path) -> None:
    path = write(tmp_path, CHINESE.encode("gbk"))
    assert read(path, encoding="GBK").format == "CSV, GBK/GB18030"
    assert read(path, encoding="cp936").records[0].values["name"] == "王芳"
    assert "not UTF-8 (line 1, byte 1: 0xc9)" in refusal(path, encoding="utf-8")
    assert "unknown encoding 'klingon'" in refusal(path, encoding="klingon")


@pytest.mark.parametrize(
    "encoding", ["base64", "rot13", "zlib", "hex", "uu", "undefined", "punycode", "utf-8\x00"]
)
def test_a_codec_that_makes_no_text_is_an_unknown_encoding(tmp_path: Path, encoding: str) -> None:
    """Python names byte-to-byte codecs too: ``--encoding base64`` failed as an internal
    error (a LookupError), ``undefined`` and ``punycode`` as a bare UnicodeError (issue 21 §8)."""
    path = write(tmp_path, CHINESE.encode("gbk"))
    assert refusal(path, encoding=encoding) == (
        f"admissions.csv: unknown encoding {encoding!r}; name a text encoding such as utf-8 "
        "or gbk, or leave the encoding out to detect it"
    )


def test_a_file_no_encoding_decodes_is_refused_in_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, f"{HEADER}\n{ID},Wang Fang,".encode() + b"\xff\xfe\x80\n")
    message = refusal(path)
    assert "not UTF-8 (line 2, byte 30: 0xff)" in message
    assert "not GBK/GB18030 (line 2, byte 30: 0xff)" in message


# -- every line accounted for -----------------------------------------------------------


def test_mixed_line_endings_keep_their_line_numbers(tmp_path: Path) -> None:
    rows = lines(4)
    path = write(
        tmp_path, HEADER + "\r\n" + rows[0] + "\r" + rows[1] + "\n" + rows[2] + "\r\n" + rows[3]
    )
    assert [r.line for r in read(path).records] == [2, 3, 4, 5]


def test_blank_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    rows = lines(2)
    path = write(tmp_path, f"\n{HEADER}\n{rows[0]}\n\n,,,\n   \n{rows[1]}\n")
    table = read(path)
    assert table.header_line == 2
    assert [r.line for r in table.records] == [3, 7]
    assert table.blank_lines == 3 and table.data_lines == 2


def test_a_row_with_the_wrong_number_of_fields_is_rejected_alone(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"{HEADER}\n{ID},Wang Fang,Guizhou University\n{ID},Li Wei,X,1,extra\n{ID},Ok,X,,,\n",
    )
    table = read(path)
    assert [(p.line, p.reason) for p in table.rejected] == [
        (2, "wrong number of fields: 3, the header has 4"),
        (3, "wrong number of fields: 5, the header has 4"),
    ]
    assert [r.line for r in table.records] == [4]  # empty fields at the end are no data


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Wang\tFang", "0009"),
        ("Wang\u200bFang", "200B"),
        ("\u202eWang", "202E"),
        ("Wang\x1bF", "001B"),
    ],
)
def test_control_characters_reject_the_row(tmp_path: Path, name: str, code: str) -> None:
    path = write(tmp_path, f"{HEADER}\n{ID},{name},Guizhou University,\n")
    (problem,) = read(path).rejected
    assert problem.line == 2 and problem.reason == f"name holds the control character U+{code}"


def test_excel_scientific_notation_rejects_the_row_with_a_hint(tmp_path: Path) -> None:
    path = write(
        tmp_path, f"{HEADER}\n5.20302E+17,Wang Fang,Guizhou University,\n{ID},Li,U,6.22202E+18\n"
    )
    problems = read(path).rejected
    assert [p.line for p in problems] == [2, 3]
    assert all("format the column as text" in p.reason for p in problems)


def test_headers_are_matched_in_canonical_form(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeff 身份证号 ,类别,乡镇(街道)\n" + f"{ID},低保,高坪\n")
    assert read_table(path, REGISTRY_COLUMNS).records[0].values["town"] == "高坪"
    path = write(tmp_path, "NATIONAL_ID,Category,ＴＯＷＮ\n" + f"{ID},dibao,Gaoping\n")
    assert read_table(path, REGISTRY_COLUMNS).records[0].values["category"] == "dibao"


# -- xlsx --------------------------------------------------------------------------------


def workbook(tmp_path: Path, rows: list[list[object]], title: str = "录取名单") -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title
    for row in rows:
        sheet.append(row)
    path = tmp_path / "admissions.xlsx"
    book.save(path)
    return path


def test_xlsx_rows_by_sheet_row_number(tmp_path: Path) -> None:
    path = workbook(
        tmp_path,
        [
            ["身份证号", "姓名", "录取学校", "银行账号"],
            [ID, "王芳", "贵州大学", "6222020217959811144"],
            [],
            [ID, "李伟", "遵义医科大学"],  # cells missing at the end are empty
        ],
    )
    table = read(path)
    assert table.format == "xlsx, sheet 录取名单"
    assert [(r.line, r.values["name"], r.values["account"]) for r in table.records] == [
        (2, "王芳", "6222020217959811144"),
        (4, "李伟", ""),
    ]
    assert table.blank_lines == 1


def test_xlsx_number_cells_for_ids_and_accounts_are_rejected(tmp_path: Path) -> None:
    path = workbook(
        tmp_path,
        [
            ["身份证号", "姓名", "录取学校", "银行账号"],
            [5.20302200703280e17, "王芳", "贵州大学", ""],
            [ID, "李伟", "贵州大学", 6222020217959811144],
            [ID, 2026, "贵州大学", ""],  # a number where text is meant: read as text
        ],
    )
    table = read(path)
    assert [p.line for p in table.rejected] == [2, 3]
    assert "身份证号 is a number in the spreadsheet" in table.rejected[0].reason
    assert "银行账号 is a number" in table.rejected[1].reason
    assert table.records[0].values["name"] == "2026"


def test_xlsx_sheet_choice(tmp_path: Path) -> None:
    path = workbook(tmp_path, [["national_id", "name", "university"], [ID, "W", "U"]], "名单")
    assert len(read(path, sheet="名单").records) == 1
    assert "no sheet 'other'; the sheets are 名单" in refusal(path, sheet="other")
    assert "an encoding was named" in refusal(path, encoding="gbk")
    csv = write(tmp_path, f"{HEADER}\n")
    assert "this is a CSV file" in refusal(csv, sheet="名单")


def test_an_xlsx_cell_with_a_line_break_is_rejected(tmp_path: Path) -> None:
    path = workbook(tmp_path, [["national_id", "name", "university"], [ID, "Wang\nFang", "U"]])
    (problem,) = read(path).rejected
    assert problem.reason == "name holds the control character U+000A"


def test_columns_an_importer_does_not_know_are_ignored(tmp_path: Path) -> None:
    columns = [Column("code", ("code",)), Column("note", ("note",), required=False)]
    path = write(tmp_path, "extra,code\nx,1\n", name="other.csv")
    assert read_table(path, columns).records[0].values == {"code": "1"}
