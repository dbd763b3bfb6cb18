"""Read a list an office sends (CSV or .xlsx) into rows, accounting for every line.

A file is either refused as a whole (:class:`InvalidInput` naming the file, the
line and, where known, the column) or every data line comes back as exactly one
record or one rejected row. Nothing is skipped silently: the lines are counted
again independently of the parser, and a difference refuses the file.

CSV fields never run over several lines in these lists, so a quote left open at
the end of a line is a malformed file, not a field that continues.
"""

from __future__ import annotations

import codecs
import io
import operator
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict

from aidflow.bulk import collector_paused
from aidflow.domain.errors import InvalidInput, said
from aidflow.imports.values import canonical_label, excel_number_problem, looks_like_excel_number
from aidflow.models import Sentence

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
#: Unicode categories no field may hold: controls, invisible format characters,
#: lone surrogates, line and paragraph separators.
_FORBIDDEN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_TEXT: frozenset[int] = frozenset()  # a CSV line has no number cells
_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary .xls
#: Python's names for GBK and its subset (cp936 and ms936 are "gbk"): read as GB18030, the superset.
_GBK = {"gbk", "gb2312", "gb18030"}


class RowProblem(BaseModel):
    """A rejected row: which file, which line, and why."""

    model_config = ConfigDict(frozen=True)

    file: str
    line: int
    reason: Sentence


@dataclass(frozen=True)
class Column:
    """A column the importer reads, under any of the header spellings it accepts."""

    name: str
    headers: tuple[str, ...]
    required: bool = True
    identifier: bool = False
    """An ID or account: a number cell or scientific notation rejects the row."""


class Record(NamedTuple):
    """A data line that passed the file-level checks: column name -> trimmed text."""

    line: int
    values: dict[str, str]


@dataclass(frozen=True)
class Table:
    """Every data line of a file, as a record or a rejected row."""

    file: str
    format: str
    header_line: int
    records: list[Record]
    rejected: list[RowProblem]
    blank_lines: int
    """Blank lines after the header: skipped, and counted so every line is accounted for."""

    @property
    def data_lines(self) -> int:
        return len(self.records) + len(self.rejected)


class _Row(NamedTuple):
    """One physical line or sheet row, split into fields; ``numeric`` marks number cells."""

    line: int
    fields: list[str]
    numeric: frozenset[int]


@collector_paused()  # each line a few small objects, none in a cycle
def read_table(
    path: Path,
    columns: Sequence[Column],
    *,
    encoding: str | None = None,
    sheet: str | None = None,
    most: int | None = None,
) -> Table:
    """Read ``path`` (CSV in UTF-8, UTF-16 or GBK, or .xlsx) into records of ``columns``.

    ``encoding`` names a CSV file's encoding instead of detecting it; ``sheet`` picks a
    workbook's sheet instead of its first; ``most``: lines after the first the file may
    have, refused before they are read one by one. Raises :class:`InvalidInput` for a file
    that cannot be read whole.
    """
    name = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(
            said("cannot read {path}: {strerror}", path=path, strerror=exc.strerror)
        ) from None
    if raw.startswith(_OLE2):
        raise InvalidInput(
            said("{name}: an old .xls workbook; save it as .xlsx or as CSV", name=name)
        )
    if raw.startswith(_ZIP):
        if encoding is not None:
            raise InvalidInput(
                said("{name}: an encoding was named, but this is an .xlsx workbook", name=name)
            )
        rows, physical, described = _sheet_rows(raw, name, sheet, most)
    else:
        if sheet is not None:
            raise InvalidInput(said("{name}: a sheet was named, but this is a CSV file", name=name))
        text, described = _decode(raw, name, encoding)
        if most is not None and _count_lines(text) > most + 1:
            _refuse_longer(name, most)
        rows, physical = _csv_rows(text, name)
    table = _table(rows, columns, name, described)
    if table.header_line + table.blank_lines + table.data_lines != physical:
        raise InvalidInput(
            said(
                "{name}: the file has {physical} line(s), but the header on line {header_line}, {blank_lines} blank and {data_lines} data line(s) were read; refused rather than read short",
                name=name,
                physical=physical,
                header_line=table.header_line,
                blank_lines=table.blank_lines,
                data_lines=table.data_lines,
            )
        )
    return table


def _refuse_longer(name: str, most: int) -> None:
    raise InvalidInput(
        said(
            "{name}: more than {most} lines after the header, the most one file may hold; split it and give each part in turn",
            name=name,
            most=f"{most:,}",
        )
    )


# -- CSV ------------------------------------------------------------------------------


