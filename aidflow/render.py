"""Output shared by the CLI and the audit report: escaped text lines, tables, money, JSON.

Every value printed in text mode goes through :func:`clean`, so nothing typed into the
record (a name, a reason, a voucher) can forge, hide or reorder a line of output.
Nothing here imports click or the database, so the report can use it too.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from aidflow.domain.clock import office_day, office_time
from aidflow.domain.masking import orjson_safe, plain
from aidflow.i18n import messages as M
from aidflow.i18n import tr, tr_all, value

_SPEC = re.compile(r"(?:(?P<fill>.)?(?P<align>[<>^]))?(?P<width>\d+)?")

if TYPE_CHECKING:
    from aidflow.projections.models import Ledger

# C0 and C1 controls, DEL, line and paragraph separators, and the bidi marks and overrides.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


_ZONE: ContextVar[str] = ContextVar("aidflow_shown_zone", default="UTC")
"""The clock times are shown on: the office's (its policy ``timezone``) once a face opened
the office, UTC before (a library caller's own rendering)."""


@contextmanager
def times_in(zone_name: str) -> Iterator[None]:
    """Show times and days on ``zone_name``'s clock inside the block (a face sets the
    office's for the whole process with :func:`show_times_in`)."""
    token = _ZONE.set(zone_name)
    try:
        yield
    finally:
        _ZONE.reset(token)


def show_times_in(zone_name: str) -> Token[str]:
    """Show times on ``zone_name``'s clock from now on (a face, for one command); give the
    token back to :func:`stop_showing` when the command ends."""
    return _ZONE.set(zone_name)


def stop_showing(token: Token[str]) -> None:
    _ZONE.reset(token)


def when(moment: datetime, *, seconds: bool = False) -> str:
    """A recorded time as people read it: on the office's clock, to the minute."""
    return office_time(moment, _ZONE.get()).strftime(
        "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    )


def wall_clock(moment: datetime) -> datetime:
    """A recorded time on the office's clock without its zone (Excel has none)."""
    return office_time(moment, _ZONE.get()).replace(tzinfo=None)


def day(moment: datetime) -> str:
    """The office's day of a recorded time (an act at 07:30 in Guizhou is that day)."""
    return office_day(moment, _ZONE.get()).isoformat()


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def clean(value: object) -> str:
    """``value`` as text that stays on its line and reads left to right; a sentence of the
    catalogue (:class:`~aidflow.domain.errors.Said`) in the reader's language."""
    return _UNSAFE.sub(_escape, "" if value is None else _shown(value))


def _shown(value: object) -> str:
    if type(value) is str:
        return value
    from aidflow.domain.errors import render  # here: --help prints text only, and loads no errors

    return render(value, tr)


def width(text: str) -> int:
    """Columns ``text`` takes in a terminal: a Chinese character takes two."""
    if text.isascii() and text.isprintable():
        return len(text)  # one column each: a table in English never imports wcwidth (75 ms)
    from wcwidth import wcswidth

    n = wcswidth(text)
    return n if n >= 0 else len(text)


def pad(text: str, columns: int, align: str = "<", fill: str = " ") -> str:
    """``text`` padded to ``columns`` display columns (``<``, ``>`` or ``^``)."""
    gap = max(0, columns - width(text))
    if align == ">":
        return fill * gap + text
    if align == "^":
        return fill * (gap // 2) + text + fill * (gap - gap // 2)
    return text + fill * gap


class _CleanFormatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        if value is None or isinstance(value, str):  # escape first, so padding counts escapes
            text = clean(value)
            spec = _SPEC.fullmatch(format_spec)
            if spec and spec["width"]:  # pad by display width, not by characters
                return pad(text, int(spec["width"]), spec["align"] or "<", spec["fill"] or " ")
            return format(text, format_spec)
        return clean(format(value, format_spec))


_FORMATTER = _CleanFormatter()


def line(template: str, /, *args: Any, **values: Any) -> str:
    """``template`` in the current language, filled with every value escaped by :func:`clean`.

    The template is trusted: it is a message of :mod:`aidflow.i18n.messages` (translated here).
    """
    return _FORMATTER.format(tr(template), *args, **values)


def yuan(fen: int) -> str:
    from aidflow.domain.money import format_yuan

    return format_yuan(fen)


class Money(int):
    """An amount in fen that a table shows in yuan (``1,500.00``) and a spreadsheet keeps as
    a number (:mod:`aidflow.sheets`): one cell for both, so an export can be summed."""

    def __str__(self) -> str:
        return yuan(self)


def table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    """A plain text table that lines up in a terminal (by display width); every cell escaped.

    The header is a tuple of messages, translated here.
    """
    cells = [[clean(h) for h in tr_all(header)]] + [[clean(c) for c in r] for r in rows]
    widths = [max(width(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(pad(c, w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def to_json(data: Any) -> str:
    """JSON for machines: money stays integer fen, ids and times are strings.

    The text is ``json.dumps(..., ensure_ascii=False, indent=2)``'s, written by orjson (a
    dossier in 0.003 ms instead of 0.09) unless it would write something else or refuses:
    floats, integers beyond 64 bits, lone surrogates go to ``json`` itself."""
    ready = plain(data)
    if orjson_safe(ready):
        try:
            return orjson.dumps(ready, option=orjson.OPT_INDENT_2).decode()
        except (orjson.JSONEncodeError, TypeError):
            pass
    return json.dumps(ready, ensure_ascii=False, indent=2)


# -- the ledger: one layout for the CLI and the audit report ------------------------------


def ledger_totals(ledger: Ledger) -> list[tuple[str, str, str]]:
    """(label, value, unit) for each of the ledger's totals."""
    money = [
        (M.BUDGET_RECEIVED, ledger.budget_received_fen),
        (M.DONATIONS_RECEIVED, ledger.donations_received_fen),
        (M.GOVERNMENT_APPROVED, ledger.government_approved_fen),
        (M.GOVERNMENT_PAID, ledger.government_disbursed_fen),
        (M.SECONDARY_AID_TOTAL, ledger.secondary_aid_fen),
        (M.PROGRAMME_TOTAL, ledger.total_disbursed_fen),
        (M.CONFIRMED_PAID, ledger.confirmed_fen),
        (M.UNCONFIRMED_PAID, ledger.unconfirmed_fen),
    ]
    counts = [
        (M.STUDENTS_ASSISTED, ledger.students_assisted),
        (M.WITH_SECONDARY_AID, ledger.students_with_secondary_aid),
    ]
    return [(tr(label), yuan(fen), tr(M.YUAN_UNIT)) for label, fen in money] + [
        (tr(label), str(n), "") for label, n in counts
    ]


def ledger_funds(ledger: Ledger) -> list[tuple[str, str, str, str, str, str]]:
    """One row per fund under :data:`messages.LEDGER_FUND_HEADER`."""
    return [
        (
            f.name,
            f.fund_id[:8],
            value(f.kind),
            yuan(f.deposited_fen),
            yuan(f.disbursed_fen + f.secondary_aid_fen),
            yuan(f.balance_fen),
        )
        for f in ledger.funds
    ]


def ledger_breakdowns(ledger: Ledger) -> list[tuple[str, str]]:
    """(label, "key amount, ...") for the totals by need, family category and town."""
    parts = [
        (M.BY_NEED, {value(k): v for k, v in ledger.by_need_fen.items()}),
        (M.BY_CATEGORY, {value(k): v for k, v in ledger.by_family_category_fen.items()}),
        (M.BY_TOWN, ledger.by_town_fen),
    ]
    return [
        (tr(label), ", ".join(f"{k} {yuan(v)}" for k, v in sums.items())) for label, sums in parts
    ]


def ledger_text(ledger: Ledger) -> str:
    """The ledger's totals, its funds and its breakdowns, as the CLI and the report print them."""
    lines = [line(M.LEDGER_HEAD, position=ledger.position)]
    lines += [
        line(M.LEDGER_TOTAL, label=label, value=value, unit=unit)
        for label, value, unit in ledger_totals(ledger)
    ]
    lines += ["", table(ledger_funds(ledger), M.LEDGER_FUND_HEADER), ""]
    lines += [
        line(M.BREAKDOWN, label=label + tr(M.LABEL_COLON), items=items)
        for label, items in ledger_breakdowns(ledger)
    ]
    return "\n".join(lines)
