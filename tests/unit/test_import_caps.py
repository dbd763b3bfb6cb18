"""Files built to hurt the reader (issue 21 §8): a UTF-8 list with a GBK line is refused,
never read whole as GBK (every UTF-8 name would be stored as mojibake for good); a 5 KB
workbook with one far-away cell is refused at once, in little memory, instead of growing
the process by a gigabyte every few seconds; a sheet has a bounded number of cells."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from openpyxl import Workbook  # type: ignore[import-untyped, unused-ignore]

from aidflow.domain.errors import InvalidInput
from aidflow.imports import table
from aidflow.imports.statement import read_statement
from aidflow.imports.table import Column, read_table

COLUMNS = [Column("name", ("姓名",)), Column("student_id", ("身份证号",))]


def _csv(tmp_path: Path, *lines: bytes) -> Path:
    path = tmp_path / "list.csv"
    path.write_bytes(b"".join(lines))
    return path


def test_a_utf8_list_with_gbk_lines_is_refused_naming_them(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "姓名,身份证号\n王芳,1\n".encode(),
        "李雷,2\n".encode("gbk"),
        "张三,3\n".encode(),
        "韩梅梅,4\n".encode("gbk"),
    )
    with pytest.raises(InvalidInput) as refused:
        read_table(path, COLUMNS)
    assert str(refused.value) == (
        "list.csv: 3 line(s) are UTF-8 but line(s) 3, 5 are not (GBK?); one file has one "
        "encoding: save it whole as 'CSV UTF-8', fix those lines, or name the encoding"
    )


def test_a_list_wholly_in_gbk_is_still_read_and_a_named_encoding_is_obeyed(
    tmp_path: Path,
) -> None:
    gbk = _csv(tmp_path, "姓名,身份证号\n王芳,1\n李雷,2\n".encode("gbk"))
    assert [r.values["name"] for r in read_table(gbk, COLUMNS).records] == ["王芳", "李雷"]
    mixed = _csv(tmp_path, "姓名,身份证号\n".encode(), "李雷,2\n".encode("gbk"))
    with pytest.raises(InvalidInput, match=r"cannot be decoded: not UTF-8 \(line 2, byte 1"):
        read_table(mixed, COLUMNS, encoding="utf-8")  # named: read as named, or refused


def _workbook(tmp_path: Path, *cells: tuple[int, int, str]) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "身份证号"])
    sheet.append(["王芳", "520302200001011234"])
    for row, column, value in cells:
        sheet.cell(row=row, column=column, value=value)
    path = tmp_path / "list.xlsx"
    book.save(path)
    return path


@pytest.mark.parametrize(
    ("cell", "says"),
    [
        (
            (1_048_576, 16_384, "x"),
            "list.xlsx: row 1048576 has a cell in column 16384, beyond the 256 columns a list "
            "may have; delete the stray cell",
        ),
        (
            (1_048_576, 1, "x"),
            "list.xlsx: row 1048576 has a cell after 1048573 empty rows; delete the stray cell "
            "or the empty rows",
        ),
        (
            (2, 257, "x"),
            "list.xlsx: row 2 has a cell in column 257, beyond the 256 columns a list may "
            "have; delete the stray cell",
        ),
    ],
)
def test_a_far_away_cell_is_refused_at_once_in_little_memory(
    tmp_path: Path, cell: tuple[int, int, str], says: str
) -> None:
    path = _workbook(tmp_path, cell)
    assert path.stat().st_size < 10_000
    tracemalloc.start()
    try:
        with pytest.raises(InvalidInput) as refused:
            read_table(path, COLUMNS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(refused.value) == says
    assert peak < 100 * 2**20


def test_the_last_column_and_a_gap_within_bounds_are_read(tmp_path: Path) -> None:
    path = _workbook(tmp_path, (3, 256, "note"), (3 + 1_001, 1, "李雷"))  # 1,000 empty rows
    read = read_table(path, COLUMNS)
    assert [(r.line, r.values["name"]) for r in read.records] == [(2, "王芳"), (1_004, "李雷")]
    assert [r.line for r in read.rejected] == [3]  # a cell beyond the header: its own reason
    assert read.blank_lines == 1_000


def test_empty_rows_after_the_last_cell_are_not_lines_of_the_list(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "身份证号"])
    sheet.append(["王芳", "520302200001011234"])
    sheet.cell(row=50_000, column=1).number_format = "@"  # formatted, never filled
    path = tmp_path / "list.xlsx"
    book.save(path)
    read = read_table(path, COLUMNS)
    assert (read.data_lines, read.blank_lines) == (1, 0)


def test_a_sheet_has_a_bounded_number_of_cells(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(table, "MAX_CELLS", 5)
    path = _workbook(tmp_path, (3, 1, "李雷"), (3, 2, "2"))
    with pytest.raises(
        InvalidInput, match=r"list\.xlsx: more than 5 cells by row 3; split the list"
    ):
        read_table(path, COLUMNS)


def test_a_statement_longer_than_a_reconcile_takes_is_refused_before_it_is_read(
    tmp_path: Path,
) -> None:
    """A statement of 100,001 lines was read and checked line by line (six seconds and a
    third of a gigabyte for 150,000) and only then refused by the command, in the words of
    its validator; the reader now counts first and says what to do."""
    line = b"2026-08-12,6222020200112233445,100.00,V1,paid\n"
    path = _csv(tmp_path, b"date,account,amount,reference,status\n", line * 100_001)
    with pytest.raises(InvalidInput) as refused:
        read_statement(path)
    assert str(refused.value) == (
        "list.csv: more than 100,000 lines after the header, the most one file may hold; "
        "split it and give each part in turn"
    )


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_file_at_its_line_cap_is_read_and_one_more_is_refused(
    tmp_path: Path, suffix: str
) -> None:
    rows = [["姓名", "身份证号"]] + [[f"学生{i}", str(i)] for i in range(4)]
    path = tmp_path / f"list{suffix}"
    if suffix == ".csv":
        path.write_text("".join(",".join(r) + "\n" for r in rows), encoding="utf-8")
    else:
        book = Workbook()
        for row in rows:
            book.active.append(row)
        book.save(path)
    assert read_table(path, COLUMNS, most=4).data_lines == 4
    with pytest.raises(InvalidInput, match=r"more than 3 lines after the header"):
        read_table(path, COLUMNS, most=3)
