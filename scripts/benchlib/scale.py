"""PostgreSQL scale-out: N writer processes on distinct cases, one follower process keeping views current."""

from __future__ import annotations

import multiprocessing
import statistics
import time
from typing import Any

from aidflow.application import AidFlow
from aidflow.projections import ReadModels
from scripts.benchlib.writers import aidflow_writer
from tests.builders import register_staff


def _writer(url: str, index: int, seconds: float, start: Any, results: Any) -> None:
    run = aidflow_writer(url, index, views=False)  # funds of its own: writers share no aggregate
    start.wait()
    results.put(run(time.monotonic() + seconds))


def _follower(url: str) -> None:
    flow = AidFlow.open(url)
    ReadModels.open(url).follow(flow, poll_seconds=0.2)


def _lag(flow: AidFlow, views: ReadModels) -> int:
    return max(s.behind for s in views.status(flow))


def _cpu_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [float(x) for x in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def _lock_waits(url: str) -> tuple[int, int]:
    """(backends waiting on a lock, backends active) in this database, from pg_stat_activity."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), count(*) FILTER (WHERE state = 'active')"
            " FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def run_scale(url: str, writers: int, seconds: float) -> dict[str, Any]:
    flow = AidFlow.open(url)
    register_staff(flow)  # once, before the writers start
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
    cpu_start = _cpu_busy()
    lags, waiting, active = [], [], []
    while any(p.is_alive() for p in procs):
        lags.append(_lag(flow, views))
        w, a = _lock_waits(url)
        waiting.append(w)
        active.append(a)
        time.sleep(0.5)
    cpu_end = _cpu_busy()
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
        "cpu_busy": (cpu_end[0] - cpu_start[0]) / max(1.0, cpu_end[1] - cpu_start[1]),
        "lock_waiting": statistics.mean(waiting) if waiting else 0.0,
        "active": statistics.mean(active) if active else 0.0,
    }
