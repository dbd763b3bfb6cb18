"""Random command sequences against a real store that reach the money; every invariant after every step.

The machine starts from funded funds (two government, two donation) and verified cases
(``initialize``), so approvals and payments are a step away; a macro step runs a whole
apply → verify → approve → pay; amounts are drawn from what is still reserved, so payments
mostly succeed; terminal steps (reject, close) are guarded and down-weighted. Commands still
collide often (the verifier approving, a donation fund for a grant, over-payment, reused
vouchers, duplicate applications) and a refused command must write nothing.

Invariants, checked after every step: the store gives back exactly what was saved;
0 ≤ paid ≤ approved ≤ cap per case; segregation of duties against *every* verifier so
far; secondary aid only while a paid grant stands; per fund and case paid ≤ granted (net of
releases); one case per student and year; fund balances equal their history and never go
below zero; vouchers unique; and the audit check over the generated history reports
exactly the findings the history deserves (only timeliness ones can arise, and each one
is recomputed here).

Each example records what it reached with ``hypothesis.event`` (see
``pytest --hypothesis-show-statistics``), and the run fails unless most examples reached an
approval and a payment and the run as a whole reached returns, secondary aid and releases.
Every timestamp comes from the machine's clock.
"""

from __future__ import annotations

import copy
import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from uuid import UUID

import psycopg
import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from aidflow import AidFlow
from aidflow import commands as cmd
from aidflow.domain import Fund, StudentCase, canonical
from aidflow.domain.errors import AidflowError, DuplicateApplication
from aidflow.domain.values import Severity
from aidflow.projections import ReadModels
from tests.builders import (
    LIAISONS,
    account_of,
    national_id,
    new_ref,
    register_staff,
    secondary_aid,
)
from tests.pg import fresh_database
from tests.properties import examples

T0 = datetime(2026, 8, 1, 8, 0, tzinfo=UTC)
ACTORS = ["alice", "bob", "carol", "Alice"]
"""``Alice`` is ``alice``: segregation of duties compares people, not spellings."""
ACTOR = st.sampled_from(ACTORS)
FEN = st.one_of(
    st.integers(1, 200_000),
    st.sampled_from([100_000, 250_000, 300_000, 500_000, 500_001]),
)
PERCENT = st.integers(1, 100)
TIMELINESS = {
    "approved_unpaid_too_long",
    "hardship_without_consultation",
    "consultation_action_open",
}


