"""A posted public notice (公示) checked offline, row by row and in total (issue 22 §5, §8).

``aidflow audit notice`` writes the notice (.csv, .xlsx or .html) and beside it ``NOTICE.proofs.json``:
the tree digest and, per row, the inclusion proof of every payment and return that makes the
row's amounts (``events``; ``proofs`` keeps each row's last payment for ``check-proof --ref``).
:func:`check_notice` needs only those two files and the published digest: each event is proved
in the digest; a row's events are one student's, its last one names the row (``P1234``); the
row's grant and secondary aid recompute from its proved events (:mod:`aidflow.domain.ledger`);
the totals row is the sum of the rows; and every row of the proofs is on the notice. A row or
a total changed on the posted notice, a row taken off it, or a proof edited, each fails.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, NamedTuple

from aidflow.auditing.state import CLASS_OF
from aidflow.domain.errors import InvalidInput, said
from aidflow.domain.ledger import NOTICE_ENTRIES, entry_of
from aidflow.i18n import LANGUAGES, tr_all, using
from aidflow.i18n import messages as M
from aidflow.imports.table import Column, read_table
from aidflow.proofs.merkle import leaf_hash, verify_inclusion
from aidflow.proofs.models import TreeHead, View

MAX_ROWS = 200_000
"""A posted notice's rows read at most (a district's students are thousands)."""


MAX_PAGE_BYTES = 256 * 1024 * 1024
"""An .html notice read at most (200,000 rows of a page are well under it)."""


class Posted(NamedTuple):
    """A row as the notice shows it: its reference and its amounts in fen."""

    ref: str
    grant_fen: int
    secondary_aid_fen: int


class NoticeCheck(View):
    ok: bool
    digest: str
    rows: int
    grant_fen: int
    secondary_aid_fen: int
    problems: list[str]


def _fen(value: Any) -> int | None:
    """A money cell (yuan: ``2000.00`` as text, or a number) in fen; None if it is not money."""
    try:
        yuan = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        return None
    fen = yuan * 100
    return int(fen) if fen == fen.to_integral_value() else None


_FIELDS = ("ref", "name", "national_id", "town", "category", "grant", "secondary")
"""The notice's columns (:data:`aidflow.i18n.messages.NOTICE_HEADER`), in order."""


def _columns() -> tuple[Column, ...]:
    """The notice's columns under their headers in every language it may be written in; only
    the reference and the amounts are read (the totals row has nothing else)."""
    spelled: list[set[str]] = [set() for _ in _FIELDS]
    for lang in LANGUAGES:
        with using(lang):
            for headers, header in zip(spelled, tr_all(M.NOTICE_HEADER), strict=True):
                headers.add(header)
    return tuple(
        Column(name, tuple(sorted(headers)), required=name in ("ref", "grant", "secondary"))
        for name, headers in zip(_FIELDS, spelled, strict=True)
    )


def read_posted(path: Path) -> tuple[list[Posted], Posted | None]:
    """The rows and the totals row of a notice as ``audit notice`` writes it (.csv, .xlsx or .html:
    the reference first, the grant and the secondary aid in the last two columns). A .csv or
    .xlsx is read by the importers' reader, with its caps and its named refusals."""
    if path.suffix.lower() == ".html":
        cells = [row for row in _html_rows(_page(path))[1:] if any(row)]
        rows = [(row[0], *row[-2:]) if len(row) >= 3 else ("", "", "") for row in cells]
    else:
        table = read_table(path, _columns(), most=MAX_ROWS)
        rows = [(r.values["ref"], r.values["grant"], r.values["secondary"]) for r in table.records]
        rows += [("", "", "")] * len(table.rejected)  # a row the reader refused has no amounts
    posted = []
    for ref, grant_cell, secondary_cell in rows[: MAX_ROWS + 1]:
        grant, secondary = _fen(grant_cell), _fen(secondary_cell)
        if grant is None or secondary is None:
            raise InvalidInput(
                said("{path} is not a notice aidflow wrote: a row without amounts", path=path)
            )
        posted.append(Posted(str(ref).strip(), grant, secondary))
    if not posted:
        return [], None
    return posted[:-1], posted[-1]


