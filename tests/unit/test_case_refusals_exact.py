"""The student case alone: each refusal exactly as a clerk gets it (error class, sentence, and
the records it names in ``ids``), at the boundary where a rule starts to refuse.

A refusal's words and ids are the public contract of the CLI's ``--json`` and the HTTP API;
the field a refused value came from is named exactly, so the clerk knows what to correct.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from aidflow.domain import Policy, StudentCase
from aidflow.domain.errors import (
    AccountChangePending,
    ActionsOpen,
    AidflowError,
    CaseNotOpen,
    ErasureRefused,
    FollowUpRequired,
    GapExceeded,
    InvalidAmount,
    InvalidInput,
    InvalidTransition,
    NeedNotFound,
    NoAccount,
    NoAccountChangePending,
    PersonalDataGone,
    ReverificationPending,
    SecondaryAidUnpaid,
    SecondaryCapExceeded,
    SegregationOfDuties,
    TierExceeded,
    UnknownDepartment,
    UnknownSecondaryAid,
)
from tests.builders import opened_case, verified_case

POLICY = Policy()
GOV, DON = UUID(int=1), UUID(int=2)
ACCOUNT = "6222020200112233445"
OTHER_ACCOUNT = "6217000011112222333"
BAD = "two\nlines"
LONG = "x" * 201


def opened(**values: Any) -> StudentCase:
    return opened_case(**{"account": ACCOUNT, **values})


def verified(gap_fen: int = 600_000) -> StudentCase:
    return verified_case(gap_fen=gap_fen, needs=("tuition", "travel", "living"), account=ACCOUNT)


def approved(fen: int = 100_000, account: str = ACCOUNT) -> StudentCase:
    case = opened(account=account)
    case.verify(
        income_fen=0,
        tuition_fen=0,
        gap_fen=600_000,
        needs=["tuition"],
        visited_on=None,
        note="",
        actor="visitor",
    )
    case.approve_grant(amount_fen=fen, need="tuition", fund_id=GOV, actor="approver", policy=POLICY)
    return case


def paid(fen: int = 100_000) -> StudentCase:
    case = verified()
    case.approve_grant(amount_fen=fen, need="tuition", fund_id=GOV, actor="approver", policy=POLICY)
    case.disburse(amount_fen=fen, voucher="V1", value_date=None, actor="cashier")
    return case


def with_secondary_aid(fen: int = 5_000) -> StudentCase:
    """Paid a grant, and secondary aid of ``fen`` on DON proposed and approved (not paid)."""
    case = paid()
    case.propose_secondary_aid(
        fund_id=DON, amount_fen=fen, reason="", actor="zhou", ref="EC-1", policy=POLICY
    )
    case.approve_secondary_aid(ref="EC-1", actor="boss", policy=POLICY)
    return case


def closed() -> StudentCase:
    case = verified()
    case.close(reason="done", actor="clerk")
    return case


def hardship() -> StudentCase:
    case = verified()
    case.report_hardship(kind="illness", severity="serious", detail="ill", actor="v")
    return case


def reviewed() -> StudentCase:
    case = hardship()
    case.convene_review(departments=["health"], actions=[("health", "aid")], note="", actor="c")
    return case


def refusal(call: Callable[[], object]) -> tuple[type[Exception], str, dict[str, str]]:
    with pytest.raises(AidflowError) as raised:
        call()
    return type(raised.value), str(raised.value), raised.value.ids


def ctl(what: str) -> str:
    return f"{what} contains a control character (U+000A); type it on one line without special characters"


# -- a refused value names its field exactly ----------------------------------------------------

NAMED: list[tuple[str, Callable[[], object], str]] = [
    ("name empty", lambda: opened(name=" "), "name must not be empty"),
    ("name long", lambda: opened(name=LONG), "name is longer than 200 characters"),
    ("university empty", lambda: opened(university=""), "university must not be empty"),
    (
        "university long",
        lambda: opened(university=LONG),
        "university is longer than 200 characters",
    ),
    ("town empty", lambda: opened(town=""), "town must not be empty"),
    ("town long", lambda: opened(town=LONG), "town is longer than 200 characters"),
    (
        "tuition",
        lambda: opened().verify(
            income_fen=0,
            tuition_fen=-1,
            gap_fen=0,
            needs=["tuition"],
            visited_on=None,
            note="",
            actor="v",
        ),
        "tuition must be zero or more fen, got -1",
    ),
    (
        "gap",
        lambda: opened().verify(
            income_fen=0,
            tuition_fen=0,
            gap_fen=-2,
            needs=["tuition"],
            visited_on=None,
            note="",
            actor="v",
        ),
        "gap must be zero or more fen, got -2",
    ),
    (
        "rejection reason",
        lambda: opened().reject(reason="", actor="c"),
        "rejection reason must not be empty",
    ),
    (
        "grant ref",
        lambda: verified().approve_grant(
            amount_fen=1, need="tuition", fund_id=GOV, actor="a", policy=POLICY, ref="SP\u200b1"
        ),
        "decision reference 'SP\\u200b1' contains an invisible or control character (U+200B ZERO WIDTH SPACE)",
    ),
    (
        "voucher",
        lambda: approved().disburse(amount_fen=1, voucher=" ", value_date=None, actor="c"),
        "voucher number must not be empty",
    ),
    (
        "payment amount",
        lambda: approved().disburse(amount_fen=0, voucher="V1", value_date=None, actor="c"),
        "payment amount must be more than zero, got 0.00 yuan",
    ),
    (
        "return reason",
        lambda: paid().return_disbursement(voucher="V1", reason=" ", value_date=None, actor="b"),
        "return reason must not be empty",
    ),
    (
        "account reason",
        lambda: opened().set_account(account=OTHER_ACCOUNT, bank="", reason="", actor="c"),
        "reason must not be empty",
    ),
    (
        "bank long",
        lambda: opened().set_account(account=OTHER_ACCOUNT, bank=LONG, reason="r", actor="c"),
        "bank is longer than 200 characters",
    ),
    (
        "allocation ref",
        lambda: paid().allocate_secondary_aid(
            fund_id=DON, amount_fen=1, reason="", actor="f", ref="EC\u200b1"
        ),
        "decision reference 'EC\\u200b1' contains an invisible or control character (U+200B ZERO WIDTH SPACE)",
    ),
    (
        "secondary amount",
        lambda: paid().propose_secondary_aid(
            fund_id=DON, amount_fen=0, reason="", actor="f", ref="EC-1", policy=POLICY
        ),
        "secondary aid amount must be more than zero, got 0.00 yuan",
    ),
    (
        "proposal reason",
        lambda: paid().propose_secondary_aid(
            fund_id=DON, amount_fen=1, reason=BAD, actor="f", ref="EC-1", policy=POLICY
        ),
        ctl("reason"),
    ),
    (
        "proposal ref",
        lambda: paid().propose_secondary_aid(
            fund_id=DON, amount_fen=1, reason="", actor="f", ref=" ", policy=POLICY
        ),
        "decision reference must not be empty",
    ),
    (
        "hardship detail",
        lambda: opened().report_hardship(kind="illness", severity="minor", detail="", actor="v"),
        "hardship detail must not be empty",
    ),
    (
        "department",
        lambda: hardship().convene_review(
            departments=["Health Dept"], actions=[], note="", actor="c"
        ),
        "department 'health dept' must be ASCII letters, digits and hyphens (like civil-affairs)",
    ),
    (
        "action department",
        lambda: hardship().convene_review(
            departments=["health"], actions=[("Health Dept", "aid")], note="", actor="c"
        ),
        "department 'health dept' must be ASCII letters, digits and hyphens (like civil-affairs)",
    ),
    (
        "action text",
        lambda: hardship().convene_review(
            departments=["health"], actions=[("health", "")], note="", actor="c"
        ),
        "action text must not be empty",
    ),
    (
        "completion note",
        lambda: reviewed().complete_action(action_id="A1", note="", actor="h"),
        "completion note must not be empty",
    ),
    (
        "study",
        lambda: verified().follow_up(study="", living="ok", hardship_trend="same", actor="v"),
        "study progress must not be empty",
    ),
    (
        "living",
        lambda: verified().follow_up(study="ok", living="", hardship_trend="same", actor="v"),
        "living situation must not be empty",
    ),
    (
        "closing reason",
        lambda: verified().close(reason="", actor="c"),
        "closing reason must not be empty",
    ),
    (
        "reveal reason",
        lambda: opened().reveal(fields=["name"], reason="", actor="v"),
        "reason for revealing must not be empty",
    ),
    (
        "erase reason",
        lambda: closed().erase_personal_data(reason="", cases=[], actor="admin"),
        "reason for erasing must not be empty",
    ),
]


@pytest.mark.parametrize(("what", "call", "said"), NAMED, ids=[n[0] for n in NAMED])
def test_a_refused_value_names_its_field_exactly(what: str, call: Any, said: str) -> None:
    kind, text, _ = refusal(call)
    assert (issubclass(kind, InvalidInput), text) == (True, said), what


def test_a_proposed_amount_is_refused_as_an_amount() -> None:
    kind, _, _ = refusal(NAMED[[n[0] for n in NAMED].index("secondary amount")][1])
    assert kind is InvalidAmount


# -- rule refusals: class, sentence, ids --------------------------------------------------------


def test_an_account_confirmation_refused_names_the_case() -> None:
    case = paid()
    ids = {"case_id": str(case.id)}
    assert refusal(lambda: case.confirm_account(actor="boss")) == (
        NoAccountChangePending,
        f"case {case.id} has no account change awaiting confirmation",
        ids,
    )
    assert case.set_account(account=OTHER_ACCOUNT, bank="", reason="card lost", actor="clerk")
    assert refusal(lambda: case.confirm_account(actor="boss", account=ACCOUNT)) == (
        NoAccountChangePending,
        f"the account typed is not the one proposed for case {case.id}; check the form "
        "(the proposal stays pending)",
        ids,
    )
    assert refusal(lambda: case.confirm_account(actor="Clerk")) == (
        SegregationOfDuties,
        f"Clerk proposed this account change for case {case.id}; a different person must confirm it",
        ids,
    )


def test_no_payment_without_a_settled_account_and_the_refusal_names_the_case() -> None:
    pay = lambda c: c.disburse(amount_fen=1, voucher="V9", value_date=None, actor="c")
    case = approved(account="")
    ids = {"case_id": str(case.id)}
    assert refusal(lambda: pay(case)) == (
        NoAccount,
        f"case {case.id} has no bank account on record; payments go straight into the student's "
        "own account: record one with `aidflow case set-account`",
        ids,
    )
    case = approved()
    pay(case)  # after a payment, a changed account waits for a second person
    case.set_account(account=OTHER_ACCOUNT, bank="", reason="card lost", actor="clerk")
    assert refusal(lambda: pay(case)) == (
        AccountChangePending,
        f"case {case.id} has an account change awaiting a second person's confirmation "
        "(`aidflow case confirm-account`); no money is paid until it is confirmed",
        {"case_id": str(case.id)},
    )


def test_a_payment_for_a_named_fund_draws_on_that_fund() -> None:
    case = approved(100_000)
    case.approve_grant(amount_fen=100_000, need="tuition", fund_id=DON, actor="a", policy=POLICY)
    assert (
        case.disburse(amount_fen=1_000, voucher="V1", value_date=None, actor="c", fund=DON) == DON
    )
    assert case.unpaid_by_fund == {str(GOV): 100_000, str(DON): 99_000}


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.set_account(account=OTHER_ACCOUNT, bank="", reason="r", actor="c"),
        lambda c: c.confirm_account(actor="boss"),
    ],
    ids=["set", "confirm"],
)
def test_a_closed_case_keeps_its_account(call: Any) -> None:
    case = closed()
    assert refusal(lambda: call(case)) == (
        CaseNotOpen,
        f"case {case.id} is closed (done); it cannot change its account. Report new hardship to reopen it",
        {},
    )


def test_secondary_aid_refusals_name_the_case_and_reference() -> None:
    case = paid()
    cap = POLICY.secondary_cap_fen
    case.propose_secondary_aid(
        fund_id=DON, amount_fen=cap, reason="", actor="zhou", ref="EC-1", policy=POLICY
    )
    ids = {"case_id": str(case.id)}
    assert refusal(lambda: case.approve_secondary_aid(ref="ec-1", actor="ZHOU", policy=POLICY)) == (
        SegregationOfDuties,
        f"ZHOU proposed secondary aid EC-1 for case {case.id}; a different person must approve it",
        ids,
    )
    assert refusal(lambda: case.secondary_proposal("ec-9")) == (
        UnknownSecondaryAid,
        f"case {case.id} has no secondary aid proposed under ec-9",
        {"case_id": str(case.id), "ref": "ec-9"},
    )
    case.propose_secondary_aid(
        fund_id=DON, amount_fen=1, reason="", actor="zhou", ref="EC-2", policy=POLICY
    )  # proposed while the first waits: within the cap then
    case.approve_secondary_aid(ref="EC-1", actor="boss", policy=POLICY)  # the whole cap
    over = (
        SecondaryCapExceeded,
        f"secondary aid of 0.01 yuan would bring case {case.id} to {(cap + 1) / 100:,.2f} yuan, "
        f"over the cap of {cap / 100:,.2f} yuan per programme year",
        ids,
    )
    assert (
        refusal(lambda: case.approve_secondary_aid(ref="EC-2", actor="boss", policy=POLICY)) == over
    )
    assert (
        refusal(
            lambda: case.propose_secondary_aid(
                fund_id=DON, amount_fen=1, reason="", actor="zhou", ref="EC-3", policy=POLICY
            )
        )
        == over
    )


def test_a_grant_for_a_need_the_visit_did_not_find() -> None:
    case = verified()
    assert refusal(
        lambda: case.approve_grant(
            amount_fen=1, need="books", fund_id=GOV, actor="a", policy=POLICY
        )
    ) == (
        NeedNotFound,
        f"a grant for books but the household visit of case {case.id} found only living, travel, "
        "tuition; approve it for a need the visit found",
        {"case_id": str(case.id)},
    )


def test_grants_since_the_visit_stay_within_its_gap_inclusive() -> None:
    case = verified(gap_fen=200_000)
    case.approve_grant(amount_fen=150_000, need="tuition", fund_id=GOV, actor="a", policy=POLICY)
    assert refusal(
        lambda: case.approve_grant(
            amount_fen=50_001, need="living", fund_id=GOV, actor="a", policy=POLICY
        )
    ) == (
        GapExceeded,
        f"approving 500.01 yuan would bring case {case.id} to 2,000.01 yuan since its household "
        "visit, above the verified gap of 2,000.00 yuan",
        {"case_id": str(case.id)},
    )
    case.approve_grant(amount_fen=50_000, need="living", fund_id=GOV, actor="a", policy=POLICY)
    assert case.approved_since_visit == 200_000


def test_an_approver_approves_up_to_their_tier_inclusive() -> None:
    tiers = Policy(approval_tiers=(("approver", 100_000), ("director", 500_000)))
    case = verified()
    case.approve_grant(
        amount_fen=60_000, need="tuition", fund_id=GOV, actor="a", policy=tiers, roles=["approver"]
    )
    assert refusal(
        lambda: case.approve_grant(
            amount_fen=40_001,
            need="tuition",
            fund_id=GOV,
            actor="Li",
            policy=tiers,
            roles=["approver"],
        )
    ) == (
        TierExceeded,
        f"Li approves a case up to 1,000.00 yuan; approving 400.01 yuan would bring case {case.id} "
        "to 1,000.01 yuan: an approver of a higher tier (policy approval-tiers) must approve it",
        {"case_id": str(case.id)},
    )
    case.approve_grant(
        amount_fen=40_000, need="tuition", fund_id=GOV, actor="Li", policy=tiers, roles=["approver"]
    )
    assert case.approved_fen == 100_000


def test_strict_close_refusals_name_what_is_owed() -> None:
    case = hardship()
    ids = {"case_id": str(case.id)}
    assert refusal(lambda: case.close(reason="r", actor="c", policy=POLICY)) == (
        ReverificationPending,
        f"case {case.id} was reopened by new hardship and not verified again; record the household "
        "visit before closing it",
        ids,
    )
    case.convene_review(
        departments=["health", "education"],
        actions=[("health", "aid"), ("education", "waiver"), ("health", "visit")],
        note="",
        actor="c",
    )
    case.complete_action(action_id="A2", note="done", actor="education")
    case.verify(
        income_fen=0,
        tuition_fen=0,
        gap_fen=1,
        needs=["living"],
        visited_on=None,
        note="",
        actor="v",
    )
    assert refusal(lambda: case.close(reason="r", actor="c", policy=POLICY)) == (
        ActionsOpen,
        f"case {case.id} still has consultation action(s) A1, A3 open; the departments must "
        "complete them before the case closes",
        ids,
    )
    case.complete_action(action_id="A1", note="done", actor="health")
    case.complete_action(action_id="A3", note="done", actor="health")
    case.approve_grant(amount_fen=1, need="living", fund_id=GOV, actor="a", policy=POLICY)
    case.disburse(amount_fen=1, voucher="V1", value_date=None, actor="c")
    assert refusal(lambda: case.close(reason="r", actor="c", policy=POLICY)) == (
        FollowUpRequired,
        f"case {case.id} was paid and not followed up since; record a follow-up (study, living, "
        "hardship) before closing it",
        ids,
    )
    case.follow_up(study="ok", living="ok", hardship_trend="same", actor="v")
    assert case.close(reason="r", actor="c", policy=POLICY) == {}


def test_unpaid_secondary_aid_keeps_the_case_open() -> None:
    case = with_secondary_aid(5_000)
    assert refusal(lambda: case.close(reason="r", actor="c")) == (
        SecondaryAidUnpaid,
        f"case {case.id} has 50.00 yuan of approved secondary aid not yet paid; pay it through "
        "the payment list first",
        {"case_id": str(case.id)},
    )


def test_a_consultation_of_unknown_departments_lists_the_known_ones() -> None:
    case = hardship()
    policy = Policy(departments=("health", "education"))
    assert refusal(
        lambda: case.convene_review(
            departments=["health", "space", "time"], actions=[], note="", actor="c", policy=policy
        )
    ) == (
        UnknownDepartment,
        "no department space, time in the policy; departments are health, education (an admin "
        "changes them with `aidflow policy set departments ...`)",
        {},
    )


# -- personal data -------------------------------------------------------------------------------

NOW = datetime(2031, 1, 1, tzinfo=UTC)
ENDED = datetime(2027, 1, 1, tzinfo=UTC)


def test_erasure_refusals_name_the_case() -> None:
    case = verified()
    ids = {"case_id": str(case.id)}
    erasable = lambda: case.check_erasable(ended_at=ENDED, now=NOW, retention_years=3)
    assert refusal(erasable) == (
        ErasureRefused,
        f"case {case.id} is still open; personal data is kept until the case is closed or "
        "rejected and its retention period has passed",
        ids,
    )
    case.close(reason="done", actor="c")
    just_before = datetime(2030, 12, 31, 23, 59, tzinfo=UTC)
    assert refusal(
        lambda: case.check_erasable(ended_at=ENDED, now=just_before, retention_years=4)
    ) == (
        ErasureRefused,
        f"case {case.id} is within its retention period (4 years after it ended, until "
        "2031-01-01); see `aidflow policy set retention-years`",
        ids,
    )  # the ending day itself, 4 years on, is the first day it may be erased
    case.check_erasable(ended_at=ENDED, now=datetime(2031, 1, 1, tzinfo=UTC), retention_years=4)
    case.erase_personal_data(reason="over", cases=[str(case.id)], actor="admin")
    assert refusal(erasable) == (
        ErasureRefused,
        f"the personal data of case {case.id} is erased already",
        ids,
    )
    assert refusal(lambda: case.reveal(fields=["name"], reason="x", actor="v")) == (
        PersonalDataGone,
        f"the personal data of case {case.id} was erased; there is nothing to reveal",
        ids,
    )


def test_a_case_holding_secondary_aid_is_closed_not_rejected_and_never_erased_owing() -> None:
    """Secondary aid paid, the grant returned and released by closing, the case reopened and the
    secondary payment returned too: nothing of the grant is approved, but the secondary aid is
    still reserved, so rejecting is refused (closing releases it). A store written before
    this rule may hold such a rejection: erasure then says how much is owed."""
    case = with_secondary_aid(5_000)
    case.disburse(amount_fen=5_000, voucher="V2", value_date=None, actor="c", fund=DON)
    case.return_disbursement(voucher="V1", reason="closed", value_date=None, actor="bank")
    assert case.close(reason="done", actor="c") == {str(GOV): 100_000}
    case.report_hardship(kind="illness", severity="minor", detail="ill", actor="v")
    case.return_disbursement(voucher="V2", reason="closed", value_date=None, actor="bank")
    assert refusal(lambda: case.reject(reason="moved away", actor="c")) == (
        InvalidTransition,
        f"case {case.id} still holds 50.00 yuan approved and unpaid; close it instead, "
        "which releases it",
        {},
    )
    case._rejected(reason="moved away", actor="c")  # as an earlier release recorded it
    assert refusal(lambda: case.check_erasable(ended_at=ENDED, now=NOW, retention_years=3)) == (
        ErasureRefused,
        f"case {case.id} still owes approved money (50.00 yuan unpaid)",
        {"case_id": str(case.id)},
    )
