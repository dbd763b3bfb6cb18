"""PostgreSQL writer processes against the bare library doing the same work (issue 25 §2).

N processes start together on one fresh database and run student lifecycles (apply, verify,
approve, disburse, and secondary aid for one in seven) for a fixed time, each on funds of
its own, as offices with several counters do. Three shapes, each on its own database:

- ``bare``: :class:`scripts.benchlib.baseline.BareApp`, the ``eventsourcing`` library alone
  (its default repository: no aggregate cache), events with the same fields;
- ``aidflow``: :class:`aidflow.AidFlow` with no views attached (a follower keeps them);
- ``aidflow+views``: the same with the views kept current inside every command;
- ``views in one``: the views attached in the first writer only, whose catch-up after each of
  its commands applies every writer's records (the others attach none): an office with several
  writer processes keeping its views current without every writer contending for them.

Each process reports its commands and its own CPU seconds (``time.process_time``), so the
CPU per command is the writer's own, not the database server's.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from typing import Any

from scripts.benchlib.history import national_id

SHAPES = ("bare", "aidflow", "aidflow+views", "views in one")


def _bare(url: str, index: int) -> Callable[[float], int]:
    from scripts.bench import store_env
    from scripts.benchlib.baseline import BareApp

    app = BareApp(store_env(url))
    fund = app.open_fund()

    def run(deadline: float) -> int:
        done, n = 0, index * 10_000_000
        while time.monotonic() < deadline:
            n += 1
            done += app.lifecycle(national_id(n), n, fund)
        app.close()
        return done

    return run


def aidflow_writer(url: str, index: int, views: bool) -> Callable[[float], int]:
    """Writer ``index`` opened with funds of its own (writers share no aggregate), and what
    runs its lifecycles until a deadline, closes it and returns the commands it ran."""
    from aidflow.application import AidFlow
    from aidflow.projections import ReadModels
    from scripts.benchlib.workload import lifecycle, open_funds

    flow = AidFlow.open(url)
    attached = ReadModels.attach(flow, url) if views else None
    gov, don = open_funds(flow, f"writer-{index}")

    def run(deadline: float) -> int:
        done, n = 0, index * 10_000_000
        while time.monotonic() < deadline:
            n += 1
            done += lifecycle(flow, n, gov, don)
        if attached is not None:
            attached.close()
        flow.close()
        return done

    return run


def _writer(shape: str, url: str, index: int, seconds: float, start: Any, results: Any) -> None:
    """Open the store and the writer's funds first, then run from the common start."""
    if shape == "bare":
        run = _bare(url, index)
    else:
        inline = shape == "aidflow+views" or (shape == "views in one" and index == 0)
        run = aidflow_writer(url, index, views=inline)
    start.wait()
    cpu = time.process_time()
    done = run(time.monotonic() + seconds)
    results.put((done, time.process_time() - cpu))


def prepare(url: str, shape: str) -> None:
    """What exists before the writers start (an office opens its store once, not N times at
    once): the tables, the staff, the views' tables."""
    if shape == "bare":
        from scripts.bench import store_env
        from scripts.benchlib.baseline import BareApp

        BareApp(store_env(url)).close()
        return
    from aidflow.application import AidFlow
    from aidflow.projections import ReadModels
    from tests.builders import register_staff

    flow = AidFlow.open(url)
    register_staff(flow)
    ReadModels.open(url).close()
    flow.close()


def server_cpu() -> float | None:
    """Seconds of CPU every PostgreSQL process on this machine has used, ended ones included
    (a backend's time is added to the postmaster's children when it exits); None where
    ``/proc`` shows none (another machine's server, or not Linux). The whole server's: other
    databases' work counts too, so nothing else should run while it is read."""
    import os

    try:
        pids = [pid for pid in os.listdir("/proc") if pid.isdigit()]
    except OSError:  # no /proc: not Linux
        return None
    tick, total, seen = os.sysconf("SC_CLK_TCK"), 0, False
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                text = stat.read()
        except OSError:  # ended meanwhile
            continue
        if not text[text.index("(") + 1 : text.rindex(")")].startswith("postgres"):
            continue
        fields = text[text.rindex(")") + 2 :].split()
        total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
        seen = True
    return total / tick if seen else None


def run_writers(url: str, shape: str, writers: int, seconds: float) -> dict[str, float]:
    """``writers`` processes of ``shape`` for ``seconds``: commands/s and CPU ms a command,
    the writers' own and (where this machine runs the server) the server's."""
    prepare(url, shape)
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(writers + 1)
    results: Any = ctx.Queue()
    procs = [
        ctx.Process(target=_writer, args=(shape, url, i, seconds, start, results))
        for i in range(writers)
    ]
    for p in procs:
        p.start()
    start.wait()
    began, server = time.monotonic(), server_cpu()
    reports = [results.get(timeout=seconds + 120) for _ in procs]
    elapsed = time.monotonic() - began
    for p in procs:
        p.join()
        if p.exitcode:
            raise RuntimeError(f"a {shape} writer failed (exit {p.exitcode})")
    after = server_cpu()  # the writers' connections have ended: their backends are counted
    commands = sum(done for done, _ in reports)
    measured = {
        "commands_per_second": commands / elapsed,
        "cpu_ms_per_command": 1000 * sum(cpu for _, cpu in reports) / commands,
    }
    if server is not None and after is not None:
        measured["server_cpu_ms_per_command"] = 1000 * (after - server) / commands
    if shape == "views in one":
        measured["behind_at_end"] = behind(url)
    return measured


def behind(url: str) -> float:
    """How many records the furthest view stands behind the store's head, as it is."""
    from aidflow.application import AidFlow
    from aidflow.projections import ReadModels
    from aidflow.projections.base import create_view_engine

    flow = AidFlow.open(url)
    views = ReadModels(create_view_engine(url))
    try:
        return float(max(s.behind for s in views.status(flow)))
    finally:
        views.close()
        flow.close()
