"""The audit rules' core, ``run_checks``, over hand-written journal rows: every rule's exact
finding (rule, case, fund, positions, message), each boundary on both sides, what the checks
count as read, and events they cannot read. No store: rows are what the journal would hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aidflow.auditing import SHOWN_POSITIONS, run_checks
from aidflow.domain import Policy
from aidflow.projections.models import CheckResult, Violation

T0 = datetime(2026, 8, 1, tzinfo=UTC)
GOV, DON, GHOST = "g" * 8, "d" * 8, "x" * 8
KINDS = {GOV: "government", DON: "donation"}
POLICY = Policy()


APART = ("unauthorised_actor", "recorded_out_of_time_order")
"""Rules :meth:`Journal.check` leaves out: these journals hold no staff events, and set the
times of their rows freely to reach the timeliness rules (both have tests of their own)."""


class Journal:
    """Rows in position order, one day apart unless told."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, datetime, str, str, str, dict[str, Any]]] = []

    def add(
        self, name: str, aggregate: str, actor: str = "clerk", at: datetime | None = None, **d: Any
    ) -> int:
        position = len(self.rows) + 1
        self.rows.append((position, at or T0 + timedelta(days=position), actor, aggregate, name, d))
        return position

    def deposit(self, fund: str, fen: int, receipt: str = "R") -> int:
        return self.add("fund.deposited", fund, amount_fen=fen, receipt=receipt)

    def allocate(self, fund: str, fen: int, case: str = "c1") -> int:
        return self.add("fund.allocated", fund, amount_fen=fen, case_id=case)

    def verify(self, case: str, actor: str) -> int:
        """A visit that found a 10,000-yuan gap for tuition: the money rules under test here
        are not the gap's or the need's (``test_loop_rules`` covers those)."""
        return self.add("case.verified", case, actor, gap_fen=1_000_000, needs=["tuition"])

    def approve(
        self, case: str, fen: int, actor: str = "boss", fund: str = GOV, at: datetime | None = None
    ) -> int:
        return self.add(
            "case.grant_approved", case, actor, at, amount_fen=fen, fund_id=fund, need="tuition"
        )

    def staff(self, kind: str, actor: str = "li", **d: Any) -> int:
        """A staff event (``member_added``, ``role_granted``...) recorded by ``actor``; its
        fields may include ``name``, which :meth:`add` keeps for the event's own name."""
        self.rows.append((len(self.rows) + 1, T0, actor, "reg", f"staff.{kind}", d))
        return len(self.rows)

    def pay(self, case: str, fen: int, voucher: str = "V") -> int:
        return self.add("case.disbursed", case, "cashier", amount_fen=fen, voucher=voucher)

    def check(self, now: datetime | None = None, policy: Policy = POLICY) -> CheckResult:
        """The rules over the rows, apart from authorisation: these journals hold no staff
        events, so every actor is unregistered (``tests/integration/test_staff.py`` and
        ``test_authorisation_is_judged_as_of_each_position`` cover that rule)."""
        result = run_checks(
            iter(self.rows), KINDS, policy, now or T0 + timedelta(days=len(self.rows))
        )
        kept = [v for v in result.violations if v.rule not in APART]
        return result.model_copy(update={"violations": kept})


def only(result: CheckResult) -> Violation:
    assert len(result.violations) == 1, result.violations
    return result.violations[0]


def test_nothing_read_nothing_found() -> None:
    result = Journal().check()
    assert (result.violations, result.checked, result.position, result.ok) == ([], {}, 0, True)


def test_a_clean_paid_case_counts_what_it_read() -> None:
    j = Journal()
    j.add("fund.opened", GOV)
    j.deposit(GOV, 100)
    j.add("case.applied", "c1")
    j.verify("c1", "visitor")
    j.allocate(GOV, 100)
    j.approve("c1", 100)
    j.pay("c1", 100)
    j.add("case.followed_up", "c1")
    result = j.check()
    assert result.ok and result.position == 8
    assert result.checked == {
        "case.applied": 1,
        "case.disbursed": 1,
        "case.followed_up": 1,
        "case.grant_approved": 1,
        "case.verified": 1,
        "fund.allocated": 1,
        "fund.deposited": 1,
        "fund.opened": 1,
    }