def _decode(raw: bytes, name: str, encoding: str | None) -> tuple[str, str]:
    """The file's text and how it was read: the named encoding, else UTF-16 by BOM, UTF-8, GBK."""
    if encoding is not None:
        codec = _codec(encoding, name)
        candidates = [codec]
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8-sig", "gb18030"]
    failures = []
    for codec in candidates:
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError as exc:
            failures.append(f"not {_label(codec)} ({_byte_position(raw, exc.start)})")
            if codec == "utf-8-sig" and encoding is None:
                _refuse_mixed(raw, name)
            continue
        return text.removeprefix("\ufeff"), f"CSV, {_label(codec)}"
    hint = "" if encoding else "; save it as 'CSV UTF-8' or name its encoding"
    raise InvalidInput(
        said(
            "{name}: cannot be decoded: {failures}{hint}",
            name=name,
            failures=", ".join(failures),
            hint=hint,
        )
    )


def _refuse_mixed(raw: bytes, name: str) -> None:
    """A file that is not UTF-8 throughout but has lines that are (a UTF-8 list with a line
    pasted from a GBK one): reading it all as GBK would store every UTF-8 name as mojibake,
    for good. Refused, naming the lines that are not UTF-8."""
    good = 0
    lines: list[int] = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            lines.append(number)
        else:
            good += 1
    if good and lines:
        shown = ", ".join(str(n) for n in lines[:10]) + (", ..." if len(lines) > 10 else "")
        raise InvalidInput(
            said(
                "{name}: {good} line(s) are UTF-8 but line(s) {lines} are not (GBK?); one file has one encoding: save it whole as 'CSV UTF-8', fix those lines, or name the encoding",
                name=name,
                good=good,
                lines=shown,
            )
        )


def _codec(encoding: str, name: str) -> str:
    """The codec an encoding names, refused unless it turns bytes into text (``base64``,
    ``zlib`` or ``undefined`` are codecs too, and failed as an internal error)."""
    try:
        codec = codecs.lookup(encoding).name
        bytes(4).decode(codec)  # empty bytes would decode under any codec
    except (LookupError, ValueError):  # ValueError: a NUL in the name; UnicodeError: 'undefined'
        raise InvalidInput(
            said(
                "{name}: unknown encoding {encoding!r}; name a text encoding such as utf-8 or gbk, or leave the encoding out to detect it",
                name=name,
                encoding=encoding,
            )
        ) from None
    if codec.replace("-", "").replace("_", "") in {"utf8", "utf8sig"}:
        return "utf-8-sig"
    return "gb18030" if codec in _GBK else codec


def _label(codec: str) -> str:
    return {"utf-8-sig": "UTF-8", "gb18030": "GBK/GB18030", "utf-16": "UTF-16"}.get(codec, codec)


def _byte_position(raw: bytes, offset: int) -> str:
    start = raw.rfind(b"\n", 0, offset) + 1
    line = raw.count(b"\n", 0, offset) + 1
    return f"line {line}, byte {offset - start + 1}: 0x{raw[offset]:02x}"


def _csv_rows(text: str, name: str) -> tuple[list[_Row], int]:
    """Every physical line split into fields, and the number of physical lines."""
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()  # the file ends with a line break
    if "\x00" in text:
        number, line = next((n, t) for n, t in enumerate(lines, start=1) if "\x00" in t)
        raise InvalidInput(
            said(
                "{name} line {number}, column {column}: a NUL byte; this is not a "
                "text list (a binary file, or UTF-16 without a byte-order mark)",
                name=name,
                number=number,
                column=line.index(chr(0)) + 1,
            )
        )
    rows = [
        _Row(n, line.split(",") if '"' not in line else _split(line, n, name), _TEXT)
        for n, line in enumerate(lines, start=1)
    ]
    return rows, _count_lines(text)


def _count_lines(text: str) -> int:
    """Physical lines, counted without the parser: the check that nothing was swallowed."""
    breaks = text.count("\n") + text.count("\r") - text.count("\r\n")
    return breaks + (1 if text and not text.endswith(("\n", "\r")) else 0)


def _split(line: str, number: int, name: str) -> list[str]:
    """RFC 4180 fields of one line: quoted fields double their quotes and end on their line."""
    if '"' not in line:
        return line.split(",")
    fields: list[str] = []
    at = 0
    while True:
        if line.startswith('"', at):
            opened, parts, at = at, [], at + 1
            while True:
                close = line.find('"', at)
                if close < 0:
                    raise InvalidInput(
                        said(
                            "{name} line {number}, column {opened}: a quote is opened and not closed on its line (an unbalanced quote; fields never run over lines)",
                            name=name,
                            number=number,
                            opened=opened + 1,
                        )
                    )
                parts.append(line[at:close])
                if line.startswith('"', close + 1):
                    parts.append('"')
                    at = close + 2
                    continue
                at = close + 1
                break
            if at < len(line) and line[at] != ",":
                raise InvalidInput(
                    said(
                        "{name} line {number}, column {at}: text after a closing quote; a quote inside a field is written twice",
                        name=name,
                        number=number,
                        at=at + 1,
                    )
                )
            fields.append("".join(parts))
        else:
            comma = line.find(",", at)
            end = len(line) if comma < 0 else comma
            quote = line.find('"', at, end)
            if quote >= 0:
                raise InvalidInput(
                    said(
                        "{name} line {number}, column {quote}: a stray quote inside a field; quote the whole field and write the quote twice",
                        name=name,
                        number=number,
                        quote=quote + 1,
                    )
                )
            fields.append(line[at:end])
            at = end
        if at >= len(line):
            return fields
        at += 1  # past the comma


