"""The rows of issue 15's table, each a rule that once could be broken with the suite still green.

Every test is named after its row. Refusals check the named error *and* that nothing
was written; acceptances check what was written.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import Notification

from aidflow import AidFlow
from aidflow import commands as cmd
from aidflow.domain.errors import (
    CapExceeded,
    InvalidTransition,
    NoPaidGrant,
    OverDisbursement,
    SegregationOfDuties,
)
from aidflow.domain.masking import mask_identifier
from aidflow.projections import ReadModels
from aidflow.projections.audit.chain import GENESIS, chain_step
from tests.builders import (
    approved,
    donation_fund,
    followed_up,
    government_fund,
    new_ref,
    paid,
    register_staff,
    verified,
)

T0 = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'rows.db'}"


@pytest.fixture
def flow(url: str) -> Iterator[AidFlow]:
    app = AidFlow.open(url, clock=lambda: T0)
    register_staff(app)
    try:
        yield app
    finally:
        app.close()


def refused(flow: AidFlow, error: type[Exception], command: object) -> None:
    before = flow.recorder.max_notification_id()
    with pytest.raises(error):
        command()  # type: ignore[operator]
    assert flow.recorder.max_notification_id() == before


def approve_cmd(case: UUID, fund: UUID, fen: int, actor: str = "approver") -> cmd.Approve:
    return cmd.Approve(
        ref=new_ref(), case_id=case, amount_fen=fen, need="tuition", fund_id=fund, actor=actor
    )


def reopen_and_verify(flow: AidFlow, case: UUID, verifier: str) -> None:
    flow.report_hardship(
        cmd.ReportHardship(case_id=case, kind="illness", severity="minor", detail="flu", actor="v")
    )
    flow.verify(
        cmd.Verify(
            case_id=case,
            income_fen=0,
            tuition_fen=0,
            gap_fen=500_000,
            needs=["living", "tuition"],
            actor=verifier,
        )
    )


# -- segregation of duties ------------------------------------------------------------------


def test_sod_checks_every_verifier_not_the_last(flow: AidFlow) -> None:
    gov = government_fund(flow)
    case = verified(flow, 1, verifier="alice")
    reopen_and_verify(flow, case, "bob")
    refused(
        flow, SegregationOfDuties, lambda: flow.approve(approve_cmd(case, gov, 100_000, "alice"))
    )
    refused(flow, SegregationOfDuties, lambda: flow.approve(approve_cmd(case, gov, 100_000, "BOB")))
    assert flow.approve(approve_cmd(case, gov, 100_000, "carol")).recorded


# -- secondary aid needs a paid grant still standing -------------------------------------------


def test_secondary_aid_refused_when_the_only_payment_was_returned(flow: AidFlow) -> None:
    gov, don = government_fund(flow), donation_fund(flow)
    case = paid(flow, gov, 1, yuan=1000)
    flow.return_disbursement(
        cmd.ReturnDisbursement(case_id=case, voucher="V-1", reason="closed", actor="bank")
    )
    aid = cmd.AllocateSecondaryAid(
        ref=new_ref(), case_id=case, fund_id=don, amount_fen=10_000, actor="federation"
    )
    refused(flow, NoPaidGrant, lambda: flow.allocate_secondary_aid(aid))
    flow.disburse(cmd.Disburse(case_id=case, amount_fen=100_000, voucher="V-2", actor="cashier"))
    assert flow.allocate_secondary_aid(aid).recorded
    flow.approve_secondary_aid(cmd.ApproveSecondaryAid(case_id=case, ref=aid.ref, actor="approver"))
    assert flow.case(case).secondary_aid_fen == 10_000


# -- reservations -------------------------------------------------------------------------------


def test_case_with_approved_money_cannot_be_rejected(flow: AidFlow) -> None:
    gov = government_fund(flow)
    case = approved(flow, gov, 1, yuan=1000)
    refused(
        flow,
        InvalidTransition,
        lambda: flow.reject(cmd.Reject(case_id=case, reason="changed mind", actor="clerk")),
    )
    assert flow.case(case).status == "approved"


def test_payment_is_charged_to_a_fund_whose_reservation_covers_it(flow: AidFlow) -> None:
    small, large = government_fund(flow), government_fund(flow)
    case = verified(flow, 1)
    flow.approve(approve_cmd(case, small, 100_000))
    flow.approve(approve_cmd(case, large, 300_000))
    assert (
        flow.disburse(
            cmd.Disburse(case_id=case, amount_fen=200_000, voucher="V-1", actor="cashier")
        ).fund_id
        == large
    )
    # 1,000 yuan left in each fund's reservation: 1,500 is covered by none, so it must be split.
    refused(
        flow,
        OverDisbursement,
        lambda: flow.disburse(
            cmd.Disburse(case_id=case, amount_fen=150_000, voucher="V-2", actor="cashier")
        ),
    )
    first = flow.disburse(cmd.Disburse(case_id=case, amount_fen=100_000, voucher="V-3", actor="c"))
    second = flow.disburse(cmd.Disburse(case_id=case, amount_fen=100_000, voucher="V-4", actor="c"))
    assert {first.fund_id, second.fund_id} == {small, large}
    refused(
        flow,
        OverDisbursement,
        lambda: flow.disburse(cmd.Disburse(case_id=case, amount_fen=1, voucher="V-5", actor="c")),
    )
    paid_from = {}
    for e in flow.history(case):
        if e.type == "case.disbursed":
            paid_from[e.data["voucher"]] = e.data["fund_id"]
    assert paid_from["V-1"] == large


def test_fund_ledger_balance_counts_releases_and_approvals_net_of_releases(url: str) -> None:
    flow = AidFlow.open(url, clock=lambda: T0)
    register_staff(flow)
    views = ReadModels.attach(flow, url)
    try:
        gov = government_fund(flow, yuan=10_000)
        case = approved(flow, gov, 1, yuan=4000)
        flow.close_case(cmd.CloseCase(case_id=case, reason="moved away", actor="clerk"))
        ledger = views.ledger()
        assert ledger.funds[0].balance_fen == flow.fund(gov).balance_fen == 1_000_000
        assert ledger.funds[0].released_fen == 400_000
        assert ledger.government_approved_fen == 0
    finally:
        views.close()
        flow.close()


# -- masking ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("", ""),
        ("1", "*"),
        ("12345678", "********"),
        ("123456789", "1234*6789"),
        ("520302200703150011", "5203**********0011"),
    ],
)
def test_eight_character_identifier_is_masked_whole(value: str, shown: str) -> None:
    assert mask_identifier(value) == shown


def test_history_masks_the_account_and_the_national_id(flow: AidFlow) -> None:
    case = verified(flow, 1)
    applied_event = flow.history(case)[0]
    assert applied_event.type == "case.applied"
    assert applied_event.data["account"] == "6222***********3445"
    assert applied_event.data["student_id"].startswith("5203**********")
    assert "6222020200112233445" not in str([e.model_dump() for e in flow.history(case)])


# -- views: queue and dossier -------------------------------------------------------------------


def test_later_consultation_keeps_earlier_actions_in_the_queue(url: str) -> None:
    flow = AidFlow.open(url, clock=lambda: T0)
    register_staff(flow)
    views = ReadModels.attach(flow, url)
    try:
        case = verified(flow, 1)
        for department, text in (("health", "medical aid"), ("education", "fee waiver")):
            flow.report_hardship(
                cmd.ReportHardship(case_id=case, kind="illness", detail="ill", actor="v")
            )
            flow.convene_review(
                cmd.ConveneReview(
                    case_id=case,
                    departments=[department],
                    actions=[{"department": department, "text": text}],
                    actor="chair",
                )
            )
        then = views.as_of(flow, at=T0 + timedelta(days=3))
        owed = then.queue().open_actions
        assert [(a.action_id, a.department) for a in owed] == [
            ("A1", "health"),
            ("A2", "education"),
        ]
        assert [a.waiting_days for a in owed] == [3.0, 3.0]
        assert then.queue().awaiting_consultation == []
    finally:
        views.close()
        flow.close()


def test_dossier_honours_releases_on_close(url: str) -> None:
    flow = AidFlow.open(url, clock=lambda: T0)
    register_staff(flow)
    views = ReadModels.attach(flow, url)
    try:
        gov = government_fund(flow)
        case = approved(flow, gov, 1, yuan=3000)
        flow.disburse(cmd.Disburse(case_id=case, amount_fen=100_000, voucher="V", actor="c"))
        followed_up(flow, case)
        flow.close_case(cmd.CloseCase(case_id=case, reason="done", actor="clerk"))
        d = views.dossier(str(case))
        assert (d.status, d.approved_fen, d.disbursed_fen) == ("closed", 100_000, 100_000)
        assert d.approved_fen == flow.case(case).approved_fen
    finally:
        views.close()
        flow.close()


# -- the hash chain covers every part of a stored record ------------------------------------------


def test_chain_link_covers_position_id_version_topic_and_bytes() -> None:
    record = Notification(
        id=7,
        originator_id=UUID(int=1),
        originator_version=2,
        topic="aidflow:StudentCase.Verified",
        state=b'{"actor":"v"}',
    )
    link = chain_step(GENESIS, record)
    assert len(link) == 64 and link != GENESIS
    variants = {
        "position": Notification(
            id=8,
            originator_id=record.originator_id,
            originator_version=2,
            topic=record.topic,
            state=record.state,
        ),
        "originator id": Notification(
            id=7,
            originator_id=UUID(int=2),
            originator_version=2,
            topic=record.topic,
            state=record.state,
        ),
        "version": Notification(
            id=7,
            originator_id=record.originator_id,
            originator_version=3,
            topic=record.topic,
            state=record.state,
        ),
        "topic": Notification(
            id=7,
            originator_id=record.originator_id,
            originator_version=2,
            topic="aidflow:StudentCase.Rejected",
            state=record.state,
        ),
        "bytes": Notification(
            id=7,
            originator_id=record.originator_id,
            originator_version=2,
            topic=record.topic,
            state=b'{"actor":"w"}',
        ),
    }
    for part, changed in variants.items():
        assert chain_step(GENESIS, changed) != link, f"the chain leaves out the {part}"
    assert chain_step("1" * 64, record) != link, "the chain leaves out the previous link"
    # Fields are separated: moving a character across a boundary changes the link.
    shifted = Notification(
        id=7,
        originator_id=record.originator_id,
        originator_version=2,
        topic=record.topic + "{",
        state=record.state[1:],
    )
    assert chain_step(GENESIS, shifted) != link


# -- the concurrency retry loop (SQLite) ---------------------------------------------------------


def test_concurrent_write_conflict_is_retried_from_fresh_state(
    url: str, flow: AidFlow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer records an approval between this command's load and its save: the save
    conflicts, and the command is decided again on fresh state (where the cap now refuses it)."""
    gov = government_fund(flow)
    case = verified(flow, 1)
    other = AidFlow.open(url, clock=lambda: T0)
    register_staff(other)
    original = flow.records.case
    loads: list[int] = []

    def load_case(case_id: UUID) -> object:
        loaded = original(case_id)
        loads.append(loaded.version)
        if len(loads) == 1:
            other.approve(approve_cmd(case, gov, 400_000, "other-approver"))
        return loaded

    monkeypatch.setattr(flow.records, "case", load_case)
    try:
        with pytest.raises(CapExceeded):
            flow.approve(approve_cmd(case, gov, 400_000))
        assert flow.conflicts_retried == 1
        assert loads[1] == loads[0] + 1  # the retry read the other writer's approval
        approvals = [e.actor for e in flow.history(case) if e.type == "case.grant_approved"]
        assert approvals == ["other-approver"]
    finally:
        other.close()


def test_concurrent_write_conflict_retry_then_records_once(
    url: str, flow: AidFlow, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = verified(flow, 1)
    other = AidFlow.open(url, clock=lambda: T0)
    register_staff(other)
    original = flow.records.case
    calls: list[None] = []

    def load_case(case_id: UUID) -> object:
        loaded = original(case_id)
        calls.append(None)
        if len(calls) == 1:
            other.follow_up(
                cmd.FollowUp(
                    case_id=case, study="a", living="b", hardship_trend="unchanged", actor="x"
                )
            )
        return loaded

    monkeypatch.setattr(flow.records, "case", load_case)
    try:
        flow.follow_up(
            cmd.FollowUp(case_id=case, study="c", living="d", hardship_trend="improved", actor="y")
        )
        assert flow.conflicts_retried == 1 and len(calls) == 2
        actors = [e.actor for e in flow.history(case) if e.type == "case.followed_up"]
        assert actors == ["x", "y"]
    finally:
        other.close()