@pytest.mark.parametrize("receipt", ["", " ", None])
def test_deposit_without_receipt(receipt: str | None) -> None:
    j = Journal()
    j.deposit(GOV, 150_000, receipt="R1")
    details = (
        {"amount_fen": 150_000} if receipt is None else {"amount_fen": 150_000, "receipt": receipt}
    )
    p = j.add("fund.deposited", GOV, **details)
    v = only(j.check())
    assert v == Violation(
        rule="deposit_without_receipt",
        case_id=None,
        fund_id=GOV,
        positions=[p],
        message="deposit of 1,500.00 yuan has no receipt",
    )


def test_fund_overdrawn_counts_releases_and_exactly_zero_is_fine() -> None:
    j = Journal()
    j.deposit(GOV, 100)
    j.allocate(GOV, 70)
    j.add("fund.released", GOV, amount_fen=10, case_id="c1")
    j.allocate(GOV, 40, case="c2")
    assert j.check().ok
    p = j.allocate(GOV, 1, case="c3")
    assert only(j.check()) == Violation(
        rule="fund_overdrawn",
        case_id="c3",
        fund_id=GOV,
        positions=[p],
        message="fund balance fell to -0.01 yuan",
    )


def test_approved_before_verification_and_after_a_reopen() -> None:
    j = Journal()
    first = j.approve("c1", 100)
    j.verify("c1", "v")
    j.approve("c1", 100)
    j.add("case.hardship_reported", "c1", severity="minor", kind="illness")
    second = j.approve("c1", 100)
    found = j.check().violations
    assert [(v.rule, v.case_id, v.positions, v.message) for v in found] == [
        (
            "approved_before_verification",
            "c1",
            [p],
            "grant approved while the case awaited verification",
        )
        for p in (first, second)
    ]


def test_verifier_approved_compares_every_verifier() -> None:
    j = Journal()
    j.verify("c1", "alice")
    j.add("case.hardship_reported", "c1", severity="minor", kind="illness")
    j.verify("c1", "bob")
    p = j.approve("c1", 100, actor="alice")
    assert only(j.check()) == Violation(
        rule="verifier_approved",
        case_id="c1",
        fund_id=None,
        positions=[p],
        message="alice verified this case and approved its grant",
    )


@pytest.mark.parametrize("fund", [DON, GHOST])
def test_wrong_fund_kind_for_a_grant(fund: str) -> None:
    j = Journal()
    j.verify("c1", "v")
    p = j.approve("c1", 100, fund=fund)
    assert only(j.check()) == Violation(
        rule="wrong_fund_kind",
        case_id="c1",
        fund_id=fund,
        positions=[p],
        message="temporary assistance approved from a fund that is not a government fund",
    )


@pytest.mark.parametrize("fund", [GOV, GHOST])
def test_wrong_fund_kind_for_secondary_aid(fund: str) -> None:
    j = Journal()
    j.verify("c1", "v")
    j.approve("c1", 100)
    j.pay("c1", 100)
    p = j.add("case.secondary_aid_allocated", "c1", fund_id=fund, amount_fen=5)
    assert only(j.check()) == Violation(
        rule="wrong_fund_kind",
        case_id="c1",
        fund_id=fund,
        positions=[p],
        message="secondary aid allocated from a fund that is not a donation fund",
    )