class RecordingAidFlow(AidFlow):
    """Remembers the in-memory aggregates it saved, to compare with what the store gives back."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.in_memory: dict[UUID, Any] = {}

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        recordings = super().save(*objs, **kwargs)
        self.in_memory.update({obj.id: copy.deepcopy(obj) for obj in objs if obj is not None})
        return recordings


class AidMachine(RuleBasedStateMachine):
    url: str = ""
    reached: ClassVar[Counter[str]] = Counter()
    """Across the whole run: in how many examples each kind of step succeeded at least once."""
    examples: ClassVar[list[int]] = [0]

    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.flow = RecordingAidFlow.open(self.url, clock=self.tick)
        register_staff(self.flow)
        self.views = ReadModels.attach(self.flow, self.url)
        self.cases: list[UUID] = []
        self.gov: list[UUID] = []
        self.don: list[UUID] = []
        self.enrolled: dict[tuple[int, int], UUID] = {}
        self.vouchers = 0
        self.done: set[str] = set()
        type(self).examples[0] += 1

    def tick(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now

    def teardown(self) -> None:
        event(f"history: {self.flow.recorder.max_notification_id() // 20 * 20}+ events")
        for what in sorted(self.done):
            type(self).reached[what] += 1
        self.views.close()
        self.flow.close()

    # -- plumbing ------------------------------------------------------------------------

    def attempt(self, what: str, command: Any) -> Any:
        """Run a command; when refused, the store must be exactly as before."""
        before = self.flow.recorder.max_notification_id()
        try:
            result = command()
        except AidflowError as refusal:
            assert self.flow.recorder.max_notification_id() == before
            event(f"refused: {type(refusal).__name__}")
            return None
        if what not in self.done:
            self.done.add(what)
            event(f"reached: {what}")
        return result if result is not None else True

    def case_at(self, index: int) -> UUID:
        return self.cases[index % len(self.cases)]

    def case(self, case_id: UUID) -> StudentCase:
        return self.flow.load_case(case_id)

    def pick(self, index: int, wanted: Any) -> UUID:
        """The ``index``-th case for which ``wanted(case)`` holds (any case when none does):
        deep steps go where they can happen, and still sometimes where they cannot."""
        eligible = [c for c in self.cases if wanted(self.case(c))]
        return (eligible or self.cases)[index % len(eligible or self.cases)]

    def new_voucher(self) -> str:
        self.vouchers += 1
        return f"HC-{self.vouchers:04d}"

    def open_fund(self, kind: str, yuan: int) -> UUID:
        fund = self.flow.open_fund(cmd.OpenFund(name=f"{kind} fund", kind=kind, actor="finance"))
        self.flow.deposit(
            cmd.Deposit(
                fund_id=fund,
                amount_fen=yuan * 100,
                source="district budget" if kind == "government" else "chamber of commerce",
                receipt=f"R-{fund.hex[:8]}",
                actor="finance",
            )
        )
        return fund

    def open_case(self, student: int, year: int) -> UUID | None:
        command = cmd.Apply(
            student_id=national_id(student),
            name=f"学生 {student}",
            university="Guizhou University",
            family_category=["dibao", "tekun", "expenditure", "other"][student % 4],
            town=["Dalian", "Gaoping", "Tuanze"][student % 3],
            year=year,
            account=account_of(student),  # each student's own account, every year
            actor="screening",
        )
        try:
            case = self.flow.apply(command)
        except DuplicateApplication as duplicate:
            assert self.enrolled[(student, year)] == duplicate.case_id
            event("refused: DuplicateApplication")
            return None
        assert (student, year) not in self.enrolled
        self.enrolled[(student, year)] = case
        self.cases.append(case)
        return case

    def verify_case(self, case: UUID, actor: str) -> Any:
        return self.attempt(
            "verification",
            lambda: self.flow.verify(
                cmd.Verify(
                    case_id=case,
                    income_fen=1_200_000,
                    tuition_fen=600_000,
                    gap_fen=500_000,
                    needs=["tuition", "living"],
                    actor=actor,
                )
            ),
        )

    # -- the start: funded funds and verified cases ------------------------------------------

    @initialize(
        cases=st.integers(2, 4),
        verifiers=st.lists(ACTOR, min_size=4, max_size=4),
        gov_yuan=st.sampled_from([20_000, 8_000, 100_000]),
        don_yuan=st.sampled_from([10_000, 2_000]),
        starts=st.lists(st.integers(0, 3), min_size=4, max_size=4),
        fen=FEN,
        collide=st.integers(0, 5),
    )
    def start(
        self,
        cases: int,
        verifiers: list[str],
        gov_yuan: int,
        don_yuan: int,
        starts: list[int],
        fen: int,
        collide: int,
    ) -> None:
        """Funded funds and verified cases; some cases start further on: 0 approved and half
        paid, 1 approved, 2 approved and paid in full, 3 verified only (the simplest draw is the
        deep one, as hypothesis favours simple draws). ``collide == 5``: the verifier approves
        (refused). One initialize rule: hypothesis runs several in any order."""
        self.gov = [self.open_fund("government", gov_yuan), self.open_fund("government", 5_000)]
        self.don = [self.open_fund("donation", don_yuan), self.open_fund("donation", 2_000)]
        for student in range(cases):
            case = self.open_case(student, 2026)
            assert case is not None
            self.verify_case(case, verifiers[student])
            approver = self.approver(case, collide)
            start = starts[student]
            if start != 3 and self.approve_case(case, self.gov[0], fen, approver) and start != 1:
                self.pay(case, 50 if start == 0 else 100)

    def approver(self, case: UUID, collide: int) -> str:
        """Someone who did not verify ``case``; its first verifier when ``collide == 5``."""
        verifiers = self.case(case).verifiers
        others = [a for a in ("bob", "carol", "dan") if a not in verifiers]
        return verifiers[0] if collide == 5 and verifiers else others[0]

    # -- steps ---------------------------------------------------------------------------

    @rule(student=st.integers(0, 7), year=st.sampled_from([2026, 2027]), verifier=ACTOR)
    def apply(self, student: int, year: int, verifier: str) -> None:
        case = self.open_case(student, year)
        if case is not None:
            self.verify_case(case, verifier)

    @rule(student=st.integers(8, 30), fen=FEN, verifier=ACTOR, collide=st.integers(0, 5))
    def apply_verify_approve_pay(self, student: int, fen: int, verifier: str, collide: int) -> None:
        """A whole case in one step: apply, verify, approve, pay (already open: refused)."""
        case = self.open_case(student, 2026)
        if case is None:
            return
        self.verify_case(case, verifier)
        if self.approve_case(case, self.gov[0], fen, self.approver(case, collide)):
            self.pay(case, 100 - fen % 50)

    @rule(
        case=st.integers(0, 99),
        fund=st.integers(0, 1),
        fen=FEN,
        unpaid=st.integers(0, 100),
        collide=st.integers(0, 5),
    )
    def approve_then_pay(self, case: int, fund: int, fen: int, unpaid: int, collide: int) -> None:
        """Approve an existing case by someone who did not verify it (``collide == 5``: by one
        who did, a segregation-of-duties refusal), then pay all but ``unpaid`` percent of it."""
        target = self.case_at(case)
        approver = self.approver(target, collide)
        if self.approve_case(target, self.gov[fund], fen, approver) and unpaid < 100:
            self.pay(target, 100 - unpaid)

    # Weights: hypothesis draws each rule attribute alike, so a second name doubles a step's share.
    approve_then_pay_weighted = approve_then_pay
    apply_verify_approve_pay_weighted = apply_verify_approve_pay

    @rule(case=st.integers(0, 99), actor=ACTOR)
    def verify(self, case: int, actor: str) -> None:
        self.verify_case(self.case_at(case), actor)

    def approve_case(self, case: UUID, fund: UUID, fen: int, actor: str) -> Any:
        return self.attempt(
            "approval",
            lambda: self.flow.approve(
                cmd.Approve(
                    ref=new_ref(),
                    case_id=case,
                    amount_fen=fen,
                    need="tuition",
                    fund_id=fund,
                    actor=actor,
                )
            ),
        )

    @rule(case=st.integers(0, 99), fund=st.integers(0, 4), fen=FEN, actor=ACTOR)
    def approve(self, case: int, fund: int, fen: int, actor: str) -> None:
        funds = [self.gov[0], self.gov[0], self.gov[1], self.gov[1], self.don[0]]
        self.approve_case(self.case_at(case), funds[fund], fen, actor)

    def pay(self, case: UUID, percent: int) -> Any:
        unpaid = self.case(case).unpaid_by_fund
        largest = max(unpaid.values(), default=0)
        fen = max(1, largest * percent // 100 + (percent > 100))
        return self.attempt(
            "payment",
            lambda: self.flow.disburse(
                cmd.Disburse(
                    case_id=case, amount_fen=fen, voucher=self.new_voucher(), actor="cashier"
                )
            ),
        )

    @rule(case=st.integers(0, 99), percent=st.integers(1, 120))
    def disburse(self, case: int, percent: int) -> None:
        """Part or all of what is reserved; over 100%: more than any reservation (refused)."""
        self.pay(self.case_at(case), percent)

    @rule(case=st.integers(0, 99), voucher=st.integers(0, 50))
    def pay_again_under_an_old_voucher(self, case: int, voucher: int) -> None:
        """A retry of an old payment (same voucher, case, amount) records nothing; else refused."""
        target = self.case_at(case)
        payments = list(self.case(target).payments.values())
        if not payments:
            return
        old = payments[voucher % len(payments)]
        before = self.flow.recorder.max_notification_id()
        result = self.attempt(
            "repeated payment",
            lambda: self.flow.disburse(
                cmd.Disburse(
                    case_id=target,
                    amount_fen=old["amount_fen"],
                    voucher=old["voucher"],
                    actor="cashier",
                )
            ),
        )
        if result is not None:
            assert not result.recorded
            assert self.flow.recorder.max_notification_id() == before

    @rule(case=st.integers(0, 99), which=st.integers(0, 50))
    def bank_returns(self, case: int, which: int) -> None:
        target = self.pick(case, lambda c: any(not p["returned"] for p in c.payments.values()))
        standing = [p for p in self.case(target).payments.values() if not p["returned"]]
        if not standing:
            return
        voucher = standing[which % len(standing)]["voucher"]
        self.attempt(
            "return",
            lambda: self.flow.return_disbursement(
                cmd.ReturnDisbursement(
                    case_id=target, voucher=voucher, reason="account closed", actor="bank"
                )
            ),
        )

    @rule(case=st.integers(0, 99), fund=st.integers(0, 2), fen=FEN, anyone=st.integers(0, 4))
    def secondary_aid(self, case: int, fund: int, fen: int, anyone: int) -> None:
        """Mostly to a case paid a grant; one draw in five to any case (often refused)."""
        funds = [self.don[0], self.don[1], self.gov[0]]
        target = self.case_at(case) if anyone == 0 else self.pick(case, lambda c: c.disbursed_fen)
        self.attempt(
            "secondary aid",
            lambda: self.pay_secondary_aid(target, funds[fund], min(fen, 100_000)),
        )

    def pay_secondary_aid(self, case: UUID, fund: UUID, fen: int) -> None:
        """Proposed, approved by a second person, then paid from the donation fund (0.3)."""
        ref = secondary_aid(self.flow, case, fund, fen)
        self.flow.disburse(
            cmd.Disburse(
                case_id=case, amount_fen=fen, voucher=f"S{ref}", fund_id=fund, actor="cashier"
            )
        )

    @rule(
        case=st.integers(0, 99),
        severity=st.sampled_from([Severity.SERIOUS, Severity.MINOR, Severity.CRITICAL]),
        verifier=ACTOR,
        then=st.integers(0, 3),
    )
    def hardship(self, case: int, severity: Severity, verifier: str, then: int) -> None:
        """New hardship; then 0: a consultation owing two actions, 1: re-verification,
        2: nothing yet, 3: a consultation and re-verification."""
        target = self.case_at(case)
        done = self.attempt(
            "hardship",
            lambda: self.flow.report_hardship(
                cmd.ReportHardship(
                    case_id=target,
                    kind="illness",
                    severity=severity.value,
                    detail="sudden illness",
                    actor="village",
                )
            ),
        )
        if done and then in (0, 3):
            self.review(self.cases.index(target), 2)
        if done and then in (1, 3):
            self.verify_case(target, verifier)

    @rule(case=st.integers(0, 99), actions=st.integers(0, 2))
    def review(self, case: int, actions: int) -> None:
        departments = ["health", "education"][: max(actions, 1)]
        target = self.pick(case, lambda c: c.hardships)
        self.attempt(
            "review",
            lambda: self.flow.convene_review(
                cmd.ConveneReview(
                    case_id=target,
                    departments=departments,
                    actions=[{"department": d, "text": f"{d} help"} for d in departments][:actions],
                    actor="chair",
                )
            ),
        )

    @rule(case=st.integers(0, 99), action=st.integers(0, 5))
    def complete_action(self, case: int, action: int) -> None:
        target = self.pick(case, lambda c: c.open_actions)
        # one of the case's open actions when it has any (CI saw 63 examples with six reviews
        # and no completed action when the id was drawn blind); else an id it may not have
        still_open = self.case(target).open_actions
        action_id = still_open[action % len(still_open)] if still_open else f"A{action % 3 + 1}"
        owed = self.case(target).actions.get(action_id)
        department = owed["department"] if owed else "health"
        liaison = next(name for name, d in LIAISONS.items() if d == department)
        self.attempt(  # the liaison of the action's own department (only they may complete it)
            "completed action",
            lambda: self.flow.complete_action(
                cmd.CompleteAction(case_id=target, action_id=action_id, note="done", actor=liaison)
            ),
        )

    @rule(case=st.integers(0, 99), trend=st.sampled_from(["improved", "unchanged", "worse"]))
    def follow_up(self, case: int, trend: str) -> None:
        self.attempt(
            "follow-up",
            lambda: self.flow.follow_up(
                cmd.FollowUp(
                    case_id=self.case_at(case),
                    study="passing",
                    living="stable",
                    hardship_trend=trend,
                    actor="village",
                )
            ),
        )

    @rule(days=st.sampled_from([1, 7, 15, 31, 61]))
    def time_passes(self, days: int) -> None:
        self.now += timedelta(days=days)

    @rule(case=st.integers(0, 99), dice=st.integers(0, 2))
    def close(self, case: int, dice: int) -> None:
        """Down-weighted (one draw in three acts), and only a case holding money is closed:
        the interesting close is the one that releases a reservation or ends a paid case."""
        target = self.pick(case, lambda c: c.approved_fen and not c.closed)
        held = self.case(target)
        if dice or not (held.approved_fen or held.disbursed_fen):
            return
        if held.follow_up_due:  # a paid case is followed up before it closes (issue 12)
            self.attempt(
                "follow-up",
                lambda: self.flow.follow_up(
                    cmd.FollowUp(
                        case_id=target,
                        study="graduating",
                        living="stable",
                        hardship_trend="improved",
                        actor="village",
                    )
                ),
            )
        releases = held.unpaid_by_fund
        if (
            self.attempt(
                "close",
                lambda: self.flow.close_case(
                    cmd.CloseCase(case_id=target, reason="graduated", actor="clerk")
                ),
            )
            and releases
        ):
            self.done.add("release")
            event("reached: release")

    @rule(case=st.integers(0, 99), dice=st.integers(0, 7))
    def reject(self, case: int, dice: int) -> None:
        """Down-weighted: one draw in eight acts (a rejected case takes no more money)."""
        if dice:
            return
        self.attempt(
            "rejection",
            lambda: self.flow.reject(
                cmd.Reject(case_id=self.case_at(case), reason="income above line", actor="clerk")
            ),
        )

    # -- invariants ----------------------------------------------------------------------------

    @invariant()
    def store_matches_memory_and_money_rules_hold(self) -> None:
        cap = self.flow.policy.cap_fen
        drawn: dict[str, int] = {}
        enrolments: set[tuple[str, int]] = set()
        for aggregate_id, remembered in self.flow.in_memory.items():
            stored = self.flow.repository.get(aggregate_id)
            assert stored.__dict__ == remembered.__dict__, f"{aggregate_id} differs after reload"
            if isinstance(stored, StudentCase):
                assert 0 <= stored.disbursed_fen <= stored.approved_fen <= cap
                assert stored.secondary_aid_fen >= 0
                assert (stored.student_id, stored.year) not in enrolments, "two cases, one year"
                enrolments.add((stored.student_id, stored.year))
                for fund, fen in (
                    *stored.granted_by_fund.items(),
                    *stored.secondary_by_fund.items(),
                ):
                    drawn[fund] = drawn.get(fund, 0) + fen
        for aggregate_id, remembered in self.flow.in_memory.items():
            if isinstance(remembered, Fund):
                totals = {"fund.deposited": 0, "fund.allocated": 0, "fund.released": 0}
                for e in self.flow.history(aggregate_id):
                    if e.type in totals:
                        totals[e.type] += e.data["amount_fen"]
                balance = (
                    totals["fund.deposited"] - totals["fund.allocated"] + totals["fund.released"]
                )
                assert remembered.balance_fen == balance >= 0
                assert totals["fund.allocated"] - totals["fund.released"] == drawn.get(
                    str(aggregate_id), 0
                )

    @invariant()
    def each_case_history_keeps_the_order_rules(self) -> None:
        vouchers: list[str] = []
        for case_id in self.cases:
            verifiers: set[str] = set()
            granted: Counter[str] = Counter()
            paid: Counter[str] = Counter()
            standing = 0
            for e in self.flow.history(case_id):
                if e.type == "case.verified":
                    verifiers.add(canonical.actor(e.actor))
                elif e.type == "case.grant_approved":
                    assert canonical.actor(e.actor) not in verifiers, "a verifier approved"
                    granted[str(e.data["fund_id"])] += e.data["amount_fen"]
                elif e.type == "case.disbursed":
                    vouchers.append(canonical.document_key(e.data["voucher"]))
                    paid[str(e.data["fund_id"])] += e.data["amount_fen"]
                    if e.data["use"] == "grant":
                        standing += e.data["amount_fen"]
                elif e.type == "case.disbursement_returned":
                    paid[str(e.data["fund_id"])] -= e.data["amount_fen"]
                    if e.data["use"] == "grant":
                        standing -= e.data["amount_fen"]
                elif e.type in ("case.secondary_aid_allocated", "case.secondary_aid_approved"):
                    assert standing > 0, "secondary aid without a paid grant still standing"
                    if e.type == "case.secondary_aid_approved":  # paid like a grant (0.3)
                        granted[str(e.data["fund_id"])] += e.data["amount_fen"]
                elif e.type == "case.closed":
                    for fund, fen in e.data["releases"].items():
                        granted[fund] -= fen
                for fund, fen in paid.items():
                    assert 0 <= fen <= granted[fund], f"fund {fund} paid more than it granted"
        assert len(vouchers) == len(set(vouchers)), f"voucher used twice: {sorted(vouchers)}"

    @invariant()
    def audit_check_reports_only_genuine_findings(self) -> None:
        policy = self.flow.policy
        report = self.views.check_report(policy, now=self.now)
        assert report.position == self.flow.recorder.max_notification_id()
        found = {(v.rule, v.case_id) for v in report.violations}
        assert {rule for rule, _ in found} <= TIMELINESS | {"several_open_cases"}, report.violations
        assert found == self.expected_findings(), report.violations
        if found:
            event("audit: timeliness finding")

    def expected_findings(self) -> set[tuple[str, str | None]]:
        """The timeliness findings this history deserves, recomputed from each case's events."""
        policy = self.flow.policy
        expected: set[tuple[str, str | None]] = set()
        for case_id in self.cases:
            case = self.case(case_id)
            last_approval: datetime | None = None
            consultation_owed: list[datetime] = []
            actions: dict[str, datetime] = {}
            for e in self.flow.history(case_id):
                if e.type == "case.grant_approved":
                    last_approval = e.timestamp
                elif e.type == "case.hardship_reported":
                    if Severity(e.data["severity"]).needs_consultation:
                        consultation_owed.append(e.timestamp)
                elif e.type == "case.review_convened":
                    consultation_owed = []
                    for item in e.data["actions"]:
                        actions[item["action_id"]] = e.timestamp
                elif e.type == "case.action_completed":
                    actions.pop(e.data["action_id"], None)
            open_case = not (case.closed or case.rejected)
            if (
                open_case
                and case.approved_fen > case.disbursed_fen
                and last_approval is not None
                and self.now - last_approval > timedelta(days=policy.max_unpaid_days)
            ):
                expected.add(("approved_unpaid_too_long", str(case_id)))
            if any(
                self.now - at > timedelta(days=policy.max_days_to_consultation)
                for at in consultation_owed
            ):
                expected.add(("hardship_without_consultation", str(case_id)))
            if any(
                self.now - at > timedelta(days=policy.max_days_action_open)
                for at in actions.values()
            ):
                expected.add(("consultation_action_open", str(case_id)))
        # one student with cases of several years still open (issue 12): named by the first
        by_student: dict[int, list[UUID]] = {}
        for (student, _year), case_id in self.enrolled.items():
            case = self.case(case_id)
            if not (case.closed or case.rejected):
                by_student.setdefault(student, []).append(case_id)
        for still_open in by_student.values():
            if len(still_open) > 1:
                first = min(still_open, key=self.cases.index)
                expected.add(("several_open_cases", str(first)))
        return expected


