"""The money ledger and its totals, answered from the ledger rows and their running totals.

The totals are sums over the ledger rows, in parts (:data:`PARTS`: by fund and
entry, by need, by family category, by town) plus two counts of cases (paid,
given secondary aid) and the money a bank statement confirmed. Sums add up, so
every :data:`CHECKPOINT_ROWS` ledger rows the writer stores each part's totals so
far (``audit_ledger_total``), and the ledger as of any position is the last
checkpoint at or before it plus the same parts over the rows after it: a bounded
scan at any store size. The case
counts are carried the same way: the rows after the checkpoint name the cases
they touch, and only those cases' rows are read again (by ``case_id``); so is the
confirmed money (a return takes back only a confirmed payment).

A new part is one more entry in :data:`PARTS` (and a higher ``schema_version``
for the audit view, so stores take their checkpoints again).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aidflow.domain.canonical import document_key
from aidflow.projections.audit.tables import (
    audit_case_table,
    audit_fund_table,
    journal_table,
    ledger_table,
    ledger_total_table,
)
from aidflow.projections.base import to_json
from aidflow.projections.models import DonorShare, FundTotals, Ledger, LedgerLine

CHECKPOINT_ROWS = 4096
"""Ledger rows between two running-total checkpoints."""

PAID = ("disbursement", "return", "secondary_aid", "secondary_return")
"""Entries that pay a student (a return pays back)."""

Rows = sa.Subquery | sa.Table
Totals = dict[str, dict[tuple[Any, ...], int]]


def _signed_paid(L: Rows) -> sa.ColumnElement[Any]:
    return sa.case(
        (L.c.entry == "disbursement", L.c.amount_fen),
        (L.c.entry == "return", -L.c.amount_fen),
        (L.c.entry == "secondary_aid", L.c.amount_fen),
        (L.c.entry == "secondary_return", -L.c.amount_fen),
        else_=0,
    )


def _by_entry(L: Rows) -> sa.Select[Any]:
    """Every entry's sum, by fund and entry."""
    return sa.select(L.c.fund_id, L.c.entry, sa.func.sum(L.c.amount_fen)).group_by(
        L.c.fund_id, L.c.entry
    )


def _by_need(L: Rows) -> sa.Select[Any]:
    """The approvals' sum, by need."""
    return (
        sa.select(L.c.need, sa.func.sum(L.c.amount_fen))
        .where(L.c.entry == "approval")
        .group_by(L.c.need)
    )


def _by_case_fact(fact: str, L: Rows) -> sa.Select[Any]:
    """The money paid to students (net of returns), by one fact of their cases."""
    C = audit_case_table
    return (
        sa.select(C.c[fact], sa.func.sum(_signed_paid(L)))
        .join(C, C.c.case_id == L.c.case_id)
        .where(L.c.entry.in_(PAID))
        .group_by(C.c[fact])
    )


def _by_family(L: Rows) -> sa.Select[Any]:
    return _by_case_fact("family_category", L)


def _by_town(L: Rows) -> sa.Select[Any]:
    return _by_case_fact("town", L)


PARTS: dict[str, Callable[[Rows], sa.Select[Any]]] = {
    "entry": _by_entry,
    "need": _by_need,
    "family": _by_family,
    "town": _by_town,
}
"""Each part of the totals: group key columns, then one sum, over a range of ledger rows.
The parts are functions building their query when a window is read (not queries built at
import), so each query's code runs, and can be changed, per call."""


def _rows(lo: int, hi: int | None) -> Rows:
    L = ledger_table
    rows = sa.select(L).where(L.c.position > lo)
    if hi is not None:
        rows = rows.where(L.c.position <= hi)
    return rows.subquery("audit_ledger")