def test_cap_exceeded_counts_releases_and_names_every_approval() -> None:
    j = Journal()
    j.verify("c1", "v")
    a = j.approve("c1", 300_000)
    j.add("case.closed", "c1", releases={GOV: 100_000})
    j.add("case.hardship_reported", "c1", severity="minor", kind="illness")
    j.verify("c1", "v2")
    b = j.approve("c1", 300_000)  # 500,000 after the release: exactly the cap
    assert j.check().ok
    c = j.approve("c1", 1)
    assert only(j.check()) == Violation(
        rule="cap_exceeded",
        case_id="c1",
        fund_id=None,
        positions=[a, b, c],
        message="approved 5,000.01 yuan, over the cap of 5,000.00 yuan",
    )


def test_paid_before_approval_counts_returns_and_exactly_the_approval_is_fine() -> None:
    j = Journal()
    j.verify("c1", "v")
    j.approve("c1", 100)
    j.pay("c1", 100, "V1")
    j.add("case.disbursement_returned", "c1", amount_fen=100, voucher="V1")
    j.pay("c1", 100, "V2")
    assert j.check().ok
    p = j.pay("c1", 1, "V3")
    assert only(j.check()) == Violation(
        rule="paid_before_approval",
        case_id="c1",
        fund_id=None,
        positions=[p],
        message="paid 1.01 yuan against 1.00 yuan approved",
    )


def test_duplicate_voucher_names_the_first_use_and_the_second() -> None:
    j = Journal()
    for case in ("c1", "c2"):
        j.verify(case, "v")
        j.approve(case, 100)
    first = j.pay("c1", 50, "DUP")
    j.pay("c1", 50, "OTHER")
    second = j.pay("c2", 50, "DUP")
    third = j.pay("c2", 50, "DUP")
    found = j.check().violations
    assert [(v.rule, v.case_id, v.positions, v.message) for v in found] == [
        ("duplicate_voucher", "c2", [first, second], "voucher DUP used twice"),
        ("duplicate_voucher", "c2", [first, third], "voucher DUP used twice"),
    ]


def test_secondary_aid_needs_a_paid_grant_still_standing() -> None:
    j = Journal()
    j.verify("c1", "v")
    j.approve("c1", 100)
    j.pay("c1", 100, "V1")
    j.add("case.secondary_aid_allocated", "c1", fund_id=DON, amount_fen=5)
    assert j.check().ok
    j.add("case.disbursement_returned", "c1", amount_fen=100, voucher="V1")
    p = j.add("case.secondary_aid_allocated", "c1", fund_id=DON, amount_fen=5)
    assert only(j.check()) == Violation(
        rule="secondary_aid_without_paid_grant",
        case_id="c1",
        fund_id=None,
        positions=[p],
        message="secondary aid allocated before any grant was paid",
    )


@pytest.mark.parametrize(
    ("verify", "approve_fund", "voucher", "lacks"),
    [
        (False, GOV, "V", "verification"),
        (True, GHOST, "V", "fund source"),
        (True, GOV, " ", "voucher"),
    ],
)
def test_incomplete_dossier_names_what_is_missing(
    verify: bool, approve_fund: str, voucher: str, lacks: str
) -> None:
    j = Journal()
    if verify:
        j.verify("c1", "v")
    j.approve("c1", 100, fund=approve_fund)
    j.pay("c1", 100, voucher)
    dossier = [v for v in j.check().violations if v.rule == "incomplete_dossier"]
    assert [(v.case_id, v.positions, v.message) for v in dossier] == [
        ("c1", [], f"paid case lacks {lacks}")
    ]


def test_incomplete_dossier_names_everything_missing_and_not_for_unpaid_cases() -> None:
    j = Journal()
    j.pay("c1", 100, "")
    j.approve("c2", 100)  # unpaid: no dossier finding
    dossier = [v for v in j.check().violations if v.rule == "incomplete_dossier"]
    assert [(v.case_id, v.message) for v in dossier] == [
        ("c1", "paid case lacks verification, approval, voucher, fund source")
    ]


