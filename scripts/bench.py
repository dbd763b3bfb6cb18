"""aidflow benchmarks: each figure printed beside a baseline measured in the same run.

    python scripts/bench.py rebuild [--events 100000 1000000]

Run from a clean clone after the README's install. Timed assertions do not
belong in tests; these numbers go into docs/performance.md with the machine.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aidflow.application import AidFlow  # noqa: E402
from aidflow.projections import ReadModels  # noqa: E402
from aidflow.projections.base import create_view_engine  # noqa: E402
from scripts.bench.history import build_history  # noqa: E402


def bare_read_and_decode(flow: AidFlow, page: int = 2000) -> tuple[int, float]:
    """The library alone: select every notification in pages and decode it to a domain event."""
    start = time.perf_counter()
    count = 0
    after = None
    while True:
        records = flow.recorder.select_notifications(start=after, limit=page, inclusive_of_start=False)
        for record in records:
            flow.mapper.to_domain_event(record)
        count += len(records)
        if len(records) < page:
            break
        after = records[-1].id
    return count, time.perf_counter() - start


def rebuild(events_list: list[int]) -> None:
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, SQLite")
    print(f"{'events':>10} {'bare read+decode ev/s':>22} {'full rebuild ev/s':>18} {'ratio':>7} {'µs/event':>9}")
    per_event: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        for target in events_list:
            url = f"sqlite:///{folder}/history-{target}.db"
            flow = AidFlow.open(url)
            build_history(flow, target)
            bare_n, bare_s = bare_read_and_decode(flow)
            views = ReadModels(create_view_engine(url))
            start = time.perf_counter()
            applied = views.catch_up(flow)
            rebuild_s = time.perf_counter() - start
            assert applied == bare_n, (applied, bare_n)
            per_event[target] = rebuild_s / applied * 1e6
            print(f"{applied:>10} {bare_n / bare_s:>22,.0f} {applied / rebuild_s:>18,.0f} {bare_s / rebuild_s:>7.0%} {per_event[target]:>9.1f}")
            views.close()
            flow.close()
    if len(per_event) > 1:
        small, large = min(per_event), max(per_event)
        print(f"per-event cost at {large:,} vs {small:,} events: {per_event[large] / per_event[small]:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("rebuild", help="full rebuild of all read models vs bare read+decode (SQLite)")
    p.add_argument("--events", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    if args.what == "rebuild":
        rebuild(args.events)


if __name__ == "__main__":
    main()