def _window(conn: Connection, lo: int, hi: int | None) -> Totals:
    """Every part's sums over the ledger rows in (lo, hi], and the change in the case counts."""
    L = _rows(lo, hi)
    totals: Totals = {}
    for name, part in PARTS.items():
        totals[name] = {tuple(row[:-1]): int(row[-1]) for row in conn.execute(part(L))}
    # Cases the window pays or takes back from: their paid and secondary totals before and after.
    L0 = ledger_table
    touched = sa.select(L.c.case_id).where(L.c.entry.in_(PAID), L.c.case_id.is_not(None))
    signed = _signed_paid(L0)
    secondary = sa.case(
        (L0.c.entry == "secondary_aid", L0.c.amount_fen),
        (L0.c.entry == "secondary_return", -L0.c.amount_fen),
        else_=0,
    )
    before = L0.c.position <= lo
    per_case = (
        sa.select(
            sa.func.sum(sa.case((before, signed), else_=0)),
            sa.func.sum(signed),
            sa.func.sum(sa.case((before, secondary), else_=0)),
            sa.func.sum(secondary),
        )
        .where(L0.c.case_id.in_(touched), L0.c.entry.in_(PAID))
        .group_by(L0.c.case_id)
    )
    if hi is not None:
        per_case = per_case.where(L0.c.position <= hi)
    assisted = with_secondary = 0
    for paid_before, paid, secondary_before, secondary_after in conn.execute(per_case):
        assisted += (paid > 0) - (paid_before > 0)
        with_secondary += (secondary_after > 0) - (secondary_before > 0)
    totals["assisted"] = {(): assisted}
    totals["with_secondary"] = {(): with_secondary}
    totals["confirmed"] = {(): _confirmed_change(conn, L, lo, hi)}
    return totals


_CONFIRMING = ("confirmation", "return", "secondary_return")


def _confirmed_change(conn: Connection, window: Rows, lo: int, hi: int | None) -> int:
    """How the confirmed money changes over the window: a confirmation counts, a return takes
    back a payment only if it had been confirmed, so each (case, voucher) the window touches
    is replayed (its rows read again by ``case_id``) before and after it."""
    L0 = ledger_table
    touched = sa.select(window.c.case_id).where(window.c.entry.in_(_CONFIRMING))
    rows = (
        sa.select(L0.c.position, L0.c.entry, L0.c.case_id, L0.c.voucher, L0.c.amount_fen)
        .where(L0.c.case_id.in_(touched), L0.c.entry.in_(_CONFIRMING))
        .order_by(L0.c.position)
    )
    if hi is not None:
        rows = rows.where(L0.c.position <= hi)
    found = [tuple(r) for r in conn.execute(rows)]
    if not found:
        return 0
    before = [r[1:] for r in found if r[0] <= lo]
    return _confirmed_total([r[1:] for r in found]) - _confirmed_total(before)


def _confirmed_total(rows: Iterable[tuple[Any, ...]]) -> int:
    """Fen confirmed paid by a statement, less returns of payments that had been confirmed,
    over (entry, case, voucher, amount) rows in position order."""
    confirmed: set[tuple[str | None, str | None]] = set()
    total = 0
    for entry, case_id, voucher, amount in rows:
        key = (case_id, voucher)
        if entry == "confirmation":
            confirmed.add(key)
            total += int(amount)
        elif key in confirmed:
            confirmed.discard(key)
            total -= int(amount)
    return total


def _add(one: Totals, other: Totals) -> Totals:
    merged: Totals = {name: dict(groups) for name, groups in one.items()}
    for name, groups in other.items():
        into = merged.setdefault(name, {})
        for key, total in groups.items():
            into[key] = into.get(key, 0) + total
    return merged


def _checkpoint(conn: Connection, hi: int | None) -> tuple[int, Totals]:
    """The last running-total checkpoint at or before ``hi``: (its position, its totals)."""
    T = ledger_total_table
    last = sa.select(sa.func.max(T.c.position))
    if hi is not None:
        last = last.where(T.c.position <= hi)
    position = conn.execute(last).scalar_one()
    if position is None:
        return 0, {}
    totals: Totals = {}
    for part, grouping, total in conn.execute(
        sa.select(T.c.part, T.c.grouping, T.c.total).where(T.c.position == position)
    ):
        totals.setdefault(part, {})[tuple(json.loads(grouping))] = int(total)
    return int(position), totals


def checkpoint_since() -> tuple[sa.ScalarSelect[Any], sa.ScalarSelect[Any]]:
    """(last checkpoint's position, ledger rows after it), as columns of one statement: the
    audit view's writer reads them with the chain's head where another process wrote last."""
    L, T = ledger_table, ledger_total_table
    # no bound value: the audit view runs it with execute_once, which sends only its row
    none: sa.ColumnElement[int] = sa.literal_column("0")
    last = sa.select(sa.func.coalesce(sa.func.max(T.c.position), none)).scalar_subquery()
    count = sa.select(sa.func.count()).select_from(L).where(L.c.position > last).scalar_subquery()
    return last, count


