"""The aggregate base shared by cases, funds and the uniqueness keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, CommandMethodDecorator

from aidflow.domain import clock
from aidflow.domain.errors import ClockWentBack, said


class AidAggregate(Aggregate):
    """An ``eventsourcing`` aggregate whose events are stamped by :mod:`aidflow.domain.clock`.

    An aggregate may be written in stages: plain classes it derives from, each holding the
    rules of one stage beside the ``@event`` methods that apply that stage's events (the
    student case). The library reads ``@event`` methods from the aggregate's own
    ``__dict__`` only, so :meth:`__init_subclass__` adopts the stages' methods there first.
    """

    class Event(Aggregate.Event):
        @staticmethod
        def create_timestamp() -> datetime:
            return clock.now()

    class Created(Event, Aggregate.Created):
        pass

    id: UUID
    version: int
    created_on: datetime
    modified_on: datetime

    def trigger_event(self, event_class: type[Any], **kwargs: Any) -> None:
        """Record the next event, never stamped before this record's last one: a writer whose
        clock went back would otherwise put a 2020 event after 2026 ones, and every "as of"
        question would count it in the wrong year. Refused, nothing recorded; within
        :data:`~aidflow.domain.clock.CLOCK_TOLERANCE` it is a concurrent writer's race, and
        the event takes the record's last time."""
        stamped = kwargs.pop("timestamp", None) or event_class.create_timestamp()
        if self.modified_on - clock.CLOCK_TOLERANCE <= stamped < self.modified_on:
            stamped = self.modified_on  # another writer got in a moment after this one began
        elif stamped < self.modified_on:
            raise ClockWentBack(
                said(
                    "the clock says {now}, before this record's last event at {then}; set the machine's clock right, nothing was recorded",
                    now=stamped.isoformat(timespec="seconds"),
                    then=self.modified_on.isoformat(timespec="seconds"),
                ),
                ids={"aggregate_id": str(self.id)},
            )
        super().trigger_event(event_class, timestamp=stamped, **kwargs)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        _adopt_stage_events(cls)
        super().__init_subclass__(**kwargs)


def _adopt_stage_events(cls: type[Aggregate]) -> None:
    """Copy the ``@event`` methods of ``cls``'s stages (bases that are not aggregates, nor
    inherited through one) into ``cls.__dict__``; one name written in two stages is refused."""
    inherited = {c for base in cls.__mro__[1:] if issubclass(base, Aggregate) for c in base.__mro__}
    written_in: dict[str, type] = {}
    for stage in cls.__mro__[1:]:
        if stage in inherited:
            continue
        for name, value in vars(stage).items():
            if not isinstance(value, CommandMethodDecorator):
                continue
            if name in written_in:
                raise TypeError(
                    f"{cls.__name__}.{name} is written in two stages: "
                    f"{written_in[name].__name__} and {stage.__name__}"
                )
            written_in[name] = stage
            if name not in vars(cls):
                setattr(cls, name, value)