def test_approved_unpaid_too_long_is_judged_at_now_and_from_the_last_approval() -> None:
    j = Journal()
    j.verify("c1", "v")
    j.approve("c1", 300, at=T0)
    last = j.approve("c1", 200, at=T0 + timedelta(days=5))
    j.pay("c1", 100)
    limit = T0 + timedelta(days=5 + POLICY.max_unpaid_days)
    assert j.check(now=limit).ok
    v = only(j.check(now=limit + timedelta(seconds=1)))
    assert v == Violation(
        rule="approved_unpaid_too_long",
        case_id="c1",
        fund_id=None,
        positions=[last],
        message="4.00 yuan approved 30 days ago, still unpaid",
    )
    assert j.check(now=limit, policy=Policy(max_unpaid_days=29)).violations == [
        v.model_copy(update={"message": "4.00 yuan approved 30 days ago, still unpaid"})
    ]


@pytest.mark.parametrize("ending", ["case.closed", "case.rejected"])
def test_approved_unpaid_is_not_late_on_a_closed_or_rejected_case(ending: str) -> None:
    j = Journal()
    j.verify("c1", "v")
    j.approve("c1", 300, at=T0)
    j.add(ending, "c1", releases={})
    assert j.check(now=T0 + timedelta(days=400)).ok


def test_approved_unpaid_counts_again_after_a_reopen() -> None:
    j = Journal()
    j.verify("c1", "v")
    p = j.approve("c1", 300, at=T0)
    j.add("case.closed", "c1", releases={})
    j.add("case.hardship_reported", "c1", severity="minor", kind="illness", at=T0)
    assert [v.rule for v in j.check(now=T0 + timedelta(days=31)).violations] == [
        "approved_unpaid_too_long"
    ]
    assert j.check(now=T0 + timedelta(days=31)).violations[0].positions == [p]


def test_hardship_without_consultation_only_for_serious_ones_and_until_a_review() -> None:
    j = Journal()
    j.add("case.hardship_reported", "c1", severity="minor", kind="illness", at=T0)
    p = j.add("case.hardship_reported", "c2", severity="critical", kind="accident", at=T0)
    j.add("case.hardship_reported", "c3", severity="serious", kind="illness", at=T0)
    j.add("case.review_convened", "c3", actions=[], at=T0)
    limit = T0 + timedelta(days=POLICY.max_days_to_consultation)
    assert j.check(now=limit).ok
    assert only(j.check(now=limit + timedelta(days=1))) == Violation(
        rule="hardship_without_consultation",
        case_id="c2",
        fund_id=None,
        positions=[p],
        message="accident hardship reported 15 days ago, no consultation since",
    )


def test_consultation_action_open_until_completed() -> None:
    j = Journal()
    actions = [
        {"action_id": "A1", "department": "health"},
        {"action_id": "A2", "department": "education"},
    ]
    p = j.add("case.review_convened", "c1", actions=actions, at=T0)
    j.add("case.action_completed", "c1", action_id="A1", at=T0)
    j.add("case.action_completed", "c1", action_id="A9", at=T0)  # unknown: ignored
    limit = T0 + timedelta(days=POLICY.max_days_action_open)
    assert j.check(now=limit).ok
    assert only(j.check(now=limit + timedelta(days=2))) == Violation(
        rule="consultation_action_open",
        case_id="c1",
        fund_id=None,
        positions=[p],
        message="education has not completed A2 after 62 days",
        subject="A2",  # one consultation's actions are told apart
    )


def test_events_the_checks_cannot_read_are_findings() -> None:
    j = Journal()
    j.add("case.applied", "c1")
    unknown = [j.add("case.teleported", "c1") for _ in range(SHOWN_POSITIONS + 1)]
    result = j.check()
    assert result.checked == {"case.applied": 1, "case.teleported": SHOWN_POSITIONS + 1}
    assert only(result) == Violation(
        rule="unknown_event",
        case_id=None,
        fund_id=None,
        positions=[*unknown[: SHOWN_POSITIONS - 1], unknown[-1]],  # the first and the last
        message=(
            f"{SHOWN_POSITIONS + 1} event(s) of kind 'case.teleported' were not checked: "
            "the kind is not in this version's event catalogue"
        ),
    )