def take_checkpoints(
    conn: Connection, since: tuple[int, int] | None, added: int
) -> tuple[int, int]:
    """Store the running-total checkpoints due now (the audit view's writer calls it per page).

    ``since`` is (last checkpoint's position, ledger rows after it) as the writer
    last left it, and ``added`` the ledger rows it has just inserted; None: read
    both from the tables (which already hold the new rows). Returns the new pair.
    A checkpoint falls on every CHECKPOINT_ROWS-th ledger row, wherever pages
    begin and end, so a rebuild and an incremental catch-up store the same ones.
    """
    L, T = ledger_table, ledger_total_table
    if since is None:
        last, count = (int(n) for n in conn.execute(sa.select(*checkpoint_since())).one())
    else:
        last, count = since[0], since[1] + added
    while count >= CHECKPOINT_ROWS:
        at = int(
            conn.execute(
                sa.select(L.c.position)
                .where(L.c.position > last)
                .order_by(L.c.position)
                .offset(CHECKPOINT_ROWS - 1)
                .limit(1)
            ).scalar_one()
        )
        _, before = _checkpoint(conn, last)
        totals = _add(before, _window(conn, last, at))
        conn.execute(
            sa.insert(T),
            [
                {"position": at, "part": part, "grouping": to_json(list(key)), "total": total}
                for part, groups in totals.items()
                for key, total in groups.items()
            ],
        )
        last, count = at, count - CHECKPOINT_ROWS
    return last, count


def ledger(conn: Connection, *, entries: bool = False, upto: int | None = None) -> Ledger:
    """The money ledger's totals (and its lines when asked), as of position ``upto`` if given.

    Every row carries the position at which it took effect, so a past ledger is
    the last running-total checkpoint at or before that position plus the rows
    after it up to the position.
    """
    base, before = _checkpoint(conn, upto)
    totals = _add(before, _window(conn, base, upto))
    funds = _fund_totals(conn, totals["entry"], upto)
    government_disbursed = _total_of(funds, "government", "disbursed_fen")
    secondary = sum(f.secondary_aid_fen for f in funds)
    confirmed = totals["confirmed"][()]  # as every window has this part, no default
    return Ledger(
        position=_journal_position(conn, upto),
        entries=_lines(conn, upto) if entries else [],
        funds=funds,
        government_approved_fen=_government_approved(totals["entry"], funds),
        government_disbursed_fen=government_disbursed,
        secondary_aid_fen=secondary,
        donations_received_fen=_total_of(funds, "donation", "deposited_fen"),
        budget_received_fen=_total_of(funds, "government", "deposited_fen"),
        total_disbursed_fen=government_disbursed + secondary,
        students_assisted=int(totals["assisted"][()]),
        students_with_secondary_aid=int(totals["with_secondary"][()]),
        by_need_fen=_grouped(totals, "need"),
        by_family_category_fen=_grouped(totals, "family"),
        by_town_fen=_grouped(totals, "town"),
        confirmed_fen=confirmed,
        unconfirmed_fen=government_disbursed + secondary - confirmed,
    )


def _fund_totals(
    conn: Connection, sums: dict[tuple[Any, ...], int], upto: int | None
) -> list[FundTotals]:
    """Each fund opened by ``upto`` (if given) with its totals, from the (fund, entry) sums."""
    F0 = audit_fund_table
    F: sa.Table | sa.Subquery = F0
    if upto is not None:
        F = sa.select(F0).where(F0.c.position <= upto).subquery("audit_fund")
    funds = []
    for f in conn.execute(
        sa.select(F.c.fund_id, F.c.name, F.c.kind).order_by(F.c.name, F.c.fund_id)
    ).mappings():
        fund_sums = {entry: t for (fid, entry), t in sums.items() if fid == f["fund_id"]}

        def s(entry: str, fund_sums: dict[str, int] = fund_sums) -> int:
            return fund_sums.get(entry, 0)

        funds.append(
            FundTotals(
                fund_id=f["fund_id"],
                name=f["name"],
                kind=f["kind"],
                deposited_fen=s("deposit") - s("deposit_reversal"),
                allocated_fen=s("allocation"),
                released_fen=s("release"),
                balance_fen=s("deposit") - s("deposit_reversal") - s("allocation") + s("release"),
                disbursed_fen=s("disbursement") - s("return"),
                secondary_aid_fen=s("secondary_aid") - s("secondary_return"),
            )
        )
    return funds


def _total_of(funds: Iterable[FundTotals], kind: str, attr: str) -> int:
    """One of the funds' totals, summed over the funds of one kind."""
    return sum(int(getattr(f, attr)) for f in funds if f.kind == kind)


def _government_approved(sums: dict[tuple[Any, ...], int], funds: Iterable[FundTotals]) -> int:
    """Approvals on government funds, net of what closing cases released back: releases only
    ever return grant reservations, so on government funds they reduce what stands approved."""
    kind_of = {f.fund_id: f.kind for f in funds}
    return sum(
        int(t) if entry == "approval" else -int(t)
        for (fid, entry), t in sums.items()
        if entry in ("approval", "release") and kind_of.get(fid) == "government"
    )


