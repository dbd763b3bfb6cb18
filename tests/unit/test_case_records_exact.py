"""What the student case records when a step is accepted, field by field: the audit, the
statement matching and the views read these fields, so each one must carry what was decided
(a secondary-aid payment stays secondary aid, a confirmed payment says so when it comes back,
an action's due date is the one given or the policy's default)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from aidflow.domain import Policy, StudentCase
from aidflow.domain.clock import fixed, using_clock
from tests.builders import national_id, verified_case

POLICY = Policy()
GOV, DON = UUID(int=1), UUID(int=2)
META = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def last(case: StudentCase, kind: str) -> dict[str, Any]:
    """The fields of the last event of type ``kind`` the case recorded."""
    events = [e for e in case.pending_events if type(e).__name__ == kind]
    return {k: v for k, v in events[-1].__dict__.items() if k not in META}


def paid() -> StudentCase:
    case = verified_case(student_id=national_id(8), gap_fen=500_000)
    case.approve_grant(amount_fen=100_000, need="tuition", fund_id=GOV, actor="a", policy=POLICY)
    case.disburse(amount_fen=100_000, voucher="V1", value_date=None, actor="c", listed=True)
    return case


def test_a_decision_without_a_reference_records_none() -> None:
    case = paid()
    assert last(case, "GrantApproved")["ref"] == ""
    case.allocate_secondary_aid(fund_id=DON, amount_fen=1, reason="", actor="f")
    assert last(case, "SecondaryAidAllocated")["ref"] == ""


def test_a_proposal_records_its_reason_in_canonical_form() -> None:
    case = paid()
    case.propose_secondary_aid(
        fund_id=DON, amount_fen=500, reason=" books ", actor="Zhou", ref=" ec-1 ", policy=POLICY
    )
    assert last(case, "SecondaryAidProposed") == {
        "fund_id": DON,
        "amount_fen": 500,
        "reason": "books",
        "ref": "ec-1",
        "actor": "zhou",
    }


def test_an_account_change_records_who_why_and_whether_it_waits() -> None:
    case = paid()
    assert case.set_account(
        account="6217 0000 1111 2222 333", bank=" ICBC ", reason=" card lost ", actor="Clerk"
    )
    assert last(case, "AccountSet") == {
        "account": "6217000011112222333",
        "bank": "ICBC",
        "reason": "card lost",
        "pending": True,
        "actor": "clerk",
    }


def test_a_secondary_aid_payment_stays_secondary_aid_when_confirmed_and_returned() -> None:
    case = paid()
    case.propose_secondary_aid(
        fund_id=DON, amount_fen=500, reason="", actor="zhou", ref="EC-1", policy=POLICY
    )
    case.approve_secondary_aid(ref="EC-1", actor="boss", policy=POLICY)
    case.disburse(amount_fen=500, voucher="V2", value_date=None, actor="c", fund=DON, listed=True)
    assert [p["voucher"] for p in case.outstanding_listed(DON)] == ["V2"]
    case.confirm_payment(voucher="v2", value_date=date(2026, 9, 2), statement="ST-9", actor="Bank")
    assert last(case, "DisbursementConfirmed") == {
        "voucher": "V2",
        "amount_fen": 500,
        "fund_id": DON,
        "value_date": date(2026, 9, 2),
        "statement": "ST-9",
        "use": "secondary-aid",
        "actor": "bank",
        "reason": "",
        "resolved": False,
    }
    assert case.outstanding_listed(DON) == []  # settled by the statement
    case.return_disbursement(voucher="V2", reason="closed", value_date=None, actor="bank")
    returned = last(case, "DisbursementReturned")
    assert (returned["was_confirmed"], returned["use"]) == (True, "secondary-aid")
    assert case.secondary_paid_fen == 0 and case.disbursed_fen == 100_000


def test_a_listed_grant_payment_is_outstanding_until_the_statement_confirms_it() -> None:
    case = paid()
    assert [p["voucher"] for p in case.outstanding_listed(GOV)] == ["V1"]
    assert case.outstanding_listed(DON) == []
    case.confirm_payment(voucher="V1", value_date=None, statement="ST-1", actor="bank")
    assert case.outstanding_listed(GOV) == []


def test_reveal_records_the_fields_seen() -> None:
    case = paid()
    case.reveal(fields=("name", "account"), reason=" visit ", actor="Visitor")  # type: ignore[arg-type]
    assert last(case, "PersonalDataRevealed") == {
        "fields": ["name", "account"],
        "reason": "visit",
        "actor": "visitor",
    }


def test_action_due_dates_are_their_own_else_the_policys_default() -> None:
    with using_clock(fixed(datetime(2026, 8, 20, tzinfo=UTC))):  # the case's history before
        case = paid()
        case.report_hardship(kind="illness", severity="serious", detail="ill", actor="v")
        case.convene_review(
            departments=["health"],
            actions=[("health", "aid", date(2026, 9, 15)), ("health", "visit")],
            note="",
            actor="c",
        )
    assert last(case, "ReviewConvened")["actions"] == [
        {"action_id": "A1", "department": "health", "text": "aid", "due": "2026-09-15"},
        {"action_id": "A2", "department": "health", "text": "visit"},
    ]
    policy = Policy(version=7, action_due_days=20)
    # 23:00 UTC on 1 September is 07:00 on 2 September in the office (Asia/Shanghai): the
    # default due date counts from the office's day (issue 23 §7)
    with using_clock(fixed(datetime(2026, 9, 1, 23, 0, tzinfo=UTC))):
        ids = case.convene_review(
            departments=["education"],
            actions=[("education", "waiver"), ("education", "fees", date(2026, 9, 5))],
            note="",
            actor="c",
            policy=policy,
        )
    review = last(case, "ReviewConvened")
    assert (ids, review["policy_version"]) == (["A3", "A4"], 7)
    assert review["actions"] == [
        {"action_id": "A3", "department": "education", "text": "waiver", "due": "2026-09-22"},
        {"action_id": "A4", "department": "education", "text": "fees", "due": "2026-09-05"},
    ]
    assert [case.actions[a]["due"] for a in ("A1", "A2", "A3")] == ["2026-09-15", "", "2026-09-22"]
