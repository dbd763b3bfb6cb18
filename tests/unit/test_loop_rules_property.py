"""Issue 12's rules as a property: over random histories of one case and random policies,
an approval or a close succeeds exactly when the rules (modelled here independently)
allow it, and a refused one records nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

from hypothesis import example, given, settings
from hypothesis import strategies as st

from aidflow.domain import Policy, StudentCase
from aidflow.domain.errors import AidflowError
from aidflow.domain.values import NeedCategory
from tests.builders import national_id
from tests.properties import examples

NEEDS = [n.value for n in NeedCategory]
FUND = uuid4()


@dataclass
class Model:
    """What the rules need to know, kept apart from the aggregate."""

    awaiting: bool = True
    verified_once: bool = False
    gap: int = 0
    needs: set[str] = field(default_factory=set)
    approved: int = 0
    since_visit: int = 0
    paid: int = 0
    follow_up_due: bool = False
    open_actions: int = 0
    hardships: int = 0
    closed: bool = False

    def may_approve(self, policy: Policy, amount: int, need: str, roles: list[str]) -> bool:
        if self.closed or self.awaiting or self.approved + amount > policy.cap_fen:
            return False
        if policy.need_rule and need not in self.needs:
            return False
        if policy.gap_bound and self.since_visit + amount > self.gap:
            return False
        return self.approved + amount <= policy.approval_limit(roles)

    def may_close(self, policy: Policy) -> bool:
        if self.closed:
            return False
        if not policy.strict_close:
            return True
        reopened = self.awaiting and self.verified_once
        return not (reopened or self.open_actions or self.follow_up_due)


# a few figures, so that a grant meets a gap, a tier or the cap exactly as often as not
amounts = st.sampled_from([0, 1000, 2000, 3000, 3500, 5000, 6000]).map(lambda yuan: yuan * 100)
grants = amounts.filter(bool)
visits = st.tuples(st.just("verify"), amounts, st.sets(st.sampled_from(NEEDS[:3]), min_size=1))
steps = st.lists(
    st.one_of(
        visits,
        st.tuples(st.just("approve"), grants, st.sampled_from(NEEDS[:2])),
        st.tuples(st.just("approve"), grants, st.sampled_from(NEEDS[:2])),
        st.tuples(st.just("pay")),
        st.tuples(st.just("follow-up")),
        st.tuples(st.just("hardship")),
        st.tuples(st.just("convene"), st.integers(0, 2)),
        st.tuples(st.just("complete")),
        st.tuples(st.just("close")),
        st.tuples(st.just("close")),
    ),
    min_size=3,
    max_size=30,
)
histories = st.tuples(visits, steps).map(lambda h: [h[0], *h[1]])
"""Most cases start with their household visit; the rest is any order of steps."""
policies = st.builds(
    Policy,
    gap_bound=st.booleans(),
    need_rule=st.booleans(),
    strict_close=st.booleans(),
    approval_tiers=st.sampled_from(
        [(), (("approver", 300_000), ("county-approver", 500_000)), (("county-approver", 500_000),)]
    ),
)


def _try(case: StudentCase, call: Any) -> bool:
    before = len(case.pending_events)
    try:
        call()
    except AidflowError:
        assert len(case.pending_events) == before
        return False
    return True


VISIT = ("verify", 500_000, {"tuition"})


@settings(max_examples=examples(500))
@example(Policy(), [VISIT, ("approve", 300_000, "tuition"), ("pay",), ("close",)], ["approver"])
@example(Policy(), [VISIT, ("hardship",), ("close",)], ["approver"])
@example(Policy(), [VISIT, ("hardship",), ("convene", 1), VISIT, ("close",)], ["county-approver"])
@example(
    Policy(approval_tiers=(("approver", 300_000), ("county-approver", 500_000))),
    [VISIT, ("approve", 300_000, "tuition"), ("approve", 100_000, "tuition")],
    ["approver"],
)
@given(
    policy=policies,
    history=histories,
    roles=st.sampled_from([["approver"], ["county-approver"], ["approver", "county-approver"]]),
)
def test_approve_and_close_succeed_exactly_when_the_rules_allow(
    policy: Policy, history: list[tuple[Any, ...]], roles: list[str]
) -> None:
    case = StudentCase.open(
        student_id=national_id(1),
        name="Li",
        university="GZU",
        family_category="dibao",
        town="Dalian",
        year=2026,
        account="6222020200112233445",
        source="screening",
        actor="clerk",
    )
    m = Model()
    for step in history:
        kind = step[0]
        if kind == "verify":
            done = _try(
                case,
                lambda s=step: case.verify(
                    income_fen=0,
                    tuition_fen=0,
                    gap_fen=s[1],
                    needs=sorted(s[2]),
                    visited_on=None,
                    note="",
                    actor="visitor",
                ),
            )
            assert done == (m.awaiting and not m.closed)
            if done:
                m.awaiting, m.verified_once = False, True
                m.gap, m.needs, m.since_visit = step[1], set(step[2]), 0
        elif kind == "approve":
            allowed = m.may_approve(policy, step[1], step[2], roles)
            done = _try(
                case,
                lambda s=step: case.approve_grant(
                    amount_fen=s[1],
                    need=s[2],
                    fund_id=FUND,
                    actor="approver",
                    policy=policy,
                    roles=roles,
                ),
            )
            assert done == allowed, (step, m)
            if done:
                m.approved += step[1]
                m.since_visit += step[1]
        elif kind == "pay":
            unpaid = m.approved - m.paid
            if unpaid and not m.closed:
                case.disburse(amount_fen=unpaid, voucher=str(uuid4()), value_date=None, actor="c")
                m.paid += unpaid
                m.follow_up_due = True
        elif kind == "follow-up":
            done = _try(
                case,
                lambda: case.follow_up(
                    study="s", living="l", hardship_trend="unchanged", actor="v"
                ),
            )
            assert done == (not m.closed)
            if done:
                m.follow_up_due = False
        elif kind == "hardship":
            case.report_hardship(kind="illness", severity="serious", detail="ill", actor="v")
            m.hardships += 1
            m.awaiting, m.closed = True, False
        elif kind == "convene" and m.hardships:
            actions = [("health", f"help {i}") for i in range(step[1])]
            case.convene_review(
                departments=["health"], actions=actions, note="", actor="chair", policy=policy
            )
            m.open_actions += step[1]
        elif kind == "complete":
            open_ids = case.open_actions
            if open_ids:
                done = _try(
                    case,
                    lambda first=open_ids[0]: case.complete_action(
                        action_id=first, note="n", actor="h"
                    ),
                )
                assert done == (not m.closed)
                if done:
                    m.open_actions -= 1
        elif kind == "close":
            allowed = m.may_close(policy)
            releases = case.unpaid_by_fund
            done = _try(case, lambda: case.close(reason="year over", actor="a", policy=policy))
            assert done == allowed, (step, m)
            if done:
                m.closed = True
                released = sum(releases.values())
                m.approved -= released
                m.since_visit = max(0, m.since_visit - released)
        assert case.approved_fen == m.approved