def test_duplicate_voucher_is_found_in_canonical_form() -> None:
    j = Journal()
    for case in ("c1", "c2"):
        j.verify(case, "v")
        j.approve(case, 100)
    first = j.pay("c1", 50, "HC-1")
    second = j.pay("c2", 50, "hc-1")
    v = only(j.check())
    assert (v.rule, v.positions) == ("duplicate_voucher", [first, second])


def test_verifier_approved_compares_people_not_spellings() -> None:
    j = Journal()
    j.verify("c1", "Wang")
    p = j.approve("c1", 100, actor="wang")
    v = only(j.check())
    assert (v.rule, v.positions) == ("verifier_approved", [p])


def test_paid_before_approval_adds_up_every_payment() -> None:
    j = Journal()
    j.verify("c1", "v")
    j.approve("c1", 100)
    j.pay("c1", 60, "V1")
    j.pay("c1", 30, "V2")
    assert j.check().ok
    p = j.pay("c1", 20, "V3")
    assert only(j.check()).positions == [p]
    assert only(j.check()).message == "paid 1.10 yuan against 1.00 yuan approved"


def test_one_fen_paid_is_a_paid_grant() -> None:
    j = Journal()
    j.verify("c1", "v")
    j.approve("c1", 100)
    j.pay("c1", 1)
    j.add("case.secondary_aid_allocated", "c1", fund_id=DON, amount_fen=5)
    assert j.check().ok


def test_a_payment_recorded_without_a_voucher_lacks_one() -> None:
    j = Journal()
    j.verify("c1", "v")
    j.approve("c1", 100)
    j.add("case.disbursed", "c1", "cashier", amount_fen=100)
    assert only(j.check()).message == "paid case lacks voucher"


def test_authorisation_is_judged_as_of_each_position() -> None:
    """Verifications before the verifier held the role, and after it was revoked, are findings;
    the one in between is not (and any spelling of the registered person counts)."""
    j = Journal()

    j.staff("member_added", name="li", roles=["admin"], department="", town="")
    early = j.verify("c1", "wang")
    j.staff("member_added", name="wang", roles=["verifier"], department="", town="")
    j.verify("c2", "Wang")
    j.staff("role_revoked", name="wang", role="verifier")
    late = j.verify("c3", "wang")
    every = run_checks(iter(j.rows), KINDS, POLICY, T0 + timedelta(days=30)).violations
    found = [v for v in every if v.rule != "recorded_out_of_time_order"]  # staff rows at T0
    assert [(v.rule, v.positions) for v in found] == [("unauthorised_actor", [early, late])]
    assert "wang recorded 2 verify event(s)" in found[0].message


# -- the money loop (issue 12): listed payments, four eyes, the bank's findings -------------


def test_a_listed_payment_is_unconfirmed_until_a_statement_settles_it() -> None:
    """Listed for the bank and neither confirmed nor returned after ``statement_days``: a
    finding naming the money and the days; confirmed or returned (by voucher, in any
    spelling), none."""
    j = Journal()
    for case, voucher in (("c1", "PL-1"), ("c2", "PL-2"), ("c3", "PL-3")):
        j.verify(case, "visitor")
        j.approve(case, 150_000)
        j.add("case.disbursed", case, "cashier", amount_fen=150_000, voucher=voucher, listed=True)
    listed_at = j.rows[-1][1]
    j.add("case.disbursement_confirmed", "c1", "cashier", voucher="pl-1")
    j.add("case.disbursement_returned", "c2", "cashier", amount_fen=150_000, voucher="ＰＬ-2")
    days = POLICY.statement_days
    on_time = j.check(now=listed_at + timedelta(days=days))
    assert on_time.ok, on_time.violations
    late = only(j.check(now=listed_at + timedelta(days=days + 1)))
    assert (late.rule, late.case_id, late.positions) == ("payment_unconfirmed", "c3", [9])
    assert late.message == (
        f"1,500.00 yuan listed for the bank {days + 1} days ago;"
        " no statement line has confirmed or returned it"
    )


