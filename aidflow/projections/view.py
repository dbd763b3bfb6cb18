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

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, ClassVar

import orjson
import sqlalchemy as sa
from eventsourcing.persistence import Mapper, Tracking, TrackingRecorder
from eventsourcing.utils import resolve_topic
from sqlalchemy.engine import Connection, Engine

from aidflow.domain.errors import MasterKeyError, StoreDamaged, StoreUnavailable
from aidflow.domain.events import EventClass, event_name
from aidflow.domain.masking import ENCRYPTED, stored_form
from aidflow.privacy import TOKEN, personal_fields
from aidflow.projections.base import db_time, public_fields, reading, to_json, writing
from aidflow.projections.source import Stored, as_notification, damaged, uuid_text
from aidflow.projections.tracking import advance, positions


class UndeclaredEvent(LookupError):
    """A view met an event class it neither handles nor ignores."""


_NEVER = datetime.min.replace(tzinfo=UTC)


class _Undecodable:
    """The class of a stored record the mapper could not decode; no view declares it."""


class _NotPlain(Exception):
    """The stored JSON holds something only the library's decoder reads as the event has it."""


_CLASSES: dict[str, EventClass] = {}
_PERSONAL: dict[EventClass, frozenset[str]] = {}
_STORED_META = frozenset({"timestamp", "originator_topic"})
_NOT_THE_RECORD = (MasterKeyError, StoreUnavailable)
"""Errors met reading a record that say nothing about it (no key, or the wrong one; the key
tables out of reach): raised to the caller, never recorded as the record's damage."""


def _class_of(topic: str) -> EventClass:
    """The event class of a stored topic (resolved once per process)."""
    cls = _CLASSES.get(topic)
    if cls is None:
        cls = resolve_topic(topic)
        _PERSONAL[cls] = frozenset(personal_fields(cls))
        _CLASSES[topic] = cls
    return cls


def _date_text(data: str) -> str:
    return date.fromisoformat(data).isoformat()


def _datetime_text(data: str) -> str:
    return datetime.fromisoformat(data).isoformat()


_TAGS: dict[str, Callable[[str], str]] = {
    "uuid_hex": uuid_text,
    "date_iso": _date_text,
    "datetime_iso": _datetime_text,
}
"""The transcoder's tagged values and their text in the views: what decoding them and
:func:`~aidflow.domain.masking.plain` make of them (``str(uuid)``, ``isoformat()``)."""


def _plain_stored(value: Any) -> Any:
    """A stored JSON value as :func:`~aidflow.domain.masking.plain` makes the decoded one."""
    kind = type(value)
    if kind is dict:
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            kind_name, data = value["_type_"], value["_data_"]
            tag = _TAGS.get(kind_name) if type(kind_name) is str else None
            if tag is None or type(data) is not str:
                raise _NotPlain  # a transcoding the views do not read as text
            try:
                return tag(data)
            except ValueError:
                raise _NotPlain from None  # the decoder refuses it too, and says why
        return {k: _plain_stored(v) for k, v in value.items()}
    if kind is list:
        return [_plain_stored(v) for v in value]
    if kind is float:
        raise _NotPlain  # orjson reads integers beyond 64 bits as floats; json keeps them
    return value


