"""Lists and reports written to a file: ``-o FILE``, the format from the suffix (.csv, .xlsx).

The header is the table's, in the current language; cells are the table's text. CSV is
UTF-8 with a byte-order mark, so Excel on a Chinese Windows machine opens it correctly.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from aidflow.cli import messages as M
from aidflow.cli.render import clean, line
from aidflow.i18n import tr_all

FORMATS = (".csv", ".xlsx")


def check_path(path: Path) -> Path:
    if path.suffix.lower() not in FORMATS:
        raise click.UsageError(line(M.EXPORT_FORMAT, path=path))
    return path


def _cell(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
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


def write_table(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Write ``rows`` under the translated ``header`` to ``path`` (.csv or .xlsx)."""
    check_path(path)
    head = list(tr_all(header))
    body = [[_cell(c) for c in row] for row in rows]
    if path.suffix.lower() == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(head)
            writer.writerows(body)
        return
    from openpyxl import Workbook  # type: ignore[import-untyped, unused-ignore]

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(head)
    for row in body:
        sheet.append(row)
    book.save(path)
