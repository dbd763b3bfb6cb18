"""The audit findings an auditor reads, word for word: which case each names, the
running sums the rules keep (secondary aid, payments, what a close released), who
counts as one person, and the policy each decision is judged by.

``test_audit_checks`` covers each rule once; these pin the sums across several events,
the case every finding names, and the state a reopened, rejected or closed case is in.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from aidflow.auditing import rules, run_checks
from aidflow.domain import Policy
from aidflow.projections.models import Violation
from tests.unit.test_audit_checks import DON, GOV, KINDS, POLICY, T0, Journal, only


def on_c1(rule: str, position: int, message: str) -> list[Violation]:
    """The one finding of ``rule`` about case c1, at ``position``."""
    return [Violation(rule=rule, case_id="c1", fund_id=None, positions=[position], message=message)]


def found(j: Journal, rule: str, **kw: object) -> list[Violation]:
    return [v for v in j.check(**kw).violations if v.rule == rule]  # type: ignore[arg-type]


# -- closing, rejecting, reopening ----------------------------------------------------------


def test_a_close_against_the_rules_names_every_reason_and_the_case() -> None:
    j = Journal()
    j.verify("c1", "visitor")
    j.approve("c1", 100)
    j.pay("c1", 100)
    j.add("case.hardship_reported", "c1", severity="serious", kind="illness")
    actions = [
        {"action_id": "A1", "department": "health"},
        {"action_id": "A2", "department": "education"},
    ]
    j.add("case.review_convened", "c1", actions=actions)
    p = j.add("case.closed", "c1", releases={})
    assert found(j, "closed_against_rules") == on_c1(
        "closed_against_rules",
        p,
        "case closed while reopened by new hardship and not verified again; "
        "consultation action(s) A1, A2 open; paid and not followed up since",
    )


def test_a_close_by_the_rules_is_no_finding_and_lax_policy_allows_any_close() -> None:
    j = Journal()
    j.verify("c1", "visitor")
    j.add("case.hardship_reported", "c1", severity="serious", kind="illness")
    j.add("case.closed", "c1", releases={})
    assert len(found(j, "closed_against_rules")) == 1
    assert found(j, "closed_against_rules", policy=Policy(strict_close=False)) == []


@pytest.mark.parametrize(("again", "over"), [(1_000, False), (1_001, True)])
def test_what_a_close_released_no_longer_counts_against_the_visit_gap(
    again: int, over: bool
) -> None:
    """A closed case's released grant leaves the sum approved since the visit; a hardship
    report reopens it without a new visit, so the old gap still bounds what follows."""
    j = Journal()
    j.add("case.verified", "c1", "visitor", gap_fen=1_000, needs=["tuition"])
    j.approve("c1", 1_000)
    j.add("case.closed", "c1", releases={GOV: 1_000})
    j.add("case.hardship_reported", "c1", severity="minor", kind="illness")
    p = j.approve("c1", again)
    expected = on_c1(
        "gap_exceeded",
        p,
        "10.01 yuan approved since the household visit, above the verified gap of 10.00 yuan",
    )
    assert found(j, "gap_exceeded") == (expected if over else [])


def test_a_partial_release_leaves_the_rest_counted_against_the_gap() -> None:
    j = Journal()
    j.add("case.verified", "c1", "visitor", gap_fen=1_000, needs=["tuition"])
    j.approve("c1", 800)
    j.add("case.closed", "c1", releases={GOV: 300})
    j.add("case.hardship_reported", "c1", severity="minor", kind="illness")
    p = j.approve("c1", 501)
    assert [(v.positions, v.message) for v in found(j, "gap_exceeded")] == [
        ([p], "10.01 yuan approved since the household visit, above the verified gap of 10.00 yuan")
    ]


@pytest.mark.parametrize(
    ("ending", "word"), [("case.closed", "closed"), ("case.rejected", "rejected")]
)
def test_an_act_on_an_ended_case_says_how_it_ended(ending: str, word: str) -> None:
    j = Journal()
    j.add("case.review_convened", "c1", actions=[{"action_id": "A1", "department": "health"}])
    j.add(ending, "c1", releases={})
    done = j.add("case.action_completed", "c1", action_id="A1", department="health")
    followed = j.add("case.followed_up", "c1")
    assert found(j, "recorded_on_closed_case") == [
        Violation(
            rule="recorded_on_closed_case",
            case_id="c1",
            fund_id=None,
            positions=[p],
            message=f"{what} on a {word} case (only a hardship report reopens it)",
        )
        for p, what in ((done, "action A1 completed"), (followed, "follow-up recorded"))
    ]


def test_a_hardship_report_reopens_a_rejected_case_which_a_close_then_ends_as_closed() -> None:
    j = Journal()
    j.add("case.rejected", "c1")
    j.add("case.hardship_reported", "c1", severity="minor", kind="illness")
    j.add("case.followed_up", "c1")  # reopened: no finding
    j.add("case.closed", "c1", releases={})
    p = j.add("case.followed_up", "c1")
    assert [(v.positions, v.message) for v in found(j, "recorded_on_closed_case")] == [
        ([p], "follow-up recorded on a closed case (only a hardship report reopens it)")
    ]


# -- approvals judged by the policy of their moment -----------------------------------------


def test_a_grant_for_a_need_the_visit_did_not_find_names_the_case_and_no_need() -> None:
    j = Journal()
    j.add("case.verified", "c1", "visitor", gap_fen=1_000, needs=[])
    p = j.approve("c1", 100)
    assert found(j, "need_not_found") == on_c1(
        "need_not_found", p, "grant for tuition where the household visit found no need"
    )


def test_the_gap_counts_every_approval_since_the_visit() -> None:
    j = Journal()
    j.add("case.verified", "c1", "visitor", gap_fen=1_000, needs=["tuition"])
    j.approve("c1", 600)
    p = j.approve("c1", 500)
    assert [(v.case_id, v.positions, v.message) for v in found(j, "gap_exceeded")] == [
        (
            "c1",
            [p],
            "11.00 yuan approved since the household visit, above the verified gap of 10.00 yuan",
        )
    ]


def test_an_unregistered_approver_has_a_tier_of_nothing() -> None:
    j = Journal()
    j.verify("c1", "visitor")
    p = j.approve("c1", 1, actor="ghost")
    tiers = Policy(approval_tiers=(("approver", 100_000),))
    assert found(j, "tier_exceeded", policy=tiers) == on_c1(
        "tier_exceeded",
        p,
        "ghost brought the case to 0.01 yuan, above their approval tier of 0.00 yuan",
    )


def test_a_tier_change_stored_with_amounts_as_text_is_read_as_amounts() -> None:
    j = Journal()
    j.staff("member_added", name="li", roles=["admin"], department="", town="")
    j.staff("member_added", name="boss", roles=["approver"], department="", town="")
    j.add("policy.changed", "register", "li", field="approval_tiers", value='[["approver","100"]]')
    j.verify("c1", "visitor")
    p = j.approve("c1", 101, actor="boss")
    result = run_checks(iter(j.rows), KINDS, POLICY, T0 + timedelta(days=9))
    assert [(v.rule, v.positions) for v in result.violations if v.rule != "unauthorised_actor"] == [
        ("tier_exceeded", [p])
    ]


def test_decisions_are_judged_by_the_base_policy_changed_as_the_journal_goes() -> None:
    """``base`` is the policy the store was opened with; today's ``policy`` (here without
    the need rule) must not judge an approval made when the rule held."""
    j = Journal()
    j.verify("c1", "visitor")
    p = j.add("case.grant_approved", "c1", "boss", amount_fen=100, fund_id=GOV, need="living-costs")
    now = T0 + timedelta(days=9)
    today = Policy(need_rule=False)
    judged = run_checks(iter(j.rows), KINDS, today, now, base=Policy()).violations
    assert [(v.rule, v.positions) for v in judged if v.rule != "unauthorised_actor"] == [
        ("need_not_found", [p])
    ]
    unjudged = run_checks(iter(j.rows), KINDS, today, now).violations
    assert [v.rule for v in unjudged if v.rule != "unauthorised_actor"] == []


# -- secondary aid and payments: running sums -----------------------------------------------


def _paid_grant(j: Journal) -> None:
    j.verify("c1", "visitor")
    j.approve("c1", 100)
    j.pay("c1", 100, voucher="G1")


def _secondary(j: Journal, ref: str, fen: int) -> int:
    j.add("case.secondary_aid_proposed", "c1", "liaison", ref=ref, amount_fen=fen)
    return j.add("case.secondary_aid_approved", "c1", "boss", ref=ref, amount_fen=fen, fund_id=DON)


@pytest.mark.parametrize(("second", "over"), [(400_000, False), (400_001, True)])
def test_the_secondary_cap_counts_every_allocation_of_the_case(second: int, over: bool) -> None:
    j = Journal()
    _paid_grant(j)
    _secondary(j, "S1", 600_000)
    p = _secondary(j, "S2", second)
    expected = on_c1(
        "secondary_cap_exceeded",
        p,
        "secondary aid of 10,000.01 yuan, over the cap of 10,000.00 yuan",
    )
    assert found(j, "secondary_cap_exceeded") == (expected if over else [])
    assert found(j, "paid_before_approval") == []


def test_an_allocation_without_approval_counts_towards_the_cap_too() -> None:
    j = Journal()
    _paid_grant(j)
    _secondary(j, "S1", 999_999)
    p = j.add("case.secondary_aid_allocated", "c1", fund_id=DON, amount_fen=2)
    assert [(v.case_id, v.positions) for v in found(j, "secondary_cap_exceeded")] == [("c1", [p])]


def _pay_secondary(j: Journal, fen: int, voucher: str) -> int:
    return j.add(
        "case.disbursed", "c1", "cashier", amount_fen=fen, voucher=voucher, use="secondary-aid"
    )


def test_secondary_payments_add_up_against_every_secondary_approval() -> None:
    j = Journal()
    _paid_grant(j)
    _secondary(j, "S1", 300)
    _secondary(j, "S2", 200)
    _pay_secondary(j, 300, "P1")
    _pay_secondary(j, 100, "P2")
    _pay_secondary(j, 100, "P3")  # exactly the 500 approved
    assert found(j, "paid_before_approval") == []
    p = _pay_secondary(j, 1, "P4")
    assert found(j, "paid_before_approval") == on_c1(
        "paid_before_approval", p, "secondary aid paid 5.01 yuan against 5.00 yuan approved"
    )


def test_a_secondary_payment_is_not_counted_against_the_grant() -> None:
    j = Journal()
    j.verify("c1", "visitor")
    j.approve("c1", 100)
    _secondary(j, "S1", 500)
    _pay_secondary(j, 500, "P1")
    j.pay("c1", 100, voucher="G1")  # the whole grant, after 500 of secondary aid
    assert found(j, "paid_before_approval") == []


def test_a_returned_secondary_payment_may_be_paid_again() -> None:
    j = Journal()
    _paid_grant(j)
    _secondary(j, "S1", 500)
    _pay_secondary(j, 500, "P1")
    j.add("case.disbursement_returned", "c1", amount_fen=500, voucher="P1", use="secondary-aid")
    _pay_secondary(j, 500, "P2")
    assert found(j, "paid_before_approval") == []


# -- vouchers --------------------------------------------------------------------------------


def test_a_payment_recorded_without_a_voucher_field_lacks_a_voucher() -> None:
    j = Journal()
    j.verify("c1", "visitor")
    j.approve("c1", 100)
    j.add("case.disbursed", "c1", "cashier", amount_fen=100)
    assert [v.message for v in found(j, "incomplete_dossier")] == ["paid case lacks voucher"]


@pytest.mark.parametrize("settled", ["case.disbursement_confirmed", "case.disbursement_returned"])
def test_a_listed_payment_without_a_voucher_is_settled_by_a_line_without_one(settled: str) -> None:
    """Old or hand-written rows may carry no voucher: they are one (empty) voucher, so the
    statement's settlement of it stops the wait, as for any other voucher."""
    j = Journal()
    j.verify("c1", "visitor")
    j.approve("c1", 100)
    j.add("case.disbursed", "c1", "cashier", amount_fen=100, listed=True)
    j.add(settled, "c1", amount_fen=100)
    late = T0 + timedelta(days=60)
    assert found(j, "payment_unconfirmed", now=late) == []


