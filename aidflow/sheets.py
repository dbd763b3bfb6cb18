"""Tables written to a file: the format from the suffix (.csv, .xlsx, or .html to print or post).

The header is translated into the current language. Cells keep their kind, so Excel can
sum and sort them: an amount (:class:`~aidflow.render.Money`) is a number in yuan with
two decimals, a date a date, a count an integer; a list whose amounts add up ends
with a totals row. In an .xlsx the header is frozen and the columns are as wide as their text.
CSV is UTF-8 with a byte-order mark, so Excel on a Chinese Windows machine opens it
correctly, and writes a long digit string (an ID, an account) as ``="6222…"`` so Excel
keeps every digit instead of rounding it to 15. Any face (the CLI's ``-o FILE``, the
report, an embedding service) writes through here.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from aidflow.domain.errors import InvalidInput, said
from aidflow.i18n import messages as M
from aidflow.i18n import tr, tr_all
from aidflow.render import Money, clean, wall_clock, width

FORMATS = (".csv", ".xlsx", ".html")
LONG_DIGITS = 12
"""A digit string this long is text to Excel (it keeps 15 significant digits of a number)."""
MAX_WIDTH = 60


def check_path(path: Path) -> Path:
    """``path`` when its suffix names a format this module writes; refused otherwise."""
    if path.suffix.lower() not in FORMATS:
        raise InvalidInput(
            said("cannot export to {path}: give a file ending .csv, .xlsx or .html", path=str(path))
        )
    return path


def _cell(value: Any) -> Any:
    if isinstance(value, int | float | date) and not isinstance(value, bool):
        return value
    text = clean(value)
    # A spreadsheet must not run a cell as a formula (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _number(text) else text


def _number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True


def _long_digits(value: Any) -> bool:
    return (
        isinstance(value, str) and len(value) >= LONG_DIGITS and value.isascii() and value.isdigit()
    )


def _totals(rows: Sequence[Sequence[Any]], columns: int) -> list[Any] | None:
    """The totals row: the sum of every amount column, labelled in the first column."""
    money = sorted({i for row in rows for i, c in enumerate(row) if isinstance(c, Money)})
    if not money or not rows or 0 in money:
        return None
    total: list[Any] = [tr(M.TOTAL_ROW)] + [""] * (columns - 1)
    for i in money:
        total[i] = Money(sum(int(row[i]) for row in rows if isinstance(row[i], Money)))
    return total


@contextmanager
def _opened(path: Path, mode: str, *, private: bool, **kwargs: Any) -> Iterator[IO[Any]]:
    """``path`` opened for writing (``x`` in ``mode``: only if it is new); ``private``: readable
    by its owner only (0600), from its creation on (an existing file is made so before
    anything is written to it)."""
    if not private:
        with path.open(mode, **kwargs) as out:
            yield out
        return
    new = os.O_EXCL if "x" in mode else os.O_TRUNC
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | new, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, mode, **kwargs) as out:
        yield out


@contextmanager
def written(
    path: Path, mode: str = "w", *, private: bool = False, **kwargs: Any
) -> Iterator[IO[Any]]:
    """``path`` opened for writing (``private``: readable by its owner only). A write that
    fails (a full disk, a file too large) names the file and leaves no half file: what was
    written is removed again (a regular file only, never a device such as ``/dev/full``)."""
    started = False
    try:
        with _opened(path, mode, private=private, **kwargs) as out:
            started = True
            yield out
    except BaseException as exc:
        if started and path.is_file():
            path.unlink(missing_ok=True)
        if isinstance(exc, OSError) and not exc.filename:  # a write's error names no file
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        raise


def write_file(path: Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` through :func:`written`."""
    if isinstance(data, str):
        with written(path, "w", encoding="utf-8") as out:
            out.write(data)
        return
    with written(path, "wb") as out:
        out.write(data)


