"""Random command sequences against a real store; every invariant checked after every step.

Commands are drawn from a small pool of students, funds, actors and voucher
numbers so that collisions (duplicate applications, reused vouchers, the
verifier approving, overdrawn funds) happen often. A refused command must write
nothing; an accepted one must round-trip through the store exactly.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from aidflow import AidFlow
from aidflow import commands as cmd
from aidflow.domain import Fund, StudentCase
from aidflow.domain.errors import AidflowError
from tests.builders import national_id, new_ref, register_staff
from tests.pg import fresh_database

ACTORS = st.sampled_from(["alice", "bob", "carol"])
YUAN = st.integers(min_value=1, max_value=60).map(lambda n: n * 100 * 100)  # 100..6,000 yuan


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

    funds = Bundle("funds")
    cases = Bundle("cases")

    def __init__(self) -> None:
        super().__init__()
        self.flow = RecordingAidFlow.open(self.url)
        register_staff(self.flow)

    def teardown(self) -> None:
        self.flow.close()

    def attempt(self, command: Any) -> bool:
        """Run a command; when refused, the store must be exactly as before."""
        before = self.flow.recorder.max_notification_id()
        try:
            command()
        except AidflowError:
            assert self.flow.recorder.max_notification_id() == before
            return False
        return True

    @rule(target=funds, kind=st.sampled_from(["government", "donation"]))
    def open_fund(self, kind: str) -> UUID:
        return self.flow.open_fund(cmd.OpenFund(name=f"{kind} fund", kind=kind, actor="finance"))

    @rule(fund=funds, amount=YUAN, receipt=st.sampled_from(["R1", "R2", "R3"]))
    def deposit(self, fund: UUID, amount: int, receipt: str) -> None:
        self.attempt(
            lambda: self.flow.deposit(
                cmd.Deposit(
                    fund_id=fund,
                    amount_fen=amount,
                    source="donor",
                    receipt=receipt,
                    actor="finance",
                )
            )
        )

    @rule(target=cases, student=st.integers(0, 4), year=st.sampled_from([2026, 2027]))
    def apply(self, student: int, year: int) -> UUID:
        command = cmd.Apply(
            student_id=national_id(student),
            name="s",
            university="u",
            family_category="dibao",
            town="t",
            year=year,
            account="6222020200112233445",
            actor="screening",
        )
        result: list[UUID] = []
        if not self.attempt(lambda: result.append(self.flow.apply(command))):
            from aidflow.domain.keys import Enrolment

            key = self.flow.repository.get(Enrolment.create_id(command.student_id, year))
            return key.case_id
        return result[0]

    @rule(case=cases, actor=ACTORS)
    def verify(self, case: UUID, actor: str) -> None:
        self.attempt(
            lambda: self.flow.verify(
                cmd.Verify(
                    case_id=case,
                    income_fen=0,
                    tuition_fen=0,
                    gap_fen=0,
                    needs=["tuition"],
                    actor=actor,
                )
            )
        )

    @rule(case=cases, fund=funds, amount=YUAN, actor=ACTORS)
    def approve(self, case: UUID, fund: UUID, amount: int, actor: str) -> None:
        self.attempt(
            lambda: self.flow.approve(
                cmd.Approve(
                    ref=new_ref(),
                    case_id=case,
                    amount_fen=amount,
                    need="tuition",
                    fund_id=fund,
                    actor=actor,
                )
            )
        )

    @rule(case=cases, amount=YUAN, voucher=st.sampled_from(["V1", "V2", "V3", "V4"]))
    def disburse(self, case: UUID, amount: int, voucher: str) -> None:
        self.attempt(
            lambda: self.flow.disburse(
                cmd.Disburse(case_id=case, amount_fen=amount, voucher=voucher, actor="cashier")
            )
        )

    @rule(case=cases, voucher=st.sampled_from(["V1", "V2", "V3", "V4"]))
    def bank_returns(self, case: UUID, voucher: str) -> None:
        self.attempt(
            lambda: self.flow.return_disbursement(
                cmd.ReturnDisbursement(
                    case_id=case, voucher=voucher, reason="account closed", actor="bank"
                )
            )
        )

    @rule(case=cases, fund=funds, amount=YUAN)
    def secondary_aid(self, case: UUID, fund: UUID, amount: int) -> None:
        self.attempt(
            lambda: self.flow.allocate_secondary_aid(
                cmd.AllocateSecondaryAid(
                    ref=new_ref(), case_id=case, fund_id=fund, amount_fen=amount, actor="federation"
                )
            )
        )

    @rule(case=cases)
    def hardship(self, case: UUID) -> None:
        self.attempt(
            lambda: self.flow.report_hardship(
                cmd.ReportHardship(
                    case_id=case, kind="illness", detail="sudden illness", actor="village"
                )
            )
        )

    @rule(case=cases)
    def reject(self, case: UUID) -> None:
        self.attempt(
            lambda: self.flow.reject(cmd.Reject(case_id=case, reason="not eligible", actor="clerk"))
        )

    @rule(case=cases)
    def close(self, case: UUID) -> None:
        self.attempt(
            lambda: self.flow.close_case(cmd.CloseCase(case_id=case, reason="done", actor="clerk"))
        )

    @invariant()
    def store_matches_memory_and_rules_hold(self) -> None:
        cap = self.flow.policy.cap_fen
        drawn: dict[str, int] = {}
        vouchers: list[str] = []
        for aggregate_id, remembered in self.flow.in_memory.items():
            stored = self.flow.repository.get(aggregate_id)
            assert stored.__dict__ == remembered.__dict__, f"{aggregate_id} differs after reload"
            if isinstance(stored, StudentCase):
                assert 0 <= stored.disbursed_fen <= stored.approved_fen <= cap
                assert stored.secondary_aid_fen >= 0
                for fund, fen in (
                    *stored.granted_by_fund.items(),
                    *stored.secondary_by_fund.items(),
                ):
                    drawn[fund] = drawn.get(fund, 0) + fen
                vouchers.extend(
                    e.data["voucher"]
                    for e in self.flow.history(aggregate_id)
                    if e.type == "case.disbursed"
                )
        assert len(vouchers) == len(set(vouchers)), f"voucher used twice: {sorted(vouchers)}"
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


def test_rules_hold_under_random_commands_sqlite(tmp_path: Path) -> None:
    counter = iter(range(10**6))

    class PerExample(AidMachine):
        def __init__(self) -> None:
            self.url = f"sqlite:///{tmp_path}/stateful-{next(counter)}.db"
            super().__init__()

    PerExample.TestCase.settings = settings(
        max_examples=60,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    PerExample.TestCase().runTest()


@pytest.mark.postgres
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

        PerExample.TestCase.settings = settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        PerExample.TestCase().runTest()
