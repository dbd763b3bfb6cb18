"""Money exactly once (issue 8), on both backends: each test is named after what was seen.

Every refusal also checks that nothing was written (the store's last position).
"""

from __future__ import annotations

import pytest

from aidflow import AidFlow
from aidflow import commands as cmd
from aidflow.application import HANDLERS
from aidflow.domain import money
from aidflow.domain.errors import (
    DecisionConflict,
    DuplicateApplication,
    InvalidAmount,
    SegregationOfDuties,
    VoucherAlreadyUsed,
    VoucherReturned,
)
from tests.builders import (
    applied,
    approved,
    donation_fund,
    government_fund,
    national_id,
    new_ref,
    paid,
    verified,
)

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def _position(flow: AidFlow) -> int:
    return flow.recorder.max_notification_id() or 0


def test_issue8_1_the_same_student_typed_in_full_width_digits_is_not_a_second_case(
    flow: AidFlow,
) -> None:
    first = applied(flow, 5)
    before = _position(flow)
    with pytest.raises(DuplicateApplication) as refused:
        flow.apply(
            cmd.Apply(
                student_id=national_id(5).translate(FULL_WIDTH),
                name="Student 5",
                university="Guizhou University",
                family_category="dibao",
                town="Dalian",
                year=2026,
                actor="screening",
            )
        )
    assert refused.value.case_id == first
    assert refused.value.ids == {"case_id": str(first)}
    assert _position(flow) == before


def test_issue8_1_vouchers_v1_v1_and_full_width_are_one_voucher(flow: AidFlow) -> None:
    gov = government_fund(flow)
    one = approved(flow, gov, 1, yuan=3000)
    two = approved(flow, gov, 2, yuan=3000)
    flow.disburse(cmd.Disburse(case_id=one, amount_fen=100_000, voucher="V1", actor="cashier"))
    before = _position(flow)
    for spelling in ("v1", "Ｖ１"):
        with pytest.raises(VoucherAlreadyUsed):
            flow.disburse(
                cmd.Disburse(case_id=two, amount_fen=100_000, voucher=spelling, actor="cashier")
            )
        again = flow.disburse(
            cmd.Disburse(case_id=one, amount_fen=100_000, voucher=spelling, actor="cashier")
        )
        assert not again.recorded and again.voucher == "V1"
    assert _position(flow) == before


@pytest.mark.parametrize("approver", ["Visitor", "visitor ", "ｖｉｓｉｔｏｒ"])
def test_issue8_1_segregation_of_duties_compares_people_not_spellings(
    flow: AidFlow, approver: str
) -> None:
    gov = government_fund(flow)
    case = verified(flow, 1, verifier="visitor")
    before = _position(flow)
    with pytest.raises(SegregationOfDuties):
        flow.approve(
            cmd.Approve(
                case_id=case,
                amount_fen=100_000,
                need="tuition",
                fund_id=gov,
                ref=new_ref(),
                actor=approver,
            )
        )
    assert _position(flow) == before


def test_issue8_2_a_retried_approval_is_recorded_once(flow: AidFlow) -> None:
    gov = government_fund(flow)
    case = verified(flow, 1)
    approval = cmd.Approve(
        case_id=case,
        amount_fen=200_000,
        need="tuition",
        fund_id=gov,
        ref="SP-2026-0007",
        actor="approver",
    )
    first = flow.approve(approval)
    after_first = _position(flow)
    retry = flow.approve(approval)
    retyped = flow.approve(approval.model_copy(update={"ref": "sp-2026-0007"}))
    assert first.recorded and not retry.recorded and not retyped.recorded
    assert retry.case_id == first.case_id and retry.amount_fen == 200_000
    assert _position(flow) == after_first
    assert flow.case(case).approved_fen == 200_000
    assert flow.fund(gov).allocated_fen == 200_000


