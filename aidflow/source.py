"""A store as a source of events, for anyone who reads it in notification order.

Anything with a name, a recorder and a mapper (``AidFlow`` is one) can feed the views,
the integration-event feed and the proofs, which keeps every dependency pointing one way:
the readers never import the application.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple, Protocol
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Mapper, Notification
from eventsourcing.sqlite import SQLiteApplicationRecorder

from aidflow.domain.errors import StoreDamaged


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
    """The stored records after position ``after`` (up to ``stop``), a page at a time; a
    record the library cannot read is :class:`StoreDamaged` naming it (:func:`unreadable`)."""
    while True:
        try:
            page = source.recorder.select_notifications(
                start=after, limit=size, stop=stop, inclusive_of_start=False
            )
        except ValueError as exc:
            raise unreadable(source, after, size, exc) from exc
        if not page:
            return
        yield list(page)
        after = page[-1].id
        if len(page) < size:
            return


class Placed(Protocol):
    """What names a stored record: its position and its topic."""

    @property
    def id(self) -> int: ...

    @property
    def topic(self) -> str: ...


class _Named(NamedTuple):
    id: int
    topic: str


def damaged(record: Placed, error: Exception) -> StoreDamaged:
    """A stored record that cannot be read, named by its position and topic."""
    return StoreDamaged(
        f"the stored record at position {record.id} ({record.topic}) cannot be decoded: {error}"
    )


def unreadable(source: EventSource, after: int | None, size: int, error: ValueError) -> Exception:
    """What the library refused in the page after ``after``, named: SQLite keeps a record's
    aggregate id as text, and the library reads a page whole, so one id that is not one
    (a hand on the file) failed every reader of the store with an internal error that named
    no record. Elsewhere (PostgreSQL keeps a uuid) the library's error as it is."""
    recorder = source.recorder
    if isinstance(recorder, SQLiteApplicationRecorder):
        statement = f"SELECT rowid, originator_id, topic FROM {recorder.events_table_name} WHERE rowid > ? ORDER BY rowid LIMIT ?"  # noqa: S608
        with recorder.datastore.transaction(commit=False) as c:
            c.execute(statement, [after or 0, size])
            for position, originator_id, topic in c.fetchall():
                try:
                    UUID(originator_id)
                except (TypeError, ValueError) as exc:
                    return damaged(_Named(position, topic), exc)
    return error


def head(source: EventSource) -> int:
    """The store's last notification position (0 when empty)."""
    return int(source.recorder.max_notification_id() or 0)