def run_machine(machine: type[AidMachine], budget: int, *, deep: bool = True) -> None:
    machine.reached = Counter()
    machine.examples = [0]
    machine.TestCase.settings = settings(
        max_examples=examples(budget),
        stateful_step_count=30,
        # The reach assertions below judge a whole run; drawn afresh each time, a run now and
        # then missed a rare state (CI: six reviews, no completed action in 63 examples).
        # Derandomised, CI runs the examples a local run does; a change to the machine or the
        # rules draws new ones. AIDFLOW_RANDOM_MACHINE=1 explores with fresh draws.
        derandomize=os.environ.get("AIDFLOW_RANDOM_MACHINE") != "1",
    )
    machine.TestCase().runTest()
    runs, reached = machine.examples[0], machine.reached
    summary = f"{runs} examples; reached: {dict(sorted(reached.items()))}"
    # The point of this machine: the money is reached in most examples, not by luck. The
    # rates are judged over the deep run's 60 examples; a short run (6 on PostgreSQL) is too
    # small a sample for a rate (4 of 6 is 67%), so it must reach money in a third of them.
    approvals, payments = (0.7, 0.6) if deep else (1 / 3, 1 / 3)
    assert reached["approval"] >= max(1, runs * approvals), summary
    assert reached["payment"] >= max(1, runs * payments), summary
    if deep:  # over enough examples, every deep state is reached at least once
        for kind in ("return", "secondary aid", "release", "review", "completed action"):
            assert reached[kind] > 0, f"no example reached {kind}: {summary}"