class Envelope:
    """One stored record as the views see it: its class, its masked fields, and on demand
    the domain event itself.

    Decoding a record into a domain event (the library's transcoder, UUID and
    datetime objects, decrypting personal fields) is most of what reading the
    store costs, and the audit view needs little of it: its rows are the stored
    fields, masked, as text. So the envelope parses the stored JSON once
    (orjson) and derives from it the masked, JSON-ready fields every view stores
    (:attr:`detail`); :attr:`event` decodes through the mapper only when a view
    asks for it (none of the three views does: each opens single personal fields,
    :meth:`personal`, where a row needs a decrypted value). Both readings give the same
    values (``tests/integration/test_envelopes.py``); where the stored JSON holds
    anything the plain reading cannot match (an upcast, a transcoding other than
    UUIDs and dates, a number beyond 64 bits), :attr:`detail` comes from the
    decoded event instead.
    """

    __slots__ = (
        "_aggregate_id",
        "_at",
        "_detail",
        "_detail_json",
        "_event",
        "_from_stored",
        "_mapper",
        "_name",
        "_opened",
        "_stamped",
        "_stored",
        "cls",
        "error",
        "notification",
        "position",
        "recorded_at",
    )

    def __init__(
        self,
        notification: Stored,
        cls: EventClass,
        mapper: Mapper[Any] | None,
        *,
        stored: dict[str, Any] | None = None,
        event: Any = None,
    ) -> None:
        self.notification = notification
        self.cls = cls
        self.position: int = notification.id
        self._aggregate_id: str | None = None
        self.error: Exception | None = None
        self._stored = stored
        self._event = event
        self._mapper = mapper
        self._name: str | None = None
        self._detail: dict[str, Any] | None = None
        self._detail_json: str | None = None
        self._from_stored = False
        self._opened: dict[str, Any] | None = None
        self._at: tuple[str, Any] | None = None
        self._stamped = event is None and stored is not None
        """Whether ``recorded_at`` was read from the stored JSON (its text is then reused)."""
        self.recorded_at: datetime = (
            _timestamp(stored)
            if event is None and stored is not None
            else getattr(event, "timestamp", None) or _NEVER
        )

    @classmethod
    def undecodable(
        cls, notification: Stored, error: Exception, kind: EventClass = _Undecodable
    ) -> Envelope:
        """A record that cannot be read, of class ``kind`` where its topic names one: it
        stops the views that handle that class (:meth:`SQLView.wanted`), and only them."""
        envelope = cls(notification, kind, None, event=_Undecodable())
        envelope.error = damaged(notification, error)
        return envelope

    @property
    def event(self) -> Any:
        """The domain event, decoded (and its personal fields decrypted) on first use."""
        if self._event is None:
            if self.error is not None:
                raise self.error
            assert self._mapper is not None
            try:
                self._event = self._mapper.to_domain_event(as_notification(self.notification))
            except _NOT_THE_RECORD:
                raise  # the store is fine: the caller must give the key, or ask again
            except Exception as exc:
                self.error = damaged(self.notification, exc)
                raise self.error from exc
        return self._event

    def personal(self, field: str) -> Any:
        """One personal field as the decoded event has it (a :class:`~aidflow.domain.values.Sealed`
        value, or text stored in clear by v0.1.0), decrypting that field alone (once)."""
        opened = self._opened
        if opened is None:
            opened = self._opened = {}
        if field not in opened:
            try:
                opened[field] = self._open(field)
            except StoreDamaged as exc:
                opened[field] = exc
        found = opened[field]
        if isinstance(found, StoreDamaged):
            raise found
        return found

    def _open(self, field: str) -> Any:
        stored = self._stored
        if self._event is not None or stored is None:
            return getattr(self.event, field)
        if field not in stored:  # added after the record was written: the class's default
            if not hasattr(self.cls, field):
                raise damaged(self.notification, KeyError(field))
            return getattr(self.cls, field)
        value = stored[field]
        if type(value) is not str or not value.startswith(TOKEN):
            return value
        vault = getattr(self._mapper, "vault", None)
        if vault is None:
            return getattr(self.event, field)  # the mapper says what is missing
        try:
            return vault.open(field, value)
        except (*_NOT_THE_RECORD, StoreDamaged):
            raise
        except Exception as exc:
            raise damaged(self.notification, exc) from exc

    def prepare(self, *, decode: bool, fields: Iterable[str] = ()) -> None:
        """Decode the event, or open these personal fields, now: before the views' transaction.

        Decoding and opening may touch the key tables in the same database, which a
        view's open write transaction holds locked: a case stored in clear (v0.1.0)
        gets its student's key bound on first read (``PrivacyMapper``), and the vault
        reads its keys on its own connection. What cannot be decoded keeps its error
        for the view that asks for it; a missing master key is raised at once.
        """
        if self.error is not None:
            return  # the views that handle it stop on it
        if decode and self._event is None:
            with contextlib.suppress(StoreDamaged):
                _ = self.event
        with contextlib.suppress(StoreDamaged):
            _ = self.detail  # decodes here if the stored JSON cannot be read plainly
        for field in fields:
            with contextlib.suppress(StoreDamaged):
                self.personal(field)

    @property
    def aggregate_id(self) -> str:
        """The aggregate's id as text (``str(uuid)``), made on first use: most records a view
        rebuilt alone reads are of classes it skips, and never need it."""
        found = self._aggregate_id
        if found is None:
            found = self._aggregate_id = str(self.notification.originator_id)
        return found

    @property
    def name(self) -> str:
        """The event's stable catalogue name (``case.applied``); unknown classes raise."""
        if self._name is None:
            self._name = event_name(self.cls)
        return self._name

    def at(self, dialect: sa.Dialect) -> Any:
        """``recorded_at`` as the driver stores it (see :func:`db_time`), made once."""
        if self._at is None or self._at[0] != dialect.name:
            text = _utc_text(self._stored) if self._stamped and dialect.name == "sqlite" else None
            self._at = (dialect.name, text or db_time(dialect, self.recorded_at))
        return self._at[1]

    def recorded_at_iso(self) -> str:
        """``recorded_at`` in UTC as ``isoformat()`` writes it: the stored text where it is
        that already, else formatted (every event's leaf shows it)."""
        text = _iso_utc(self._stored) if self._stamped else None
        return text or self.recorded_at.astimezone(UTC).isoformat()

    @property
    def detail(self) -> dict[str, Any]:
        """The event's own fields as :func:`public_fields` makes them: JSON-ready (UUIDs and
        dates as text), national ID and account masked, encrypted ones ``[encrypted]``."""
        if self._detail is None:
            found = None if self._stored is None else _plain_detail(self.cls, self._stored)
            self._from_stored = found is not None
            self._detail = public_fields(self.event) if found is None else found
        return self._detail

    @property
    def detail_json(self) -> str:
        """:attr:`detail` as JSON."""
        if self._detail_json is None:
            detail = self.detail
            self._detail_json = to_json(detail, plain=self._from_stored)
        return self._detail_json