def _grouped(totals: Totals, part: str) -> dict[Any, int]:
    """A part grouped by one key, in the order of the keys' text."""
    return {k: t for (k,), t in sorted(totals[part].items(), key=lambda kt: str(kt[0][0]))}


def _lines(conn: Connection, upto: int | None) -> list[LedgerLine]:
    """The ledger's rows up to ``upto`` (if given), in position order."""
    L0 = ledger_table
    L: sa.Table | sa.Subquery = L0
    if upto is not None:
        L = sa.select(L0).where(L0.c.position <= upto).subquery("audit_ledger")
    return [
        LedgerLine.model_validate(dict(r))
        for r in conn.execute(sa.select(L).order_by(L.c.position)).mappings()
    ]


def _journal_position(conn: Connection, upto: int | None) -> int:
    """The position the ledger stands at: the journal's last, at or before ``upto``."""
    last = sa.select(sa.func.max(journal_table.c.position))
    if upto is not None:
        last = last.where(journal_table.c.position <= upto)
    return int(conn.execute(last).scalar_one() or 0)


def donor_trace(conn: Connection, fund_id: str, *, upto: int | None = None) -> list[DonorShare]:
    """Which donation reached which student: the fund's deposits, oldest first, paid out first
    in, first out to its secondary-aid payments (net of returns) in the order they were paid."""
    L = ledger_table
    query = (
        sa.select(L.c.entry, L.c.case_id, L.c.voucher, L.c.receipt, L.c.source, L.c.amount_fen)
        .where(
            L.c.fund_id == fund_id,
            L.c.entry.in_(["deposit", "deposit_reversal", "secondary_aid", "secondary_return"]),
        )
        .order_by(L.c.position)
    )
    if upto is not None:
        query = query.where(L.c.position <= upto)
    deposits: list[tuple[str, str]] = []
    left: list[int] = []
    payments: dict[tuple[str, str | None], int] = {}
    for entry, case_id, voucher, receipt, source, amount in conn.execute(query):
        if entry == "deposit":
            deposits.append((str(receipt or ""), str(source or "")))
            left.append(int(amount))
        elif entry == "deposit_reversal":  # a reversed deposit gave nothing (issue 23)
            key = document_key(str(receipt or ""))
            for i, (number, _source) in enumerate(deposits):
                if document_key(number) == key:
                    left[i] = max(0, left[i] - int(amount))
        else:
            sign = 1 if entry == "secondary_aid" else -1
            payments[(case_id, voucher)] = payments.get((case_id, voucher), 0) + sign * int(amount)
    shares: list[DonorShare] = []
    index = 0
    for (case_id, voucher), owed in payments.items():
        while owed > 0 and index < len(deposits):
            take = min(owed, left[index])
            receipt, source = deposits[index]
            shares.append(
                DonorShare(
                    receipt=receipt,
                    source=source,
                    case_id=str(case_id),
                    voucher=voucher,
                    amount_fen=take,
                )
            )
            owed -= take
            left[index] -= take
            if left[index] == 0:
                index += 1
    return shares


def payable_cases(conn: Connection, fund_id: str) -> list[str]:
    """Cases that may hold approved money on ``fund_id`` not yet settled by a statement: what
    was reserved for them, less releases and confirmed payments, is above zero, or a payment
    of theirs came back. A superset: the payment list decides each from the case's events."""
    L = ledger_table
    signed = sa.case(
        (L.c.entry == "allocation", L.c.amount_fen),
        (L.c.entry.in_(["release", "confirmation"]), -L.c.amount_fen),
        ((L.c.entry == "secondary_aid") & L.c.voucher.is_(None), -L.c.amount_fen),  # v0.1
        (L.c.entry.in_(["return", "secondary_return"]), L.c.amount_fen),
        else_=0,
    )
    query = (
        sa.select(L.c.case_id)
        .where(L.c.fund_id == fund_id, L.c.case_id.is_not(None))
        .group_by(L.c.case_id)
        .having(sa.func.sum(signed) > 0)
        .order_by(sa.func.min(L.c.position))
    )
    return [str(r[0]) for r in conn.execute(query)]


def cases_of_year(conn: Connection, year: int) -> list[str]:
    """Every case of programme ``year``, in the order they were opened."""
    C = audit_case_table
    query = sa.select(C.c.case_id).where(C.c.year == year).order_by(C.c.case_id)
    return [str(r[0]) for r in conn.execute(query)]
