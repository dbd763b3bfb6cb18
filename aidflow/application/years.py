"""A programme year closed (issue 23 §5): see :mod:`aidflow.domain.year`."""

from __future__ import annotations

from uuid import UUID

from aidflow import commands as cmd
from aidflow.application.context import Context
from aidflow.application.pipeline import Decision
from aidflow.domain.base import AidAggregate
from aidflow.domain.case import StudentCase
from aidflow.domain.errors import InvalidTransition, PaymentsInFlight, said
from aidflow.domain.fund import Fund
from aidflow.domain.money import format_yuan
from aidflow.domain.year import ProgrammeYear, year_id
from aidflow.models import YearClose


def year_close(year: int, found: ProgrammeYear | None, *, recorded: bool = False) -> YearClose:
    """What the record says of ``year``'s close (the one answer every face gives)."""
    if found is None:
        return YearClose(year=year, status="open")
    if found.closed is None:
        return YearClose(
            year=year, status="proposed", proposed_by=found.proposed_by, recorded=recorded
        )
    closed = found.closed
    return YearClose(
        year=year,
        status="closed",
        proposed_by=str(closed["proposed_by"]),
        closed_by=str(closed["actor"]),
        cases=int(closed["cases"]),
        approved_fen=int(closed["approved_fen"]),
        paid_fen=int(closed["paid_fen"]),
        released_fen=int(closed["released_fen"]),
        digest=str(closed["digest"]),
        digest_size=int(closed["digest_size"]),
        recorded=recorded,
    )


def close_year(ctx: Context, c: cmd.CloseYear) -> Decision[YearClose]:
    """An admin proposes the close; the same proposal again records nothing."""
    found = ctx.find(ProgrammeYear, year_id(c.year))
    if found is not None:
        found.re_propose(c.actor)
        return year_close(c.year, found), []
    proposed = ProgrammeYear.propose(year=c.year, actor=c.actor)
    return year_close(c.year, proposed, recorded=True), [proposed]


def confirm_year_close(ctx: Context, c: cmd.ConfirmYearClose) -> Decision[YearClose]:
    """A second person confirms: every case of the year gives its unpaid approvals back to
    their funds, and the year records its totals and the digest, all in one save."""
    found = ctx.find(ProgrammeYear, year_id(c.year))
    if found is None:
        raise InvalidTransition(
            said(
                "closing programme year {year} has not been proposed (`aidflow year close {year}`, an admin)",
                year=c.year,
            ),
            ids={"year": str(c.year)},
        )
    found.check_confirmable(c.actor)
    facts = ctx.year_facts(c.year)
    cases = [ctx.case(case_id) for case_id in facts.cases]
    cases = [case for case in cases if case.year == c.year]
    _refuse_in_flight(c.year, cases)
    totals = {"cases": len(cases), "approved_fen": 0, "paid_fen": 0, "released_fen": 0}
    changed: list[AidAggregate] = []
    funds: dict[str, Fund] = {}  # each fund loaded once: one save, one version each
    for case in cases:
        totals["approved_fen"] += case.approved_fen + case.secondary_aid_fen
        totals["paid_fen"] += sum(case.paid_by_fund.values())
        given_back = case.release_at_year_close(year=c.year, actor=c.actor)
        if given_back:
            changed.append(case)
        for fund_id, fen in given_back.items():
            totals["released_fen"] += fen
            if fund_id not in funds:
                funds[fund_id] = ctx.fund(UUID(fund_id))
            funds[fund_id].release(
                case_id=case.id, amount_fen=fen, reason=f"year {c.year} closed", actor=c.actor
            )
    found.close(totals=totals, digest=facts.digest, digest_size=facts.digest_size, actor=c.actor)
    return year_close(c.year, found, recorded=True), [found, *changed, *funds.values()]


def _refuse_in_flight(year: int, cases: list[StudentCase]) -> None:
    """A payment on a list, not yet settled by a statement, may still be paid by the bank:
    releasing its reservation could spend the money twice."""
    pending = [
        p
        for case in cases
        for p in case.payments.values()
        if p.get("listed") and not p["returned"] and not p.get("confirmed")
    ]
    if pending:
        raise PaymentsInFlight(
            said(
                "programme year {year} has {count} payment(s) on lists ({amount} yuan) that no bank statement has settled; reconcile them (`aidflow pay reconcile`, `aidflow pay resolve`) before closing the year",
                year=year,
                count=len(pending),
                amount=format_yuan(sum(int(p["amount_fen"]) for p in pending)),
            ),
            ids={"year": str(year)},
        )