# -- the end of the journal ------------------------------------------------------------------


def test_a_case_paid_one_fen_is_a_paid_case() -> None:
    j = Journal()
    j.pay("c1", 1, voucher="V1")
    assert [(v.case_id, v.message) for v in found(j, "incomplete_dossier")] == [
        ("c1", "paid case lacks verification, approval, fund source")
    ]


def test_a_cases_later_account_rows_count_for_the_person_its_first_row_named() -> None:
    """One student (p1) with two years' cases on one account is not a shared account, even
    when a later row of the first case lost its person pseudonym."""
    j = Journal()
    accounts = [("c1", "p1", "A", 1), ("c1", "", "B", 2), ("c2", "p1", "B", 3)]
    result = run_checks(iter(j.rows), KINDS, POLICY, T0, accounts=accounts)
    assert [v.rule for v in result.violations] == ["several_open_cases"]
    assert result.violations[0] == Violation(
        rule="several_open_cases",
        case_id="c1",
        fund_id=None,
        positions=[1, 3],
        message="one student has 2 open cases; close the earlier year's case before the next opens",
    )


# -- staff ------------------------------------------------------------------------------------


def test_a_role_granted_to_someone_never_added_belongs_to_no_department() -> None:
    j = Journal()
    j.staff("member_added", "li", name="li", roles=["admin"], department="", town="")
    j.staff("role_granted", "li", name="wang", role="liaison")
    p = j.add("case.action_completed", "c1", "wang", action_id="A1", department="health")
    result = run_checks(iter(j.rows), KINDS, POLICY, T0 + timedelta(days=9))
    assert [(v.rule, v.positions, v.message) for v in result.violations] == [
        (
            "unauthorised_actor",
            [p],
            "wang recorded 1 complete action event(s) without holding a role for it at the "
            "time (or not registered staff)",
        )
    ]


