"""The StudentCase and Fund aggregates alone: rules, named errors, no I/O."""

from __future__ import annotations

from uuid import uuid4

import pytest

from aidflow.domain import Fund, Policy, StudentCase
from aidflow.domain.errors import (
    CapExceeded,
    CaseNotOpen,
    InsufficientFunds,
    InvalidTransition,
    NoPaidGrant,
    OverDisbursement,
    SegregationOfDuties,
    UnknownAction,
    VerificationRequired,
)
from aidflow.domain.values import CaseStatus

POLICY = Policy()


def new_case() -> StudentCase:
    return StudentCase(
        student_id="520302200703150012",
        name="Li",
        university="GZU",
        family_category="dibao",
        town="Dalian",
        year=2026,
        account="6222",
        source="screening",
        actor="screening",
    )


def verified_case() -> StudentCase:
    case = new_case()
    case.verify(
        income_fen=0,
        tuition_fen=500_000,
        gap_fen=500_000,
        needs=["tuition", "travel"],
        visited_on=None,
        note="",
        actor="visitor",
    )
    return case


def pending(case: StudentCase) -> int:
    return len(case.pending_events)


def test_no_approval_before_verification() -> None:
    case = new_case()
    with pytest.raises(VerificationRequired, match="household visit"):
        case.approve_grant(
            amount_fen=100, need="tuition", fund_id=uuid4(), actor="boss", policy=POLICY
        )
    assert pending(case) == 1


def test_verifier_may_not_approve() -> None:
    case = verified_case()
    with pytest.raises(SegregationOfDuties, match="visitor verified"):
        case.approve_grant(
            amount_fen=100, need="tuition", fund_id=uuid4(), actor="visitor", policy=POLICY
        )


def test_cap_per_case() -> None:
    case = verified_case()
    fund = uuid4()
    case.approve_grant(
        amount_fen=400_000, need="tuition", fund_id=fund, actor="boss", policy=POLICY
    )
    with pytest.raises(CapExceeded, match=r"over the cap of 5,000\.00 yuan"):
        case.approve_grant(
            amount_fen=100_001, need="travel", fund_id=fund, actor="boss", policy=POLICY
        )
    case.approve_grant(amount_fen=100_000, need="travel", fund_id=fund, actor="boss", policy=POLICY)
    assert case.approved_fen == POLICY.cap_fen


def test_no_disbursement_beyond_approval() -> None:
    case = verified_case()
    case.approve_grant(
        amount_fen=300_000, need="tuition", fund_id=uuid4(), actor="boss", policy=POLICY
    )
    with pytest.raises(OverDisbursement):
        case.disburse(amount_fen=300_001, voucher="V1", value_date=None, actor="cashier")
    case.disburse(amount_fen=300_000, voucher="V1", value_date=None, actor="cashier")
    assert case.status is CaseStatus.PAID
    with pytest.raises(OverDisbursement):
        case.disburse(amount_fen=1, voucher="V2", value_date=None, actor="cashier")


def test_returned_payment_can_be_paid_again_with_a_new_voucher() -> None:
    case = verified_case()
    case.approve_grant(
        amount_fen=300_000, need="tuition", fund_id=uuid4(), actor="boss", policy=POLICY
    )
    case.disburse(amount_fen=300_000, voucher="V1", value_date=None, actor="cashier")
    case.return_disbursement(voucher="V1", reason="account closed", value_date=None, actor="bank")
    assert case.disbursed_fen == 0 and case.status is CaseStatus.APPROVED
    with pytest.raises(InvalidTransition, match="already returned"):
        case.return_disbursement(voucher="V1", reason="again", value_date=None, actor="bank")
    case.disburse(amount_fen=300_000, voucher="V2", value_date=None, actor="cashier")
    assert case.disbursed_fen == 300_000


def test_secondary_aid_needs_a_paid_grant() -> None:
    case = verified_case()
    case.approve_grant(
        amount_fen=300_000, need="tuition", fund_id=uuid4(), actor="boss", policy=POLICY
    )
    with pytest.raises(NoPaidGrant):
        case.allocate_secondary_aid(fund_id=uuid4(), amount_fen=100, reason="", actor="fed")


def test_rejected_case_takes_no_money_and_closed_case_releases_unpaid() -> None:
    case = new_case()
    case.reject(reason="not on the registry", actor="clerk")
    with pytest.raises(CaseNotOpen, match="rejected"):
        case.verify(
            income_fen=0,
            tuition_fen=0,
            gap_fen=0,
            needs=["living"],
            visited_on=None,
            note="",
            actor="v",
        )
    other = verified_case()
    fund = uuid4()
    other.approve_grant(
        amount_fen=300_000, need="tuition", fund_id=fund, actor="boss", policy=POLICY
    )
    other.disburse(amount_fen=100_000, voucher="V9", value_date=None, actor="cashier")
    assert other.close(reason="withdrew", actor="clerk") == {str(fund): 200_000}
    assert other.approved_fen == other.disbursed_fen == 100_000
    with pytest.raises(CaseNotOpen, match="closed"):
        other.disburse(amount_fen=1, voucher="V10", value_date=None, actor="cashier")
    with pytest.raises(CaseNotOpen, match="closed"):
        other.return_disbursement(voucher="V9", reason="bank", value_date=None, actor="bank")


def test_hardship_reopens_verification_before_any_further_grant() -> None:
    case = verified_case()
    case.report_hardship(
        kind="illness", severity="serious", detail="father hospitalised", actor="village"
    )
    assert case.status is CaseStatus.REOPENED
    with pytest.raises(VerificationRequired):
        case.approve_grant(
            amount_fen=100, need="living", fund_id=uuid4(), actor="boss", policy=POLICY
        )


def test_consultation_actions_are_owed_until_done() -> None:
    case = verified_case()
    with pytest.raises(InvalidTransition, match="no reported hardship"):
        case.convene_review(departments=["health"], actions=[], note="", actor="chair")
    case.report_hardship(kind="illness", severity="critical", detail="leukaemia", actor="village")
    ids = case.convene_review(
        departments=["health", "education"],
        actions=[("health", "medical assistance"), ("education", "tuition waiver")],
        note="",
        actor="chair",
    )
    assert ids == ["A1", "A2"] and case.open_actions == ["A1", "A2"]
    case.complete_action(action_id="A1", note="done", actor="health")
    assert case.open_actions == ["A2"]
    with pytest.raises(UnknownAction):
        case.complete_action(action_id="A7", note="x", actor="x")
    with pytest.raises(InvalidTransition, match="already done"):
        case.complete_action(action_id="A1", note="x", actor="x")


def test_fund_never_overdrawn() -> None:
    fund = Fund(name="Gov", kind="government", purpose="", actor="finance")
    fund.deposit(amount_fen=1000, source="budget", receipt="R1", value_date=None, actor="finance")
    fund.allocate(case_id=uuid4(), amount_fen=600, use="grant", actor="boss")
    with pytest.raises(InsufficientFunds, match=r"has 4\.00 yuan left"):
        fund.allocate(case_id=uuid4(), amount_fen=401, use="grant", actor="boss")
    assert fund.balance_fen == 400