# -- xlsx -----------------------------------------------------------------------------


def _sheet_rows(
    raw: bytes, name: str, sheet: str | None, most: int | None = None
) -> tuple[list[_Row], int, str]:
    """Every row of one sheet as text, marking number cells; refuses an unreadable workbook.

    Read from the bytes, so a workbook is read whatever its file is called.
    """
    from openpyxl import load_workbook  # type: ignore[import-untyped, unused-ignore]

    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # the zip's, the XML parser's and openpyxl's own errors
        raise InvalidInput(
            said("{name}: not a readable .xlsx workbook ({exc})", name=name, exc=exc)
        ) from None
    try:
        if sheet is None:
            if not book.worksheets:
                raise InvalidInput(said("{name}: the workbook has no sheet", name=name))
            chosen = book.worksheets[0]
        elif sheet in book.sheetnames:
            chosen = book[sheet]
        else:
            raise InvalidInput(
                said(
                    "{name}: no sheet {sheet!r}; the sheets are {sheetnames}",
                    name=name,
                    sheet=sheet,
                    sheetnames=", ".join(book.sheetnames),
                )
            )
        if not hasattr(chosen, "iter_rows"):
            raise InvalidInput(
                said(
                    "{name}: sheet {title!r} is a chart, not a table", name=name, title=chosen.title
                )
            )
        chosen.reset_dimensions()  # some writers record wrong dimensions
        try:
            rows = _capped_rows(chosen.iter_rows(min_row=1, values_only=True), name, most)
            width = max((len(row.fields) for row in rows), default=0)
            rows = [  # a sheet is a grid: cells missing at the end of a row are empty
                _Row(row.line, row.fields + [""] * (width - len(row.fields)), row.numeric)
                for row in rows
            ]
        except InvalidInput:
            raise
        except Exception as exc:  # a broken sheet's XML
            raise InvalidInput(
                said(
                    "{name}: sheet {title!r} cannot be read ({exc})",
                    name=name,
                    title=chosen.title,
                    exc=exc,
                )
            ) from None
        return rows, len(rows), f"xlsx, sheet {chosen.title}"
    finally:
        book.close()


MAX_COLUMNS = 256
"""A list has a few dozen columns at most; a cell further right is a stray one."""
MAX_GAP = 1_000
"""Empty rows in a row before another row with a cell: more is a stray far-away cell."""
MAX_CELLS = 20_000_000
"""Cells in one sheet (a 500,000-student registry has 5 million): bounds time and memory."""


def _capped_rows(
    sheet_rows: Iterable[tuple[Any, ...]], name: str, most: int | None = None
) -> list[_Row]:
    """The rows down to the last one with a cell, refusing a workbook built to exhaust
    the reader: a cell beyond :data:`MAX_COLUMNS`, one after more than :data:`MAX_GAP`
    empty rows, more than :data:`MAX_CELLS` cells, a row past ``most`` after the first. Empty rows after the last cell are
    not lines of the list (a sheet's formatting often reaches further than its data)."""
    rows: list[_Row] = []
    empty: list[int] = []  # empty rows since the last row with a cell
    cells = 0
    for number, values in enumerate(sheet_rows, start=1):
        used = len(values)
        while used and values[used - 1] is None:
            used -= 1
        if not used:
            empty.append(number)
            if len(empty) > MAX_GAP:
                del empty[:-1]  # only the count matters now; a later cell is refused
            continue
        if used > MAX_COLUMNS:
            raise InvalidInput(
                said(
                    "{name}: row {row} has a cell in column {column}, beyond the {most} columns a list may have; delete the stray cell",
                    name=name,
                    row=number,
                    column=used,
                    most=MAX_COLUMNS,
                )
            )
        gap = number - 1 - (rows[-1].line if rows else 0)
        if gap > MAX_GAP:
            raise InvalidInput(
                said(
                    "{name}: row {row} has a cell after {gap} empty rows; delete the stray cell or the empty rows",
                    name=name,
                    row=number,
                    gap=gap,
                )
            )
        if most is not None and number > most + 1:
            _refuse_longer(name, most)
        cells += used
        if cells > MAX_CELLS:
            raise InvalidInput(
                said(
                    "{name}: more than {most} cells by row {row}; split the list",
                    name=name,
                    most=f"{MAX_CELLS:,}",
                    row=number,
                )
            )
        rows.extend(_Row(line, [], _TEXT) for line in empty)
        empty.clear()
        rows.append(_cells(number, values[:used]))
    return rows


