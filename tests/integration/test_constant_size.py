"""Shapes that keep commands constant-cost at any size (issue 10 §1), guarded at modest size.

Not timings: the fund every grant is allocated from keeps totals, not a map of
cases, so its snapshot stays a few hundred bytes however many grants it made,
and a past ledger reads rows bounded by position rather than rebuilding.
"""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from aidflow import AidFlow
from aidflow.domain import Fund
from scripts.benchlib.history import build_history


def _fund_snapshot_bytes(flow: AidFlow) -> tuple[int, int]:
    """(allocations made by the history's government fund, bytes of its snapshot now)."""
    first = flow.recorder.select_notifications(start=1, limit=10)
    gov = next(UUID(str(r.originator_id)) for r in first if r.topic.endswith("Fund.Opened"))
    fund = flow.repository.get(gov)
    assert isinstance(fund, Fund)
    flow.take_snapshot(gov)
    assert flow.snapshots is not None
    (snapshot,) = flow.snapshots.recorder.select_events(gov, desc=True, limit=1)
    return fund.version, len(snapshot.state)


def test_a_fund_snapshot_does_not_grow_with_its_grants(tmp_path: Path) -> None:
    sizes = {}
    for events in (2_000, 20_000):
        flow = AidFlow.open(f"sqlite:///{tmp_path / f'h{events}.db'}")
        build_history(flow, events)
        version, size = _fund_snapshot_bytes(flow)
        sizes[events] = (version, size)
        flow.close()
    (small_v, small), (large_v, large) = sizes[2_000], sizes[20_000]
    assert large_v > 5 * small_v  # ten times the history: many more allocations
    assert large < 2_000, large  # a few hundred bytes, not one entry per case
    assert abs(large - small) < 64, sizes  # the same shape: totals only
