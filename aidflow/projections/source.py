"""What the read side needs of the write side: a store's name, its recorder and its mapper.

The read side never imports the application: anything with these three
attributes (``AidFlow`` has them) can feed the views, which keeps the
dependency pointing one way (projections -> domain events).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Mapper, Notification


class EventSource(Protocol):
    """A store of events in notification order (``AidFlow`` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def recorder(self) -> ApplicationRecorder: ...

    @property
    def mapper(self) -> Mapper[UUID]: ...


class NotifyingSource(EventSource, Protocol):
    """A source that calls its listeners after every command it records (``AidFlow.listeners``)."""

    @property
    def listeners(self) -> list[Callable[[], None]]: ...


def pages(
    source: EventSource, after: int | None, stop: int | None, size: int
) -> Iterator[list[Notification]]:
    """The stored records after position ``after`` (up to ``stop``), a page at a time."""
    while True:
        page = source.recorder.select_notifications(
            start=after, limit=size, stop=stop, inclusive_of_start=False
        )
        if not page:
            return
        yield list(page)
        after = page[-1].id
        if len(page) < size:
            return


def head(source: EventSource) -> int:
    """The store's last notification position (0 when empty)."""
    return int(source.recorder.max_notification_id() or 0)
