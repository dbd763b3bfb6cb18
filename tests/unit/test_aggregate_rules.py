"""The case and fund aggregates without a store: each refusal's exact message (what the CLI and
services show), and what each accepted step does to the state the rules read next."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from aidflow.domain import Fund, Policy, StudentCase
from aidflow.domain.errors import (
    CapExceeded,
    CaseNotOpen,
    DuplicateReceipt,
    ErasureRefused,
    InsufficientFunds,
    InvalidAmount,
    InvalidInput,
    InvalidTransition,
    NoAccount,
    NoAccountChangePending,
    NoPaidGrant,
    OverDisbursement,
    PersonalDataGone,
    SecondaryCapExceeded,
    SegregationOfDuties,
    UnknownAction,
    UnknownSecondaryAid,
    UnknownVoucher,
    VerificationRequired,
    WrongFundKind,
)
from aidflow.domain.values import FundKind
from tests.builders import national_id

POLICY = Policy()
GOV, GOV2 = UUID(int=1), UUID(int=2)


def new_case(account: str = "6222 0202 0011 2233 445") -> StudentCase:
    return StudentCase.open(
        student_id=national_id(1),
        name=" 王小明 ",
        university="Guizhou University",
        family_category="dibao",
        town="Dalian",
        year=2026,
        account=account,
        source="screening",
        actor="Screening",
    )


def verified(verifier: str = "visitor", account: str = "6222020200112233445") -> StudentCase:
    case = new_case(account)
    case.verify(
        income_fen=0,
        tuition_fen=0,
        gap_fen=600_000,
        needs=["travel", "tuition", "travel", "living"],
        visited_on=None,
        note=" ok ",
        actor=verifier,
    )
    return case


def approved(fen: int = 300_000, fund: UUID = GOV) -> StudentCase:
    case = verified()
    case.approve_grant(
        amount_fen=fen, need="tuition", fund_id=fund, actor="approver", policy=POLICY, ref="SP-1"
    )
    return case


def message(error: type[Exception], call: object) -> str:
    with pytest.raises(error) as refusal:
        call()  # type: ignore[operator]
    return str(refusal.value)


# -- opening and verifying ---------------------------------------------------------------------


def test_open_keeps_canonical_values_and_starts_awaiting_verification() -> None:
    case = new_case()
    assert (case.name, case.account, case.opened_by) == (
        "王小明",
        "6222020200112233445",
        "screening",
    )
    assert (case.status, case.awaiting_verification, case.verified_once) == ("applied", True, False)
    assert (case.approved_fen, case.disbursed_fen, case.secondary_aid_fen) == (0, 0, 0)
    assert new_case(account="  ").account == ""


def test_verify_records_sorted_needs_and_the_verifier() -> None:
    case = verified("Alice")
    assert (case.needs, case.verifiers, case.status) == (
        ["living", "travel", "tuition"],
        ["alice"],
        "verified",
    )
    assert (
        message(
            InvalidTransition,
            lambda: case.verify(
                income_fen=0,
                tuition_fen=0,
                gap_fen=0,
                needs=["living"],
                visited_on=None,
                note="",
                actor="b",
            ),
        )
        == f"case {case.id} is already verified; report new hardship to verify it again"
    )


def test_verify_needs_a_need_and_sane_figures() -> None:
    case = new_case()
    assert (
        message(
            InvalidInput,
            lambda: case.verify(
                income_fen=0,
                tuition_fen=0,
                gap_fen=0,
                needs=[],
                visited_on=None,
                note="",
                actor="v",
            ),
        )
        == "verification must name at least one need category"
    )
    assert "income must be zero or more fen" in message(
        InvalidInput,
        lambda: case.verify(
            income_fen=-1,
            tuition_fen=0,
            gap_fen=0,
            needs=["living"],
            visited_on=None,
            note="",
            actor="v",
        ),
    )
    assert case.awaiting_verification and case.verifiers == []


# -- approving ---------------------------------------------------------------------------------


def test_approval_needs_verification_first() -> None:
    case = new_case()
    assert (
        message(
            VerificationRequired,
            lambda: case.approve_grant(
                amount_fen=1, need="tuition", fund_id=GOV, actor="a", policy=POLICY
            ),
        )
        == f"case {case.id} must be verified by a household visit before a grant is approved"
    )


def test_no_verifier_approves_in_any_spelling() -> None:
    case = verified("alice")
    case.report_hardship(kind="illness", severity="minor", detail="flu", actor="v")
    case.verify(
        income_fen=0,
        tuition_fen=0,
        gap_fen=0,
        needs=["living"],
        visited_on=None,
        note="",
        actor="bob",
    )
    for actor in ("alice", "ALICE", "Bob"):
        assert message(
            SegregationOfDuties,
            lambda actor=actor: case.approve_grant(
                amount_fen=1, need="living", fund_id=GOV, actor=actor, policy=POLICY
            ),
        ) == (
            f"{actor} verified case {case.id} and so may not approve its grant; "
            "another officer must approve"
        )


def test_cap_is_inclusive_and_its_refusal_names_the_totals() -> None:
    case = approved(300_000)
    case.approve_grant(amount_fen=200_000, need="living", fund_id=GOV2, actor="a", policy=POLICY)
    assert case.approved_fen == 500_000
    assert case.granted_by_fund == {str(GOV): 300_000, str(GOV2): 200_000}
    assert message(
        CapExceeded,
        lambda: case.approve_grant(
            amount_fen=1, need="living", fund_id=GOV, actor="a", policy=POLICY
        ),
    ) == (
        f"approving 0.01 yuan would bring case {case.id} to 5,000.01 yuan, over the cap of "
        "5,000.00 yuan per programme year"
    )


def test_a_higher_policy_cap_is_read_when_deciding() -> None:
    case = verified()
    case.approve_grant(
        amount_fen=600_000, need="tuition", fund_id=GOV, actor="a", policy=Policy(cap_fen=600_000)
    )
    assert case.approved_fen == 600_000 and case.status == "approved"


def test_grant_amount_must_be_positive() -> None:
    case = verified()
    assert "grant amount must be more than zero" in message(
        InvalidAmount,
        lambda: case.approve_grant(
            amount_fen=0, need="tuition", fund_id=GOV, actor="a", policy=POLICY
        ),
    )


# -- paying --------------------------------------------------------------------------------------


def test_payment_draws_on_a_fund_whose_reservation_covers_it() -> None:
    case = approved(100_000, GOV)
    case.approve_grant(amount_fen=300_000, need="living", fund_id=GOV2, actor="a", policy=POLICY)
    assert case.fund_for_payment(100_000) == GOV
    assert case.fund_for_payment(100_001) == GOV2
    assert case.disburse(amount_fen=250_000, voucher=" HC-1 ", value_date=None, actor="c") == GOV2
    assert case.unpaid_by_fund == {str(GOV): 100_000, str(GOV2): 50_000}
    assert message(OverDisbursement, lambda: case.fund_for_payment(120_000)) == (
        f"no single fund's approval covers 1,200.00 yuan for case {case.id}; pay each fund's "
        "approval with its own voucher"
    )
    assert message(OverDisbursement, lambda: case.fund_for_payment(150_001)) == (
        f"paying 1,500.01 yuan to case {case.id} would exceed what is approved and unpaid "
        "(1,500.00 yuan)"
    )
    case.disburse(amount_fen=100_000, voucher="HC-2", value_date=None, actor="c")
    case.disburse(amount_fen=50_000, voucher="HC-3", value_date=None, actor="c")
    assert case.unpaid_by_fund == {} and case.status == "paid"
    assert case.payment("hc-1") == {
        "voucher": "HC-1",
        "amount_fen": 250_000,
        "fund_id": str(GOV2),
        "returned": False,
        "confirmed": False,
        "account": case.account,
        "listed": False,
        "listed_on": None,
        "use": "grant",
        "by": "c",
        "disputed": "",
    }


def test_no_account_no_payment() -> None:
    case = verified(account="")
    case.approve_grant(amount_fen=100, need="tuition", fund_id=GOV, actor="a", policy=POLICY)
    assert message(
        NoAccount, lambda: case.disburse(amount_fen=100, voucher="V", value_date=None, actor="c")
    ) == (
        f"case {case.id} has no bank account on record; payments go straight into the student's "
        "own account: record one with `aidflow case set-account`"
    )


def test_a_return_lowers_what_was_paid_once() -> None:
    case = approved(100_000)
    case.disburse(amount_fen=60_000, voucher="V1", value_date=None, actor="c")
    case.return_disbursement(voucher="v1", reason="closed account", value_date=None, actor="bank")
    assert (case.disbursed_fen, case.paid_by_fund, case.unpaid_by_fund) == (
        0,
        {str(GOV): 0},
        {str(GOV): 100_000},
    )
    assert case.payment("V1")["returned"] is True  # type: ignore[index]
    assert (
        message(
            InvalidTransition,
            lambda: case.return_disbursement(voucher="V1", reason="x", value_date=None, actor="b"),
        )
        == "voucher V1 was already returned"
    )
    assert (
        message(
            UnknownVoucher,
            lambda: case.return_disbursement(voucher="V9", reason="x", value_date=None, actor="b"),
        )
        == f"case {case.id} was not paid with voucher V9"
    )


def test_secondary_aid_only_while_a_payment_stands() -> None:
    case = approved(100_000)
    refusal = (
        f"case {case.id} has not been paid temporary assistance yet; secondary aid only goes "
        "to students already paid a grant"
    )
    aid = lambda: case.allocate_secondary_aid(
        fund_id=GOV2, amount_fen=500, reason="", actor="f", ref="EC-1"
    )
    assert message(NoPaidGrant, aid) == refusal
    case.disburse(amount_fen=1, voucher="V1", value_date=None, actor="c")
    aid()
    aid()
    assert (case.secondary_aid_fen, case.secondary_by_fund) == (1000, {str(GOV2): 1000})
    case.return_disbursement(voucher="V1", reason="x", value_date=None, actor="b")
    assert message(NoPaidGrant, aid) == refusal


# -- closing, rejecting, reopening ---------------------------------------------------------------


def test_reject_only_before_money_and_then_nothing_but_hardship() -> None:
    case = approved(100_000)
    assert message(InvalidTransition, lambda: case.reject(reason="no", actor="c")) == (
        f"case {case.id} already has 1,000.00 yuan approved; close it instead, which releases "
        "what is unpaid"
    )
    other = verified()
    other.reject(reason=" income above line ", actor="c")
    assert (other.status, other.reason) == ("rejected", "income above line")
    assert message(CaseNotOpen, lambda: other.close(reason="x", actor="c")) == (
        f"case {other.id} was rejected (income above line); it cannot be closed"
    )
    assert (
        message(
            CaseNotOpen,
            lambda: other.follow_up(study="a", living="b", hardship_trend="worse", actor="v"),
        )
        == f"case {other.id} was rejected; there is nobody to follow up"
    )
    other.report_hardship(kind="illness", severity="serious", detail="ill", actor="v")
    assert other.status == "reopened" and not other.rejected


def test_close_releases_what_is_unpaid_and_a_closed_case_takes_no_money() -> None:
    case = approved(300_000)
    case.approve_grant(amount_fen=100_000, need="living", fund_id=GOV2, actor="a", policy=POLICY)
    case.disburse(amount_fen=100_000, voucher="V1", value_date=None, actor="c")
    releases = case.close(reason="graduated", actor="c")
    assert releases == {str(GOV): 200_000, str(GOV2): 100_000}
    assert (case.approved_fen, case.granted_by_fund, case.unpaid_by_fund) == (
        100_000,
        {str(GOV): 100_000, str(GOV2): 0},
        {},
    )
    assert case.status == "closed"
    assert message(CaseNotOpen, lambda: case.fund_for_payment(1)) == (
        f"case {case.id} is closed (graduated); it cannot be paid. Report new hardship to reopen it"
    )
    case.report_hardship(kind="illness", severity="minor", detail="flu", actor="v")
    assert (case.status, case.closed, case.hardships) == ("reopened", False, 1)
    case.follow_up(study="a", living="b", hardship_trend="worse", actor="v")
    assert case.follow_ups == 1


# -- consultations -------------------------------------------------------------------------------


def test_consultations_number_actions_across_reviews() -> None:
    case = verified()
    assert (
        message(
            InvalidTransition,
            lambda: case.convene_review(departments=["health"], actions=[], note="", actor="c"),
        )
        == f"case {case.id} has no reported hardship; a consultation follows a hardship report"
    )
    case.report_hardship(kind="illness", severity="critical", detail="ill", actor="v")
    assert (
        message(
            InvalidInput,
            lambda: case.convene_review(departments=[], actions=[], note="", actor="c"),
        )
        == "a consultation needs at least one department"
    )
    assert (
        message(
            InvalidInput,
            lambda: case.convene_review(
                departments=["health"], actions=[("education", "waive fees")], note="", actor="c"
            ),
        )
        == "action for education but that department was not at the consultation"
    )
    assert message(
        UnknownAction, lambda: case.complete_action(action_id="A1", note="x", actor="h")
    ) == (f"case {case.id} has no action A1 (actions: none)")
    first = case.convene_review(
        departments=["health", "education", "health"],
        actions=[("health", "medical aid"), ("education", "waive fees")],
        note="",
        actor="c",
    )
    second = case.convene_review(
        departments=["counselling"], actions=[("counselling", "talk")], note="", actor="c"
    )
    assert (first, second, case.reviews) == (["A1", "A2"], ["A3"], 2)
    assert case.open_actions == ["A1", "A2", "A3"]
    case.complete_action(action_id="A2", note="done", actor="education")
    assert case.open_actions == ["A1", "A3"]
    assert message(
        InvalidTransition, lambda: case.complete_action(action_id="A2", note="x", actor="e")
    ) == (f"action A2 of case {case.id} is already done")
    assert message(
        UnknownAction, lambda: case.complete_action(action_id="A9", note="x", actor="h")
    ) == (f"case {case.id} has no action A9 (actions: A1, A2, A3)")


# -- funds ---------------------------------------------------------------------------------------


def new_fund(kind: str = "government") -> Fund:
    return Fund.open(name=" Budget 2026 ", kind=kind, purpose=" grants ", actor="Finance")


def test_fund_balance_is_deposits_less_allocations_plus_releases() -> None:
    fund = new_fund()
    assert (fund.name, fund.purpose, fund.opened_by, fund.balance_fen) == (
        "Budget 2026",
        "grants",
        "finance",
        0,
    )
    fund.deposit(amount_fen=1000, source=" budget ", receipt=" r-1 ", value_date=None, actor="f")
    case = uuid4()
    fund.allocate(case_id=case, amount_fen=1000, use="grant", actor="a")  # exactly the balance
    assert message(
        InsufficientFunds, lambda: fund.allocate(case_id=case, amount_fen=1, use="grant", actor="a")
    ) == ("fund 'Budget 2026' has 0.00 yuan left, not enough for 0.01 yuan")
    fund.release(case_id=case, amount_fen=400, reason="closed", actor="c")
    assert (fund.deposited_fen, fund.allocated_fen, fund.released_fen, fund.balance_fen) == (
        1000,
        1000,
        400,
        400,
    )
    assert message(
        InvalidInput, lambda: fund.release(case_id=case, amount_fen=601, reason="x", actor="c")
    ) == ("fund 'Budget 2026' has 6.00 yuan reserved in all, cannot release 6.01 yuan")
    fund.release(case_id=case, amount_fen=600, reason="x", actor="c")
    assert fund.balance_fen == 1000


def test_fund_kind_and_receipts() -> None:
    fund = new_fund("donation")
    fund.check_kind(FundKind.DONATION, "secondary aid")
    refusal = message(
        WrongFundKind, lambda: fund.check_kind(FundKind.GOVERNMENT, "temporary assistance")
    )
    assert refusal == (
        "fund 'Budget 2026' is a donation fund; temporary assistance must come from a "
        "government fund"
    )
    fund.deposit(amount_fen=500, source="Chamber", receipt="R-1", value_date=None, actor="f")
    assert fund.is_retried_deposit(receipt="r-1", amount_fen=500, source=" Chamber ") is True
    assert fund.is_retried_deposit(receipt="R-2", amount_fen=500, source="Chamber") is False
    for amount, source in ((501, "Chamber"), (500, "Other")):
        assert (
            message(
                DuplicateReceipt,
                lambda amount=amount, source=source: fund.is_retried_deposit(
                    receipt="R-1", amount_fen=amount, source=source
                ),
            )
            == "receipt R-1 is already recorded in fund 'Budget 2026' for 5.00 yuan from Chamber"
        )
    assert fund.receipts == {"R-1": {"amount_fen": 500, "source": "Chamber"}}


def test_v1_fund_snapshots_are_upcast() -> None:
    state = {"allocated_by_case": {"c": 1}, "receipts": {"r-1": {"amount_fen": 1}}}
    Fund.upcast_v1_v2(state)
    assert state == {"receipts": {"R-1": {"amount_fen": 1}}}
    bare: dict[str, object] = {}
    Fund.upcast_v1_v2(bare)
    assert bare == {"receipts": {}}


def test_fund_refusals_name_their_records() -> None:
    fund = new_fund()
    case = uuid4()
    fund.deposit(amount_fen=10, source="b", receipt="R", value_date=None, actor="f")
    expected = {"fund_id": str(fund.id), "case_id": str(case)}
    for call in (
        lambda: fund.allocate(case_id=case, amount_fen=11, use="grant", actor="a"),
        lambda: fund.release(case_id=case, amount_fen=1, reason="r", actor="a"),
    ):
        with pytest.raises((InsufficientFunds, InvalidInput)) as refusal:
            call()
        assert refusal.value.ids == expected  # type: ignore[union-attr]
    with pytest.raises(WrongFundKind) as kind:
        fund.check_kind(FundKind.DONATION, "secondary aid")
    assert kind.value.ids == {"fund_id": str(fund.id)}
    with pytest.raises(DuplicateReceipt) as receipt:
        fund.is_retried_deposit(receipt="R", amount_fen=11, source="b")
    assert receipt.value.ids == {"fund_id": str(fund.id)}
    with pytest.raises(InvalidAmount) as zero:
        fund.release(case_id=case, amount_fen=0, reason="r", actor="a")
    assert str(zero.value) == "release must be more than zero, got 0.00 yuan"


# -- the money loop: an account change by two people, a payment the bank confirmed -----------


def test_an_account_change_after_a_payment_waits_for_a_second_person() -> None:
    case = approved(100_000)
    assert case.set_account(account="6222020200112233445", bank="", reason="x", actor="c") is False
    case.disburse(amount_fen=100_000, voucher="V1", value_date=None, actor="c")
    assert message(NoAccountChangePending, lambda: case.confirm_account(actor="boss")) == (
        f"case {case.id} has no account change awaiting confirmation"
    )
    new = "6217000011112222333"
    assert case.set_account(account=new, bank=" ICBC ", reason="card closed", actor="Clerk")
    assert case.account == "6222020200112233445"  # still the old one until confirmed
    assert case.pending_account is not None and case.pending_account["account"] == new
    assert message(
        NoAccountChangePending,
        lambda: case.confirm_account(actor="boss", account="6217000011112222334"),
    ) == (
        f"the account typed is not the one proposed for case {case.id}; check the form "
        "(the proposal stays pending)"
    )
    assert message(SegregationOfDuties, lambda: case.confirm_account(actor=" clerk ")) == (
        f" clerk  proposed this account change for case {case.id}; a different person must "
        "confirm it"
    )
    case.confirm_account(actor="boss", account="6217 0000 1111 2222 333")
    assert (case.account, case.bank, case.pending_account) == (new, "ICBC", None)
    assert case.account_suspect is False


def test_the_bank_confirms_a_payment_once() -> None:
    case = approved(100_000)
    case.disburse(amount_fen=60_000, voucher="V1", value_date=None, actor="c")
    assert (
        message(
            UnknownVoucher,
            lambda: case.confirm_payment(
                voucher="V9", value_date=None, statement="s", actor="bank"
            ),
        )
        == f"case {case.id} was not paid with voucher V9"
    )
    case.confirm_payment(voucher="v1", value_date=None, statement="s", actor="bank")
    assert case.payment("V1")["confirmed"] is True  # type: ignore[index]
    assert (
        message(
            InvalidTransition,
            lambda: case.confirm_payment(
                voucher="V1", value_date=None, statement="s", actor="bank"
            ),
        )
        == "voucher V1 is already settled"
    )
    case.disburse(amount_fen=40_000, voucher="V2", value_date=None, actor="c")
    case.return_disbursement(voucher="V2", reason="closed", value_date=None, actor="bank")
    assert (
        message(
            InvalidTransition,
            lambda: case.confirm_payment(
                voucher="V2", value_date=None, statement="s", actor="bank"
            ),
        )
        == "voucher V2 is already settled"
    )
    confirmed = [e for e in case.collect_events() if type(e).__name__ == "DisbursementConfirmed"]
    assert [(e.voucher, e.amount_fen, e.fund_id, e.use, e.actor) for e in confirmed] == [
        ("V1", 60_000, GOV, "grant", "bank")
    ]


# -- personal data: erasure waits for the end of the case and its retention -------------------


def test_erasure_waits_for_the_end_and_the_retention_and_says_until_when() -> None:
    case = verified()
    now = datetime(2030, 2, 28, tzinfo=UTC)
    ended = datetime(2024, 2, 29, 9, 30, tzinfo=UTC)
    still_open = (
        f"case {case.id} is still open; personal data is kept until the case is closed or "
        "rejected and its retention period has passed"
    )
    erasable = lambda at, years=3: case.check_erasable(ended_at=at, now=now, retention_years=years)
    assert message(ErasureRefused, lambda: erasable(ended)) == still_open
    case.close(reason="done", actor="clerk")
    assert message(ErasureRefused, lambda: erasable(None)) == still_open
    assert message(ErasureRefused, lambda: erasable(ended, 6)) == (
        f"case {case.id} is within its retention period (6 years after it ended, until "
        "2030-02-28); see `aidflow policy set retention-years`"
    )  # 29 February has no twin in 2030: the day before
    erasable(datetime(2027, 2, 28, tzinfo=UTC))  # exactly three years: erasable
    assert message(ErasureRefused, lambda: erasable(datetime(2027, 2, 28, 0, 1, tzinfo=UTC))) == (
        f"case {case.id} is within its retention period (3 years after it ended, until "
        "2030-02-28); see `aidflow policy set retention-years`"
    )
    case.reveal(fields=["name"], reason=" visit ", actor="Visitor")
    case.erase_personal_data(reason=" over ", cases=["b", "a"], actor="Admin")
    erased = case.collect_events()[-1]
    assert (erased.reason, erased.cases, erased.actor) == ("over", ["a", "b"], "admin")
    assert case.personal_data_erased
    assert message(ErasureRefused, lambda: erasable(ended)) == (
        f"the personal data of case {case.id} is erased already"
    )
    assert message(
        PersonalDataGone, lambda: case.reveal(fields=["name"], reason="x", actor="v")
    ) == (f"the personal data of case {case.id} was erased; there is nothing to reveal")


def test_secondary_aid_is_proposed_then_approved_by_another_person_within_the_cap() -> None:
    case = approved(100_000)
    case.disburse(amount_fen=100_000, voucher="V1", value_date=None, actor="c")
    cap = POLICY.secondary_cap_fen
    case.propose_secondary_aid(
        fund_id=GOV2, amount_fen=cap, reason=" books ", actor="Zhou", ref=" ec-1 ", policy=POLICY
    )
    assert case.secondary_proposal("EC-1") == {
        "ref": "ec-1",
        "fund_id": str(GOV2),
        "amount_fen": cap,
        "by": "zhou",
        "approved": False,
    }
    assert message(UnknownSecondaryAid, lambda: case.secondary_proposal("EC-9")) == (
        f"case {case.id} has no secondary aid proposed under EC-9"
    )
    assert message(
        SegregationOfDuties,
        lambda: case.approve_secondary_aid(ref="EC-1", actor=" ZHOU", policy=POLICY),
    ) == (
        f" ZHOU proposed secondary aid ec-1 for case {case.id}; a different person must approve it"
    )
    assert case.approve_secondary_aid(ref="ec-1", actor="Boss", policy=POLICY)["amount_fen"] == cap
    approval = case.collect_events()[-1]
    assert (approval.ref, approval.fund_id, approval.amount_fen, approval.actor) == (
        "ec-1",
        GOV2,
        cap,
        "boss",
    )
    assert approval.policy_version == POLICY.version
    assert (
        message(
            InvalidTransition,
            lambda: case.approve_secondary_aid(ref="EC-1", actor="x", policy=POLICY),
        )
        == "secondary aid ec-1 is already approved"
    )
    over = lambda: case.propose_secondary_aid(
        fund_id=GOV2, amount_fen=1, reason="", actor="zhou", ref="EC-2", policy=POLICY
    )
    cap_yuan = f"{cap // 100:,}.00"
    assert message(SecondaryCapExceeded, over) == (
        f"secondary aid of 0.01 yuan would bring case {case.id} to {(cap + 1) / 100:,.2f} yuan, "
        f"over the cap of {cap_yuan} yuan per programme year"
    )