def test_an_account_change_needs_a_proposal_and_a_second_person() -> None:
    j = Journal()
    j.add("case.account_confirmed", "c1", "boss")  # nobody proposed it
    j.add("case.account_set", "c2", "clerk", pending=True)
    j.add("case.account_confirmed", "c2", "Clerk")  # the proposer, in another spelling
    j.add("case.account_set", "c3", "clerk", pending=True)
    j.add("case.account_confirmed", "c3", "boss")  # four eyes: fine
    j.add("case.account_set", "c4", "clerk", pending=False)  # a direct set, not a proposal
    j.add("case.account_confirmed", "c4", "boss")
    found = [(v.rule, v.case_id, v.positions, v.message) for v in j.check().violations]
    assert found == [
        (
            "account_confirmed_unproposed",
            "c1",
            [1],
            "an account change was confirmed that nobody had proposed",
        ),
        (
            "account_change_self_confirmed",
            "c2",
            [3],
            "Clerk proposed and confirmed the same account change",
        ),
        (
            "account_confirmed_unproposed",
            "c4",
            [7],
            "an account change was confirmed that nobody had proposed",
        ),
    ]


def test_secondary_aid_needs_another_persons_proposal() -> None:
    j = Journal()
    j.verify("c1", "visitor")
    j.approve("c1", 100_000)
    j.pay("c1", 100_000, voucher="V1")
    j.add("case.secondary_aid_proposed", "c1", "liaison", ref="SA-1", amount_fen=50_000)
    j.add("case.secondary_aid_approved", "c1", "boss", ref="sa-1", amount_fen=50_000, fund_id=DON)
    j.add("case.secondary_aid_proposed", "c1", "boss", ref="SA-2", amount_fen=10_000)
    j.add("case.secondary_aid_approved", "c1", "BOSS", ref="SA-2", amount_fen=10_000, fund_id=DON)
    j.add("case.secondary_aid_approved", "c1", "boss", ref="SA-3", amount_fen=1, fund_id=DON)
    found = [(v.rule, v.positions, v.message) for v in j.check().violations]
    assert found == [
        (
            "secondary_aid_single_person",
            [7],
            "secondary aid SA-2 was approved by BOSS without another person's proposal",
        ),
        (
            "secondary_aid_single_person",
            [8],
            "secondary aid SA-3 was approved by boss without another person's proposal",
        ),
    ]


def test_secondary_aid_is_paid_against_what_was_approved_for_it() -> None:
    j = Journal()
    j.verify("c1", "visitor")
    j.approve("c1", 100_000)
    j.pay("c1", 100_000, voucher="V1")
    j.add("case.secondary_aid_proposed", "c1", "liaison", ref="SA-1", amount_fen=50_000)
    j.add("case.secondary_aid_approved", "c1", "boss", ref="SA-1", amount_fen=50_000, fund_id=DON)
    j.add("case.disbursed", "c1", "cashier", amount_fen=50_000, voucher="S1", use="secondary-aid")
    assert j.check().ok  # exactly what was approved
    j.add(
        "case.disbursement_returned",
        "c1",
        "cashier",
        amount_fen=50_000,
        voucher="S1",
        use="secondary-aid",
    )
    j.add("case.disbursed", "c1", "cashier", amount_fen=50_000, voucher="S2", use="secondary-aid")
    assert j.check().ok  # returned, then paid again: still within
    j.add("case.disbursed", "c1", "cashier", amount_fen=1, voucher="S3", use="secondary-aid")
    late = only(j.check())
    assert (late.rule, late.positions) == ("paid_before_approval", [9])
    assert late.message == "secondary aid paid 500.01 yuan against 500.00 yuan approved"


