"""A store as a source of events, for anyone who reads it in notification order.

Anything with a name, a recorder and a mapper (``AidFlow`` is one) can feed the views,
the integration-event feed and the proofs, which keeps every dependency pointing one way:
the readers never import the application.
"""

from __future__ import annotations

from collections.abc import Iterator
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
