"""The AidFlow application on a real store (SQLite and PostgreSQL): each rule refuses and writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from aidflow import AidFlow
from aidflow import commands as cmd
from aidflow.domain.errors import (
    AidflowError,
    CapExceeded,
    CaseNotFound,
    DuplicateApplication,
    DuplicateReceipt,
    InsufficientFunds,
    InvalidInput,
    NoAccount,
    NoPaidGrant,
    OverDisbursement,
    SegregationOfDuties,
    VerificationRequired,
    VoucherAlreadyUsed,
    WrongFundKind,
)
from aidflow.domain.values import CaseStatus
from tests.builders import (
    applied,
    approved,
    donation_fund,
    followed_up,
    government_fund,
    national_id,
    new_ref,
    paid,
    register_staff,
    secondary_aid,
    verified,
)


def refused(
    flow: AidFlow,
    error: type[AidflowError],
    command: Callable[[], object],
    match: str | None = None,
) -> None:
    """The command raises ``error`` and the store holds exactly what it held before."""
    before = flow.recorder.max_notification_id()
    with pytest.raises(error, match=match):
        command()
    assert flow.recorder.max_notification_id() == before


def test_full_lifecycle(flow: AidFlow) -> None:
    gov, don = government_fund(flow), donation_fund(flow)
    case = paid(flow, gov, yuan=4000)
    secondary_aid(flow, case, don, 650_000)
    flow.disburse(cmd.Disburse(case_id=case, amount_fen=650_000, voucher="S-1", actor="cashier"))
    flow.report_hardship(
        cmd.ReportHardship(
            case_id=case, kind="illness", detail="mother hospitalised", actor="village"
        )
    )
    review = flow.convene_review(
        cmd.ConveneReview(
            case_id=case,
            departments=["civil-affairs", "education", "health"],
            actions=[
                {"department": "health", "text": "medical assistance"},
                {"department": "education", "text": "tuition reduction"},
            ],
            actor="chair",
        )
    )
    flow.complete_action(
        cmd.CompleteAction(
            case_id=case,
            action_id=review.action_ids[0],
            note="paid by medical fund",
            actor="health",
        )
    )
    flow.follow_up(
        cmd.FollowUp(
            case_id=case,
            study="passing",
            living="stable",
            hardship_trend="improved",
            actor="village",
        )
    )
    snap = flow.case(case)
    assert (snap.status, snap.approved_fen, snap.disbursed_fen, snap.secondary_aid_fen) == (
        CaseStatus.REOPENED,
        400_000,
        400_000,
        650_000,
    )
    assert snap.open_actions == ["A2"]
    assert snap.student_id_masked.startswith("5203") and "*" in snap.student_id_masked
    assert flow.fund(gov).balance_fen == 10_000_000 - 400_000
    assert flow.fund(don).balance_fen == 5_000_000 - 650_000
    types = [e.type for e in flow.history(case)]
    assert types == [
        "case.applied",
        "case.verified",
        "case.grant_approved",
        "case.disbursed",
        "case.secondary_aid_proposed",
        "case.secondary_aid_approved",
        "case.disbursed",
        "case.hardship_reported",
        "case.review_convened",
        "case.action_completed",
        "case.followed_up",
    ]
    assert all(e.actor for e in flow.history(case))


def test_second_application_same_year_is_refused_naming_the_first(flow: AidFlow) -> None:
    first = applied(flow, 1)
    refused(flow, DuplicateApplication, lambda: applied(flow, 1), match=str(first))
    assert applied(flow, 1, year=2027) != first


def test_approval_rules(flow: AidFlow) -> None:
    gov = government_fund(flow, yuan=6000)
    case = applied(flow, 1)
    approve = lambda yuan, actor="approver": flow.approve(
        cmd.Approve(
            ref=new_ref(),
            case_id=case,
            amount_fen=yuan * 100,
            need="tuition",
            fund_id=gov,
            actor=actor,
        )
    )
    refused(flow, VerificationRequired, lambda: approve(100))
    flow.verify(
        cmd.Verify(
            case_id=case,
            income_fen=0,
            tuition_fen=0,
            gap_fen=500_000,
            needs=["living", "tuition"],
            actor="visitor",
        )
    )
    refused(flow, SegregationOfDuties, lambda: approve(100, actor="visitor"))
    refused(flow, CapExceeded, lambda: approve(5001))
    don = donation_fund(flow)
    refused(
        flow,
        WrongFundKind,
        lambda: flow.approve(
            cmd.Approve(
                ref=new_ref(),
                case_id=case,
                amount_fen=100,
                need="tuition",
                fund_id=don,
                actor="approver",
            )
        ),
    )
    approve(5000)
    other = verified(flow, 2)
    refused(
        flow,
        InsufficientFunds,
        lambda: flow.approve(
            cmd.Approve(
                ref=new_ref(),
                case_id=other,
                amount_fen=100_100,
                need="tuition",
                fund_id=gov,
                actor="approver",
            )
        ),
    )
    refused(
        flow,
        CaseNotFound,
        lambda: flow.approve(
            cmd.Approve(
                ref=new_ref(),
                case_id=uuid4(),
                amount_fen=100,
                need="tuition",
                fund_id=gov,
                actor="approver",
            )
        ),
    )


def test_voucher_is_unique_and_a_retry_records_nothing(flow: AidFlow) -> None:
    gov = government_fund(flow)
    case = approved(flow, gov, 1, yuan=3000)
    pay = cmd.Disburse(
        case_id=case,
        amount_fen=200_000,
        voucher="HC-2026-0001",
        value_date=date(2026, 8, 29),
        actor="cashier",
    )
    assert flow.disburse(pay).recorded
    before = flow.recorder.max_notification_id()
    again = flow.disburse(pay)
    assert not again.recorded and again.fund_id == gov
    assert flow.recorder.max_notification_id() == before
    refused(
        flow,
        VoucherAlreadyUsed,
        lambda: flow.disburse(pay.model_copy(update={"amount_fen": 100_000})),
    )
    other = approved(flow, gov, 2, yuan=3000)
    refused(
        flow, VoucherAlreadyUsed, lambda: flow.disburse(pay.model_copy(update={"case_id": other}))
    )
    refused(
        flow,
        OverDisbursement,
        lambda: flow.disburse(
            cmd.Disburse(case_id=case, amount_fen=100_001, voucher="HC-2026-0002", actor="cashier")
        ),
    )
    assert flow.case(case).disbursed_fen == 200_000
    disbursed = [e for e in flow.history(case) if e.type == "case.disbursed"]
    assert disbursed[0].data["value_date"] == date(2026, 8, 29)


def test_return_then_repay_and_close_releases_unpaid(flow: AidFlow) -> None:
    gov = government_fund(flow, yuan=10_000)
    case = paid(flow, gov, 1, yuan=5000)
    flow.return_disbursement(
        cmd.ReturnDisbursement(case_id=case, voucher="V-1", reason="account frozen", actor="bank")
    )
    assert flow.case(case).status is CaseStatus.APPROVED
    other = approved(flow, gov, 2, yuan=5000)
    refused(
        flow,
        VoucherAlreadyUsed,
        lambda: flow.disburse(
            cmd.Disburse(case_id=other, amount_fen=500_000, voucher="V-1", actor="cashier")
        ),
    )
    flow.disburse(cmd.Disburse(case_id=case, amount_fen=200_000, voucher="V-1b", actor="cashier"))
    balance_before = flow.fund(gov).balance_fen
    followed_up(flow, case)
    flow.close_case(cmd.CloseCase(case_id=case, reason="student withdrew", actor="clerk"))
    assert flow.fund(gov).balance_fen == balance_before + 300_000
    snap = flow.case(case)
    assert (snap.status, snap.approved_fen, snap.disbursed_fen) == (
        CaseStatus.CLOSED,
        200_000,
        200_000,
    )


def test_secondary_aid_rules(flow: AidFlow) -> None:
    gov, don = government_fund(flow), donation_fund(flow, yuan=1000)
    case = approved(flow, gov, 1)
    refused(
        flow,
        NoPaidGrant,
        lambda: flow.allocate_secondary_aid(
            cmd.AllocateSecondaryAid(
                ref=new_ref(), case_id=case, fund_id=don, amount_fen=100, actor="fed"
            )
        ),
    )
    flow.disburse(cmd.Disburse(case_id=case, amount_fen=500_000, voucher="V-1", actor="cashier"))
    refused(
        flow,
        WrongFundKind,
        lambda: flow.allocate_secondary_aid(
            cmd.AllocateSecondaryAid(
                ref=new_ref(), case_id=case, fund_id=gov, amount_fen=100, actor="fed"
            )
        ),
    )
    refused(
        flow,
        InsufficientFunds,
        lambda: flow.allocate_secondary_aid(
            cmd.AllocateSecondaryAid(
                ref=new_ref(), case_id=case, fund_id=don, amount_fen=100_001, actor="fed"
            )
        ),
    )


def test_deposit_receipts(flow: AidFlow) -> None:
    fund = flow.open_fund(cmd.OpenFund(name="Donations", kind="donation", actor="finance"))
    gift = cmd.Deposit(
        fund_id=fund,
        amount_fen=2_000_000,
        source="Zunyi Liquor Co.",
        receipt="R-7",
        actor="finance",
    )
    assert flow.deposit(gift).recorded
    assert not flow.deposit(gift).recorded
    refused(flow, DuplicateReceipt, lambda: flow.deposit(gift.model_copy(update={"amount_fen": 1})))
    assert flow.fund(fund).deposited_fen == 2_000_000


def test_bad_input_is_refused_at_the_edge() -> None:
    good = national_id(1)
    with pytest.raises(InvalidInput, match="check digit"):
        cmd.Apply(
            student_id=good[:17] + ("1" if good[17] == "0" else "0"),
            name="x",
            university="u",
            family_category="dibao",
            town="t",
            year=2026,
            actor="a",
        )
    with pytest.raises(InvalidInput):
        cmd.Approve(
            ref=new_ref(), case_id=uuid4(), amount_fen=0, need="tuition", fund_id=uuid4(), actor="a"
        )
    with pytest.raises(InvalidInput):
        cmd.Approve(
            ref=new_ref(),
            case_id=uuid4(),
            amount_fen=100,
            need="tuition",
            fund_id=uuid4(),
            actor=" ",
        )
    with pytest.raises(InvalidInput):
        cmd.Verify(
            case_id=uuid4(), income_fen=1.5, tuition_fen=0, gap_fen=0, needs=["tuition"], actor="a"
        )  # type: ignore[arg-type]


def test_case_as_of_version_and_timestamp(store_url: str) -> None:
    moments = iter(datetime(2026, 7, 1, tzinfo=UTC) + timedelta(days=d) for d in range(100))
    flow = AidFlow.open(store_url, clock=lambda: next(moments))
    register_staff(flow)
    try:
        gov = government_fund(flow)
        case = paid(flow, gov)
        applied_at, verified_at, approved_at, paid_at = (h.timestamp for h in flow.history(case))
        assert applied_at < verified_at < approved_at < paid_at
        assert flow.case(case, version=1).status is CaseStatus.APPLIED
        assert flow.case(case, version=3).status is CaseStatus.APPROVED
        assert flow.case(case, as_of=verified_at).status is CaseStatus.VERIFIED
        assert (
            flow.case(case, as_of=approved_at - timedelta(seconds=1)).status is CaseStatus.VERIFIED
        )
        assert flow.case(case, as_of=paid_at + timedelta(days=365)).status is CaseStatus.PAID
        assert flow.fund(gov, as_of=verified_at).balance_fen == 10_000_000
        assert flow.fund(gov, as_of=approved_at).balance_fen == 10_000_000 - 500_000
        with pytest.raises(CaseNotFound, match="did not exist"):
            flow.case(case, as_of=applied_at - timedelta(seconds=1))
    finally:
        flow.close()


def test_reopening_the_store_sees_everything(store_url: str) -> None:
    flow = AidFlow.open(store_url)
    register_staff(flow)
    gov = government_fund(flow)
    case = paid(flow, gov, 3)
    flow.close()
    again = AidFlow.open(store_url)
    register_staff(again)
    try:
        assert again.case(case).status is CaseStatus.PAID
        assert again.fund(gov).allocated_fen == 500_000
    finally:
        again.close()


def test_national_id_builder_is_valid() -> None:
    assert cmd.Apply(
        student_id=national_id(5),
        name="x",
        university="u",
        family_category="tekun",
        town="t",
        year=2026,
        actor="a",
    ).student_id == national_id(5)


def test_a_busy_fund_loads_from_its_snapshot_exactly(store_url: str) -> None:
    """A fund with hundreds of allocations is loaded from a snapshot; the state equals a full replay."""
    flow = AidFlow.open(store_url)
    register_staff(flow)
    try:
        gov = government_fund(flow, yuan=1_000_000)
        fund = flow.load_fund(gov)
        for _ in range(230):
            fund.allocate(case_id=uuid4(), amount_fen=100, use="grant", actor="approver")
            flow.save(fund)
        assert flow.snapshots is not None
        snapshots = list(flow.snapshots.get(gov, desc=True, limit=1))
        assert snapshots and snapshots[0].originator_version == 200
        replayed: Any = None
        for event in flow.events.get(gov):
            replayed = event.mutate(replayed)  # type: ignore[attr-defined]
        loaded = flow.load_fund(gov)
        assert loaded.__dict__ == replayed.__dict__
        assert loaded.balance_fen == 100_000_000 - 23_000
    finally:
        flow.close()


def test_no_payment_without_the_students_own_account(flow: AidFlow) -> None:
    gov = government_fund(flow)
    case = flow.apply(
        cmd.Apply(
            student_id=national_id(9),
            name="No Card",
            university="GZU",
            family_category="dibao",
            town="Sidu",
            year=2026,
            actor="screening",
        )
    )
    flow.verify(
        cmd.Verify(
            case_id=case,
            income_fen=0,
            tuition_fen=0,
            gap_fen=100_000,
            needs=["travel"],
            actor="visitor",
        )
    )
    flow.approve(
        cmd.Approve(
            ref=new_ref(),
            case_id=case,
            amount_fen=100_000,
            need="travel",
            fund_id=gov,
            actor="approver",
        )
    )
    refused(
        flow,
        NoAccount,
        lambda: flow.disburse(
            cmd.Disburse(case_id=case, amount_fen=100_000, voucher="V-9", actor="cashier")
        ),
        match="no bank account",
    )


def test_a_failing_listener_does_not_make_a_recorded_command_look_failed(flow: AidFlow) -> None:
    """The command is committed before listeners run; their failure is a warning, never a retry."""
    gov = government_fund(flow)
    case = verified(flow, 1)

    def broken(_recorded: object) -> None:
        raise RuntimeError("views locked")

    flow.listeners.append(broken)
    with pytest.warns(UserWarning, match="recorded, but a read model is behind"):
        flow.approve(
            cmd.Approve(
                ref=new_ref(),
                case_id=case,
                amount_fen=200_000,
                need="tuition",
                fund_id=gov,
                actor="approver",
            )
        )
    assert flow.case(case).approved_fen == 200_000
