"""Issue 12, the rules that keep the loop closed: each example of the issue refused with a
named error, or (written around the rules, as an import or a bug might) reported by the
audit checks. Every refusal records nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest

from aidflow import commands as cmd
from aidflow.domain.errors import (
    ActionsOpen,
    CaseNotOpen,
    FollowUpRequired,
    GapExceeded,
    NeedNotFound,
    ReverificationPending,
    TierExceeded,
    UnknownDepartment,
)
from aidflow.domain.staff import Role
from tests.builders import (
    account_of,
    applied,
    government_fund,
    national_id,
    new_ref,
)
from tests.integration.test_rules_audit import History, only


@pytest.fixture
def h(tmp_path: Path) -> Iterator[History]:
    history = History(f"sqlite:///{tmp_path / 'loop.db'}")
    try:
        yield history
    finally:
        history.close()


T = timedelta


def visit(h: History, case: UUID, gap_yuan: int, needs: list[str], actor: str = "visitor") -> None:
    h.flow.verify(
        cmd.Verify(
            case_id=case,
            income_fen=1_000_000,
            tuition_fen=600_000,
            gap_fen=gap_yuan * 100,
            needs=needs,
            actor=actor,
        )
    )


def grant(
    h: History, case: UUID, fund: UUID, yuan: int, need: str = "tuition", actor: str = "approver"
) -> cmd.Approve:
    c = cmd.Approve(
        ref=new_ref(),
        case_id=case,
        amount_fen=yuan * 100,
        need=need,
        fund_id=fund,
        actor=actor,
    )
    h.flow.approve(c)
    return c


def events(h: History) -> int:
    return h.flow.recorder.max_notification_id() or 0


def refused(h: History, error: type[Exception], call: object, match: str) -> None:
    """``call`` raises ``error`` and writes nothing."""
    before = events(h)
    with pytest.raises(error, match=match):
        call()  # type: ignore[operator]
    assert events(h) == before


# -- a grant within the verified gap, for a need the visit found -----------------------------


def test_4000_against_a_gap_of_3500_and_5000_against_0_are_refused(h: History) -> None:
    gov = government_fund(h.flow)
    case = applied(h.flow, 1)
    visit(h, case, 3500, ["tuition"])
    refused(h, GapExceeded, lambda: grant(h, case, gov, 4000), "above the verified gap of 3,500")
    grant(h, case, gov, 3500)  # exactly the gap is allowed
    refused(h, GapExceeded, lambda: grant(h, case, gov, 1, "tuition", "other-approver"), "3,500")
    zero = applied(h.flow, 2)
    visit(h, zero, 0, ["tuition"])
    refused(h, GapExceeded, lambda: grant(h, zero, gov, 5000), "gap of 0.00 yuan")
    assert h.flow.case(zero).approved_fen == 0


def test_a_tuition_grant_where_the_visit_found_living_and_supplies_is_refused(
    h: History,
) -> None:
    gov = government_fund(h.flow)
    case = applied(h.flow, 1)
    visit(h, case, 5000, ["living", "supplies"])
    refused(
        h,
        NeedNotFound,
        lambda: grant(h, case, gov, 2000, "tuition"),
        "found only living, supplies",
    )
    grant(h, case, gov, 2000, "living")
    assert h.flow.case(case).approved_fen == 200_000


def test_the_gap_is_the_last_visits_after_new_hardship(h: History) -> None:
    gov = government_fund(h.flow)
    case = applied(h.flow, 1)
    visit(h, case, 3000, ["tuition"])
    grant(h, case, gov, 3000)
    h.flow.report_hardship(
        cmd.ReportHardship(case_id=case, kind="illness", detail="ill", actor="village")
    )
    visit(h, case, 1500, ["living"], actor="visitor2")
    refused(h, GapExceeded, lambda: grant(h, case, gov, 1600, "living"), "1,500")
    grant(h, case, gov, 1500, "living")


def test_switching_the_gap_bound_off_is_a_recorded_policy_change(h: History) -> None:
    gov = government_fund(h.flow)
    case = applied(h.flow, 1)
    visit(h, case, 3500, ["tuition"])
    h.flow.set_policy(cmd.SetPolicy(key="gap-bound", value="off", actor="admin"))
    h.flow.set_policy(cmd.SetPolicy(key="need-rule", value="no", actor="admin"))
    policy = h.flow.policy_at()
    assert (policy.gap_bound, policy.need_rule, policy.version) == (False, False, 2)
    grant(h, case, gov, 4000, "travel")
    approval = [e for e in h.flow.history(case) if e.type == "case.grant_approved"]
    assert approval[0].data["policy_version"] == 2


# -- approval tiers --------------------------------------------------------------------------


def test_a_township_approver_approves_up_to_their_tier_the_county_above_it(h: History) -> None:
    gov = government_fund(h.flow)
    h.flow.add_staff(cmd.AddStaff(name="county", roles=[Role.COUNTY_APPROVER], actor="admin"))
    h.flow.set_policy(
        cmd.SetPolicy(
            key="approval-tiers", value="approver=3000, county-approver=5000", actor="admin"
        )
    )
    assert h.flow.policy_at().approval_tiers == [
        ("approver", 300_000),
        ("county-approver", 500_000),
    ]
    case = applied(h.flow, 1)
    visit(h, case, 5000, ["tuition"])
    refused(h, TierExceeded, lambda: grant(h, case, gov, 4000), "up to 3,000.00 yuan")
    grant(h, case, gov, 3000)  # the township tier, exactly
    refused(h, TierExceeded, lambda: grant(h, case, gov, 1, actor="other-approver"), "3,001.00")
    grant(h, case, gov, 2000, actor="county")
    assert h.flow.case(case).approved_fen == 500_000


# -- closing only a closed loop; nothing but hardship on a closed case ----------------------


def _paid_case(h: History, n: int = 1) -> UUID:
    gov = government_fund(h.flow)
    case = applied(h.flow, n)
    visit(h, case, 5000, ["tuition"])
    grant(h, case, gov, 3000)
    h.flow.disburse(
        cmd.Disburse(case_id=case, amount_fen=300_000, voucher=f"V-{n}", actor="cashier")
    )
    return case


def _close(h: History, case: UUID) -> None:
    h.flow.close_case(cmd.CloseCase(case_id=case, reason="year over", actor="approver"))


def _follow_up(h: History, case: UUID) -> None:
    h.flow.follow_up(
        cmd.FollowUp(
            case_id=case, study="passing", living="stable", hardship_trend="improved", actor="v"
        )
    )


def test_a_case_closes_only_when_the_loop_is_closed(h: History) -> None:
    case = _paid_case(h)
    refused(h, FollowUpRequired, lambda: _close(h, case), "not followed up")
    h.flow.report_hardship(
        cmd.ReportHardship(case_id=case, kind="illness", detail="ill", actor="village")
    )
    h.flow.convene_review(
        cmd.ConveneReview(
            case_id=case,
            departments=["health"],
            actions=[cmd.ActionItem(department="health", text="medical aid")],
            actor="chair",
        )
    )
    refused(h, ReverificationPending, lambda: _close(h, case), "not verified again")
    visit(h, case, 2000, ["living"], actor="visitor2")
    refused(h, ActionsOpen, lambda: _close(h, case), "A1")
    h.flow.complete_action(
        cmd.CompleteAction(case_id=case, action_id="A1", note="paid", actor="health")
    )
    refused(h, FollowUpRequired, lambda: _close(h, case), "follow-up")
    _follow_up(h, case)
    _close(h, case)
    assert h.flow.case(case).status == "closed"


def test_an_unpaid_case_closes_without_a_follow_up(h: History) -> None:
    case = applied(h.flow, 1)
    _close(h, case)
    assert h.flow.case(case).status == "closed"


def test_nothing_but_a_hardship_report_on_a_closed_case(h: History) -> None:
    case = _paid_case(h)
    h.flow.report_hardship(
        cmd.ReportHardship(case_id=case, kind="illness", detail="ill", actor="village")
    )
    h.flow.convene_review(
        cmd.ConveneReview(
            case_id=case,
            departments=["health", "education"],
            actions=[
                cmd.ActionItem(department="health", text="medical aid"),
                cmd.ActionItem(department="education", text="fees"),
            ],
            actor="chair",
        )
    )
    visit(h, case, 2000, ["living"], actor="visitor2")
    h.flow.set_policy(cmd.SetPolicy(key="strict-close", value="off", actor="admin"))
    _close(h, case)  # the bureau switched the close rules off: A2 is still open
    (closed,) = [e for e in h.flow.history(case) if e.type == "case.closed"]
    assert closed.data["policy_version"] == 1  # the decision names the policy that allowed it
    refused(
        h,
        CaseNotOpen,
        lambda: h.flow.complete_action(
            cmd.CompleteAction(case_id=case, action_id="A2", note="x", actor="education")
        ),
        "cannot record a completed action",
    )
    refused(h, CaseNotOpen, lambda: _follow_up(h, case), "cannot be followed up")
    h.flow.report_hardship(
        cmd.ReportHardship(case_id=case, kind="other", detail="again", actor="village")
    )
    assert h.flow.case(case).status == "reopened"
    # the audit judges the close by the policy of its moment (strict-close off): no finding
    assert [f.rule for f in h.findings()] == []


# -- configurable departments -----------------------------------------------------------------


def test_departments_are_the_policys_list(h: History) -> None:
    case = _paid_case(h)
    h.flow.report_hardship(
        cmd.ReportHardship(case_id=case, kind="illness", detail="ill", actor="village")
    )

    def convene(department: str) -> None:
        h.flow.convene_review(
            cmd.ConveneReview(
                case_id=case,
                departments=[department],
                actions=[cmd.ActionItem(department=department, text="help")],
                actor="chair",
            )
        )

    refused(h, UnknownDepartment, lambda: convene("police"), "no department police")
    refused(
        h,
        UnknownDepartment,
        lambda: h.flow.add_staff(
            cmd.AddStaff(name="pc", roles=[Role.LIAISON], department="police", actor="admin")
        ),
        "no department police",
    )
    convene("Medical-Insurance")  # on the default list, in any case
    h.flow.set_policy(cmd.SetPolicy(key="departments", value="civil-affairs,police", actor="admin"))
    h.flow.add_staff(
        cmd.AddStaff(name="pc", roles=[Role.LIAISON], department="Police", actor="admin")
    )
    convene("police")
    h.flow.complete_action(
        cmd.CompleteAction(case_id=case, action_id="A2", note="done", actor="pc")
    )
    assert h.flow.load_case(case).actions["A2"]["done"]


# -- the audit finds what was written around the rules ---------------------------------------


def test_the_audit_reports_grants_beyond_the_gap_and_the_need(h: History) -> None:
    from tests.integration.test_rules_audit import forced_grant

    gov = government_fund(h.flow)
    case = applied(h.flow, 1)
    visit(h, case, 3500, ["living", "supplies"])
    position = forced_grant(h, case, gov, 400_000)  # forced grants are for tuition
    findings = {f.rule: f for f in h.findings()}
    assert set(findings) == {"gap_exceeded", "need_not_found"}
    assert findings["gap_exceeded"].positions == [position]
    assert "above the verified gap of 3,500.00" in findings["gap_exceeded"].message
    assert "found living, supplies" in findings["need_not_found"].message


def test_the_audit_reports_a_close_that_broke_the_rules_and_events_after_it(
    h: History,
) -> None:
    case = _paid_case(h)
    h.flow.report_hardship(
        cmd.ReportHardship(case_id=case, kind="illness", detail="ill", actor="village")
    )
    h.flow.convene_review(
        cmd.ConveneReview(
            case_id=case,
            departments=["health"],
            actions=[cmd.ActionItem(department="health", text="medical aid")],
            actor="chair",
        )
    )
    raw = h.flow.load_case(case)
    with h.forced():
        raw._closed(reason="year over", releases={}, actor="approver", policy_version=0)
        raw._action_completed(action_id="A1", department="health", note="late", actor="health")
        raw._followed_up(
            study="s", living="l", hardship_trend="worse", actor="v", received="", vouchers=()
        )
    h.save_forced(raw)
    findings = h.findings()
    closed = only([f for f in findings if f.rule == "closed_against_rules"])
    assert "reopened by new hardship and not verified again" in closed.message
    assert "action(s) A1 open" in closed.message
    assert "paid and not followed up since" in closed.message
    after = [f for f in findings if f.rule == "recorded_on_closed_case"]
    assert [f.message.split(" on ")[0] for f in after] == [
        "action A1 completed",
        "follow-up recorded",
    ]
    assert len(findings) == 3


def test_the_audit_reports_an_approval_above_the_approvers_tier(h: History) -> None:
    from tests.integration.test_rules_audit import forced_grant

    h.flow.set_policy(
        cmd.SetPolicy(
            key="approval-tiers", value="approver=3000,county-approver=5000", actor="admin"
        )
    )
    gov = government_fund(h.flow)
    case = applied(h.flow, 1)
    visit(h, case, 5000, ["tuition"])
    position = forced_grant(h, case, gov, 400_000)
    finding = only(h.findings())
    assert (finding.rule, finding.positions) == ("tier_exceeded", [position])


def test_a_second_student_with_the_first_students_account_is_reported(h: History) -> None:
    gov = government_fund(h.flow)
    first = applied(h.flow, 1)
    second = h.flow.apply(
        cmd.Apply(
            student_id=national_id(2),
            name="Student 2",
            university="GZU",
            family_category="dibao",
            town="Dalian",
            year=2026,
            account=account_of(1).replace("62220202", "6222 0202 "),  # the same, spaced
            actor="screening",
        )
    )
    for case in (first, second):
        visit(h, case, 5000, ["tuition"])
        grant(h, case, gov, 5000)
        h.flow.disburse(
            cmd.Disburse(case_id=case, amount_fen=500_000, voucher=f"V-{case}", actor="cashier")
        )
    finding = only(h.findings())
    assert finding.rule == "shared_account"
    assert finding.message == "one bank account is recorded for 2 different students"
    assert account_of(1) not in finding.model_dump_json()


def test_the_same_person_next_year_links_the_earlier_case(h: History) -> None:
    first = applied(h.flow, 7, year=2026)
    applied(h.flow, 8, year=2026)  # somebody else
    second = applied(h.flow, 7, year=2027)
    assert h.flow.load_case(second).previous_case == first
    assert h.flow.load_case(first).previous_case is None
    assert h.flow.cases_of(national_id(7)) == [first, second]
    finding = only(h.findings())  # both years' cases are open
    assert (finding.rule, finding.case_id) == ("several_open_cases", str(first))
    _close(h, first)
    assert h.findings() == []


def test_a_policy_file_changes_several_values_each_recorded(h: History, tmp_path: Path) -> None:
    from aidflow.office.whatif import policy_file

    path = tmp_path / "policy.toml"
    path.write_text(
        'cap = "6000"\ngap-bound = false\ndepartments = ["education", "health"]\n'
        "[approval-tiers]\napprover = 3000\ncounty-approver = 6000\n",
        encoding="utf-8",
    )
    before = h.flow.policy_at()
    now = h.flow.load_policy(cmd.LoadPolicy(settings=policy_file(path), actor="admin"))
    assert now.version == before.version + 4
    assert (now.cap_fen, now.gap_bound, now.departments) == (
        600_000,
        False,
        ["education", "health"],
    )
    assert now.approval_tiers == [("approver", 300_000), ("county-approver", 600_000)]
    assert h.flow.policy_at(h.now - timedelta(seconds=1)).version == before.version
    # all or nothing: a tier above the cap is refused and nothing is recorded
    path.write_text('cap = "2000"\n', encoding="utf-8")
    count = events(h)
    with pytest.raises(ValueError, match="up to the cap"):
        h.flow.load_policy(cmd.LoadPolicy(settings=policy_file(path), actor="admin"))
    assert events(h) == count


def test_an_account_corrected_to_another_students_account_is_reported(h: History) -> None:
    """The shared-account check follows account changes, not only the application's account."""
    first = applied(h.flow, 1)
    second = applied(h.flow, 2)
    assert h.findings() == []
    h.flow.set_account(
        cmd.SetAccount(
            case_id=second, account=account_of(1), reason="typed from the form", actor="visitor"
        )
    )
    finding = only(h.findings())
    assert finding.rule == "shared_account"
    assert account_of(1) not in finding.model_dump_json()
    h.flow.set_account(
        cmd.SetAccount(case_id=second, account=account_of(2), reason="corrected", actor="visitor")
    )
    assert h.findings() == []
    assert first != second