def test_the_banks_findings_are_the_audits_findings() -> None:
    j = Journal()
    item = {
        "kind": "no_voucher",
        "line": 4,
        "reference": "SALARY-9",
        "amount_fen": 123_456,
        "detail": "no voucher of ours",
    }
    detail = {"name": "june.csv", "findings": [item]}  # ("name" is also add()'s own)
    j.rows.append((1, T0, "cashier", "book", "payments.statement_imported", detail))
    found = only(j.check())
    assert (found.rule, found.positions, found.case_id) == ("statement_no_voucher", [1], None)
    assert found.message == (
        "bank statement 'june.csv' line 4 (SALARY-9, 1,234.56 yuan): no voucher of ours"
    )


def test_a_policy_change_the_rules_cannot_apply_is_a_finding() -> None:
    j = Journal()
    j.add("policy.value_set", "register", "admin", field="no_such_setting", value=3)
    found = only(j.check())
    assert (found.rule, found.positions) == ("policy_unreadable", [1])
    assert found.message == "policy change of no_such_setting to 3 cannot be applied"


def test_the_staff_office_is_kept_by_admins_and_a_liaison_acts_for_their_department() -> None:
    """After the first member, only an admin adds staff; nobody grants or revokes their own
    roles; a role granted counts from its position; a liaison completes only their own
    department's actions. Each finding names the person, the count and the kind."""
    j = Journal()

    j.staff("member_added", "li", name="li", roles=["admin"], department="", town="")
    j.staff("member_added", "li", name="zhou", roles=["liaison"], department="health", town="")
    added = j.staff("member_added", "zhou", name="ma", roles=["admin"], department="", town="")
    own = j.staff("role_granted", "li", name="Li", role="verifier")  # an admin, but their own
    granted = j.staff("role_granted", "zhou", name="ma", role="verifier")  # not an admin
    j.staff("role_granted", "li", name="wang", role="verifier")  # someone not yet added
    j.verify("c1", "wang")  # holds the role granted above: fine
    j.add("case.action_completed", "c1", "zhou", action_id="A1", department="health")
    other = j.add("case.action_completed", "c1", "Zhou", action_id="A2", department="education")
    found = run_checks(iter(j.rows), KINDS, POLICY, T0 + timedelta(days=30)).violations
    assert [(v.rule, v.positions, v.message) for v in found] == [
        (
            "unauthorised_actor",
            [added],
            "zhou recorded 1 add staff event(s) without holding a role for it at the time "
            "(or not registered staff)",
        ),
        (
            "unauthorised_actor",
            [own],
            "li recorded 1 grant or revoke event(s) without holding a role for it at the time "
            "(or not registered staff)",
        ),
        (
            "unauthorised_actor",
            [granted],
            "zhou recorded 1 grant or revoke event(s) without holding a role for it at the time "
            "(or not registered staff)",
        ),
        (
            "unauthorised_actor",
            [other],
            "zhou recorded 1 complete action event(s) without holding a role for it at the "
            "time (or not registered staff)",
        ),
    ]


def test_an_approvers_tier_is_read_from_the_roles_they_held_then() -> None:
    j = Journal()

    j.staff("member_added", name="li", roles=["admin"], department="", town="")
    j.staff("member_added", name="boss", roles=["approver"], department="", town="")
    j.add(
        "policy.changed",
        "register",
        "li",
        field="approval_tiers",
        value='[["approver",100000],["county-approver",500000]]',
    )
    j.verify("c1", "visitor")
    j.approve("c1", 100_000, actor="boss")  # within the approver's tier
    over = j.approve("c1", 1, actor="boss")
    j.staff("role_granted", name="boss", role="county-approver")
    j.approve("c1", 399_999, actor="Boss")  # the county tier now: exactly 5,000
    found = [
        (v.rule, v.positions, v.message)
        for v in run_checks(iter(j.rows), KINDS, POLICY, T0 + timedelta(days=9)).violations
        if v.rule == "tier_exceeded"
    ]
    assert found == [
        (
            "tier_exceeded",
            [over],
            "boss brought the case to 1,000.01 yuan, above their approval tier of 1,000.00 yuan",
        )
    ]
