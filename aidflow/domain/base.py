"""The aggregate base shared by cases, funds and the uniqueness keys."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from aidflow.domain import clock


class AidAggregate(Aggregate):
    """An ``eventsourcing`` aggregate whose events are stamped by :mod:`aidflow.domain.clock`."""

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
