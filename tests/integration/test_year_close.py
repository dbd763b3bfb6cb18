"""A programme year closes (issue 23 §5): an admin proposes, a second admin or an approver
confirms; the year's unpaid approvals go back to their funds in the same save, its totals and
the store's digest are recorded; afterwards no new approval, secondary aid or payment for it,
while corrections and other years go on. Each rule with a history that keeps it and one that
breaks it."""

from __future__ import annotations

from datetime import date

import pytest

from aidflow import Office
from aidflow import commands as cmd
from aidflow.domain.errors import (
    InvalidTransition,
    NotAuthorised,
    PaymentsInFlight,
    SegregationOfDuties,
    YearClosed,
)
from aidflow.domain.staff import Role
from aidflow.domain.year import ProgrammeYear, year_id
from tests.builders import (
    applied,
    approved,
    donation_fund,
    government_fund,
    new_ref,
    paid,
    secondary_aid,
    verified,
)


def close(office: Office, year: int = 2026, by: str = "admin", second: str = "approver") -> None:
    office.handle(cmd.CloseYear(year=year, actor=by))
    office.handle(cmd.ConfirmYearClose(year=year, actor=second))


def test_closing_gives_the_unpaid_back_and_records_totals_and_digest(office: Office) -> None:
    fund = government_fund(office.flow, 50_000)
    donations = donation_fund(office.flow, 10_000)
    owed = approved(office.flow, fund, n=1, yuan=3000)  # approved, nothing paid
    settled = paid(office.flow, fund, n=2, yuan=2000)  # paid in full
    secondary_aid(office.flow, settled, donations, 50_000)  # approved, not paid
    office.catch_up()
    assert office.flow.fund(fund).balance_fen == 5_000_000 - 500_000
    assert office.year(2026).status == "open"

    proposed = office.handle(cmd.CloseYear(year=2026, actor="admin"))
    assert (proposed.status, proposed.recorded) == ("proposed", True)
    again = office.handle(cmd.CloseYear(year=2026, actor="admin"))
    assert again.recorded is False  # the same proposal again: a retry
    digest = office.digest()
    result = office.handle(cmd.ConfirmYearClose(year=2026, actor="approver"))

    assert result.status == "closed" and result.recorded
    assert (result.proposed_by, result.closed_by) == ("admin", "approver")
    assert (result.cases, result.approved_fen, result.paid_fen) == (2, 550_000, 200_000)
    assert result.released_fen == 350_000
    assert (result.digest, result.digest_size) == (digest.digest, digest.size)
    assert office.year(2026) == result.model_copy(update={"recorded": False})
    # the money went back, in the same save, on both funds; the cases owe nothing now
    assert office.flow.fund(fund).balance_fen == 5_000_000 - 200_000
    assert office.flow.fund(donations).balance_fen == 1_000_000
    assert office.flow.case(owed).unpaid_by_fund == {}
    assert office.flow.case(settled).unpaid_by_fund == {}
    assert office.dossier(owed).approved_fen == 0
    assert [e.section for e in office.dossier(owed).timeline][-1] == "year_close"
    ledger = office.ledger()
    assert ledger.government_approved_fen == 200_000  # net of what went back at the close
    assert office.check().violations == []


def test_a_closed_year_takes_no_new_money_but_other_years_and_corrections_go_on(
    office: Office,
) -> None:
    fund = government_fund(office.flow, 50_000)
    donations = donation_fund(office.flow, 10_000)
    waiting = verified(office.flow, 1)
    settled = paid(office.flow, fund, n=2, yuan=2000)
    close(office)
    head = office.head()
    with pytest.raises(YearClosed, match="2026 was closed by approver"):
        office.handle(
            cmd.Approve(
                case_id=waiting, amount_fen=100_000, need="tuition", fund_id=fund,
                ref=new_ref(), actor="approver",
            )
        )  # fmt: skip
    with pytest.raises(YearClosed):
        secondary_aid(office.flow, settled, donations, 10_000)
    with pytest.raises(YearClosed):
        office.handle(
            cmd.Disburse(case_id=settled, amount_fen=100, voucher="V-LATE", actor="cashier")
        )
    assert office.head() == head  # nothing recorded by any refusal
    # the next year is open; a case of it is approved as ever
    later = applied(office.flow, 3, year=2027)
    office.handle(
        cmd.Verify(
            case_id=later, income_fen=1, tuition_fen=1, gap_fen=100_000, needs=["tuition"],
            actor="visitor",
        )
    )  # fmt: skip
    office.handle(
        cmd.Approve(
            case_id=later, amount_fen=100_000, need="tuition", fund_id=fund, ref=new_ref(),
            actor="approver",
        )
    )  # fmt: skip
    listed = office.handle(
        cmd.IssuePaymentList(fund_id=fund, list_date=date(2027, 9, 1), actor="cashier")
    )
    assert [line.case_id for line in listed.lines] == [later]
    # a case of the closed year can still be closed (nothing to release) and followed up
    office.handle(cmd.CloseCase(case_id=waiting, reason="moved away", actor="approver"))
    assert office.check().violations == []