def write_table(
    path: Path,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    totals: bool = False,
    private: bool = False,
    caption: str = "",
) -> None:
    """Write ``rows`` under the translated ``header`` to ``path`` (.csv, .xlsx or .html).

    ``totals``: end with a row summing each amount column (for lists whose amounts add up:
    cases, funds, what is due; never a ledger of mixed movements, nor a bank's template);
    ``private``: the file is readable by its owner only (the payment list); ``caption``:
    a line above an .html table (what it is, the digest it was drawn from).
    """
    check_path(path)
    head = list(tr_all(header))
    body = [[_cell(c) for c in row] for row in rows]
    total = _totals(rows, len(head)) if totals else None
    if total is not None:
        body.append([_cell(c) for c in total])
    if path.suffix.lower() == ".csv":
        with written(path, "w", private=private, encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(head)
            writer.writerows([_csv(c) for c in row] for row in body)
        return
    if path.suffix.lower() == ".html":
        with written(path, "w", private=private, encoding="utf-8") as out:
            out.write(_html(head, body, caption, totals=total is not None))
        return
    workbook = io.BytesIO()  # made whole first: a zip left half-written on a failing file
    _xlsx(head, body, workbook)  # complained again when it was collected
    with written(path, "wb", private=private) as out:
        out.write(workbook.getbuffer())


_STYLE = (
    "table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 6px}"
    ".money{text-align:right}"
)


def _html(head: list[str], body: list[list[Any]], caption: str, *, totals: bool) -> str:
    """A page with one table, to print or post: amounts right-aligned with two decimals."""
    from html import escape

    def cells(tag: str, row: Sequence[Any]) -> str:
        return "".join(
            f'<{tag} class="money">{v}</{tag}>'
            if isinstance(v, Money)
            else f"<{tag}>{escape(str(_naive(v)))}</{tag}>"
            for v in row
        )

    rows = body[:-1] if totals else body
    lines = [
        '<!doctype html>\n<html><head><meta charset="utf-8">',
        f"<title>{escape(caption)}</title><style>{_STYLE}</style></head><body><table>",
        f"<caption>{escape(caption)}</caption>",
        f"<thead><tr>{cells('th', head)}</tr></thead><tbody>",
        *(f"<tr>{cells('td', row)}</tr>" for row in rows),
        "</tbody>",
        f"<tfoot><tr>{cells('th', body[-1])}</tr></tfoot>" if totals else "",
        "</table></body></html>\n",
    ]
    return "\n".join(lines)


def _csv(value: Any) -> Any:
    if isinstance(value, Money):
        sign, fen = ("-" if value < 0 else ""), abs(int(value))
        return f"{sign}{fen // 100}.{fen % 100:02d}"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if _long_digits(value):
        return f'="{value}"'
    return value


def _xlsx(head: list[str], body: list[list[Any]], out: IO[bytes]) -> None:
    from openpyxl import Workbook  # type: ignore[import-untyped, unused-ignore]
    from openpyxl.utils import get_column_letter  # type: ignore[import-untyped, unused-ignore]

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(head)
    widths = [width(h) for h in head]
    for values in body:
        sheet.append([float(v) / 100 if isinstance(v, Money) else _naive(v) for v in values])
        row = sheet.max_row
        for i, v in enumerate(values):
            cell = sheet.cell(row=row, column=i + 1)
            if isinstance(v, Money):
                cell.number_format = "#,##0.00"
            elif isinstance(v, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(v, date):
                cell.number_format = "yyyy-mm-dd"
            elif _long_digits(v):
                cell.number_format = "@"
            shown = str(v) if isinstance(v, Money | date) else clean(v)
            if i < len(widths):
                widths[i] = max(widths[i], width(shown))
    sheet.freeze_panes = "A2"
    for i, w in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = min(w + 2, MAX_WIDTH)
    book.save(out)


def _naive(value: Any) -> Any:
    """Excel has no time zones: a moment is written on the office's clock, without one."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return wall_clock(value)
    return value
