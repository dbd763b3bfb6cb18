"""An aggregate written in stages: each stage's ``@event`` methods are the aggregate's own.

The student case keeps the rules of each stage beside the state changes they record, in plain
classes it derives from (aidflow/domain/case/); ``AidAggregate`` adopts their ``@event``
methods so the library applies them, on a command and on replay, as if written in one class.
"""

from __future__ import annotations

import inspect

import pytest
from eventsourcing.domain import Aggregate, CommandMethodDecorator, event

from aidflow.domain.base import AidAggregate
from aidflow.domain.case import StudentCase
from aidflow.domain.case import events as case_events


class TallyEvent(AidAggregate.Event):
    pass


class Started(TallyEvent, AidAggregate.Created):
    pass


class Counted(TallyEvent):
    by: int


class Counting:
    """A stage: a rule, and the state change it records."""

    count: int

    def add(self, by: int) -> None:
        if by <= 0:
            raise ValueError("a tally counts up")
        self._counted(by=by)

    @event(Counted)
    def _counted(self, *, by: int) -> None:
        self.count += by


class Tally(Counting, AidAggregate):
    Event = TallyEvent
    Started = Started
    Counted = Counted

    @event(Started)
    def __init__(self) -> None:
        self.count = 0


class CountedTwice(TallyEvent):
    by: int


class CountingAgain:
    @event(CountedTwice)
    def _counted(self, *, by: int) -> None:
        pass


def test_a_stage_records_its_events_and_they_replay() -> None:
    tally = Tally()
    tally.add(2)
    tally.add(3)
    recorded = tally.collect_events()
    assert [type(e) for e in recorded[1:]] == [Tally.Counted, Tally.Counted]
    assert issubclass(Tally.Counted, Counted) and Tally.Counted is not Counted
    replayed = None
    for recorded_event in recorded:
        replayed = recorded_event.mutate(replayed)
    assert isinstance(replayed, Tally) and replayed.count == tally.count == 5
    with pytest.raises(ValueError, match="counts up"):
        tally.add(0)
    assert tally.collect_events() == []


def test_one_state_change_written_in_two_stages_is_refused() -> None:
    with pytest.raises(TypeError, match="_counted is written in two stages"):

        class Muddled(Counting, CountingAgain, AidAggregate):
            Event = TallyEvent
            Started = Started
            Counted = Counted
            CountedTwice = CountedTwice


def test_a_subclass_of_a_staged_aggregate_adopts_nothing_again() -> None:
    """Adopting again would make the stage's method record the subclass's event class."""

    class Audited(Tally):
        pass

    assert "_counted" not in vars(Audited)
    tally = Tally()
    tally.add(1)
    assert type(tally.collect_events()[-1]) is Tally.Counted


def _stages(aggregate: type[Aggregate]) -> list[type]:
    return [c for c in aggregate.__mro__[1:] if not issubclass(c, Aggregate) and c is not object]


def test_every_state_change_of_the_case_is_the_aggregates_own() -> None:
    adopted = {
        name: stage
        for stage in _stages(StudentCase)
        for name, value in vars(stage).items()
        if isinstance(value, CommandMethodDecorator)
    }
    assert len(adopted) == 25  # every event but Applied, which __init__ applies
    for name, stage in adopted.items():
        assert vars(StudentCase)[name] is vars(stage)[name], name
    stored = [
        cls
        for name, cls in inspect.getmembers(case_events, inspect.isclass)
        if cls.__module__ == case_events.__name__ and name != "Event"
    ]
    assert len(stored) == 26
    for cls in stored:
        applied = getattr(StudentCase, cls.__name__)
        assert issubclass(applied, cls) and applied.TOPIC == cls.TOPIC, cls.__name__
