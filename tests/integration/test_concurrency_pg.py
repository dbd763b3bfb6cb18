"""Several processes allocating from one small fund at once on PostgreSQL.

Each worker approves grants for its own verified cases, all drawing on one fund
that holds less than they ask for together. Conflicting saves are retried from
fresh state, so the fund never goes negative and every reported success is in
the store exactly once.
"""

from __future__ import annotations

import multiprocessing
from typing import Any
from uuid import UUID

import pytest

from aidflow import AidFlow
from aidflow import commands as cmd
from aidflow.domain.errors import InsufficientFunds
from tests.builders import government_fund, new_ref, register_staff, verified
from tests.pg import fresh_database

WORKERS = 4
CASES_PER_WORKER = 6
GRANT_FEN = 100_000  # 1,000 yuan
FUND_YUAN = 10_000  # room for 10 grants out of 24 asked


def _worker(
    url: str,
    fund: str,
    cases: list[str],
    results: multiprocessing.Queue[tuple[str, str]],
    start: Any,
) -> None:
    flow = AidFlow.open(url)
    register_staff(flow)
    start.wait(timeout=60)  # all workers begin together, so their saves really collide
    try:
        for case in cases:
            try:
                flow.approve(
                    cmd.Approve(
                        ref=new_ref(),
                        case_id=UUID(case),
                        amount_fen=GRANT_FEN,
                        need="tuition",
                        fund_id=UUID(fund),
                        actor="approver",
                    )
                )
            except InsufficientFunds:
                results.put((case, "refused"))
            else:
                results.put((case, "approved"))
        results.put(("retries", str(flow.conflicts_retried)))
    finally:
        flow.close()


@pytest.mark.postgres
def test_concurrent_allocations_never_overdraw_and_lose_nothing() -> None:
    with fresh_database() as url:
        flow = AidFlow.open(url)
        register_staff(flow)
        try:
            fund = government_fund(flow, yuan=FUND_YUAN)
            cases = [str(verified(flow, n)) for n in range(WORKERS * CASES_PER_WORKER)]
        finally:
            flow.close()

        ctx = multiprocessing.get_context("spawn")
        results: multiprocessing.Queue[tuple[str, str]] = ctx.Queue()
        start = ctx.Barrier(WORKERS)
        procs = [
            ctx.Process(target=_worker, args=(url, str(fund), cases[i::WORKERS], results, start))
            for i in range(WORKERS)
        ]
        for p in procs:
            p.start()
        messages = [results.get(timeout=120) for _ in range(len(cases) + WORKERS)]
        outcomes = {c: o for c, o in messages if c != "retries"}
        retries = sum(int(o) for c, o in messages if c == "retries")
        for p in procs:
            p.join(timeout=60)
            assert p.exitcode == 0

        approved = {c for c, outcome in outcomes.items() if outcome == "approved"}
        assert len(approved) == FUND_YUAN * 100 // GRANT_FEN
        assert retries > 0, "the workers never collided, so this run proved nothing"

        flow = AidFlow.open(url)
        register_staff(flow)
        try:
            snapshot = flow.fund(fund)
            assert snapshot.balance_fen == 0
            assert snapshot.allocated_fen == len(approved) * GRANT_FEN
            allocated_to = [
                e.data["case_id"] for e in flow.history(fund) if e.type == "fund.allocated"
            ]
            assert sorted(map(str, allocated_to)) == sorted(approved)  # none lost, none doubled
            for case in cases:
                assert flow.case(UUID(case)).approved_fen == (GRANT_FEN if case in approved else 0)
        finally:
            flow.close()
