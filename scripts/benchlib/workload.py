"""The command workload every throughput figure runs: one student's lifecycle through AidFlow."""

from __future__ import annotations

import time
from collections.abc import Callable
from itertools import count as _count
from uuid import UUID
from uuid import uuid4 as _uuid4

from aidflow import commands as cmd
from aidflow.application import AidFlow
from scripts.benchlib.history import national_id
from tests.builders import register_staff


def open_funds(flow: AidFlow, tag: str) -> tuple[UUID, UUID]:
    """A government and a donation fund, each with more money than any run spends.

    The test office is registered first (a no-op when it is): commands need staff.
    """
    register_staff(flow)
    gov = flow.open_fund(
        cmd.OpenFund(name=f"Temporary assistance {tag}", kind="government", actor="finance")
    )
    flow.deposit(
        cmd.Deposit(
            fund_id=gov, amount_fen=10**13, source="budget", receipt=f"B-{tag}", actor="finance"
        )
    )
    don = flow.open_fund(
        cmd.OpenFund(name=f"Secondary aid {tag}", kind="donation", actor="federation")
    )
    flow.deposit(
        cmd.Deposit(
            fund_id=don, amount_fen=10**13, source="chamber", receipt=f"D-{tag}", actor="federation"
        )
    )
    return gov, don


def application(n: int, year: int = 2026) -> cmd.Apply:
    """Student ``n``'s application (the builders below: one lifecycle's commands)."""
    return cmd.Apply(
        student_id=national_id(n),
        name="Student",
        university="Guizhou University",
        family_category="dibao",
        town="Gaoping",
        year=year,
        account="6222020200112233445",
        actor="clerk",
    )


def verification(case: UUID) -> cmd.Verify:
    return cmd.Verify(
        case_id=case,
        income_fen=1_200_000,
        tuition_fen=500_000,
        gap_fen=400_000,
        needs=["tuition"],
        actor="visitor",
    )


def approval(case: UUID, gov: UUID) -> cmd.Approve:
    return cmd.Approve(
        ref=new_ref(),
        case_id=case,
        amount_fen=300_000,
        need="tuition",
        fund_id=gov,
        actor="approver",
    )


def payment(case: UUID, n: int, prefix: str = "V") -> cmd.Disburse:
    return cmd.Disburse(case_id=case, amount_fen=300_000, voucher=f"{prefix}{n}", actor="cashier")


def lifecycle(flow: AidFlow, n: int, gov: UUID, don: UUID) -> int:
    """Apply, verify, approve, disburse, and for one student in seven secondary aid; returns commands run."""
    case = flow.apply(application(n))
    flow.verify(verification(case))
    flow.approve(approval(case, gov))
    flow.disburse(payment(case, n))
    if n % 7:
        return 4
    flow.allocate_secondary_aid(
        cmd.AllocateSecondaryAid(
            ref=new_ref(), case_id=case, fund_id=don, amount_fen=600_000, actor="federation"
        )
    )
    return 5


_REFS = _count(1)
_RUN = _uuid4().hex[:8]
"""This process's mark in its references: writers in other processes never share one."""


def new_ref() -> str:
    """A decision reference unique across processes (a counter alone repeats in each)."""
    return f"BENCH-{_RUN}-{next(_REFS):07d}"


def lifecycle_split(flow: AidFlow, n: int, gov: UUID) -> dict[str, float]:
    """The four commands of :func:`lifecycle` (no secondary aid), each's CPU seconds."""
    took: dict[str, float] = {}

    def timed(step: str, call: Callable[[], object]) -> object:
        cpu = time.process_time()
        answer = call()
        took[step] = time.process_time() - cpu
        return answer

    case = timed("apply", lambda: flow.apply(application(n)))
    assert isinstance(case, UUID)
    timed("verify", lambda: flow.verify(verification(case)))
    timed("approve", lambda: flow.approve(approval(case, gov)))
    timed("disburse", lambda: flow.disburse(payment(case, n)))
    return took
