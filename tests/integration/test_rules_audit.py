"""One history per audit rule: each names the exact rule, case, fund and position it reports.

Rule-breaking histories are written "around the rules" the way an import or a bug
might: the aggregate's private ``@event`` methods are called with every field given,
then saved. A clean history, with every kind of event, reports nothing. Every
timestamp comes from the test's clock; nothing reads the wall clock.

Boundaries are tested on both sides (exactly at the cap, exactly the balance, exactly
the policy's number of days), so an off-by-one in a rule fails a test.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from aidflow import AidFlow
from aidflow import commands as cmd
from aidflow.domain import Policy
from aidflow.domain.clock import fixed, using_clock
from aidflow.projections import ReadModels
from aidflow.projections.models import Violation
from tests.builders import (
    applied,
    donation_fund,
    followed_up,
    government_fund,
    new_ref,
    paid,
    register_staff,
    secondary_aid,
    verified,
)

T0 = datetime(2026, 8, 1, 9, 0, tzinfo=UTC)
POLICY = Policy()


class History:
    """A SQLite store, its read models, and a clock the test moves by hand."""

    def __init__(self, url: str) -> None:
        self.now = T0
        self.flow = AidFlow.open(url, clock=lambda: self.now)
        register_staff(self.flow)
        self.views = ReadModels.attach(self.flow, url)

    def save_forced(self, *aggregates: Any) -> None:
        """Save events made by the private ``@event`` methods (stamped by the test's clock)."""
        self.flow.save(*aggregates)
        self.views.catch_up(self.flow)

    def forced(self) -> Any:
        """Stamp events created inside the block with the test's clock."""
        return using_clock(fixed(self.now))

    def position(self, aggregate_id: UUID, version: int | None = None) -> int:
        """The store position of an aggregate's event (its last one by default)."""
        if version is None:
            version = self.flow.repository.get(aggregate_id).version
        found = self.views.position_of_version(aggregate_id, version)
        assert found is not None
        return found

    def findings(self, *, days: float = 0) -> list[Violation]:
        return self.views.check(POLICY, now=self.now + timedelta(days=days))

    def close(self) -> None:
        self.views.close()
        self.flow.close()


@pytest.fixture
def h(tmp_path: Path) -> Iterator[History]:
    history = History(f"sqlite:///{tmp_path / 'rules.db'}")
    try:
        yield history
    finally:
        history.close()


def only(findings: list[Violation]) -> Violation:
    assert len(findings) == 1, [f.model_dump() for f in findings]
    return findings[0]


def approve(h: History, case: UUID, fund: UUID, fen: int, actor: str = "approver") -> None:
    h.flow.approve(
        cmd.Approve(
            ref=new_ref(), case_id=case, amount_fen=fen, need="tuition", fund_id=fund, actor=actor
        )
    )


def forced_grant(h: History, case: UUID, fund: UUID, fen: int, actor: str = "approver") -> int:
    """A grant approved around the rules; returns the position of its ``case.grant_approved``."""
    raw, money = h.flow.load_case(case), h.flow.load_fund(fund)
    with h.forced():
        raw._grant_approved(
            amount_fen=fen, need="tuition", fund_id=fund, actor=actor, ref="", policy_version=0
        )
        money._allocated(case_id=case, amount_fen=fen, use="grant", actor=actor)
    h.save_forced(raw, money)
    return h.position(case)


def forced_payment(h: History, case: UUID, fund: UUID, fen: int, voucher: str) -> int:
    raw = h.flow.load_case(case)
    with h.forced():
        raw._disbursed(
            amount_fen=fen,
            voucher=voucher,
            fund_id=fund,
            value_date=None,
            actor="cashier",
            account="",
            listed=False,
            use="grant",
        )
    h.save_forced(raw)
    return h.position(case)


def forced_secondary(h: History, case: UUID, fund: UUID, fen: int) -> int:
    raw, money = h.flow.load_case(case), h.flow.load_fund(fund)
    with h.forced():
        raw._secondary_aid_allocated(
            fund_id=fund, amount_fen=fen, reason="ongoing costs", actor="federation", ref=""
        )
        money._allocated(case_id=case, amount_fen=fen, use="secondary-aid", actor="federation")
    h.save_forced(raw, money)
    return h.position(case)


def hardship(h: History, case: UUID, severity: str = "serious") -> None:
    h.flow.report_hardship(
        cmd.ReportHardship(
            case_id=case, kind="illness", severity=severity, detail="sudden illness", actor="v"
        )
    )


def reverify(h: History, case: UUID, actor: str) -> None:
    h.flow.verify(
        cmd.Verify(
            case_id=case,
            income_fen=0,
            tuition_fen=0,
            gap_fen=500_000,
            needs=["living", "tuition"],
            actor=actor,
        )
    )


# -- a clean history -------------------------------------------------------------------------


def test_clean_history_with_every_kind_of_event_reports_no_finding(h: History) -> None:
    gov, don = government_fund(h.flow, 20_000), donation_fund(h.flow, 10_000)
    one = paid(h.flow, gov, 1, yuan=3000)
    h.flow.return_disbursement(
        cmd.ReturnDisbursement(case_id=one, voucher="V-1", reason="closed account", actor="bank")
    )
    h.flow.set_account(
        cmd.SetAccount(case_id=one, account="6217000011112222333", reason="closed", actor="clerk")
    )
    h.flow.confirm_account(cmd.ConfirmAccount(case_id=one, actor="approver"))
    h.flow.disburse(cmd.Disburse(case_id=one, amount_fen=300_000, voucher="V-1b", actor="cashier"))
    secondary_aid(h.flow, one, don, 200_000)
    h.flow.disburse(cmd.Disburse(case_id=one, amount_fen=200_000, voucher="S-1", actor="cashier"))
    forced_secondary(h, one, don, 100_000)  # a v0.1 one-step allocation, as old stores hold
    h.flow.reconcile(
        cmd.Reconcile(
            lines=[
                cmd.StatementLine(amount_fen=300_000, reference="V-1b", status="paid"),
                cmd.StatementLine(amount_fen=200_000, reference="S-1", status="paid"),
            ],
            actor="cashier",
        )
    )
    hardship(h, one)
    h.flow.convene_review(
        cmd.ConveneReview(
            case_id=one,
            departments=["health"],
            actions=[{"department": "health", "text": "medical aid"}],
            actor="chair",
        )
    )
    h.flow.complete_action(
        cmd.CompleteAction(case_id=one, action_id="A1", note="bill paid", actor="health")
    )
    reverify(h, one, "visitor2")
    two = verified(h.flow, 2)
    approve(h, two, gov, 500_000)
    h.flow.disburse(cmd.Disburse(case_id=two, amount_fen=200_000, voucher="V-2", actor="cashier"))
    h.flow.follow_up(
        cmd.FollowUp(
            case_id=two, study="passing", living="stable", hardship_trend="improved", actor="v"
        )
    )
    h.flow.close_case(cmd.CloseCase(case_id=two, reason="graduated", actor="clerk"))
    h.flow.reject(cmd.Reject(case_id=applied(h.flow, 3), reason="income above line", actor="c"))
    report = h.views.check_report(POLICY, now=h.now + timedelta(days=365))
    assert report.violations == []
    assert report.position == h.flow.recorder.max_notification_id()
    for kind in (
        "case.grant_approved",
        "case.disbursed",
        "case.disbursement_returned",
        "case.secondary_aid_allocated",
        "case.secondary_aid_proposed",
        "case.secondary_aid_approved",
        "case.account_set",
        "case.account_confirmed",
        "case.disbursement_confirmed",
        "payments.statement_imported",
        "case.review_convened",
        "case.action_completed",
        "case.closed",
        "fund.released",
        "case.rejected",
    ):
        assert report.checked.get(kind, 0) >= 1, kind


# -- funds ----------------------------------------------------------------------------------


@pytest.mark.parametrize("receipt", ["", "   "])
def test_deposit_without_receipt_is_found(h: History, receipt: str) -> None:
    gov = government_fund(h.flow)
    fund = h.flow.load_fund(gov)
    with h.forced():
        fund._deposited(
            amount_fen=100_000, source="cash box", receipt=receipt, value_date=None, actor="f"
        )
    h.save_forced(fund)
    v = only(h.findings())
    assert (v.rule, v.fund_id, v.case_id) == ("deposit_without_receipt", str(gov), None)
    assert v.positions == [h.position(gov)]


def test_fund_overdrawn_is_found_and_spending_exactly_the_balance_is_not(h: History) -> None:
    gov = government_fund(h.flow, yuan=1000)
    case = verified(h.flow, 1)
    forced_grant(h, case, gov, 100_000)  # exactly the balance: fine
    assert h.findings() == []
    other = verified(h.flow, 2)
    position = forced_grant(h, other, gov, 1)
    fund_position = h.position(gov)
    v = only(h.findings())
    assert (v.rule, v.fund_id, v.case_id) == ("fund_overdrawn", str(gov), str(other))
    assert v.positions == [fund_position] and fund_position == position + 1


# -- order and segregation of duties -----------------------------------------------------------


def test_approved_before_verification_is_found(h: History) -> None:
    gov = government_fund(h.flow)
    case = applied(h.flow, 1)
    position = forced_grant(h, case, gov, 100_000)
    v = only(h.findings())
    assert (v.rule, v.case_id, v.positions) == (
        "approved_before_verification",
        str(case),
        [position],
    )


def test_approval_after_new_hardship_before_reverification_is_found(h: History) -> None:
    gov = government_fund(h.flow)
    case = verified(h.flow, 1)
    approve(h, case, gov, 100_000)
    hardship(h, case, severity="minor")
    position = forced_grant(h, case, gov, 100_000)
    v = only(h.findings())
    assert (v.rule, v.case_id, v.positions) == (
        "approved_before_verification",
        str(case),
        [position],
    )


def test_audit_sod_checks_every_verifier_not_the_last(h: History) -> None:
    """The first verifier approves after a reopen and a second verification by someone else."""
    gov = government_fund(h.flow)
    case = verified(h.flow, 1, verifier="alice")
    hardship(h, case, severity="minor")
    reverify(h, case, "bob")
    position = forced_grant(h, case, gov, 100_000, actor="alice")
    v = only(h.findings())
    assert (v.rule, v.case_id, v.positions) == ("verifier_approved", str(case), [position])
    assert "alice" in v.message


def test_wrong_fund_kind_for_a_grant_is_found(h: History) -> None:
    don = donation_fund(h.flow)
    case = verified(h.flow, 1)
    position = forced_grant(h, case, don, 100_000)
    v = only(h.findings())
    assert (v.rule, v.case_id, v.fund_id, v.positions) == (
        "wrong_fund_kind",
        str(case),
        str(don),
        [position],
    )
    assert "not a government fund" in v.message


def test_wrong_fund_kind_for_secondary_aid_is_found(h: History) -> None:
    gov = government_fund(h.flow)
    case = paid(h.flow, gov, 1, yuan=1000)
    position = forced_secondary(h, case, gov, 50_000)
    v = only(h.findings())
    assert (v.rule, v.case_id, v.fund_id, v.positions) == (
        "wrong_fund_kind",
        str(case),
        str(gov),
        [position],
    )
    assert "not a donation fund" in v.message


# -- money on a case ----------------------------------------------------------------------------


def test_cap_exceeded_names_every_approval_and_exactly_the_cap_is_fine(h: History) -> None:
    gov = government_fund(h.flow)
    case = verified(h.flow, 1)
    first = forced_grant(h, case, gov, 300_000)
    forced_grant(h, case, gov, 200_000)  # 5,000 yuan: exactly the cap
    assert h.findings() == []
    third = forced_grant(h, case, gov, 1)
    findings = h.findings()  # the visit's gap was 5,000 yuan too: both rules are broken
    assert sorted(f.rule for f in findings) == ["cap_exceeded", "gap_exceeded"]
    v = only([f for f in findings if f.rule == "cap_exceeded"])
    assert (v.rule, v.case_id) == ("cap_exceeded", str(case))
    assert v.positions == [first, first + 2, third]


def test_paid_before_approval_is_found_and_paying_exactly_the_approval_is_not(
    h: History,
) -> None:
    gov = government_fund(h.flow)
    case = verified(h.flow, 1)
    approve(h, case, gov, 100_000)
    forced_payment(h, case, gov, 100_000, "V-1")
    assert h.findings() == []
    position = forced_payment(h, case, gov, 1, "V-2")
    v = only(h.findings())
    assert (v.rule, v.case_id, v.positions) == ("paid_before_approval", str(case), [position])


def test_returned_payment_lowers_what_was_paid(h: History) -> None:
    gov = government_fund(h.flow)
    case = paid(h.flow, gov, 1, yuan=1000)
    h.flow.return_disbursement(
        cmd.ReturnDisbursement(case_id=case, voucher="V-1", reason="closed", actor="bank")
    )
    forced_payment(h, case, gov, 100_000, "V-1b")  # the re-payment is within the approval
    assert h.findings() == []


def test_duplicate_voucher_names_both_payments(h: History) -> None:
    gov = government_fund(h.flow)
    one, two = verified(h.flow, 1), verified(h.flow, 2)
    approve(h, one, gov, 100_000)
    approve(h, two, gov, 100_000)
    first = forced_payment(h, one, gov, 100_000, "DUP")
    second = forced_payment(h, two, gov, 100_000, "DUP")
    v = only(h.findings())
    assert (v.rule, v.case_id, v.positions) == ("duplicate_voucher", str(two), [first, second])


def test_secondary_aid_after_the_only_payment_was_returned_is_found(h: History) -> None:
    gov, don = government_fund(h.flow), donation_fund(h.flow)
    case = paid(h.flow, gov, 1, yuan=1000)
    h.flow.return_disbursement(
        cmd.ReturnDisbursement(case_id=case, voucher="V-1", reason="closed", actor="bank")
    )
    position = forced_secondary(h, case, don, 50_000)
    v = only(h.findings())
    assert (v.rule, v.case_id, v.positions) == (
        "secondary_aid_without_paid_grant",
        str(case),
        [position],
    )


def test_secondary_aid_after_a_standing_payment_is_fine(h: History) -> None:
    gov, don = government_fund(h.flow), donation_fund(h.flow)
    case = paid(h.flow, gov, 1, yuan=1000)
    forced_secondary(h, case, don, 50_000)
    assert h.findings() == []


def test_incomplete_dossier_names_the_missing_voucher(h: History) -> None:
    gov = government_fund(h.flow)
    case = verified(h.flow, 1)
    approve(h, case, gov, 100_000)
    forced_payment(h, case, gov, 100_000, " ")
    v = only(h.findings())
    assert (v.rule, v.case_id, v.positions) == ("incomplete_dossier", str(case), [])
    assert v.message == "paid case lacks voucher"


def test_incomplete_dossier_names_the_missing_verification(h: History) -> None:
    gov = government_fund(h.flow)
    case = applied(h.flow, 1)
    grant = forced_grant(h, case, gov, 100_000)
    forced_payment(h, case, gov, 100_000, "V-1")
    found = {v.rule: v for v in h.findings()}
    assert set(found) == {"approved_before_verification", "incomplete_dossier"}
    assert found["approved_before_verification"].positions == [grant]
    assert found["incomplete_dossier"].message == "paid case lacks verification"
    assert found["incomplete_dossier"].case_id == str(case)


def test_incomplete_dossier_names_a_payment_without_approval_or_known_fund(h: History) -> None:
    gov = government_fund(h.flow)
    case = verified(h.flow, 1)
    position = forced_payment(h, case, gov, 100_000, "V-1")
    found = {v.rule: v for v in h.findings()}
    assert set(found) == {"paid_before_approval", "incomplete_dossier"}
    assert found["paid_before_approval"].positions == [position]
    assert found["incomplete_dossier"].message == "paid case lacks approval, fund source"


# -- timeliness (every moment from the test's clock) ----------------------------------------------


def test_approved_unpaid_too_long_is_found_after_the_policy_days_only(h: History) -> None:
    gov = government_fund(h.flow)
    case = verified(h.flow, 1)
    approve(h, case, gov, 300_000)
    position = h.position(case)
    h.flow.disburse(cmd.Disburse(case_id=case, amount_fen=100_000, voucher="V", actor="cashier"))
    assert h.findings(days=POLICY.max_unpaid_days) == []
    v = only(h.findings(days=POLICY.max_unpaid_days + 0.01))
    assert (v.rule, v.case_id, v.positions) == ("approved_unpaid_too_long", str(case), [position])
    assert v.message.startswith("2,000.00 yuan approved 30 days ago")


def test_approved_unpaid_is_not_late_once_paid_or_closed(h: History) -> None:
    gov = government_fund(h.flow)
    one, two = verified(h.flow, 1), verified(h.flow, 2)
    approve(h, one, gov, 100_000)
    approve(h, two, gov, 100_000)
    h.flow.disburse(cmd.Disburse(case_id=one, amount_fen=100_000, voucher="V", actor="cashier"))
    h.flow.close_case(cmd.CloseCase(case_id=two, reason="moved away", actor="clerk"))
    assert h.findings(days=400) == []


def test_hardship_without_consultation_is_found_after_the_policy_days_only(h: History) -> None:
    case = verified(h.flow, 1)
    quiet = verified(h.flow, 2)
    hardship(h, case, severity="critical")
    position = h.position(case)
    hardship(h, quiet, severity="minor")  # minor: no consultation owed
    assert h.findings(days=POLICY.max_days_to_consultation) == []
    v = only(h.findings(days=POLICY.max_days_to_consultation + 0.01))
    assert (v.rule, v.case_id, v.positions) == (
        "hardship_without_consultation",
        str(case),
        [position],
    )


def test_a_consultation_answers_the_hardship_before_it(h: History) -> None:
    case = verified(h.flow, 1)
    hardship(h, case)
    h.flow.convene_review(cmd.ConveneReview(case_id=case, departments=["health"], actor="chair"))
    assert h.findings(days=100) == []


def test_consultation_action_open_names_the_review_that_owes_it(h: History) -> None:
    case = verified(h.flow, 1)
    hardship(h, case)
    h.flow.convene_review(
        cmd.ConveneReview(
            case_id=case,
            departments=["health", "education"],
            actions=[
                {"department": "health", "text": "medical aid"},
                {"department": "education", "text": "fee waiver"},
            ],
            actor="chair",
        )
    )
    review = h.position(case)
    h.flow.complete_action(
        cmd.CompleteAction(case_id=case, action_id="A1", note="paid", actor="health")
    )
    assert h.findings(days=POLICY.max_days_action_open) == []
    v = only(h.findings(days=POLICY.max_days_action_open + 0.01))
    assert (v.rule, v.case_id, v.positions) == ("consultation_action_open", str(case), [review])
    assert v.message.startswith("education has not completed A2")


# -- releases: a close gives money back, and a reopened case is checked like any other --------


def test_audit_honours_releases_no_false_overdraft_or_cap_after_a_reopen(h: History) -> None:
    gov = government_fund(h.flow, yuan=5000)
    case = verified(h.flow, 1)
    approve(h, case, gov, 500_000)
    h.flow.disburse(cmd.Disburse(case_id=case, amount_fen=300_000, voucher="V", actor="cashier"))
    followed_up(h.flow, case)
    h.flow.close_case(cmd.CloseCase(case_id=case, reason="left university", actor="clerk"))
    hardship(h, case, severity="minor")
    reverify(h, case, "visitor2")
    approve(h, case, gov, 200_000)  # the fund's last 2,000 yuan, the case's last 2,000 of the cap
    assert h.flow.fund(gov).balance_fen == 0
    assert h.findings() == []


def test_ledger_with_a_close_that_releases_and_a_reopened_case(h: History) -> None:
    gov = government_fund(h.flow, yuan=10_000)
    case = verified(h.flow, 1)
    approve(h, case, gov, 500_000)
    h.flow.disburse(cmd.Disburse(case_id=case, amount_fen=300_000, voucher="V", actor="cashier"))
    followed_up(h.flow, case)
    h.flow.close_case(cmd.CloseCase(case_id=case, reason="left university", actor="clerk"))
    ledger = h.views.ledger(entries=True)
    (totals,) = ledger.funds
    assert (totals.deposited_fen, totals.allocated_fen, totals.released_fen) == (
        1_000_000,
        500_000,
        200_000,
    )
    assert totals.balance_fen == h.flow.fund(gov).balance_fen == 700_000
    assert ledger.government_approved_fen == h.flow.case(case).approved_fen == 300_000
    assert [e.entry for e in ledger.entries].count("release") == 1
    dossier = h.views.dossier(str(case))
    assert (dossier.status, dossier.approved_fen) == ("closed", 300_000)

    hardship(h, case, severity="minor")
    reverify(h, case, "visitor2")
    approve(h, case, gov, 100_000)
    ledger = h.views.ledger()
    (totals,) = ledger.funds
    assert totals.balance_fen == h.flow.fund(gov).balance_fen == 600_000
    assert ledger.government_approved_fen == h.flow.case(case).approved_fen == 400_000
    assert ledger.government_disbursed_fen == 300_000
    dossier = h.views.dossier(str(case))
    assert (dossier.status, dossier.approved_fen) == ("approved", 400_000)
