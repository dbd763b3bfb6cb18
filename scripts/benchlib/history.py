"""A realistic history, fast: full case lifecycles made by the domain, saved in large batches.

Commands through ``AidFlow`` would take minutes for a million events; the events
here come from the same aggregate methods, so they are the events the engine
records, only saved many aggregates per transaction.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from aidflow.application import AidFlow
from aidflow.domain import Enrolment, Fund, StudentCase, Voucher
from aidflow.domain.base import AidAggregate
from aidflow.domain.canonical import national_id_check_digit
from aidflow.domain.clock import using_clock

TOWNS = ["Dalian Road", "Gaoping", "Tuanze", "Banqiao", "Sidu", "Shawan", "Shanpen", "Songlin"]


def national_id(n: int) -> str:
    """A valid, distinct ID for each n below 33.6 million."""
    day, month, region = (n // 1000) % 28 + 1, (n // 28_000) % 12 + 1, (n // 336_000) % 100
    first17 = f"5203{region:02d}2007{month:02d}{day:02d}{n % 1000:03d}"
    return first17 + national_id_check_digit(first17)


def build_history(
    flow: AidFlow,
    events: int,
    *,
    seed: int = 1,
    batch_cases: int = 200,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Record at least ``events`` events of full lifecycles; returns how many were recorded."""
    rng = random.Random(seed)
    moment = [datetime(2026, 7, 1, tzinfo=UTC)]

    def clock() -> datetime:
        moment[0] += timedelta(milliseconds=50)
        return moment[0]

    with using_clock(clock):
        gov = Fund(name="Temporary assistance", kind="government", purpose="", actor="finance")
        don = Fund(name="Secondary aid", kind="donation", purpose="", actor="federation")
        gov.deposit(
            amount_fen=10**13, source="budget", receipt="B-1", value_date=None, actor="finance"
        )
        don.deposit(
            amount_fen=10**13, source="chamber", receipt="D-1", value_date=None, actor="federation"
        )
        flow.save(gov, don)
    recorded = 6
    n = 0
    while recorded < events:
        aggregates: list[AidAggregate] = []
        with using_clock(clock):
            for _ in range(batch_cases):
                n += 1
                case = StudentCase(
                    student_id=national_id(n),
                    name=f"Student {n}",
                    university="Guizhou University",
                    family_category=rng.choice(["dibao", "tekun", "expenditure"]),
                    town=rng.choice(TOWNS),
                    year=2026,
                    account="6222020200112233445",
                    source="screening",
                    actor="screening",
                )
                aggregates.append(Enrolment(student_id=case.student_id, year=2026, case_id=case.id))
                case.verify(
                    income_fen=rng.randint(0, 2_000_000),
                    tuition_fen=500_000,
                    gap_fen=rng.randint(500_000, 900_000),  # covers the largest grant
                    needs=["tuition", "living"],
                    visited_on=None,
                    note="",
                    actor="visitor",
                )
                if rng.random() < 0.1:
                    case.reject(reason="income above the line", actor="approver")
                    aggregates.append(case)
                    continue
                fen = rng.choice([200_000, 300_000, 400_000, 500_000])
                case.approve_grant(
                    amount_fen=fen,
                    need="tuition",
                    fund_id=gov.id,
                    actor="approver",
                    policy=flow.policy,
                )
                gov.allocate(case_id=case.id, amount_fen=fen, use="grant", actor="approver")
                case.disburse(amount_fen=fen, voucher=f"V{n}", value_date=None, actor="cashier")
                aggregates.append(Voucher(number=f"V{n}", case_id=case.id, amount_fen=fen))
                if rng.random() < 0.15:
                    case.allocate_secondary_aid(
                        fund_id=don.id, amount_fen=600_000, reason="", actor="federation"
                    )
                    don.allocate(
                        case_id=case.id, amount_fen=600_000, use="secondary-aid", actor="federation"
                    )
                case.follow_up(
                    study="fine", living="stable", hardship_trend="unchanged", actor="village"
                )
                if rng.random() < 0.05:
                    case.report_hardship(
                        kind="illness",
                        severity="serious",
                        detail="illness in the family",
                        actor="village",
                    )
                    case.convene_review(
                        departments=["health", "education"],
                        actions=[
                            ("health", "medical assistance"),
                            ("education", "tuition reduction"),
                        ],
                        note="",
                        actor="chair",
                    )
                    case.complete_action(action_id="A1", note="done", actor="health")
                aggregates.append(case)
            pending = (
                sum(len(a.pending_events) for a in aggregates)
                + len(gov.pending_events)
                + len(don.pending_events)
            )
            flow.save(*aggregates, gov, don)
        recorded += pending
        if progress is not None:
            progress(pending)
    return recorded
