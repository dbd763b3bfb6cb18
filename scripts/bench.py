"""aidflow benchmarks: each figure printed beside a baseline measured in the same run.

    python scripts/bench.py all                  # everything below, default sizes
    python scripts/bench.py rebuild [--events 100000 1000000] [--rounds 2] [--jobs 3]
    python scripts/bench.py commands [--lifecycles 1000] [--backend sqlite postgres]
    python scripts/bench.py screening [--rows 100000]
    python scripts/bench.py timetravel [--cases 100000]
    python scripts/bench.py cli
    python scripts/bench.py proof [--events 100000 1000000]
    python scripts/bench.py pastledger [--events 1000000] [--backend sqlite postgres]
    python scripts/bench.py scale [--seconds 10]
    python scripts/bench.py contention [--seconds 10] [--clients 16] [--processes 8] [--backend sqlite postgres]
    python scripts/bench.py http [--requests 500] [--rounds 5] [--backend sqlite postgres]
    python scripts/bench.py deposits [--sizes 100 1000 5000] [--backend sqlite postgres]

Install first with the README's test command (the benchmarks use the test helpers for PostgreSQL
databases: AIDFLOW_TEST_PG, default postgresql://postgres@127.0.0.1:5432/test). Those databases
keep the server's durable commit, as a bureau's do (the test suite's commit asynchronously; until
2026-12-07 the benchmarks' did too). Timed assertions do not belong in tests; these numbers go
into docs/performance.md with the machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aidflow import commands as cmd  # noqa: E402
from aidflow.application import AidFlow  # noqa: E402
from aidflow.config import store_env  # noqa: E402
from aidflow.privacy import KEY_ENV, KEY_FILE_ENV, new_master, write_key_file  # noqa: E402
from aidflow.projections import ReadModels  # noqa: E402
from aidflow.projections.base import create_view_engine  # noqa: E402
from scripts.benchlib import (  # noqa: E402
    minipipe,
    rebuilds,
    workload,
)
from scripts.benchlib.baseline import BareApp  # noqa: E402
from scripts.benchlib.contention import free_port, serve, world  # noqa: E402
from scripts.benchlib.history import build_history, national_id  # noqa: E402
from scripts.benchlib.workload import lifecycle, lifecycle_split, open_funds  # noqa: E402
from tests.builders import government_fund, register_staff  # noqa: E402
from tests.pg import create_database, drop_database, unreachable_reason  # noqa: E402
from tests.terminal import at_a_terminal  # noqa: E402


def header(title: str) -> None:
    print(f"\n== {title} ==")


@contextmanager
def store(backend: str, folder: str, name: str) -> Iterator[str]:
    """A fresh store URL on the backend; PostgreSQL databases are dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{folder}/{name}.db"
        return
    url = create_database(prefix="aidflow_bench", durable=True)
    try:
        yield url
    finally:
        drop_database(url)


def backends(requested: list[str]) -> list[str]:
    usable = []
    for backend in requested:
        if backend == "postgres" and (reason := unreachable_reason()):
            print(f"(skipping PostgreSQL: {reason})")
            continue
        usable.append(backend)
    return usable


# -- 1. rebuild ------------------------------------------------------------------------


def bare_read_and_decode(flow: AidFlow, page: int = 2000) -> tuple[int, float]:
    """The library alone: select every notification in pages and decode it to a domain event."""
    start = time.perf_counter()
    count = 0
    after = None
    while True:
        records = flow.recorder.select_notifications(
            start=after, limit=page, inclusive_of_start=False
        )
        for record in records:
            flow.mapper.to_domain_event(record)
        count += len(records)
        if len(records) < page:
            break
        after = records[-1].id
    return count, time.perf_counter() - start


def _history_store(folder: str, target: int) -> str:
    """A SQLite store of about ``target`` events of full lifecycles, built once per folder."""
    path = Path(folder) / f"history-{target}.db"
    url = f"sqlite:///{path}"
    if not path.exists():
        flow = AidFlow.open(url)
        start = time.perf_counter()
        events = build_history(flow, target)
        print(f"  (history of {events:,} events built in {time.perf_counter() - start:.0f} s)")
        flow.close()
    return url


def rebuild(
    events_list: list[int], stores: str | None = None, rounds: int = 2, jobs: int = 3
) -> None:
    """Each view's rebuild against its independent minimal pipeline (scripts/benchlib/
    minipipe.py), all views in one process and in ``jobs`` processes against the slowest alone,
    and a catch-up from nothing against a bare read+parse pass; see benchlib/rebuilds.py."""
    header("Rebuild (SQLite): aidflow against minimal pipelines and a bare pass, same run")
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        folder = stores or scratch_dir
        for target in events_list:
            url = _history_store(folder, target)
            store = url.removeprefix("sqlite:///")
            views = rebuilds.per_view(url, scratch, rounds)
            together = rebuilds.all_views(url, rounds, jobs)
            clean = rebuilds.pristine(store, scratch)
            caught = rebuilds.catch_up(clean, scratch, rounds)
            events = minipipe.read_and_parse(str(clean))
            rebuilds.report(events, views, together, caught, jobs)


# -- proofs (issue 14) -------------------------------------------------------------------


