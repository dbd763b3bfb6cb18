"""Snapshots: sealed when taken, used only when their seal verifies, checked against
their events by the audit.

Snapshots sit outside the hash chain and the tree (they are a cache, rewritten as an
aggregate grows). Two defences keep them honest (issue 21 §4):

- Before use: every snapshot carries a keyed MAC over its aggregate id, version, topic and
  state (:class:`~aidflow.privacy.SnapshotMapper`). :class:`SnapshotStore` hands the
  repository only snapshots whose seal verifies; an unsealed one (an older store, or a
  stripped seal) or a forged one is passed over, and the aggregate is replayed from its
  events instead. A command never decides on a snapshot a database login could write.
- After the fact: :func:`verify_snapshots` recomputes each stored snapshot: the aggregate
  replayed from its events alone, up to the snapshot's version, must have exactly the
  state the snapshot holds, and its seal must verify. One that does not is named by
  aggregate and version (this also catches a forgery by someone holding the master key).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from typing import Any
from uuid import UUID

from eventsourcing.persistence import AggregateRecorder, StoredEvent
from eventsourcing.utils import get_topic

from aidflow.models import SnapshotFinding, SnapshotVerification
from aidflow.privacy import SealingEventStore, SealState, SnapshotMapper, seal_checked
from aidflow.source import pages


class SnapshotStore(SealingEventStore):
    """The snapshot store: seals what it stores (its :class:`SnapshotMapper`) and gives back
    only snapshots whose seal verifies, so the library's repository, which loads from the
    newest snapshot it is given, replays from events around any other.

    ``limit`` counts the snapshots given back: asked for the newest one (the repository
    asks for one), it passes over unverified ones to the newest that verifies.
    """

    def __init__(self, mapper: SnapshotMapper, recorder: AggregateRecorder) -> None:
        super().__init__(mapper=mapper, recorder=recorder)
        self.sealer = mapper

    def get(
        self,
        originator_id: UUID,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Iterator[Any]:
        wanted = limit
        page = limit  # the newest first, as asked; past unusable ones, a hundred at a time
        while wanted is None or wanted > 0:
            rows = self.recorder.select_events(originator_id, gt=gt, lte=lte, desc=desc, limit=page)
            for stored in rows:
                if self.usable(stored):
                    yield self.sealer.to_domain_event(stored)
                    if wanted is not None:
                        wanted -= 1
                        if wanted <= 0:
                            return
            if page is None or len(rows) < page:
                return
            page = max(page, 100)
            if desc:
                lte = rows[-1].originator_version - 1
            else:
                gt = rows[-1].originator_version

    def usable(self, stored: StoredEvent) -> bool:
        """Whether a command may start from ``stored``: only when its seal verifies. A broken
        seal is also a warning (the store was tampered with); an unsealed snapshot, or one
        that cannot be checked without the master key, is passed over quietly."""
        seal = seal_checked(self.sealer, stored)
        if seal is SealState.BROKEN:
            warnings.warn(  # for the operator's log, in English like every warning here
                f"the snapshot of {stored.originator_id} at version {stored.originator_version}"
                ": its seal does not verify (it was forged or altered); it is not used, its "
                "events are replayed instead; run `aidflow audit verify`",
                stacklevel=2,
            )
        return seal is SealState.SEALED


def _normal(transcoder: Any, state: dict[str, Any]) -> Any:
    """The state as the store would encode it, read back as plain JSON (order-insensitive)."""
    return json.loads(transcoder.encode(state))


def _problem(
    flow: Any, aggregate_id: UUID | str, stored: Any, seal: SealState | None
) -> str | None:
    """What is wrong with one stored snapshot, or None when its seal does not say it was
    altered and it equals a replay of its events (``seal`` None: not checked, no key)."""
    snapshots = flow.snapshots
    transcoder = snapshots.mapper.transcoder
    version = int(stored.originator_version)
    if seal is SealState.BROKEN:
        return (
            "its seal does not verify: it was forged or altered (or copied from another "
            "aggregate, version or store)"
        )
    try:
        snapshot = snapshots.mapper.read_unchecked(stored)
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
    if stored.topic != get_topic(type(fresh)):
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


_UNCHECKED = "no master key given, or this login holds no key"
"""Why a seal was not checked: an auditor needs no key, and an auditor's login holds none."""


def verify_snapshots(flow: Any, *, page_size: int = 1000) -> SnapshotVerification:
    """Every stored snapshot of every aggregate in ``flow`` (an ``AidFlow``): its seal, and
    its state against a replay of its events.

    Reads snapshots from the snapshot table itself (``flow.snapshots.recorder``), never
    through the aggregate repository or the store's ``get``, which pass over the ones
    that do not verify. A snapshot with no seal that agrees with its events is not damage
    (a store written before snapshots were sealed): it is counted as unsealed.
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
    checked = unsealed = unchecked = 0
    for aggregate_id in ids:
        for stored in snapshots.recorder.select_events(aggregate_id):
            checked += 1
            seal = seal_checked(snapshots.mapper, stored)
            unsealed += seal is SealState.UNSEALED
            unchecked += seal is None
            problem = _problem(flow, aggregate_id, stored, seal)
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
        notes = [f"{checked} stored snapshots agree with a replay of their events"]
        if unsealed:
            notes.append(
                f"{unsealed} unsealed (written before snapshots were sealed: commands replay "
                "their events instead, until the next snapshot is taken)"
            )
        if unchecked:
            notes.append(f"{unchecked} seals not checked ({_UNCHECKED})")
        message = "; ".join(notes)
    else:
        message = "; ".join(
            f"the snapshot of {f.aggregate_id} at version {f.version} was altered: {f.problem}"
            for f in findings
        )
    return SnapshotVerification(
        ok=ok,
        checked=checked,
        findings=findings,
        message=message,
        unsealed=unsealed,
        unchecked=unchecked,
    )