def _timestamp(stored: dict[str, Any]) -> datetime:
    stamp = stored.get("timestamp")
    if type(stamp) is dict and stamp.get("_type_") == "datetime_iso":
        return datetime.fromisoformat(stamp["_data_"])
    return _NEVER


def _iso_utc(stored: dict[str, Any] | None) -> str | None:
    """The stored time's text where it is ``isoformat()`` of a UTC time, as the library writes
    its own (``2026-09-01T08:00:00.123456+00:00``, or without the fraction): the text
    :attr:`Envelope.recorded_at` was parsed from, so the same as formatting it again. None for
    any other form (another zone, ``Z``, a comma, no time): the caller formats the time."""
    stamp = None if stored is None else stored.get("timestamp")
    if type(stamp) is not dict or stamp.get("_type_") != "datetime_iso":
        return None  # as _timestamp reads it: no time of its own
    text = stamp.get("_data_")
    if (
        type(text) is str
        and len(text) in (25, 32)
        and text.endswith("+00:00")
        and text[4] == text[7] == "-"
        and text[10] == "T"
        and text[13] == text[16] == ":"
        and (len(text) == 25 or text[19] == ".")
    ):
        return text
    return None


def _utc_text(stored: dict[str, Any] | None) -> str | None:
    """The stored time's text in SQLite's form (see :func:`db_time`), cut from the stored
    ISO text where it is that (:func:`_iso_utc`) instead of formatting the time again (a
    twentieth of the dossier's rebuild)."""
    text = _iso_utc(stored)
    if text is None:
        return None
    return f"{text[:10]} {text[11:26]}" if len(text) == 32 else f"{text[:10]} {text[11:19]}.000000"


def _plain_detail(cls: EventClass, stored: dict[str, Any]) -> dict[str, Any] | None:
    """:attr:`Envelope.detail` from the stored JSON, or None where only decoding can say."""
    if "class_version" in stored or getattr(cls, "class_version", 1) != 1:
        return None  # the library upcasts it on decoding (a v1 record stores no version)
    personal = _PERSONAL[cls]
    detail: dict[str, Any] = {}
    try:
        for key, value in stored.items():
            if key in _STORED_META:
                continue
            if type(value) is str:
                sealed = key in personal and value.startswith(TOKEN)  # with or without its key
                detail[key] = ENCRYPTED if sealed else stored_form(key, value)
            else:
                detail[key] = _plain_stored(value)
    except _NotPlain:
        return None
    return detail


