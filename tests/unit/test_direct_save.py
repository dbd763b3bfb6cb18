"""``DirectSave.save`` records, snapshots and tells exactly what the library's save does, and
``project`` replays as the library's ``project_aggregate`` does."""

from __future__ import annotations

import copy
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application, project_aggregate
from eventsourcing.domain import Aggregate, event

from aidflow.application.direct import DirectSave, project


class Counter(Aggregate):
    @event("Started")
    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0

    @event("Counted")
    def count_one(self) -> None:
        self.count += 1


class Library(Application[UUID]):
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Counter: 3}

    def __init__(self) -> None:
        super().__init__()
        self.told: list[int] = []

    def _notify(self, recordings: Any) -> None:
        self.told.append(len(recordings))


class Direct(DirectSave, Library):
    pass


def _stored(app: Application[UUID]) -> list[tuple[Any, ...]]:
    return [
        (n.originator_id, n.originator_version, n.topic, n.state)
        for n in app.recorder.select_notifications(start=None, limit=100)
    ]


def test_the_same_objects_saved_either_way_record_the_same() -> None:
    first, second = Counter(name="a"), Counter(name="b")
    for _ in range(4):
        first.count_one()
    lone = Counter(name="c")
    (lone_event,) = lone.collect_events()  # an event given alone, not its aggregate
    objects: list[Any] = [first, None, second, lone_event]
    theirs, mine = Library(), Direct()
    recorded_theirs = theirs.save(*copy.deepcopy(objects))
    recorded_mine = mine.save(*objects)
    assert _stored(mine) == _stored(theirs) and len(_stored(mine)) == 7
    assert [r.notification.id for r in recorded_mine] == [
        r.notification.id for r in recorded_theirs
    ]
    assert mine.told == theirs.told == [7]
    assert mine.snapshots is not None and theirs.snapshots is not None
    mine_snapshot = list(mine.snapshots.get(first.id))
    assert [s.originator_version for s in mine_snapshot] == [3]
    assert [s.originator_version for s in theirs.snapshots.get(first.id)] == [3]
    assert mine.repository.get(first.id).count == 4  # the aggregate kept for the cache too
    assert first.pending_events == []


def test_a_replay_without_protocol_checks_gives_the_same_aggregate() -> None:
    app = Direct()
    counter = Counter(name="d")
    for _ in range(5):
        counter.count_one()
    app.save(counter)
    events = list(app.events.get(counter.id))
    mine, theirs = project(None, events), project_aggregate(None, events)
    assert isinstance(mine, Counter) and isinstance(theirs, Counter)
    assert (mine.id, mine.version, mine.name, mine.count) == (counter.id, 6, "d", 5)
    assert (theirs.id, theirs.version, theirs.name, theirs.count) == (mine.id, 6, "d", 5)
    assert project(mine, []) is mine and project(None, []) is None