def test_payments_on_a_list_not_yet_settled_hold_the_close(office: Office) -> None:
    fund = government_fund(office.flow, 50_000)
    approved(office.flow, fund, n=1, yuan=1500)
    office.handle(cmd.IssuePaymentList(fund_id=fund, list_date=date(2026, 9, 1), actor="cashier"))
    office.handle(cmd.CloseYear(year=2026, actor="admin"))
    head = office.head()
    with pytest.raises(PaymentsInFlight, match=r"1 payment.*1,500\.00 yuan"):
        office.handle(cmd.ConfirmYearClose(year=2026, actor="approver"))
    assert office.head() == head
    assert office.year(2026).status == "proposed"


def test_four_eyes_and_roles(office: Office) -> None:
    head = office.head()
    with pytest.raises(InvalidTransition, match="has not been proposed"):
        office.handle(cmd.ConfirmYearClose(year=2026, actor="approver"))
    with pytest.raises(NotAuthorised):
        office.handle(cmd.CloseYear(year=2026, actor="approver"))  # an admin's to propose
    assert office.head() == head
    office.handle(cmd.CloseYear(year=2026, actor="admin"))
    with pytest.raises(SegregationOfDuties, match="a second admin or an approver"):
        office.handle(cmd.ConfirmYearClose(year=2026, actor="admin"))
    office.handle(cmd.AddStaff(name="teller", roles=[Role.CASHIER], actor="admin"))
    office.handle(cmd.AddStaff(name="deputy", roles=[Role.ADMIN], actor="admin"))
    with pytest.raises(NotAuthorised):
        office.handle(cmd.ConfirmYearClose(year=2026, actor="teller"))
    with pytest.raises(InvalidTransition, match="awaits a second person"):
        office.handle(cmd.CloseYear(year=2026, actor="deputy"))
    closed = office.handle(cmd.ConfirmYearClose(year=2026, actor="deputy"))  # a second admin
    assert (closed.status, closed.closed_by) == ("closed", "deputy")
    with pytest.raises(YearClosed):
        office.handle(cmd.ConfirmYearClose(year=2026, actor="approver"))


# -- the audit re-derives both rules from the record ------------------------------------------


def test_the_audit_flags_new_money_after_the_close_and_a_one_person_close(
    office: Office,
) -> None:
    """Histories written around the commands (as a writer bypassing them could): an approval
    recorded after the year closed, and a year closed by the person who proposed it."""
    fund = government_fund(office.flow, 50_000)
    waiting = verified(office.flow, 1)
    year = ProgrammeYear.propose(year=2026, actor="admin")
    year._closed(
        year=2026, cases=1, approved_fen=0, paid_fen=0, released_fen=0, digest="x" * 64,
        digest_size=1, proposed_by="admin", actor="admin",
    )  # fmt: skip
    office.flow.save(year)
    case = office.flow.repository.get(waiting)
    ref = new_ref()
    case._grant_approved(
        amount_fen=100_000, need="tuition", fund_id=fund, ref=ref, actor="approver",
        policy_version=0,
    )  # fmt: skip
    office.flow.save(case)
    office.catch_up()
    rules = sorted({v.rule for v in office.check().violations})
    assert "act_in_closed_year" in rules
    assert "year_close_single_person" in rules
    assert office.flow.repository.get(year_id(2026)).closed is not None


def test_year_show_is_open_proposed_then_closed(office: Office) -> None:
    assert office.year(2030).model_dump(include={"year", "status"}) == {
        "year": 2030,
        "status": "open",
    }
    office.handle(cmd.CloseYear(year=2030, actor="admin"))
    assert office.year(2030).status == "proposed"
    assert office.year(2030).proposed_by == "admin"
    office.handle(cmd.ConfirmYearClose(year=2030, actor="approver"))
    shown = office.year(2030)
    assert (shown.status, shown.cases, shown.released_fen) == ("closed", 0, 0)
