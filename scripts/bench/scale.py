"""PostgreSQL scale-out: N writer processes on distinct cases, one follower process keeping views current."""

from __future__ import annotations

import multiprocessing
import statistics
import time
from typing import Any

from aidflow import commands as cmd
from aidflow.application import AidFlow
from aidflow.projections import ReadModels


def _writer(url: str, index: int, seconds: float, start: Any, results: Any) -> None:
    from scripts.bench.history import national_id

    flow = AidFlow.open(url)
    gov = flow.open_fund(
        cmd.OpenFund(name=f"Government {index}", kind="government", actor="finance")
    )
    flow.deposit(
        cmd.Deposit(
            fund_id=gov, amount_fen=10**13, source="budget", receipt=f"B{index}", actor="finance"
        )
    )
    start.wait()
    done = 0
    n = index * 10_000_000
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        n += 1
        case = flow.apply(
            cmd.Apply(
                student_id=national_id(n),
                name="S",
                university="GZU",
                family_category="dibao",
                town="Gaoping",
                year=2026,
                actor="clerk",
            )
        )
        flow.verify(
            cmd.Verify(
                case_id=case,
                income_fen=0,
                tuition_fen=500_000,
                gap_fen=400_000,
                needs=["tuition"],
                actor="visitor",
            )
        )
        flow.approve(
            cmd.Approve(
                case_id=case, amount_fen=300_000, need="tuition", fund_id=gov, actor="approver"
            )
        )
        flow.disburse(
            cmd.Disburse(case_id=case, amount_fen=300_000, voucher=f"V{n}", actor="cashier")
        )
        done += 4
    results.put(done)
    flow.close()


def _follower(url: str) -> None:
    flow = AidFlow.open(url)
    ReadModels.open(url).follow(flow, poll_seconds=0.2)


def _lag(flow: AidFlow, views: ReadModels) -> int:
    return max(s.behind for s in views.status(flow))


def run_scale(url: str, writers: int, seconds: float) -> dict[str, Any]:
    flow = AidFlow.open(url)
    views = ReadModels.open(url)  # create the tables once, before processes race for them
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(writers + 1)
    results: Any = ctx.Queue()
    follower = ctx.Process(target=_follower, args=(url,), daemon=True)
    follower.start()
    procs = [
        ctx.Process(target=_writer, args=(url, i, seconds, start, results)) for i in range(writers)
    ]
    for p in procs:
        p.start()
    start.wait()
    began = time.monotonic()
    lags = []
    while any(p.is_alive() for p in procs):
        lags.append(_lag(flow, views))
        time.sleep(0.5)
    total = sum(results.get(timeout=60) for _ in procs)
    elapsed = time.monotonic() - began
    for p in procs:
        p.join()
    after = _lag(flow, views)
    caught = time.monotonic()
    while _lag(flow, views) > 0 and time.monotonic() - caught < 120:
        time.sleep(0.05)
    catch_up = time.monotonic() - caught
    follower.kill()
    follower.join()
    views.close()
    flow.close()
    return {
        "commands_per_second": total / min(elapsed, seconds + 1),
        "lag_median": statistics.median(lags) if lags else 0,
        "lag_max": max(lags) if lags else 0,
        "lag_after": after,
        "catch_up_seconds": catch_up,
    }