def test_issue8_2_a_reference_reused_for_another_decision_is_refused(flow: AidFlow) -> None:
    gov = government_fund(flow)
    don = donation_fund(flow)
    one = paid(flow, gov, 1, yuan=2000)
    two = verified(flow, 2)
    flow.approve(
        cmd.Approve(
            case_id=two,
            amount_fen=100_000,
            need="tuition",
            fund_id=gov,
            ref="SP-1",
            actor="approver",
        )
    )
    before = _position(flow)
    with pytest.raises(DecisionConflict) as refused:  # same number, other amount
        flow.approve(
            cmd.Approve(
                case_id=two,
                amount_fen=150_000,
                need="tuition",
                fund_id=gov,
                ref="SP-1",
                actor="approver",
            )
        )
    assert refused.value.ids["ref"] == "SP-1"
    with pytest.raises(DecisionConflict):  # approvals and secondary aid share one numbering
        flow.allocate_secondary_aid(
            cmd.AllocateSecondaryAid(
                case_id=one, fund_id=don, amount_fen=100_000, ref="SP-1", actor="committee"
            )
        )
    assert _position(flow) == before


def test_issue8_2_running_the_same_secondary_aid_twice_records_it_once(flow: AidFlow) -> None:
    gov = government_fund(flow)
    don = donation_fund(flow)
    case = paid(flow, gov, 1, yuan=2000)
    aid = cmd.AllocateSecondaryAid(
        case_id=case, fund_id=don, amount_fen=600_000, ref="EC-2026-001", actor="committee"
    )
    assert flow.allocate_secondary_aid(aid).recorded
    before = _position(flow)
    assert not flow.allocate_secondary_aid(aid).recorded
    assert _position(flow) == before
    assert flow.case(case).secondary_aid_fen == 0  # proposed: counted once approved
    approval = cmd.ApproveSecondaryAid(case_id=case, ref="ec-2026-001", actor="approver")
    assert flow.approve_secondary_aid(approval).recorded
    before = _position(flow)
    assert not flow.approve_secondary_aid(approval).recorded
    assert _position(flow) == before
    assert flow.case(case).secondary_aid_fen == 600_000


def test_issue8_2_any_command_with_an_idempotency_key_is_recorded_once(flow: AidFlow) -> None:
    case = applied(flow, 1)
    report = cmd.ReportHardship(
        case_id=case, kind="illness", detail="hospital", actor="clerk", idempotency_key="HR-9"
    )
    flow.report_hardship(report)
    before = _position(flow)
    flow.report_hardship(report)
    assert _position(flow) == before
    with pytest.raises(DecisionConflict):
        flow.report_hardship(report.model_copy(update={"detail": "accident"}))
    assert flow.load_case(case).hardships == 1
    # a dry run (an import's --dry-run) answers as the run would: a retry, or the same refusal
    rehearse = flow.pipeline.rehearse
    assert rehearse(HANDLERS[cmd.ReportHardship], report) is False
    with pytest.raises(DecisionConflict):
        rehearse(HANDLERS[cmd.ReportHardship], report.model_copy(update={"detail": "accident"}))
    assert _position(flow) == before


def test_issue8_3_deposits_whose_sum_would_overflow_are_refused(flow: AidFlow) -> None:
    fund = flow.open_fund(cmd.OpenFund(name="Budget", kind="government", actor="finance"))
    big = money.MAX_AMOUNT_FEN
    for n in range(money.MAX_TOTAL_FEN // big):
        flow.deposit(
            cmd.Deposit(fund_id=fund, amount_fen=big, source="budget", receipt=f"R{n}", actor="f")
        )
    before = _position(flow)
    with pytest.raises(InvalidAmount, match="limit"):
        flow.deposit(
            cmd.Deposit(fund_id=fund, amount_fen=1, source="budget", receipt="R-last", actor="f")
        )
    assert _position(flow) == before
    assert flow.fund(fund).deposited_fen == money.MAX_TOTAL_FEN


def test_issue8_5_a_returned_voucher_cannot_be_paid_again(flow: AidFlow) -> None:
    gov = government_fund(flow)
    case = approved(flow, gov, 1, yuan=2000)
    pay = cmd.Disburse(case_id=case, amount_fen=200_000, voucher="V1", actor="cashier")
    flow.disburse(pay)
    flow.return_disbursement(
        cmd.ReturnDisbursement(case_id=case, voucher="v1", reason="account closed", actor="cashier")
    )
    before = _position(flow)
    with pytest.raises(VoucherReturned, match="new voucher"):
        flow.disburse(pay)
    assert _position(flow) == before
    assert flow.case(case).disbursed_fen == 0
    assert flow.disburse(pay.model_copy(update={"voucher": "V2"})).recorded
    assert flow.case(case).disbursed_fen == 200_000
