"""Stored snapshots checked against a replay of their aggregate's events.

Snapshots sit outside the hash chain and the tree (they are a cache, rewritten
as an aggregate grows), so instead of hashing them aidflow recomputes each one:
the aggregate replayed from its events alone, up to the snapshot's version,
must have exactly the state the snapshot holds. A snapshot that does not is
named by aggregate and version; loading from it would give wrong figures.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from aidflow.models import SnapshotFinding, SnapshotVerification
from aidflow.source import pages


def _normal(transcoder: Any, state: dict[str, Any]) -> Any:
    """The state as the store would encode it, read back as plain JSON (order-insensitive)."""
    return json.loads(transcoder.encode(state))


def _problem(flow: Any, aggregate_id: UUID | str, stored: Any) -> str | None:
    """What is wrong with one stored snapshot, or None when it equals a replay of its events."""
    snapshots = flow.snapshots
    transcoder = snapshots.mapper.transcoder
    version = int(stored.originator_version)
    try:
        snapshot = snapshots.mapper.to_domain_event(stored)
    except Exception as exc:
        return f"it cannot be decoded ({type(exc).__name__})"
    state: Any = None
    last = 0
    for event in flow.events.get(aggregate_id, lte=version):
        state = event.mutate(state)
        last = event.originator_version
    if state is None or last != version:
        return f"the aggregate has no event at version {version}"
    taker = getattr(type(state), "Snapshot", type(flow).snapshot_class)
    fresh = taker.take(state)
    try:  # as loading would see it: an older class version's snapshot is upcast
        loaded = taker.take(snapshot.mutate(None))
    except Exception as exc:
        return f"it cannot be loaded ({type(exc).__name__})"
    if stored.topic != snapshots.mapper.to_stored_event(fresh).topic:
        return "it is of another kind of aggregate"
    if _normal(transcoder, loaded.state) != _normal(transcoder, fresh.state):
        differing = sorted(
            k
            for k in set(loaded.state) | set(fresh.state)
            if _normal(transcoder, {k: loaded.state.get(k)})
            != _normal(transcoder, {k: fresh.state.get(k)})
        )
        return f"its state differs from a replay of its events ({', '.join(differing)})"
    return None


def verify_snapshots(flow: Any, *, page_size: int = 1000) -> SnapshotVerification:
    """Every stored snapshot of every aggregate in ``flow`` (an ``AidFlow``) against its events.

    Reads snapshots through the application's snapshot store (``flow.snapshots``),
    never from the aggregate repository, which would itself use them.
    """
    snapshots = getattr(flow, "snapshots", None)
    if snapshots is None:
        return SnapshotVerification(
            ok=True, checked=0, findings=[], message="this store keeps no snapshots"
        )
    ids: dict[UUID | str, None] = {}
    for records in pages(flow, None, None, page_size):
        for record in records:
            ids.setdefault(record.originator_id, None)
    findings: list[SnapshotFinding] = []
    checked = 0
    for aggregate_id in ids:
        for stored in snapshots.recorder.select_events(aggregate_id):
            checked += 1
            problem = _problem(flow, aggregate_id, stored)
            if problem is not None:
                findings.append(
                    SnapshotFinding(
                        aggregate_id=str(aggregate_id),
                        version=int(stored.originator_version),
                        problem=problem,
                    )
                )
    ok = not findings
    if ok:
        message = f"{checked} stored snapshots agree with a replay of their events"
    else:
        message = "; ".join(
            f"the snapshot of {f.aggregate_id} at version {f.version} was altered: {f.problem}"
            for f in findings
        )
    return SnapshotVerification(ok=ok, checked=checked, findings=findings, message=message)