def _page(path: Path) -> str:
    """An .html notice's text: UTF-8, as ``audit notice`` writes it, and of a notice's size."""
    try:
        if path.stat().st_size > MAX_PAGE_BYTES:
            raise ValueError(f"larger than {MAX_PAGE_BYTES:,} bytes")
        return path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        raise InvalidInput(
            said("{path} is not a notice aidflow wrote: {exc}", path=path, exc=exc)
        ) from None


class _Rows(HTMLParser):
    """The text of each table row's cells, in order (the header, the rows, the totals)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th") and self.rows:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _html_rows(text: str) -> list[list[str]]:
    parser = _Rows()
    parser.feed(text)
    return parser.rows


def _amounts(entries: Any, head: TreeHead, ref: str, problems: list[str]) -> tuple[int, int] | None:
    """A row's grant and secondary aid recomputed from its proved events (None: not proved)."""
    if not isinstance(entries, list) or not entries:
        problems.append(f"row {ref}: the proofs file holds no event for it")
        return None
    root = bytes.fromhex(head.root)
    grant = secondary = 0
    cases, last = set(), -1
    for entry in entries:
        try:
            text, index = str(entry["leaf"]), int(entry["leaf_index"])
            path = [bytes.fromhex(h) for h in entry["path"]]
            leaf = json.loads(text)
            proved = verify_inclusion(index, head.size, leaf_hash(text.encode()), path, root)
        except (KeyError, TypeError, ValueError):
            proved = False
        if not proved:
            problems.append(f"row {ref}: an event of it is not proved in {head}")
            return None
        entry_name = entry_of(CLASS_OF.get(str(leaf.get("type")), object), leaf.get("detail") or {})
        column, sign = NOTICE_ENTRIES.get(entry_name or "", ("", 0))
        amount = sign * int((leaf.get("detail") or {}).get("amount_fen", 0))
        grant += amount if column == "grant" else 0
        secondary += amount if column == "secondary" else 0
        cases.add(leaf.get("aggregate_id"))
        last = max(last, int(leaf.get("position", -1)))
    if len(cases) != 1 or f"P{last}" != ref:
        problems.append(f"row {ref}: its events are not one student's, ending at {ref}")
        return None
    return grant, secondary


def check_notice(
    rows: list[Posted], totals: Posted | None, document: dict[str, Any], digest: TreeHead
) -> NoticeCheck:
    """Does every row of the posted notice recompute from its proved events, and the totals
    from the rows, against the published ``digest``?"""
    problems: list[str] = []
    if str(document.get("digest")) != str(digest):
        problems.append(f"the proofs are against {document.get('digest')}, not {digest}")
    events = document.get("events")
    events = events if isinstance(events, dict) else {}
    for row in rows:
        amounts = _amounts(events.get(row.ref), digest, row.ref, problems)
        if amounts is not None and amounts != (row.grant_fen, row.secondary_aid_fen):
            problems.append(
                f"row {row.ref}: the notice shows {row.grant_fen} + {row.secondary_aid_fen} fen, "
                f"its proved events {amounts[0]} + {amounts[1]} fen"
            )
    posted = {row.ref for row in rows}
    problems += [
        f"row {ref} of the proofs is not on the notice" for ref in events if ref not in posted
    ]
    grant = sum(r.grant_fen for r in rows)
    secondary = sum(r.secondary_aid_fen for r in rows)
    if (totals is None and rows) or (
        totals is not None and (totals.grant_fen, totals.secondary_aid_fen) != (grant, secondary)
    ):
        problems.append(f"the totals row is not the sum of the rows ({grant} + {secondary} fen)")
    return NoticeCheck(
        ok=not problems,
        digest=str(digest),
        rows=len(rows),
        grant_fen=grant,
        secondary_aid_fen=secondary,
        problems=problems,
    )