def read_keys_ahead(page: Sequence[Envelope], fields: Mapping[EventClass, Iterable[str]]) -> None:
    """Read the data keys of the sealed fields the views will open on this page together
    (:meth:`aidflow.privacy.Vault.read_ahead`), not one statement per student."""
    tokens: list[str] = []
    vault = None
    for envelope in page:
        wanted, stored = fields.get(envelope.cls), envelope._stored
        if wanted and stored is not None and envelope._event is None:
            tokens += [stored[f] for f in wanted if f in stored]
            vault = vault or getattr(envelope._mapper, "vault", None)
    if tokens and vault is not None:
        vault.read_ahead(tokens)


def envelopes(
    records: Sequence[Stored], mapper: Mapper[Any], *, parse: Container[EventClass] | None = None
) -> list[Envelope]:
    """The stored records as envelopes.

    Each record's JSON is parsed here, where its class is one the views will read
    (``parse``; None: every record): a record that is not JSON stops every view that
    handles its class when it reaches it, one whose topic names no class every view.
    A record of a class no view reads is left as it is stored (its time unread), and
    decoded only if something asks for its fields: a rebuild of the queue alone
    parsed three records for every one it reads (a seventh of its time). The mapper decodes a
    record into a domain event only when a view asks (:attr:`Envelope.event`), so
    one that parses but does not decode (a forged tag, a ciphertext that does not
    open) stops the views that decode it; the audit view stores its fields as they
    are, and ``audit verify`` finds the changed bytes. A store written with the
    library's compressor or cipher is decoded by the mapper at once.
    """
    direct = mapper.compressor is None and mapper.cipher is None
    page = []
    for record in records:
        cls: EventClass = _Undecodable
        try:
            cls = _class_of(record.topic)
            if parse is not None and cls not in parse:
                page.append(Envelope(record, cls, mapper))  # read by no view
                continue
            if direct:
                try:
                    stored = orjson.loads(record.state)
                except orjson.JSONDecodeError:
                    stored = None  # the library's decoder says why, or reads what orjson cannot
                if type(stored) is dict:
                    page.append(Envelope(record, cls, mapper, stored=stored))
                    continue
            event = mapper.to_domain_event(as_notification(record))
            page.append(Envelope(record, cls, mapper, event=event))
        except _NOT_THE_RECORD:
            raise  # the store is fine: the caller must give the key, or ask again
        except Exception as exc:  # the views record it; nothing here may stop the others
            page.append(Envelope.undecodable(record, exc, cls))
    return page


class SQLView(TrackingRecorder, ABC):
    """A read model: a few tables plus a tracking row, written a page of events at a time."""

    name: ClassVar[str]
    metadata: ClassVar[sa.MetaData]
    schema_version: ClassVar[int]
    """Raise it whenever the tables or what their rows mean change: stores are rebuilt on open."""
    handles: ClassVar[frozenset[EventClass]]
    ignores: ClassVar[frozenset[EventClass]]
    personal_columns: ClassVar[dict[str, frozenset[str]]] = {}
    """Per table, the columns made from sealed personal data (a masked name, a pseudonym;
    ``detail.account_masked`` for a key inside a JSON column): left out when the view is
    compared with a replay made without the master key (issue 22 §3)."""
    decodes: ClassVar[bool] = True
    """Whether the writer reads the domain events it handles (:attr:`Envelope.event`), which the
    runner then decodes before the write transaction; False when it reads only the stored fields."""
    opens: ClassVar[dict[EventClass, tuple[str, ...]]] = {}
    """Personal fields the writer reads decrypted (:meth:`Envelope.personal`), by event class:
    the runner opens them before the write transaction."""
    rebuild_weight: ClassVar[int] = 1
    """How a rebuild of this view ranks by cost among the others (``bench.py rebuild``, 100k
    events: the audit view 3.6 times the queue, the dossier 2.2 times): views rebuilt in
    processes of their own start heaviest first, so the heaviest never waits for a core."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def wanted(self, page: Sequence[Envelope]) -> list[Envelope]:
        """The page's events this view handles; an undeclared class, or a record of a
        class it handles that cannot be read, stops the view."""
        wanted = []
        for envelope in page:
            if envelope.cls in self.handles:
                if envelope.error is not None:
                    raise envelope.error
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