# -- events no rule reads ----------------------------------------------------------------------


def test_an_event_of_the_catalogue_that_no_rule_declares_is_a_finding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A new event class added to the catalogue without a rule check is reported, not
    passed over: here the reveals, as if they were not declared."""
    monkeypatch.setattr(rules, "ignores", rules.ignores - {rules.C.PersonalDataRevealed})
    j = Journal()
    p = j.add("case.personal_data_revealed", "c1")
    v = only(j.check())
    assert (v.rule, v.positions, v.message) == (
        "unchecked_event",
        [p],
        "1 event(s) of kind 'case.personal_data_revealed' were not checked: the kind is in the "
        "catalogue "
        "but no rule check declares it",
    )


# -- the money loop's four eyes --------------------------------------------------------------


def test_a_second_confirmation_of_one_account_change_confirms_nothing_proposed() -> None:
    j = Journal()
    j.add("case.account_set", "c1", "clerk", pending=True)
    j.add("case.account_confirmed", "c1", "boss")
    p = j.add("case.account_confirmed", "c1", "boss")
    assert found(j, "account_confirmed_unproposed") == on_c1(
        "account_confirmed_unproposed",
        p,
        "an account change was confirmed that nobody had proposed",
    )


def test_secondary_aid_approved_without_a_proposal_names_the_case() -> None:
    j = Journal()
    _paid_grant(j)
    p = j.add("case.secondary_aid_approved", "c1", "boss", ref="S9", amount_fen=5, fund_id=DON)
    assert found(j, "secondary_aid_single_person") == on_c1(
        "secondary_aid_single_person",
        p,
        "secondary aid S9 was approved by boss without another person's proposal",
    )


# -- time -------------------------------------------------------------------------------------


def test_an_event_recorded_before_one_already_in_the_store_is_a_finding() -> None:
    """A writer's clock went back: a 2020 event after 2026 ones (stores written before
    commands refused it). Equal times are in order, and so are times up to five minutes behind
    (concurrent writers); the later events are judged against the latest, not the stray one."""
    j = Journal()
    j.deposit(GOV, 100, receipt="R1")  # 2026-08-02
    same = j.add("fund.deposited", GOV, at=T0 + timedelta(days=1), amount_fen=1, receipt="R2")
    stray = j.add("fund.deposited", GOV, at=T0 - timedelta(days=2000), amount_fen=1, receipt="R3")
    j.add("fund.deposited", GOV, at=T0 + timedelta(days=1), amount_fen=1, receipt="R4")
    # concurrent writers: stamped as they started, positioned as they committed
    j.add("fund.deposited", GOV, at=T0 + timedelta(days=1, minutes=-5), amount_fen=1, receipt="R5")
    result = run_checks(iter(j.rows), KINDS, POLICY, T0 + timedelta(days=9))
    assert [v for v in result.violations if v.rule == "recorded_out_of_time_order"] == [
        Violation(
            rule="recorded_out_of_time_order",
            case_id=None,
            fund_id=None,
            positions=[same, stray],
            message="recorded at 2021-02-08T00:00:00+00:00, before the event at position 2 "
            "(2026-08-02T00:00:00+00:00): a writer's clock went back",
        )
    ]
