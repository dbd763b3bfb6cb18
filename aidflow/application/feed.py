"""The integration-event feed: aid events for other services, masked, versioned, by position.

An :class:`IntegrationEvent` is the public form of one stored event: its stable name
(``case.disbursed``, from :func:`aidflow.domain.events.event_name`), a schema version,
its position in the store's global order (the notification id), the time, the actor,
the aggregate it belongs to, and its fields with the national ID and bank account
masked (``5203**********1234``). Internal topics never appear.

Reading is resumable: ``read(flow, after=N)`` returns the events after position N in
order; keep the last position you processed and ask again after it. Positions only grow
and are committed in order (PostgreSQL serialises inserts into the notification
sequence; SQLite has one writer), so nothing is skipped or repeated; positions may have
holes where a transaction rolled back. :func:`follow` polls for new events
(through :func:`aidflow.polling.poll`, the one wait loop).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from threading import Event
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from aidflow.domain.events import UnknownEvent, event_name
from aidflow.domain.masking import masked, plain
from aidflow.polling import poll

if TYPE_CHECKING:
    from collections.abc import Iterable

    from eventsourcing.persistence import Notification

    from aidflow.source import EventSource

SCHEMA_VERSION = 2
"""Bumped when a field of :class:`IntegrationEvent` changes meaning or goes away (2: names
in ``data`` are masked, issue 11)."""
MAX_LIMIT = 1000


class IntegrationEvent(BaseModel):
    """One aid event as other services see it."""

    position: int
    name: str
    schema_version: int = SCHEMA_VERSION
    recorded_at: datetime
    actor: str
    aggregate_id: str
    aggregate_version: int
    data: dict[str, Any]


def public(domain_event: Any, position: int) -> IntegrationEvent | None:
    """The integration form of a domain event; None for a class outside the catalogue."""
    try:
        name = event_name(type(domain_event))
    except UnknownEvent:
        return None
    fields = masked(domain_event, keyless=False)
    return IntegrationEvent(
        position=position,
        name=name,
        recorded_at=domain_event.timestamp,
        actor=str(fields.get("actor", "")),
        aggregate_id=str(domain_event.originator_id),
        aggregate_version=int(domain_event.originator_version),
        data=plain(fields),
    )


def from_notifications(
    flow: EventSource, notifications: Iterable[Notification]
) -> list[IntegrationEvent]:
    out = []
    for n in notifications:
        item = public(flow.mapper.to_domain_event(n), n.id)
        if item is not None:
            out.append(item)
    return out


def read(flow: EventSource, *, after: int = 0, limit: int = 100) -> list[IntegrationEvent]:
    """Up to ``limit`` events after position ``after``, in order."""
    limit = max(1, min(limit, MAX_LIMIT))
    notifications = flow.recorder.select_notifications(
        start=max(after, 0), limit=limit, inclusive_of_start=False
    )
    return from_notifications(flow, notifications)


def head(flow: EventSource) -> int:
    """The position of the newest stored event (0 when none)."""
    return flow.recorder.max_notification_id() or 0


def follow(
    flow: EventSource,
    *,
    after: int = 0,
    poll_seconds: float = 0.5,
    stop: Event | None = None,
    page: int = 500,
) -> Iterator[IntegrationEvent]:
    """Every event after ``after``, then each new one as it is recorded, until ``stop`` is set."""
    position = after

    def read_next() -> list[IntegrationEvent]:
        return read(flow, after=position, limit=page)

    while True:
        batch = poll(read_next, poll_seconds=poll_seconds, stop=stop)
        if not batch:
            return  # stopped
        for item in batch:
            position = item.position
            yield item


def wait_for(
    flow: EventSource, *, after: int, limit: int, timeout: float, poll_seconds: float = 0.2
) -> list[IntegrationEvent]:
    """Long poll: events after ``after``, waiting up to ``timeout`` seconds for the first."""
    deadline = time.monotonic() + max(0.0, timeout)
    found = poll(
        lambda: read(flow, after=after, limit=limit), poll_seconds=poll_seconds, deadline=deadline
    )
    return found or []


Subscriber = Callable[[IntegrationEvent], None]
