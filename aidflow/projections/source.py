"""What the read side needs of the write side: an :class:`~aidflow.source.EventSource`,
and its stored records read as fast as the driver gives them.

The read side never imports the application: anything with a name, a recorder and a
mapper (``AidFlow`` has them) can feed the views, which keeps the dependency pointing
one way (projections -> domain events).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.sqlite import SQLiteApplicationRecorder

from aidflow.source import EventSource, damaged, head, pages

__all__ = [
    "EventSource",
    "NotifyingSource",
    "Stored",
    "StoredRecord",
    "damaged",
    "head",
    "pages",
    "read_page",
]


class NotifyingSource(EventSource, Protocol):
    """A source that calls its listeners after every command it records, with the records
    the command stored (``AidFlow.listeners``)."""

    @property
    def listeners(self) -> list[Callable[[Sequence[Notification]], None]]: ...


# -- stored records, read straight from the driver ------------------------------------------


class Stored(Protocol):
    """A stored event as the views read it: a library ``Notification`` or a :class:`StoredRecord`."""

    @property
    def id(self) -> int: ...

    @property
    def originator_id(self) -> UUID | str: ...

    @property
    def originator_version(self) -> int: ...

    @property
    def topic(self) -> str: ...

    @property
    def state(self) -> bytes: ...


class StoredRecord:
    """A stored event read from SQLite by :func:`read_page`: its aggregate id as the text the
    views store (``str(uuid)``), made without a ``UUID`` object per record, and only when
    asked for (a view rebuilt alone never asks it of the records it does not read)."""

    __slots__ = ("_as_stored", "_id_text", "id", "originator_version", "state", "topic")

    def __init__(self, position: int, originator_id: str, version: int, topic: str, state: bytes):
        self.id, self._as_stored, self.originator_version = position, originator_id, version
        self.topic, self.state = topic, state
        self._id_text: str | None = None

    @property
    def originator_id(self) -> str:
        """The aggregate id as ``str(uuid)`` writes it (:func:`uuid_text` of the stored text)."""
        text = self._id_text
        if text is None:
            try:
                text = self._id_text = uuid_text(self._as_stored)
            except ValueError as exc:  # not an id: the record is damaged, and says where
                raise damaged(self, exc) from exc
        return text

    def notification(self) -> Notification:
        """The library's form, for its mapper."""
        return Notification(
            id=self.id,
            originator_id=UUID(self._as_stored),
            originator_version=self.originator_version,
            topic=self.topic,
            state=self.state,
        )


def as_notification(record: Stored) -> Notification:
    """What the library's mapper decodes."""
    return record.notification() if isinstance(record, StoredRecord) else record  # type: ignore[return-value]


_LOWER_HEX = frozenset("0123456789abcdef")


def uuid_text(data: str) -> str:
    """``str(UUID(data))``: 32 lowercase hex digits (what the library stores) are hyphenated
    here; anything else is read as ``UUID`` reads it (and refused where it refuses)."""
    if len(data) == 32 and _LOWER_HEX.issuperset(data):
        return f"{data[:8]}-{data[8:12]}-{data[12:16]}-{data[16:20]}-{data[20:]}"
    return str(UUID(data))


def read_page(
    source: EventSource, after: int | None, limit: int, stop: int | None
) -> Sequence[Stored]:
    """The stored records after position ``after`` (up to ``stop``), at most ``limit``.

    On the library's SQLite recorder the rows are read straight from the driver, the
    same statement as its ``select_notifications`` (records in rowid order), without a
    ``UUID`` and a ``Notification`` per record: that was a tenth of a rebuild. Other
    recorders (PostgreSQL, a subclass with its own ``select_notifications``) are asked
    through the library.
    """
    recorder = source.recorder
    if not (
        isinstance(recorder, SQLiteApplicationRecorder)
        and type(recorder).select_notifications is SQLiteApplicationRecorder.select_notifications
    ):
        return recorder.select_notifications(
            start=after, limit=limit, stop=stop, inclusive_of_start=False
        )
    table = recorder.events_table_name  # the library's own
    statement = f"SELECT rowid, originator_id, originator_version, topic, state FROM {table} WHERE rowid > ?"  # noqa: S608
    params: list[int] = [after or 0]
    if stop is not None:
        statement += " AND rowid <= ?"
        params.append(stop)
    statement += " ORDER BY rowid LIMIT ?"
    params.append(limit)
    with recorder.datastore.transaction(commit=False) as c:
        c.execute(statement, params)
        return [StoredRecord(*row) for row in c.fetchall()]
