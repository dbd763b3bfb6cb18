"""The money ledger and its totals, answered from the ledger rows alone."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aidflow.projections.audit.tables import (
    audit_case_table,
    audit_fund_table,
    journal_table,
    ledger_table,
)
from aidflow.projections.models import DonorShare, FundTotals, Ledger, LedgerLine


def ledger(conn: Connection, *, entries: bool = False, upto: int | None = None) -> Ledger:
    """The money ledger's totals (and its lines when asked), as of position ``upto`` if given.

    Every row carries the position at which it took effect, so a past ledger is
    the same queries over the rows at or before that position.
    """
    L0, F0, C = ledger_table, audit_fund_table, audit_case_table
    L: sa.Table | sa.Subquery
    F: sa.Table | sa.Subquery
    if upto is None:
        L, F = L0, F0
    else:
        L = sa.select(L0).where(L0.c.position <= upto).subquery("audit_ledger")
        F = sa.select(F0).where(F0.c.position <= upto).subquery("audit_fund")
    signed_paid = sa.case(
        (L.c.entry == "disbursement", L.c.amount_fen),
        (L.c.entry == "return", -L.c.amount_fen),
        (L.c.entry == "secondary_aid", L.c.amount_fen),
        (L.c.entry == "secondary_return", -L.c.amount_fen),
        else_=0,
    )
    _paid = ["disbursement", "return", "secondary_aid", "secondary_return"]
    sums: dict[tuple[str, str], int] = {}
    for fund_id, entry, total in conn.execute(
        sa.select(L.c.fund_id, L.c.entry, sa.func.sum(L.c.amount_fen)).group_by(
            L.c.fund_id, L.c.entry
        )
    ):
        sums[(fund_id, entry)] = int(total)
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
                deposited_fen=s("deposit"),
                allocated_fen=s("allocation"),
                released_fen=s("release"),
                balance_fen=s("deposit") - s("allocation") + s("release"),
                disbursed_fen=s("disbursement") - s("return"),
                secondary_aid_fen=s("secondary_aid") - s("secondary_return"),
            )
        )
    kind_of = {f.fund_id: f.kind for f in funds}

    def total_of(kind: str, attr: str) -> int:
        return sum(int(getattr(f, attr)) for f in funds if f.kind == kind)

    per_case = (
        sa.select(
            L.c.case_id,
            sa.func.sum(signed_paid).label("paid"),
            sa.func.sum(
                sa.case(
                    (L.c.entry == "secondary_aid", L.c.amount_fen),
                    (L.c.entry == "secondary_return", -L.c.amount_fen),
                    else_=0,
                )
            ).label("secondary"),
        )
        .where(
            L.c.case_id.is_not(None),
            L.c.entry.in_(_paid),
        )
        .group_by(L.c.case_id)
        .subquery()
    )
    assisted = conn.execute(
        sa.select(sa.func.count()).select_from(per_case).where(per_case.c.paid > 0)
    ).scalar_one()
    with_secondary = conn.execute(
        sa.select(sa.func.count()).select_from(per_case).where(per_case.c.secondary > 0)
    ).scalar_one()
    by_need = {
        n: int(t)
        for n, t in conn.execute(
            sa.select(L.c.need, sa.func.sum(L.c.amount_fen))
            .where(L.c.entry == "approval")
            .group_by(L.c.need)
            .order_by(L.c.need)
        )
    }
    paid_rows = (
        sa.select(signed_paid.label("paid"), C.c.family_category, C.c.town)
        .join(C, C.c.case_id == L.c.case_id)
        .where(L.c.entry.in_(_paid))
        .subquery()
    )
    by_family = {
        k: int(t)
        for k, t in conn.execute(
            sa.select(paid_rows.c.family_category, sa.func.sum(paid_rows.c.paid))
            .group_by(paid_rows.c.family_category)
            .order_by(paid_rows.c.family_category)
        )
    }
    by_town = {
        k: int(t)
        for k, t in conn.execute(
            sa.select(paid_rows.c.town, sa.func.sum(paid_rows.c.paid))
            .group_by(paid_rows.c.town)
            .order_by(paid_rows.c.town)
        )
    }
    # Net of what closing cases released back: releases only ever return grant
    # reservations, so on government funds they reduce what stands approved.
    government_approved = sum(
        int(t) if entry == "approval" else -int(t)
        for (fid, entry), t in sums.items()
        if entry in ("approval", "release") and kind_of.get(fid) == "government"
    )
    lines = (
        [
            LedgerLine.model_validate(dict(r))
            for r in conn.execute(sa.select(L).order_by(L.c.position)).mappings()
        ]
        if entries
        else []
    )
    last = sa.select(sa.func.max(journal_table.c.position))
    if upto is not None:
        last = last.where(journal_table.c.position <= upto)
    position = conn.execute(last).scalar_one() or 0
    government_disbursed = total_of("government", "disbursed_fen")
    secondary = sum(f.secondary_aid_fen for f in funds)
    confirmed = _confirmed(conn, L)
    return Ledger(
        position=position,
        entries=lines,
        funds=funds,
        government_approved_fen=government_approved,
        government_disbursed_fen=government_disbursed,
        secondary_aid_fen=secondary,
        donations_received_fen=total_of("donation", "deposited_fen"),
        budget_received_fen=total_of("government", "deposited_fen"),
        total_disbursed_fen=government_disbursed + secondary,
        students_assisted=int(assisted),
        students_with_secondary_aid=int(with_secondary),
        by_need_fen=by_need,
        by_family_category_fen=by_family,
        by_town_fen=by_town,
        confirmed_fen=confirmed,
        unconfirmed_fen=government_disbursed + secondary - confirmed,
    )


def _confirmed(conn: Connection, L: sa.Table | sa.Subquery) -> int:
    """Fen confirmed paid by a statement, less returns of payments that had been confirmed."""
    confirmed: set[tuple[str | None, str | None]] = set()
    total = 0
    for entry, case_id, voucher, amount in conn.execute(
        sa.select(L.c.entry, L.c.case_id, L.c.voucher, L.c.amount_fen)
        .where(L.c.entry.in_(["confirmation", "return", "secondary_return"]))
        .order_by(L.c.position)
    ):
        key = (case_id, voucher)
        if entry == "confirmation":
            confirmed.add(key)
            total += int(amount)
        elif key in confirmed:
            confirmed.discard(key)
            total -= int(amount)
    return total


def donor_trace(conn: Connection, fund_id: str, *, upto: int | None = None) -> list[DonorShare]:
    """Which donation reached which student: the fund's deposits, oldest first, paid out first
    in, first out to its secondary-aid payments (net of returns) in the order they were paid."""
    L = ledger_table
    query = (
        sa.select(L.c.entry, L.c.case_id, L.c.voucher, L.c.receipt, L.c.source, L.c.amount_fen)
        .where(
            L.c.fund_id == fund_id,
            L.c.entry.in_(["deposit", "secondary_aid", "secondary_return"]),
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
