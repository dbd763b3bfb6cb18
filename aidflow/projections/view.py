"""A view: tables written a page of events at a time, dispatching on event classes.

Each view declares the event classes it ``handles`` and those it ``ignores``;
together they must cover the catalogue (``aidflow.domain.events.CATALOGUE``, a
test holds every view to it). An event of any other class stops the view with
:class:`UndeclaredEvent` rather than being skipped: the runner records the
failure and the view waits, at its last good position, for code that knows it.

A view is also an ``eventsourcing`` ``TrackingRecorder`` (the library's own test
case runs against it); its position lives in :mod:`aidflow.projections.tracking`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from eventsourcing.persistence import Mapper, Notification, Tracking, TrackingRecorder
from sqlalchemy.engine import Connection, Engine

from aidflow.domain.errors import MasterKeyError, StoreDamaged
from aidflow.domain.events import EventClass, event_name
from aidflow.projections.base import db_time, masked_fields, reading, to_json, writing
from aidflow.projections.tracking import advance, positions


class UndeclaredEvent(LookupError):
    """A view met an event class it neither handles nor ignores."""


_NEVER = datetime.min.replace(tzinfo=UTC)


class _Undecodable:
    """The class of a stored record the mapper could not decode; no view declares it."""


class Envelope:
    """One event as the views see it: its stored record (for the chain) and its decoded form.

    Its stable name and the masked JSON of its fields are made once and shared
    by every view that stores them.
    """

    __slots__ = (
        "_at",
        "_detail",
        "_detail_json",
        "_name",
        "aggregate_id",
        "cls",
        "error",
        "event",
        "notification",
        "position",
        "recorded_at",
    )

    def __init__(self, notification: Notification, event: Any) -> None:
        self.notification = notification
        self.event = event
        self.cls: EventClass = type(event)
        self.position: int = notification.id
        self.aggregate_id: str = str(notification.originator_id)
        self.recorded_at: datetime = getattr(event, "timestamp", None) or _NEVER
        self.error: Exception | None = None
        self._name: str | None = None
        self._detail: dict[str, Any] | None = None
        self._detail_json: str | None = None
        self._at: tuple[str, Any] | None = None

    @classmethod
    def undecodable(cls, notification: Notification, error: Exception) -> Envelope:
        envelope = cls(notification, _Undecodable())
        envelope.error = StoreDamaged(
            f"the stored record at position {notification.id} ({notification.topic}) "
            f"cannot be decoded: {error}"
        )
        return envelope

    @property
    def name(self) -> str:
        """The event's stable catalogue name (``case.applied``); unknown classes raise."""
        if self._name is None:
            self._name = event_name(self.cls)
        return self._name

    def at(self, dialect: sa.Dialect) -> Any:
        """``recorded_at`` as the driver stores it (see :func:`db_time`), made once."""
        if self._at is None or self._at[0] != dialect.name:
            self._at = (dialect.name, db_time(dialect, self.recorded_at))
        return self._at[1]

    @property
    def detail(self) -> dict[str, Any]:
        """The event's own fields, national ID and bank account masked."""
        if self._detail is None:
            self._detail = masked_fields(self.event.__dict__)
        return self._detail

    @property
    def detail_json(self) -> str:
        """:attr:`detail` as JSON."""
        if self._detail_json is None:
            self._detail_json = to_json(self.detail)
        return self._detail_json


def envelopes(records: Sequence[Notification], mapper: Mapper[Any]) -> list[Envelope]:
    """Decode stored records; one that cannot be decoded stops each view when it reaches it."""
    page = []
    for record in records:
        try:
            page.append(Envelope(record, mapper.to_domain_event(record)))
        except MasterKeyError:
            raise  # no key, or the wrong one: the store is fine, the caller must give the key
        except Exception as exc:  # the views record it; nothing here may stop the others
            page.append(Envelope.undecodable(record, exc))
    return page


class SQLView(TrackingRecorder, ABC):
    """A read model: a few tables plus a tracking row, written a page of events at a time."""

    name: ClassVar[str]
    metadata: ClassVar[sa.MetaData]
    schema_version: ClassVar[int]
    """Raise it whenever the tables or what their rows mean change: stores are rebuilt on open."""
    handles: ClassVar[frozenset[EventClass]]
    ignores: ClassVar[frozenset[EventClass]]

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def wanted(self, page: Sequence[Envelope]) -> list[Envelope]:
        """The page's events this view handles; an undeclared class stops the view."""
        wanted = []
        for envelope in page:
            if envelope.cls in self.handles:
                wanted.append(envelope)
            elif envelope.cls not in self.ignores:
                self.refuse(envelope)
        return wanted

    def refuse(self, envelope: Envelope) -> None:
        """Stop at an event this view has not declared, saying what it was."""
        if envelope.error is not None:
            raise envelope.error
        cls = envelope.cls
        raise UndeclaredEvent(
            f"the {self.name} view neither handles nor ignores {cls.__module__}.{cls.__qualname__}"
            f" (position {envelope.position}); declare it in the view, then rebuild or catch up"
        )

    @abstractmethod
    def write(self, conn: Connection, page: Sequence[Envelope], *, after: int | None) -> None:
        """Turn a page of events into rows, with a bounded number of statements per page.

        ``after`` is the position the view had reached before this page.
        """

    def forget(self) -> None:
        """Drop anything cached in this process about the tables (after a rollback or rebuild)."""

    # -- the eventsourcing TrackingRecorder interface ------------------------------------

    def insert_tracking(self, tracking: Tracking) -> None:
        with writing(self.engine) as conn:
            tracked = positions(conn, tracking.application_name, lock=True)
            mine = {self.name: tracked[self.name]} if self.name in tracked else {}
            advance(conn, tracking.application_name, {self.name: tracking.notification_id}, mine)

    def max_tracking_id(self, application_name: str) -> int | None:
        with reading(self.engine) as conn:
            return positions(conn, application_name).get(self.name)
