"""Tables written to a file: the format from the suffix (.csv or .xlsx).

The header is translated into the current language; cells are the table's text. CSV is
UTF-8 with a byte-order mark, so Excel on a Chinese Windows machine opens it correctly.
Any face (the CLI's ``-o FILE``, the report, an embedding service) writes through here.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aidflow.domain.errors import InvalidInput, said
from aidflow.i18n import tr_all
from aidflow.render import clean

FORMATS = (".csv", ".xlsx")


def check_path(path: Path) -> Path:
    """``path`` when its suffix names a format this module writes; refused otherwise."""
    if path.suffix.lower() not in FORMATS:
        raise InvalidInput(
            said("cannot export to {path}: give a file ending .csv or .xlsx", path=str(path))
        )
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
