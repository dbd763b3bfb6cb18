"""What each step records, field by field, from untidy input; and that every refused value is
named in its refusal (the field a clerk must correct)."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

import pytest

from aidflow.domain import Fund, Policy, StudentCase
from aidflow.domain.errors import CaseNotOpen, InvalidInput
from tests.builders import national_id, verified_case

GOV, DON = UUID(int=1), UUID(int=2)
META = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def fields(event: Any) -> dict[str, Any]:
    return {k: v for k, v in event.__dict__.items() if k not in META}


def recorded(aggregate: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(type(e).__name__, fields(e)) for e in aggregate.collect_events()]


def lifecycle() -> StudentCase:
    case = StudentCase.open(
        student_id=national_id(3),
        name=" Li Lei ",
        university=" GZU ",
        family_category="tekun",
        town=" Gaoping ",
        year=2026,
        account="6222-0202-0011-2233-445",
        source="application",
        actor="ＣＬＥＲＫ",
    )
    case.verify(
        income_fen=1,
        tuition_fen=2,
        gap_fen=300_000,
        needs=["tuition", "living", "tuition"],
        visited_on=date(2026, 8, 2),
        note=" visited ",
        actor="Visitor",
    )
    case.approve_grant(
        amount_fen=300_000,
        need="living",
        fund_id=GOV,
        actor="Approver",
        policy=Policy(version=4),
        ref=" ｓｐ-1 ",
    )
    case.disburse(amount_fen=100_000, voucher=" ｈｃ-1 ", value_date=date(2026, 8, 3), actor="Cash")
    case.return_disbursement(
        voucher="HC-1", reason=" closed account ", value_date=date(2026, 8, 4), actor="Bank"
    )
    case.disburse(amount_fen=100_000, voucher="HC-2", value_date=None, actor="Cash")
    case.allocate_secondary_aid(
        fund_id=DON, amount_fen=5_000, reason=" books ", actor="Fed", ref=" EC-1 "
    )
    case.allocate_secondary_aid(fund_id=DON, amount_fen=1, reason="", actor="Fed", ref="")
    case.report_hardship(kind="illness", severity="critical", detail=" ill ", actor="Village")
    case.convene_review(
        departments=["health", "education", "health"],
        actions=[("health", " medical aid "), ("education", "fees")],
        note=" met ",
        actor="Chair",
    )
    case.complete_action(action_id="A1", note=" paid ", actor="Health")
    case.follow_up(study=" passing ", living=" ok ", hardship_trend="improved", actor="Village")
    case.close(reason=" graduated ", actor="Clerk")
    return case


def test_every_event_records_canonical_values() -> None:
    case = lifecycle()
    assert recorded(case) == [
        (
            "Applied",
            {
                "student_id": national_id(3),
                "name": "Li Lei",
                "university": "GZU",
                "family_category": "tekun",
                "town": "Gaoping",
                "year": 2026,
                "account": "6222020200112233445",
                "source": "application",
                "actor": "clerk",
                "previous_case": None,
            },
        ),
        (
            "Verified",
            {
                "income_fen": 1,
                "tuition_fen": 2,
                "gap_fen": 300_000,
                "needs": ["living", "tuition"],
                "visited_on": date(2026, 8, 2),
                "note": "visited",
                "actor": "visitor",
            },
        ),
        (
            "GrantApproved",
            {
                "amount_fen": 300_000,
                "need": "living",
                "fund_id": GOV,
                "actor": "approver",
                "ref": "sp-1",
                "policy_version": 4,
            },
        ),
        (
            "Disbursed",
            {
                "amount_fen": 100_000,
                "voucher": "hc-1",
                "fund_id": GOV,
                "value_date": date(2026, 8, 3),
                "actor": "cash",
                "account": "6222020200112233445",
                "listed": False,
                "use": "grant",
            },
        ),
        (
            "DisbursementReturned",
            {
                "voucher": "hc-1",
                "amount_fen": 100_000,
                "fund_id": GOV,
                "reason": "closed account",
                "value_date": date(2026, 8, 4),
                "actor": "bank",
                "was_confirmed": False,
                "use": "grant",
                "resolved": False,
            },
        ),
        (
            "Disbursed",
            {
                "amount_fen": 100_000,
                "voucher": "HC-2",
                "fund_id": GOV,
                "value_date": None,
                "actor": "cash",
                "account": "6222020200112233445",
                "listed": False,
                "use": "grant",
            },
        ),
        (
            "SecondaryAidAllocated",
            {"fund_id": DON, "amount_fen": 5_000, "reason": "books", "actor": "fed", "ref": "EC-1"},
        ),
        (
            "SecondaryAidAllocated",
            {"fund_id": DON, "amount_fen": 1, "reason": "", "actor": "fed", "ref": ""},
        ),
        (
            "HardshipReported",
            {"kind": "illness", "severity": "critical", "detail": "ill", "actor": "village"},
        ),
        (
            "ReviewConvened",
            {
                "departments": ["health", "education"],
                "actions": [
                    {"action_id": "A1", "department": "health", "text": "medical aid"},
                    {"action_id": "A2", "department": "education", "text": "fees"},
                ],
                "note": "met",
                "actor": "chair",
                "policy_version": 0,
            },
        ),
        (
            "ActionCompleted",
            {"action_id": "A1", "department": "health", "note": "paid", "actor": "health"},
        ),
        (
            "FollowedUp",
            {
                "study": "passing",
                "living": "ok",
                "hardship_trend": "improved",
                "actor": "village",
                "received": "",
                "vouchers": (),
            },
        ),
        (
            "Closed",
            {
                "reason": "graduated",
                "releases": {str(GOV): 200_000},
                "actor": "clerk",
                "policy_version": 0,
            },
        ),
    ]
    assert (case.approved_fen, case.disbursed_fen, case.secondary_aid_fen) == (
        100_000,
        100_000,
        5_001,
    )
    assert case.secondary_by_fund == {str(DON): 5_001}


def test_fund_events_record_canonical_values() -> None:
    fund = Fund.open(name=" Chamber ", kind="donation", purpose="", actor="Finance")
    case = uuid4()
    fund.deposit(
        amount_fen=900, source=" donor ", receipt=" ｒ-1 ", value_date=date(2026, 8, 1), actor="F"
    )
    fund.allocate(case_id=case, amount_fen=500, use="secondary-aid", actor="Fed")
    fund.release(case_id=case, amount_fen=200, reason=" unused ", actor="Clerk")
    assert recorded(fund) == [
        ("Opened", {"name": "Chamber", "kind": "donation", "purpose": "", "actor": "finance"}),
        (
            "Deposited",
            {
                "amount_fen": 900,
                "source": "donor",
                "receipt": "r-1",
                "value_date": date(2026, 8, 1),
                "actor": "f",
            },
        ),
        ("Allocated", {"case_id": case, "amount_fen": 500, "use": "secondary-aid", "actor": "fed"}),
        ("Released", {"case_id": case, "amount_fen": 200, "reason": "unused", "actor": "clerk"}),
    ]
    assert fund.receipts == {"R-1": {"amount_fen": 900, "source": "donor"}}


def _verified() -> StudentCase:
    return verified_case(
        student_id=national_id(4), name="n", university="u", town="t", actor="s",
        gap_fen=500_000, verifier="v",
    )  # fmt: skip


def _approved() -> StudentCase:
    case = _verified()
    case.approve_grant(amount_fen=500, need="tuition", fund_id=GOV, actor="a", policy=Policy())
    return case


def _paid() -> StudentCase:
    case = _approved()
    case.disburse(amount_fen=500, voucher="V1", value_date=None, actor="c")
    return case


def _reviewed() -> StudentCase:
    case = _verified()
    case.report_hardship(kind="illness", severity="serious", detail="ill", actor="v")
    case.convene_review(departments=["health"], actions=[("health", "aid")], note="", actor="c")
    return case


BAD = "two\nlines"
REFUSALS: list[tuple[str, Any, str]] = [
    (
        "verify note",
        lambda: _verified().follow_up(study=BAD, living="x", hardship_trend="worse", actor="v"),
        "study progress",
    ),
    (
        "living",
        lambda: _verified().follow_up(study="x", living=BAD, hardship_trend="worse", actor="v"),
        "living situation",
    ),
    ("reject reason", lambda: _verified().reject(reason=BAD, actor="c"), "rejection reason"),
    (
        "return reason",
        lambda: _paid().return_disbursement(voucher="V1", reason=BAD, value_date=None, actor="b"),
        "return reason",
    ),
    (
        "voucher",
        lambda: _approved().disburse(amount_fen=1, voucher="V\u200b1", value_date=None, actor="c"),
        "voucher number",
    ),
    (
        "aid reason",
        lambda: _paid().allocate_secondary_aid(fund_id=DON, amount_fen=1, reason=BAD, actor="f"),
        "reason contains",
    ),
    (
        "aid ref",
        lambda: _paid().allocate_secondary_aid(
            fund_id=DON, amount_fen=1, reason="", actor="f", ref="E\u200bC"
        ),
        "decision reference",
    ),
    (
        "aid amount",
        lambda: _paid().allocate_secondary_aid(fund_id=DON, amount_fen=0, reason="", actor="f"),
        "secondary aid amount",
    ),
    (
        "grant ref",
        lambda: _verified().approve_grant(
            amount_fen=1, need="tuition", fund_id=GOV, actor="a", policy=Policy(), ref="S\u200bP"
        ),
        "decision reference",
    ),
    (
        "hardship detail",
        lambda: _verified().report_hardship(
            kind="illness", severity="minor", detail=BAD, actor="v"
        ),
        "hardship detail",
    ),
    (
        "action text",
        lambda: _reviewed().convene_review(
            departments=["health"], actions=[("health", BAD)], note="", actor="c"
        ),
        "action text",
    ),
    (
        "review note",
        lambda: _reviewed().convene_review(departments=["health"], actions=[], note=BAD, actor="c"),
        "note contains",
    ),
    (
        "completion note",
        lambda: _reviewed().complete_action(action_id="A1", note=BAD, actor="h"),
        "completion note",
    ),
    ("closing reason", lambda: _verified().close(reason=BAD, actor="c"), "closing reason"),
    (
        "verify note",
        lambda: StudentCase.open(
            student_id=national_id(5),
            name="n",
            university="u",
            family_category="dibao",
            town="t",
            year=2026,
            account="",
            source="s",
            actor="s",
        ).verify(
            income_fen=0,
            tuition_fen=0,
            gap_fen=0,
            needs=["tuition"],
            visited_on=None,
            note=BAD,
            actor="v",
        ),
        "note contains",
    ),
    (
        "deposit source",
        lambda: Fund.open(name="f", kind="donation", purpose="", actor="f").deposit(
            amount_fen=1, source=BAD, receipt="R", value_date=None, actor="f"
        ),
        "deposit source",
    ),
    (
        "receipt",
        lambda: Fund.open(name="f", kind="donation", purpose="", actor="f").deposit(
            amount_fen=1, source="s", receipt="R\u200b", value_date=None, actor="f"
        ),
        "receipt number",
    ),
    (
        "deposit amount",
        lambda: Fund.open(name="f", kind="donation", purpose="", actor="f").deposit(
            amount_fen=0, source="s", receipt="R", value_date=None, actor="f"
        ),
        "deposit amount",
    ),
    (
        "allocation",
        lambda: Fund.open(name="f", kind="donation", purpose="", actor="f").allocate(
            case_id=uuid4(), amount_fen=0, use="grant", actor="a"
        ),
        "allocation",
    ),
    (
        "release",
        lambda: Fund.open(name="f", kind="donation", purpose="", actor="f").release(
            case_id=uuid4(), amount_fen=0, reason="r", actor="a"
        ),
        "release",
    ),
    ("fund name", lambda: Fund.open(name=BAD, kind="donation", purpose="", actor="f"), "fund name"),
    ("purpose", lambda: Fund.open(name="f", kind="donation", purpose=BAD, actor="f"), "purpose"),
]


@pytest.mark.parametrize(("what", "call", "named"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_refused_value_is_named(what: str, call: Any, named: str) -> None:
    with pytest.raises(InvalidInput) as refusal:
        call()
    assert named in str(refusal.value), what


@pytest.mark.parametrize(
    ("doing", "call"),
    [
        (
            "take secondary aid",
            lambda c: c.allocate_secondary_aid(fund_id=DON, amount_fen=1, reason="", actor="f"),
        ),
        (
            "record a returned payment",
            lambda c: c.return_disbursement(voucher="V1", reason="r", value_date=None, actor="b"),
        ),
        (
            "take a grant",
            lambda c: c.approve_grant(
                amount_fen=1, need="tuition", fund_id=GOV, actor="z", policy=Policy()
            ),
        ),
        (
            "be verified",
            lambda c: c.verify(
                income_fen=0,
                tuition_fen=0,
                gap_fen=0,
                needs=["tuition"],
                visited_on=None,
                note="",
                actor="v",
            ),
        ),
        ("be rejected", lambda c: c.reject(reason="r", actor="c")),
        ("be closed", lambda c: c.close(reason="r", actor="c")),
    ],
)
def test_a_closed_case_names_what_it_cannot_do(doing: str, call: Any) -> None:
    case = _paid()
    case.close(reason="done", actor="c")
    with pytest.raises(CaseNotOpen) as refusal:
        call(case)
    assert f"is closed (done); it cannot {doing}. Report new hardship" in str(refusal.value)