def _cells(number: int, cells: tuple[Any, ...]) -> _Row:
    texts: list[str] = []
    numeric: set[int] = set()
    for index, value in enumerate(cells):
        if isinstance(value, bool):
            texts.append("TRUE" if value else "FALSE")
        elif isinstance(value, int | float):
            numeric.add(index)
            texts.append(str(int(value)) if float(value).is_integer() else repr(value))
        elif isinstance(value, datetime | date | time):
            texts.append(value.isoformat())
        else:
            texts.append("" if value is None else str(value))
    return _Row(number, texts, frozenset(numeric))


# -- both -----------------------------------------------------------------------------


def _blank(row: _Row) -> bool:
    return not "".join(row.fields).strip(" \u3000")  # every field spaces alone, seen at once


@dataclass(frozen=True)
class _Layout:
    """What the header says: where each column is, and which hold identifiers."""

    header: _Row
    width: int
    places: dict[str, int]
    identifiers: tuple[int, ...]

    def label(self, index: int) -> str:
        text = self.header.fields[index].strip() if index < self.width else ""
        return text or said("column {number}", number=index + 1)


def _table(rows: list[_Row], columns: Sequence[Column], name: str, described: str) -> Table:
    """Find the header (the first non-blank row), then check every data row against it."""
    content = iter(rows)
    for header in content:
        if not _blank(header):
            break
    else:
        raise InvalidInput(said("{name}: no header row; the file is empty", name=name))
    width = len(header.fields)
    while width > 1 and not header.fields[width - 1].strip():
        width -= 1  # empty headers at the end name no column
    places = _places(header, columns, name)
    identifiers = tuple(places[c.name] for c in columns if c.identifier and c.name in places)
    layout = _Layout(header, width, places, identifiers)
    records: list[Record] = []
    rejected: list[RowProblem] = []
    blank = 0
    names, taken = tuple(places), operator.itemgetter(*places.values(), 0)  # 0: always a tuple
    for row in content:
        if _blank(row):
            blank += 1
            continue
        reason = _problem(row, layout)
        if reason is None:
            records.append(
                Record(row.line, dict(zip(names, map(str.strip, taken(row.fields)), strict=False)))
            )
        else:
            rejected.append(RowProblem(file=name, line=row.line, reason=reason))
    return Table(name, described, header.line, records, rejected, blank)


def _places(header: _Row, columns: Sequence[Column], name: str) -> dict[str, int]:
    """Column name -> field index, by canonical header; missing or doubled columns refuse."""
    places: dict[str, int] = {}
    for column in columns:
        wanted = {canonical_label(h) for h in column.headers}
        found = [i for i, text in enumerate(header.fields) if canonical_label(text) in wanted]
        if len(found) > 1:
            raise InvalidInput(
                said(
                    "{name} line {line}: column {name2} appears {found_count} times (columns {columns}); keep one",
                    name=name,
                    line=header.line,
                    name2=column.name,
                    found_count=len(found),
                    columns=", ".join(str(i + 1) for i in found),
                )
            )
        if found:
            places[column.name] = found[0]
    missing = [c for c in columns if c.required and c.name not in places]
    if missing:
        wanted_text = "; ".join(f"{c.name} ({' / '.join(c.headers)})" for c in missing)
        shown = ", ".join(repr(t.strip()) for t in header.fields[:20])
        raise InvalidInput(
            said(
                "{name} line {line}: missing column(s) {wanted_text}; the header is {shown}",
                name=name,
                line=header.line,
                wanted_text=wanted_text,
                shown=shown,
            )
        )
    return places


def _problem(row: _Row, layout: _Layout) -> str | None:
    """Why a data row cannot be read, or None."""
    fields, width = row.fields, layout.width
    if len(fields) < width or (len(fields) > width and "".join(fields[width:]).strip(" \u3000")):
        return said(
            "wrong number of fields: {count}, the header has {width}",
            count=len(fields),
            width=width,
        )
    if not all(map(str.isprintable, fields)):  # the common case checked in C, the rest slowly
        for index, text in enumerate(fields):
            bad = next((ch for ch in text if unicodedata.category(ch) in _FORBIDDEN), None)
            if bad is not None:
                return said(
                    "{column} holds the control character U+{code}",
                    column=layout.label(index),
                    code=f"{ord(bad):04X}",
                )
    for place in layout.identifiers:
        if place in row.numeric or looks_like_excel_number(fields[place]):
            return excel_number_problem(layout.label(place))
    return None