def proof(events_list: list[int], samples: int = 50) -> None:
    """Tree head, inclusion and consistency proofs: size and time at each store size."""
    import json
    import random

    from aidflow.projections.audit import proving
    from aidflow.projections.audit.heads import tree_head
    from aidflow.projections.base import reading
    from aidflow.proofs import proof as P
    from aidflow.proofs.models import TreeHead

    header("Merkle proofs (SQLite): the audit view's stored tree, proofs made and checked")
    print(
        f"{'events':>10} {'digest ms':>9} {'prove ms':>9} {'check ms':>9} {'hashes':>7} "
        f"{'bytes':>7} {'cons. ms':>9} {'cons. hashes':>12} {'rebuild ev/s':>13}"
    )
    rng = random.Random(14)
    with tempfile.TemporaryDirectory() as folder:
        for target in events_list:
            url = f"sqlite:///{folder}/proof-{target}.db"
            flow = AidFlow.open(url)
            build_history(flow, target)
            views = ReadModels(create_view_engine(url))
            start = time.perf_counter()
            applied = views.catch_up(flow)
            rebuild_s = time.perf_counter() - start
            with reading(views.engine) as conn:
                start = time.perf_counter()
                head = tree_head(conn)
                digest_s = time.perf_counter() - start
                made, check_s, size_b, hashes = [], [], [], []
                prove_s = []
                for _ in range(samples):
                    position = rng.randint(1, head.position)
                    t0 = time.perf_counter()
                    p = proving.inclusion(conn, flow, position, head)
                    prove_s.append(time.perf_counter() - t0)
                    text = json.dumps(p)
                    t0 = time.perf_counter()
                    assert P.check_proof(P.load(text), TreeHead.parse(str(head))).ok
                    check_s.append(time.perf_counter() - t0)
                    size_b.append(len(text))
                    hashes.append(len(p["path"]))
                    made.append(p)
                old = tree_head(conn, head.size // 3 + 7)
                t0 = time.perf_counter()
                c = proving.consistency(conn, old, head)
                cons_s = time.perf_counter() - t0
                assert P.check_proof(c, head, old).ok
            print(
                f"{applied:>10} {digest_s * 1e3:>9.1f} {statistics.median(prove_s) * 1e3:>9.1f} "
                f"{statistics.median(check_s) * 1e3:>9.2f} {max(hashes):>7} {max(size_b):>7} "
                f"{cons_s * 1e3:>9.1f} {len(c['path']):>12} {applied / rebuild_s:>13,.0f}"
            )
            views.close()
            flow.close()


# -- 2. command throughput --------------------------------------------------------------


def _lifecycles(flow: AidFlow, count: int, first: int) -> int:
    gov, don = open_funds(flow, str(first))
    return 4 + sum(lifecycle(flow, n, gov, don) for n in range(first, first + count))


def _bare_lifecycles(app: BareApp, count: int) -> int:
    fund = app.open_fund()
    return 1 + sum(app.lifecycle(national_id(n), n, fund) for n in range(count))


def commands(lifecycles: int, requested: list[str]) -> None:
    header("Command throughput: full lifecycles through AidFlow, views current after every command")
    print(f"{'backend':>9} {'aidflow cmd/s':>14} {'bare library cmd/s':>19} {'ratio':>7}")
    with tempfile.TemporaryDirectory() as folder:
        for backend in backends(requested):
            with store(backend, folder, "aidflow") as url:
                flow = AidFlow.open(url)
                views = ReadModels.attach(flow, url)
                start = time.perf_counter()
                done = _lifecycles(flow, lifecycles, 0)
                ours = done / (time.perf_counter() - start)
                assert views.status(flow)[0].behind == 0
                views.close()
                flow.close()
            with store(backend, folder, "bare") as url:
                bare = BareApp(store_env(url))
                start = time.perf_counter()
                done = _bare_lifecycles(bare, lifecycles)
                base = done / (time.perf_counter() - start)
                bare.close()
            print(f"{backend:>9} {ours:>14,.0f} {base:>19,.0f} {ours / base:>7.0%}")


def split(lifecycles: int, requested: list[str]) -> None:
    """CPU a command, kind by kind, aidflow (no views) against the bare library in one run:
    where the write path spends more than the library (issue 25 §2)."""
    header("CPU a command by kind: aidflow (no views) against the bare library, same run")
    steps = ("apply", "verify", "approve", "disburse")
    with tempfile.TemporaryDirectory() as folder:
        for backend in backends(requested):
            ours: dict[str, float] = dict.fromkeys(steps, 0.0)
            theirs: dict[str, float] = dict.fromkeys(steps, 0.0)
            with store(backend, folder, "aidflow") as url:
                flow = AidFlow.open(url)
                gov, _ = open_funds(flow, "split")
                for n in range(lifecycles):
                    for step, took in lifecycle_split(flow, n, gov).items():
                        ours[step] += took
                flow.close()
            with store(backend, folder, "bare") as url:
                bare = BareApp(store_env(url))
                fund = bare.open_fund()
                for n in range(lifecycles):
                    cpu = time.process_time()
                    case = bare.apply(national_id(n))
                    theirs["apply"] += time.process_time() - cpu
                    for step in steps[1:]:
                        cpu = time.process_time()
                        bare.change(case, step, fund, n)
                        theirs[step] += time.process_time() - cpu
                bare.close()
            print(f"{backend}: CPU ms a command, {lifecycles} lifecycles")
            for step in (*steps, "all"):
                mine = sum(ours.values()) if step == "all" else ours[step]
                base = sum(theirs.values()) if step == "all" else theirs[step]
                print(
                    f"  {step:>9} aidflow {mine / lifecycles * 1000:6.2f}"
                    f"  bare {base / lifecycles * 1000:6.2f}  {mine / base:5.2f}x"
                )


# -- 3. screening batch -----------------------------------------------------------------


def screening(rows: int) -> None:
    from aidflow.office.screening import screen

    header(
        f"Screening import: {rows:,} admission rows against a {rows * 5:,}-row registry (SQLite)"
    )
    with tempfile.TemporaryDirectory() as folder:
        admissions, registry = Path(folder) / "admissions.csv", Path(folder) / "registry.csv"
        with admissions.open("w", newline="") as a, registry.open("w", newline="") as r:
            wa, wr = csv.writer(a), csv.writer(r)
            wa.writerow(["national_id", "name", "university", "account"])
            wr.writerow(["national_id", "category", "town"])
            for n in range(rows):
                wa.writerow(
                    [national_id(n), f"Student {n}", "Guizhou University", "6222020200112233445"]
                )
            for n in range(rows * 5):
                wr.writerow(
                    [national_id(n + rows // 2), "dibao", "Gaoping"]
                )  # half the admitted match
        plain_cpu, plain_matched = _plain_match(admissions, registry)
        flow = AidFlow.open(f"sqlite:///{folder}/screen.db")
        register_staff(flow)  # the screening office and its clerks, as a store has them
        start, cpu = time.perf_counter(), time.process_time()
        report = screen(flow, admissions, registry, year=2026, actor="screening")
        total_s, total_cpu = time.perf_counter() - start, time.process_time() - cpu
        opened = len(report.opened)
        # The opening alone, to set beside the bare library saving the same number of aggregates.
        matched_commands = [
            cmd.Apply(
                student_id=national_id(n + 10**7),
                name="S",
                university="u",
                family_category="dibao",
                town="t",
                year=2026,
                actor="screening",
            )
            for n in range(opened)
        ]
        start = time.perf_counter()
        flow.apply_many(matched_commands)
        ours = opened / (time.perf_counter() - start)
        flow.close()
        bare = BareApp(store_env(f"sqlite:///{folder}/bare.db"))
        start = time.perf_counter()
        bare.new_cases(opened)
        base = opened / (time.perf_counter() - start)
        bare.close()
    print(
        f"whole screening run: {total_s:.1f} s, {report.matched:,} matched, {opened:,} cases opened"
    )
    print(
        f"CPU: screening {total_cpu:.2f} s, a plain dictionary match of the same files"
        f" {plain_cpu:.2f} s ({plain_matched:,} matched): {total_cpu / plain_cpu:.1f}x"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process (the whole benchmark): {peak:,.0f} MiB")
    print(f"{'aidflow cases/s':>16} {'bare library aggregates/s':>26} {'ratio':>7}")
    print(f"{ours:>16,.0f} {base:>26,.0f} {ours / base:>7.0%}")


def _plain_match(admissions: Path, registry: Path) -> tuple[float, int]:
    """The issue's baseline: the same two files matched with ``csv`` and a dictionary (CPU
    seconds, matches); it checks nothing, seals nothing, records nothing."""
    start = time.process_time()
    with registry.open(newline="") as r:
        rows = csv.reader(r)
        next(rows)
        known = {row[0]: row for row in rows}
    with admissions.open(newline="") as a:
        rows = csv.reader(a)
        next(rows)
        matched = sum(1 for row in rows if row[0] in known)
    return time.process_time() - start, matched


# -- 4. time travel ---------------------------------------------------------------------


def timetravel(cases: int) -> None:
    header(f"Time travel at {cases:,} cases (SQLite)")
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/history.db"
        flow = AidFlow.open(url)
        events = build_history(flow, cases * 9)
        head = flow.recorder.max_notification_id() or 0
        some = [
            r.originator_id
            for r in flow.recorder.select_notifications(start=1, limit=head)
            if "StudentCase.Applied" in r.topic
        ][:: max(1, cases // 50)][:50]
        latencies, bare = [], []
        for case_id in some:
            history = flow.history(UUID(str(case_id)))  # warms the same pages for both timings
            middle = history[len(history) // 2].timestamp + timedelta(microseconds=1)
            start = time.perf_counter()
            flow.case(UUID(str(case_id)), as_of=middle)
            latencies.append(time.perf_counter() - start)
            start = time.perf_counter()
            flow.repository.get(UUID(str(case_id)))
            bare.append(time.perf_counter() - start)
        print(
            f"{events:,} events. case as of a timestamp: median {statistics.median(latencies) * 1000:.2f} ms "
            f"(bare repository.get of the whole case: {statistics.median(bare) * 1000:.2f} ms)"
        )
        views = ReadModels(create_view_engine(url))
        views.catch_up(flow)
        runs = []
        for fraction in (0.25, 0.5, 0.75):
            start = time.perf_counter()
            views.as_of(position=int(head * fraction)).ledger()
            runs.append(time.perf_counter() - start)
        print(
            f"full ledger as of a position: median {statistics.median(runs):.2f} s (by query on the live tables)"
        )
        views.close()
        flow.close()


# -- 4b. command latency, snapshots, past ledgers and rebuilds by store size ---------------


def _table_bytes(url: str, table: str) -> int:
    """Bytes a table takes: SQLite's dbstat when compiled in, else the stored blobs' lengths."""
    import sqlite3

    path = url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        try:
            return int(
                conn.execute("SELECT sum(pgsize) FROM dbstat WHERE name = ?", (table,)).fetchone()[
                    0
                ]
                or 0
            )
        except sqlite3.OperationalError:
            column = "state"
            return int(
                conn.execute(f"SELECT sum(length({column})) FROM {table}").fetchone()[0] or 0
            )


def _history_fund(flow: AidFlow) -> UUID:
    """The history's government fund: every grant of the history was allocated from it."""
    for record in flow.recorder.select_notifications(start=1, limit=10):
        if record.topic.endswith("Fund.Opened"):
            return UUID(str(record.originator_id))
    raise LookupError("no fund in the history")


def _latency_by_kind(flow: AidFlow, gov: UUID, don: UUID, rounds: int) -> dict[str, float]:
    """Median ms of each command kind, on fresh cases, funds taken from the history."""
    from scripts.benchlib.workload import new_ref

    timings: dict[str, list[float]] = {}

    def timed(kind: str, call: object) -> object:
        start = time.perf_counter()
        result = call()  # type: ignore[operator]
        timings.setdefault(kind, []).append((time.perf_counter() - start) * 1000)
        return result

    for i in range(rounds):
        n = 30_000_000 + i
        case = timed("apply", lambda n=n: flow.apply(workload.application(n, year=2027)))
        timed("verify", lambda case=case: flow.verify(workload.verification(case)))
        timed("approve", lambda case=case: flow.approve(workload.approval(case, gov)))
        timed("disburse", lambda n=n, case=case: flow.disburse(workload.payment(case, n, "VS")))
        timed(
            "secondary",
            lambda case=case: flow.allocate_secondary_aid(
                cmd.AllocateSecondaryAid(
                    ref=new_ref(), case_id=case, fund_id=don, amount_fen=100_000, actor="federation"
                )
            ),
        )
    return {kind: statistics.median(values) for kind, values in timings.items()}


def sizes(events_list: list[int], rounds: int) -> None:
    header("By store size (SQLite): command latency, snapshots, past ledgers, full rebuild")
    kinds = ["apply", "verify", "approve", "disburse", "secondary"]
    first: dict[str, float] | None = None
    with tempfile.TemporaryDirectory() as folder:
        for target in events_list:
            url = f"sqlite:///{folder}/history-{target}.db"
            flow = AidFlow.open(url)
            start = time.perf_counter()
            events = build_history(flow, target)
            built = time.perf_counter() - start
            register_staff(flow)  # the commands timed below are decided as an office's are
            records = flow.recorder.select_notifications(start=1, limit=20)
            gov = _history_fund(flow)
            don = next(
                UUID(str(r.originator_id))
                for r in records
                if r.topic.endswith("Fund.Opened") and UUID(str(r.originator_id)) != gov
            )
            latency = _latency_by_kind(flow, gov, don, rounds)
            first = first or latency
            snap, ev = _table_bytes(url, "stored_snapshots"), _table_bytes(url, "stored_events")
            fund_snapshot = flow.snapshots.recorder.select_events(gov, desc=True, limit=1)  # type: ignore[union-attr]
            snap_len = len(fund_snapshot[0].state) if fund_snapshot else 0
            print(f"\n{events:,} events (history built in {built:.0f} s)")
            print(
                "  command median ms: "
                + ", ".join(
                    f"{k} {latency[k]:.2f} ({latency[k] / first[k]:.2f}x first size)" for k in kinds
                )
            )
            print(
                f"  stored_snapshots {snap / 1e6:.1f} MB vs stored_events {ev / 1e6:.1f} MB: "
                f"{snap / ev:.2f}x; the history fund's latest snapshot {snap_len:,} bytes"
            )
            # Full rebuild against the library's bare read+decode and the minimal raw pipeline.
            bare_n, bare_s = bare_read_and_decode(flow)
            views = ReadModels(create_view_engine(url))
            start = time.perf_counter()
            applied = views.catch_up(flow)
            rebuild_s = time.perf_counter() - start
            print(
                f"  full rebuild {applied / rebuild_s:,.0f} ev/s; bare read+decode "
                f"{bare_n / bare_s:,.0f} ev/s ({bare_s / rebuild_s:.0%})"
            )
            head = flow.recorder.max_notification_id() or 0
            runs = []
            for fraction in (0.25, 0.5, 0.75, 1.0):
                start = time.perf_counter()
                views.as_of(position=int(head * fraction)).ledger()
                runs.append(time.perf_counter() - start)
            print(
                "  past ledger by query as of 25/50/75/100%: "
                + " / ".join(f"{r:.2f}" for r in runs)
                + " s"
            )
            views.close()
            flow.close()


def past_ledger(events: int, backends_wanted: list[str], repeat: int = 3) -> None:
    """The full ledger as of 25/50/75/100% of a history store, on each backend (issue 10 §2).

    Baseline, same run and store: the live ledger (no position), which reads the
    latest running-total checkpoint plus the rows after it.
    """
    header(f"Past ledger by query, {events:,}-event history (median of {repeat} runs)")
    with tempfile.TemporaryDirectory() as folder:
        for backend in backends(backends_wanted):
            with store(backend, folder, f"past-{events}") as url:
                flow = AidFlow.open(url)
                start = time.perf_counter()
                recorded = build_history(flow, events)
                built = time.perf_counter() - start
                views = ReadModels(create_view_engine(url))
                start = time.perf_counter()
                views.catch_up(flow)
                caught = time.perf_counter() - start
                head = int(flow.recorder.max_notification_id() or 0)

                def timed(run: Callable[[], object]) -> float:
                    times = []
                    for _ in range(repeat):
                        begin = time.perf_counter()
                        run()
                        times.append(time.perf_counter() - begin)
                    return statistics.median(times)

                print(
                    f"{backend}: {recorded:,} events (built in {built:.0f} s, views caught up "
                    f"in {caught:.0f} s: {recorded / caught:,.0f} ev/s)"
                )
                # PostgreSQL plans by its statistics: tables just filled have none until
                # autovacuum analyses them (within a minute or so in operation), so both.
                for when in ("fresh", "analysed") if backend == "postgres" else ("",):
                    if when == "analysed":
                        with views.engine.begin() as conn:
                            conn.exec_driver_sql("ANALYZE")
                    live = timed(views.ledger)
                    past = [
                        timed(views.as_of(position=int(head * f)).ledger)
                        for f in (0.25, 0.5, 0.75, 1)
                    ]
                    print(f"  live ledger {when:>12}             {live:.3f} s")
                    print(
                        f"  as of 25 / 50 / 75 / 100% {when:>9}  "
                        + " / ".join(f"{r:.3f}" for r in past)
                        + f" s   (worst {max(past) / live:.1f}x the live ledger)"
                    )
                views.close()
                flow.close()


def inline(lifecycles: int, rounds: int = 3) -> None:
    header("Inline views: CPU and wall per command, views current after every command vs none")
    print(
        f"{rounds} rounds; in each, a store without views and one with them take turns, "
        "ten lifecycles at a time, so both see the machine alike"
    )
    print(f"{'':>22} {'CPU ms/cmd':>11} {'wall ms/cmd':>12}")
    labels = ("no views", "views inline")
    runs: dict[str, list[tuple[float, float]]] = {label: [] for label in labels}
    with tempfile.TemporaryDirectory() as folder:
        for n in range(rounds):
            flows = {}
            for label in labels:
                url = f"sqlite:///{folder}/{label.replace(' ', '-')}-{n}.db"
                flow = AidFlow.open(url)
                views = ReadModels.attach(flow, url) if label == "views inline" else None
                _lifecycles(flow, 20, 10_000_000)  # warm up: imports, caches, first pages
                flows[label] = (flow, views, open_funds(flow, str(n)))
            spent = {label: [0.0, 0.0, 0] for label in labels}
            for block in range(0, lifecycles, 10):
                for label in labels:
                    flow, _, (gov, don) = flows[label]
                    cpu, wall = time.process_time(), time.perf_counter()
                    done = sum(
                        lifecycle(flow, k, gov, don)
                        for k in range(block, min(block + 10, lifecycles))
                    )
                    spent[label][0] += time.process_time() - cpu
                    spent[label][1] += time.perf_counter() - wall
                    spent[label][2] += done
            for label in labels:
                cpu_s, wall_s, done = spent[label]
                runs[label].append((cpu_s / done * 1000, wall_s / done * 1000))
                flow, views, _ = flows[label]
                if views is not None:
                    assert views.status(flow)[0].behind == 0
                    views.close()
                flow.close()
    for label, measured in runs.items():
        cpu_ms = statistics.median(c for c, _ in measured)
        wall_ms = statistics.median(w for _, w in measured)
        print(f"{label:>22} {cpu_ms:>11.3f} {wall_ms:>12.3f}   (medians of the rounds)")
    base, inlined = runs["no views"], runs["views inline"]
    cpu = sorted(v[0] / b[0] - 1 for v, b in zip(inlined, base, strict=True))
    wall = sorted(v[1] / b[1] - 1 for v, b in zip(inlined, base, strict=True))
    print(
        f"inline views add {statistics.median(cpu):+.0%} CPU and {statistics.median(wall):+.0%} "
        f"wall per command (median round; rounds' CPU {' '.join(f'{r:+.0%}' for r in cpu)})"
    )


# -- 5. CLI latency ---------------------------------------------------------------------


def _wall(args: list[str], env: dict[str, str], repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(args, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _typed(args: list[str], env: dict[str, str], repeat: int = 7, *, first: bool = False) -> float:
    """Median wall time of ``args`` typed at a terminal. ``first``: each run the first of the
    day, no warm process answering (it starts one, which is stopped before the next run)."""
    exe = args[0]
    times = []
    for _ in range(repeat):
        if first:
            subprocess.run([exe, "warm", "stop"], env=env, check=True, capture_output=True)
        start = time.perf_counter()
        status, said = at_a_terminal(args, env)
        times.append(time.perf_counter() - start)
        assert status == 0, said
        if first:
            _warm_answering(exe, env)
    return statistics.median(times)


def _warm_answering(exe: str, env: dict[str, str]) -> None:
    """Wait until a warm process answers (one started at a terminal is loading)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = subprocess.run([exe, "warm", "status", "--json"], env=env, capture_output=True)
        if json.loads(status.stdout)["running"]:
            return
        time.sleep(0.1)
    raise RuntimeError("no warm process answered within 60 s")


@contextmanager
def _bytecode() -> Iterator[None]:
    """aidflow's modules compiled beside them, as an installed package has them (pip
    compiles at install), and removed after if they were not there before. The editable
    checkout here is compiled on every run: this machine sets PYTHONDONTWRITEBYTECODE, so
    no cache is ever written."""
    package = Path(cmd.__file__).parent
    before = set(package.rglob("*.pyc"))
    compile_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)],
                   env=compile_env, check=True, capture_output=True)  # fmt: skip
    try:
        yield
    finally:
        for made in set(package.rglob("*.pyc")) - before:
            made.unlink()


def cli() -> None:
    """Whole processes, as a clerk types them: cold (each imports the engine), typed at a
    terminal (the first of the day starts this user's warm process, the next run in it) and
    through a warm process started by hand (``aidflow warm start``), against ``python -c
    pass`` in the same run (and ``import click``, the floor of any click program's
    ``--help``)."""
    header("CLI latency (median wall time of 7 runs)")
    exe = str(Path(sys.executable).with_name("aidflow"))
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "AIDFLOW_DB": f"sqlite:///{folder}/cli.db",
            "AIDFLOW_WARM_SOCKET": f"{folder}/run/warm.sock",
            "AIDFLOW_WARM": "1",  # the warm rows use it, whatever the caller's shell says
        }
        flow = AidFlow.open(env["AIDFLOW_DB"])
        register_staff(flow)  # a store has its office before anyone types a command
        case = flow.apply(
            cmd.Apply(
                student_id=national_id(1),
                name="Wang Fang",
                university="GZU",
                family_category="dibao",
                town="Gaoping",
                year=2026,
                actor="screening",
            )
        )
        flow.close()
        show = [exe, "case", "show", str(case)]
        write = [exe, "--actor", "visitor", "case", "follow-up", str(case), "--study", "ok",
                 "--living", "ok", "--hardship", "unchanged"]  # fmt: skip
        base = _wall([sys.executable, "-c", "pass"], env)
        cold = {"AIDFLOW_WARM": "0"}
        rows = [
            # the floor of a click program's --help: importing click itself
            ("python -c 'import click'", _wall([sys.executable, "-c", "import click"], env)),
            ("aidflow --help", _wall([exe, "--help"], {**env, **cold})),
            ("aidflow case show", _wall(show, {**env, **cold})),
            ("aidflow case follow-up", _wall(write, {**env, **cold})),
        ]
        with _bytecode():
            rows += [
                ("bytecode cached: --help", _wall([exe, "--help"], {**env, **cold})),
                ("bytecode cached: case show", _wall(show, {**env, **cold})),
                ("bytecode cached: follow-up", _wall(write, {**env, **cold})),
            ]
        try:
            rows += [
                ("terminal, first: case show", _typed(show, env, first=True)),
                ("terminal, next: --help", _typed([exe, "--help"], env)),
                ("terminal, next: case show", _typed(show, env)),
                ("terminal, next: follow-up", _typed(write, env)),
            ]
            subprocess.run([exe, "warm", "stop"], env=env, check=True, capture_output=True)
            subprocess.run([exe, "warm", "start"], env=env, check=True, capture_output=True)
            rows += [
                ("warm: aidflow --help", _wall([exe, "--help"], env)),
                ("warm: aidflow case show", _wall(show, env)),
                ("warm: aidflow case follow-up", _wall(write, env)),
            ]
        finally:
            subprocess.run([exe, "warm", "stop"], env=env, check=True, capture_output=True)
    print(f"{'python -c pass':<30} {base * 1000:7.0f} ms")
    for name, took in rows:
        print(f"{name:<30} {took * 1000:7.0f} ms   {took / base:5.1f}x python -c pass")


# -- 6. PostgreSQL scale-out ------------------------------------------------------------


def scale(seconds: float, writers_list: list[int]) -> None:
    from scripts.benchlib.scale import run_scale

    header("PostgreSQL scale-out: writer processes running lifecycles, one follower process")
    if reason := unreachable_reason():
        print(f"(skipped: {reason})")
        return
    print(
        f"{'writers':>8} {'cmd/s':>8} {'follower lag median/max':>24} {'lag after':>10} {'catch-up s':>11} {'CPU busy':>9} {'lock-waiting / active backends':>31}"
    )
    for writers in writers_list:
        url = create_database(prefix="aidflow_bench", durable=True)
        try:
            r = run_scale(url, writers, seconds)
        finally:
            drop_database(url)
        lag = f"{r['lag_median']:,.0f} / {r['lag_max']:,.0f}"
        locks = f"{r['lock_waiting']:.1f} / {r['active']:.1f}"
        print(
            f"{writers:>8} {r['commands_per_second']:>8,.0f} {lag:>24} {r['lag_after']:>10,} {r['catch_up_seconds']:>11.2f} {r['cpu_busy']:>9.0%} {locks:>31}"
        )


def writers(seconds: float, writers_list: list[int], rounds: int) -> None:
    """Issue 25 §2: PostgreSQL writer processes against the bare library in the same run,
    without views and with views inline; the shapes take turns, round after round."""
    from scripts.benchlib.writers import SHAPES, run_writers

    header("PostgreSQL writers: aidflow against the bare eventsourcing application, same run")
    if reason := unreachable_reason():
        print(f"(skipped: {reason})")
        return
    measured: dict[tuple[int, str], list[dict[str, float]]] = {}
    for _ in range(rounds):
        for count in writers_list:
            for shape in SHAPES:
                url = create_database(prefix="aidflow_bench", durable=True)
                try:
                    measured.setdefault((count, shape), []).append(
                        run_writers(url, shape, count, seconds)
                    )
                finally:
                    drop_database(url)
    print(f"{seconds:g} s a shape, {rounds} round(s), medians; cmd/s of all writers together")
    print(
        f"{'writers':>8} {'bare cmd/s':>11} {'aidflow':>9} {'ratio':>6} {'+views':>8} {'ratio':>6}"
        f" {'CPU ms/cmd bare':>16} {'aidflow':>8} {'+views':>7} {'+views/bare':>12}"
        f" {'views in one':>13} {'ratio':>6} {'behind':>7}"
    )

    def median(count: int, shape: str, key: str) -> float:
        return statistics.median(r.get(key, math.nan) for r in measured[count, shape])

    for count in writers_list:
        rate = {s: median(count, s, "commands_per_second") for s in SHAPES}
        cpu = {s: median(count, s, "cpu_ms_per_command") for s in SHAPES}
        bare, ours, inline_, one = (rate[s] for s in SHAPES)
        print(
            f"{count:>8} {bare:>11,.0f} {ours:>9,.0f} {ours / bare:>6.0%} {inline_:>8,.0f} {inline_ / bare:>6.0%}"
            f" {cpu['bare']:>16.2f} {cpu['aidflow']:>8.2f} {cpu['aidflow+views']:>7.2f}"
            f" {cpu['aidflow+views'] / cpu['bare']:>11.2f}x"
            f" {one:>13,.0f} {one / bare:>6.0%} {median(count, 'views in one', 'behind_at_end'):>7.0f}"
        )
    # "views in one": the views attached in the first writer only, which applies every writer's
    # records; "behind": records the views stood behind the head when the writers stopped.
    # Where the server runs on this machine its CPU shares the same cores: once the writers
    # keep them busy, commands/s can be no better than the inverse of the CPU a command costs
    # the writer and the server together (the bound the ratios above meet).
    print(
        f"{'writers':>8} {'server CPU ms/cmd bare':>23} {'aidflow':>8} {'+views':>7}"
        f" {'writer+server bare':>19} {'+views':>7} {'+views/bare':>12}"
    )
    for count in writers_list:
        server = {s: median(count, s, "server_cpu_ms_per_command") for s in SHAPES}
        if any(math.isnan(v) for v in server.values()):
            print(f"{count:>8} (the server's CPU cannot be read here: not on this machine)")
            continue
        both = {s: median(count, s, "cpu_ms_per_command") + server[s] for s in SHAPES}
        print(
            f"{count:>8} {server['bare']:>23.2f} {server['aidflow']:>8.2f}"
            f" {server['aidflow+views']:>7.2f} {both['bare']:>19.2f} {both['aidflow+views']:>7.2f}"
            f" {both['aidflow+views'] / both['bare']:>11.2f}x"
        )


# -- 7. Many writers on one hot fund ------------------------------------------------------


def contention(seconds: float, clients: int, processes: int, backends_wanted: list[str]) -> None:
    """Issue 25 §1: answers that are not the command's own (a conflict, a busy store) must be
    0; each shape beside the same shape with one writer, measured in the same run."""
    from scripts.benchlib.contention import run_cli, run_http, run_processes

    header("Many writers on one hot fund: answers that are not the command's own, money exact")
    print(
        f"{'backend':>8} {'shape':>16} {'writers':>8} {'recorded':>9} {'refused':>8} {'other':>6} {'retries':>8} {'cmd/s':>8} {'vs 1 writer':>12} {'exact':>6}"
    )
    shapes: list[tuple[str, int, Callable[[str, int], dict[str, object]]]] = [
        ("http threads", clients, lambda url, n: run_http(url, n, seconds)),
        ("processes", processes, lambda url, n: run_processes(url, n, seconds)),
        ("cli processes", processes, lambda url, n: run_cli(url, n, max(1, int(seconds // 4)))),
    ]
    for backend in backends(backends_wanted):
        for shape, writers, run in shapes:
            rows = []
            for n in (1, writers):
                with store(backend, tempfile.mkdtemp(), "contention") as url:
                    rows.append(run(url, n))
            one = float(str(rows[0]["per_second"]))
            for n, r in zip((1, writers), rows, strict=True):
                rate = float(str(r["per_second"]))
                print(
                    f"{backend:>8} {shape:>16} {n:>8} {r['recorded']:>9} {r['refused']:>8} {r['other']:>6} {r.get('retried', '-'):>8} {rate:>8.1f} {rate / one:>11.2f}x {r['exact']!s:>6}"
                )
                if r["other"]:
                    print(f"{'':>8} not the command's own: {r['others']}")


# -- 8. HTTP against the same call in-process, and against bare FastAPI ------------------


def http_faces(requests: int, backends_wanted: list[str], rounds: int = 5) -> None:
    """Issue 25 §2: a write (deposit) and a read (a case's dossier), one caller after another,
    in-process through the Office and over HTTP to the service; beside them the same two
    requests to a bare FastAPI app (scripts/benchlib/bare_http.py, no aidflow) in the same run.
    Both faces ask the same question: in-process the read names its reader, the member whose
    token HTTP presents (until 2026-12-07 it named none, which skips the reader's check).

    The faces take turns, ``rounds`` batches each, on the same store: a deposit costs more as
    the fund's deposits grow, so timing all in-process writes first and all HTTP writes after
    would charge HTTP for a larger store."""
    header("HTTP against the same call in-process, and bare FastAPI (one caller, requests/s)")
    print(
        f"{'backend':>8} {'request':>8} {'in-process':>11} {'HTTP':>8} {'HTTP/in-proc':>13} {'bare FastAPI':>13} {'HTTP ms over in-proc':>21} {'bare ms':>8}"
    )
    for backend in backends(backends_wanted):
        with store(backend, tempfile.mkdtemp(), "faces") as url:
            rates = _faces(url, requests, rounds)
        for kind in ("write", "read"):
            mine, http, bare = (rates[face][kind] for face in ("in-process", "aidflow", "bare"))
            over = (1 / http - 1 / mine) * 1000
            print(
                f"{backend:>8} {kind:>8} {mine:>11.1f} {http:>8.1f} {http / mine:>12.0%} {bare:>13.1f} {over:>21.2f} {1000 / bare:>8.2f}"
            )


def _faces(url: str, requests: int, rounds: int) -> dict[str, dict[str, float]]:
    """requests/s of a deposit and a dossier read: in-process, over HTTP to aidflow's service
    and to the bare FastAPI app, the three taking turns in ``rounds`` batches."""
    from aidflow import Office

    fund, [case], tokens = world(url, cases=1)
    with (
        Office.open(url) as office,
        _serving("aidflow.http.app:app_from_env", tokens["finance"], AIDFLOW_DB=url) as aid,
        _serving("scripts.benchlib.bare_http:app", tokens["finance"], PYTHONPATH=str(ROOT)) as bare,
    ):
        calls: dict[str, dict[str, Callable[[int], object]]] = {
            "in-process": {
                "write": lambda n: office.handle(
                    cmd.Deposit(
                        fund_id=fund, amount_fen=1, source="s", receipt=f"I-{n}", actor="finance"
                    )
                ),
                "read": lambda n: office.dossier(case, reader="finance"),  # as HTTP asks it
            },
            "aidflow": _http_calls(aid, fund, case),
            "bare": _http_calls(bare, fund, case),
        }
        spent = {face: dict.fromkeys(("write", "read"), 0.0) for face in calls}
        for face in calls.values():  # warm: imports, connections, caches
            for call in face.values():
                for n in range(10):
                    call(-1 - n)
        batch = max(1, requests // rounds)
        for r in range(rounds):
            for kind in ("write", "read"):
                for face, call in ((face, faces[kind]) for face, faces in calls.items()):
                    started = time.perf_counter()
                    for n in range(r * batch, (r + 1) * batch):
                        call(n)
                    spent[face][kind] += time.perf_counter() - started
    return {
        face: {k: batch * rounds / s for k, s in kinds.items()} for face, kinds in spent.items()
    }


def _http_calls(c: httpx.Client, fund: UUID, case: UUID) -> dict[str, Callable[[int], object]]:
    return {
        "write": lambda n: c.post(
            "/commands/deposit",
            json={"fund_id": str(fund), "amount_fen": 1, "source": "s", "receipt": f"H-{n}"},
        ).raise_for_status(),
        "read": lambda n: c.get(f"/cases/{case}").raise_for_status(),
    }


@contextmanager
def _serving(app: str, token: str, **env: str) -> Iterator[httpx.Client]:
    """``app`` under uvicorn in its own process, and a client holding ``token``."""
    port = free_port()
    proc = serve(port, app, **env)
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}
        ) as client:
            yield client
    finally:
        proc.terminate()
        proc.wait(30)


def _master_key(stores: str | None) -> None:
    """The benchmarks' stores hold (synthetic) personal data, so they need a master key.

    A key given in the environment is used; else stores kept between runs share
    ``STORES/bench.key`` (made once), and throw-away stores a key of this run.
    """
    if os.environ.get(KEY_ENV) or os.environ.get(KEY_FILE_ENV):
        return
    if stores:
        Path(stores).mkdir(parents=True, exist_ok=True)
        path = Path(stores) / "bench.key"
        write_key_file(path)
        os.environ[KEY_FILE_ENV] = str(path)
    else:
        os.environ[KEY_ENV] = new_master()


def _backend_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--backend", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"]
    )


def deposits(sizes: list[int], requested: list[str], batch: int = 200) -> None:
    """CPU a deposit as its fund's receipts grow: aidflow against the bare library's fund
    holding the same receipts map, same run. A command's fund must not cost more the more
    deposits it holds (a deep copy of the warm fund did: 10 ms at 5,000 receipts)."""
    header("CPU a deposit as the fund grows: aidflow against the bare library, same run")
    print(f"{'backend':>8} {'deposits':>9} {'aidflow ms':>11} {'bare ms':>8} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as folder:
        for backend in backends(requested):
            with store(backend, folder, "aidflow") as ours, store(backend, folder, "bare") as base:
                flow = AidFlow.open(ours)
                register_staff(flow)
                fund = government_fund(flow)
                bare = BareApp(store_env(base))
                bare_fund = bare.open_fund()
                held = 0  # deposits in each fund so far, each with a receipt of its own
                for size in sizes:
                    for n in range(held, size):
                        flow.deposit(_deposit(fund, f"G-{n}"))
                        bare.deposit(bare_fund, f"G-{n}")
                    held = max(held, size)
                    cpu = time.process_time()
                    for n in range(held, held + batch):
                        flow.deposit(_deposit(fund, f"G-{n}"))
                    mine = (time.process_time() - cpu) / batch
                    cpu = time.process_time()
                    for n in range(held, held + batch):
                        bare.deposit(bare_fund, f"G-{n}")
                    theirs = (time.process_time() - cpu) / batch
                    print(
                        f"{backend:>8} {held:>9,} {mine * 1000:>11.2f} {theirs * 1000:>8.2f}"
                        f" {mine / theirs:>5.2f}x"
                    )
                    held += batch
                flow.close()
                bare.close()


def _deposit(fund: UUID, receipt: str) -> cmd.Deposit:
    return cmd.Deposit(fund_id=fund, amount_fen=1, source="s", receipt=receipt, actor="finance")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("all", help="every benchmark with its default sizes")
    p = sub.add_parser("rebuild")
    p.add_argument("--events", type=int, nargs="+", default=[100_000, 1_000_000])
    p.add_argument("--stores", help="folder keeping the history stores between runs")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--jobs", type=int, default=3, help="processes for the views rebuilt apart")
    p = sub.add_parser("commands")
    p.add_argument("--lifecycles", type=int, default=1000)
    _backend_option(p)
    p = sub.add_parser("split")
    p.add_argument("--lifecycles", type=int, default=500)
    _backend_option(p)
    p = sub.add_parser("screening")
    p.add_argument("--rows", type=int, default=100_000)
    p = sub.add_parser("timetravel")
    p.add_argument("--cases", type=int, default=100_000)
    sub.add_parser("cli")
    p = sub.add_parser("sizes")
    p.add_argument("--events", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    p.add_argument("--rounds", type=int, default=40)
    p = sub.add_parser("pastledger")
    p.add_argument("--events", type=int, default=1_000_000)
    _backend_option(p)
    p = sub.add_parser("inline")
    p.add_argument("--lifecycles", type=int, default=300)
    p.add_argument("--rounds", type=int, default=3)
    p = sub.add_parser("proof")
    p.add_argument("--events", type=int, nargs="+", default=[100_000, 1_000_000])
    p = sub.add_parser("scale")
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--writers", type=int, nargs="+", default=[1, 2, 4])
    p = sub.add_parser("writers")
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--writers", type=int, nargs="+", default=[1, 2, 4, 8])
    p.add_argument("--rounds", type=int, default=2)
    p = sub.add_parser("http")
    p.add_argument("--requests", type=int, default=500)
    p.add_argument("--rounds", type=int, default=5, help="turns the faces take, each a batch")
    _backend_option(p)
    p = sub.add_parser("deposits")
    p.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000])
    _backend_option(p)
    p = sub.add_parser("contention")
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--processes", type=int, default=8)
    _backend_option(p)
    args = parser.parse_args()
    _master_key(getattr(args, "stores", None))
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, {platform.platform()}"
    )
    if args.what in ("rebuild", "all"):
        rebuild(
            getattr(args, "events", [100_000, 1_000_000]),
            getattr(args, "stores", None),
            getattr(args, "rounds", 2),
            getattr(args, "jobs", 3),
        )
    if args.what in ("commands", "all"):
        commands(
            getattr(args, "lifecycles", 1000), getattr(args, "backend", ["sqlite", "postgres"])
        )
    if args.what in ("split", "all"):
        split(getattr(args, "lifecycles", 500), getattr(args, "backend", ["sqlite", "postgres"]))
    if args.what in ("screening", "all"):
        screening(getattr(args, "rows", 100_000))
    if args.what in ("timetravel", "all"):
        timetravel(getattr(args, "cases", 100_000))
    if args.what in ("sizes", "all"):
        sizes(getattr(args, "events", [10_000, 100_000, 1_000_000]), getattr(args, "rounds", 40))
    if args.what in ("pastledger", "all"):
        past_ledger(
            getattr(args, "events", 1_000_000), getattr(args, "backend", ["sqlite", "postgres"])
        )
    if args.what in ("inline", "all"):
        inline(getattr(args, "lifecycles", 300), getattr(args, "rounds", 3))
    if args.what in ("cli", "all"):
        cli()
    if args.what in ("proof", "all"):
        proof(getattr(args, "events", [100_000, 1_000_000]))
    if args.what in ("scale", "all"):
        scale(getattr(args, "seconds", 10), getattr(args, "writers", [1, 2, 4]))
    if args.what in ("writers", "all"):
        writers(
            getattr(args, "seconds", 10),
            getattr(args, "writers", [1, 2, 4, 8]),
            getattr(args, "rounds", 2),
        )
    if args.what in ("http", "all"):
        http_faces(
            getattr(args, "requests", 500),
            getattr(args, "backend", ["sqlite", "postgres"]),
            getattr(args, "rounds", 5),
        )
    if args.what in ("deposits", "all"):
        deposits(
            getattr(args, "sizes", [100, 1000, 5000]),
            getattr(args, "backend", ["sqlite", "postgres"]),
        )
    if args.what in ("contention", "all"):
        contention(
            getattr(args, "seconds", 10),
            getattr(args, "clients", 16),
            getattr(args, "processes", 8),
            getattr(args, "backend", ["sqlite", "postgres"]),
        )


if __name__ == "__main__":
    main()