def shows_statistics(test: Any) -> Any:
    """Let ``pytest --hypothesis-show-statistics`` report the machine's ``event()`` counts: the
    machine runs inside this test (so the run as a whole can be judged after it), which the
    plugin would otherwise not recognise as a Hypothesis test."""
    test.is_hypothesis_test = True
    test._hypothesis_internal_use_settings = settings(suppress_health_check=list(HealthCheck))
    return test


@shows_statistics
def test_rules_hold_under_random_commands_sqlite(tmp_path: Path) -> None:
    counter = iter(range(10**6))

    class PerExample(AidMachine):
        def __init__(self) -> None:
            self.url = f"sqlite:///{tmp_path}/stateful-{next(counter)}.db"
            super().__init__()

    run_machine(PerExample, 60)  # 60: closes now wait for a follow-up (issue 12)


@pytest.mark.postgres
@shows_statistics
def test_rules_hold_under_random_commands_postgres() -> None:
    with fresh_database() as url:

        class PerExample(AidMachine):
            def __init__(self) -> None:
                with psycopg.connect(url, autocommit=True) as conn:
                    tables = [
                        r[0]
                        for r in conn.execute(
                            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                        )
                    ]
                    if tables:
                        conn.execute(
                            "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY"
                        )
                self.url = url
                super().__init__()

        run_machine(PerExample, 6, deep=False)  # the SQLite run judges depth
