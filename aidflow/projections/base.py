"""The read side's frame: SQLAlchemy views that are ``eventsourcing`` tracking recorders.

A view writes its rows and its tracking position in one transaction, a page of
events at a time, so a crash between pages loses nothing and replaying a page
that was already tracked changes nothing. The same code runs on SQLite and
PostgreSQL because it speaks SQLAlchemy Core.
"""

from __future__ import annotations

import json
import operator
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any, ClassVar
from uuid import UUID

import sqlalchemy as sa
from eventsourcing.persistence import IntegrityError, Notification, Tracking, TrackingRecorder
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.types import TypeDecorator

from aidflow.config import sqlite_path
from aidflow.domain.errors import InvalidInput
from aidflow.domain.values import mask_identifier


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on SQLite (naive text) and PostgreSQL."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


TRACKING_METADATA = sa.MetaData()

tracking_table = sa.Table(
    "aidflow_tracking",
    TRACKING_METADATA,
    sa.Column("view", sa.String(64), primary_key=True),
    sa.Column("application_name", sa.String(64), primary_key=True),
    sa.Column("notification_id", sa.BigInteger, nullable=False),
)


_ADVANCE = (
    sa.update(tracking_table)
    .where(
        tracking_table.c.view == sa.bindparam("v"),
        tracking_table.c.application_name == sa.bindparam("a"),
        tracking_table.c.notification_id < sa.bindparam("n"),
    )
    .values(notification_id=sa.bindparam("n"))
)


def tracked_positions(
    conn: Connection, application_name: str, *, lock: bool = False
) -> dict[str, int]:
    """Every view's tracked position, in one query; locked (PostgreSQL) for the transaction."""
    query = sa.select(tracking_table.c.view, tracking_table.c.notification_id).where(
        tracking_table.c.application_name == application_name
    )
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return {view: int(position) for view, position in conn.execute(query)}


def advance_positions(
    conn: Connection,
    application_name: str,
    views: Sequence[str],
    tracked: dict[str, int],
    position: int,
) -> None:
    """Move every named view's tracked position to ``position`` in one statement.

    ``tracked`` is what this transaction read under lock; a position that moved in
    between, or would go back, is refused with IntegrityError (the page rolls back).
    """
    known = [v for v in views if v in tracked]
    if known:
        moved = conn.execute(
            sa.update(tracking_table)
            .where(
                tracking_table.c.application_name == application_name,
                tracking_table.c.view.in_(known),
                tracking_table.c.notification_id < position,
            )
            .values(notification_id=position)
        )
        if moved.rowcount != len(known):
            raise IntegrityError(
                f"views {', '.join(known)} were already at or past position {position}"
            )
    for view in views:
        if view not in tracked:
            conn.execute(
                sa.insert(tracking_table).values(
                    view=view, application_name=application_name, notification_id=position
                )
            )


class Envelope:
    """One event as the views see it: its stored record (for the chain) and its decoded form.

    The masked JSON of its fields is made once and shared by every view that stores it.
    """

    __slots__ = (
        "_at",
        "_detail_json",
        "aggregate_id",
        "event",
        "notification",
        "position",
        "recorded_at",
        "type",
    )

    def __init__(self, notification: Notification, event: Any) -> None:
        self.notification = notification
        self.event = event
        self.position: int = notification.id
        self.type: str = type(event).__qualname__  # "StudentCase.Applied", "Fund.Deposited", ...
        self.aggregate_id: str = str(event.originator_id)
        self.recorded_at: datetime = event.timestamp
        self._detail_json: str | None = None
        self._at: tuple[str, Any] | None = None

    def at(self, dialect: sa.Dialect) -> Any:
        """``recorded_at`` as the driver stores it (see :func:`db_time`), made once."""
        if self._at is None or self._at[0] != dialect.name:
            self._at = (dialect.name, db_time(dialect, self.recorded_at))
        return self._at[1]

    @property
    def detail_json(self) -> str:
        """The event's own fields as JSON, national ID and bank account masked."""
        if self._detail_json is None:
            fields = self.event.__dict__
            self._detail_json = json.dumps(
                {
                    k: mask_identifier(v) if k in _PERSONAL else v
                    for k, v in fields.items()
                    if k not in _META
                },
                ensure_ascii=False,
                separators=(",", ":"),
                default=_json_default,
            )
        return self._detail_json


_META = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})
_PERSONAL = frozenset({"student_id", "account"})


def plain(value: Any) -> Any:
    """A JSON-ready copy of an event field: UUIDs and dates as text."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def public_data(fields: dict[str, Any]) -> dict[str, Any]:
    """Event fields made JSON-ready, national ID and bank account masked: safe for any view."""
    return {
        key: mask_identifier(value) if key in _PERSONAL else plain(value)
        for key, value in fields.items()
        if key not in _META
    }


def _json_default(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


def public_fields(event: Any) -> dict[str, Any]:
    """An event's own fields, as :func:`public_data` makes them."""
    return public_data(event.__dict__)


def dumps(value: Any) -> str:
    return json.dumps(
        value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=_json_default
    )


def db_time(dialect: sa.Dialect, moment: datetime | None) -> Any:
    """A timestamp as the driver stores it for a :class:`UTCDateTime` column."""
    if moment is None:
        return None
    naive = moment.astimezone(UTC).replace(tzinfo=None)
    return naive.isoformat(" ", "microseconds") if dialect.name == "sqlite" else naive


_COMPILED: dict[tuple[str, str], tuple[str, Callable[[dict[str, Any]], Any] | None]] = {}


def bulk(
    conn: Connection, key: str, statement: sa.ClauseElement, rows: Sequence[dict[str, Any]]
) -> None:
    """``executemany`` of a statement compiled once per dialect, straight through the driver.

    SQLAlchemy's per-row parameter processing costs more than SQLite's insert
    itself; the rows given here are already in the driver's terms (JSON as text,
    times from :func:`db_time`), so the same statement serves SQLite and PostgreSQL.
    """
    if not rows:
        return
    dialect = conn.dialect
    cached = _COMPILED.get((dialect.name, key))
    if cached is None:
        compiled = statement.compile(dialect=dialect)
        order: list[str] = list(getattr(compiled, "positiontup", None) or [])
        if dialect.positional and len(order) == 1:
            only = order[0]
            cached = (compiled.string, lambda row: (row[only],))
        else:
            cached = (compiled.string, operator.itemgetter(*order) if dialect.positional else None)
        _COMPILED[(dialect.name, key)] = cached
    sql, positions = cached
    conn.exec_driver_sql(sql, list(rows) if positions is None else [positions(row) for row in rows])


class SQLView(TrackingRecorder, ABC):
    """A read model: a few tables plus a tracking row, written a page of events at a time."""

    name: ClassVar[str]
    metadata: ClassVar[sa.MetaData]

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- schema ----------------------------------------------------------------------

    def create_table(self) -> None:
        TRACKING_METADATA.create_all(self.engine, checkfirst=True)
        self.metadata.create_all(self.engine, checkfirst=True)

    def drop(self) -> None:
        """Forget everything this view holds, tracking included; the events stay."""
        self.metadata.drop_all(self.engine, checkfirst=True)
        TRACKING_METADATA.create_all(self.engine, checkfirst=True)
        with self.engine.begin() as conn:
            conn.execute(sa.delete(tracking_table).where(tracking_table.c.view == self.name))

    # -- tracking (the eventsourcing TrackingRecorder interface) -----------------------

    def _tracked(
        self, conn: Connection, application_name: str, *, lock: bool = False
    ) -> int | None:
        query = sa.select(tracking_table.c.notification_id).where(
            tracking_table.c.view == self.name,
            tracking_table.c.application_name == application_name,
        )
        if lock and conn.dialect.name == "postgresql":
            query = query.with_for_update()
        value = conn.execute(query).scalar_one_or_none()
        return None if value is None else int(value)

    def _track(self, conn: Connection, tracking: Tracking) -> None:
        """Advance the position; refuse to stand still or go back (IntegrityError)."""
        moved = conn.execute(
            _ADVANCE,
            {"v": self.name, "a": tracking.application_name, "n": tracking.notification_id},
        )
        if moved.rowcount:
            return
        try:
            with conn.begin_nested():
                conn.execute(
                    sa.insert(tracking_table).values(
                        view=self.name,
                        application_name=tracking.application_name,
                        notification_id=tracking.notification_id,
                    )
                )
        except sa.exc.IntegrityError:
            raise IntegrityError(
                f"view {self.name} has already processed {tracking.application_name} "
                f"notification {tracking.notification_id}"
            ) from None

    def insert_tracking(self, tracking: Tracking) -> None:
        with self.engine.begin() as conn:
            self._track(conn, tracking)

    def max_tracking_id(self, application_name: str) -> int | None:
        with self.engine.connect() as conn:
            return self._tracked(conn, application_name)

    # -- processing --------------------------------------------------------------------

    def process(self, application_name: str, page: Sequence[Envelope]) -> int:
        """Apply a page of events and track its last position, atomically.

        Events at or below the tracked position are skipped, so processing is
        idempotent per position. Returns how many events were applied.
        """
        if not page:
            return 0
        with self.engine.begin() as conn:
            return self.process_in(conn, application_name, page)

    def process_in(
        self,
        conn: Connection,
        application_name: str,
        page: Sequence[Envelope],
        *,
        tracked: dict[str, int] | None = None,
    ) -> int:
        """:meth:`process` inside the caller's transaction (several views, one commit).

        ``tracked`` is what :func:`tracked_positions` read, under lock, in this
        transaction; the caller then advances every view's position at once with
        :func:`advance_positions`. Without it the view reads, locks and advances
        its own position.
        """
        current = (
            tracked.get(self.name)
            if tracked is not None
            else self._tracked(conn, application_name, lock=True)
        )
        fresh = [e for e in page if current is None or e.position > current]
        if not fresh:
            return 0
        self.write(conn, fresh, after=current)
        if tracked is None:
            self._track(conn, Tracking(application_name, fresh[-1].position))
        return len(fresh)

    @abstractmethod
    def write(self, conn: Connection, page: Sequence[Envelope], *, after: int | None) -> None:
        """Turn a page of events into rows, with a bounded number of statements per page.

        ``after`` is the position the view had reached before this page.
        """


def insert_row(table: sa.Table) -> sa.Insert:
    """An INSERT of one full row, every column a bind parameter named after it (for :func:`bulk`)."""
    return table.insert().values({c.name: sa.bindparam(c.name) for c in table.columns})


def chunks(items: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    """Slices small enough for an ``IN (...)`` list on every backend."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def create_view_engine(url: str) -> Engine:
    """A SQLAlchemy engine for the read models, in the same database as the events."""
    scheme, _, rest = url.partition(":")
    base = scheme.split("+", 1)[0]
    if base == "sqlite":
        path = sqlite_path(url)
        if path in ("", ":memory:"):
            engine = sa.create_engine(
                "sqlite+pysqlite://",
                poolclass=sa.pool.StaticPool,
                connect_args={"check_same_thread": False},
            )
        else:
            engine = sa.create_engine(f"sqlite+pysqlite:///{path}", connect_args={"timeout": 30})
        _sqlite_write_transactions(engine)
        return engine
    if base in ("postgresql", "postgres"):
        return sa.create_engine(f"postgresql+psycopg:{rest}", pool_pre_ping=True)
    raise InvalidInput(
        f"database URL {url!r} is not supported; use sqlite:///file.db or postgresql://user@host:port/db"
    )


def _sqlite_write_transactions(engine: Engine) -> None:
    """Begin SQLite transactions IMMEDIATE so a view's read-then-write cannot deadlock.

    pysqlite's own transaction handling is switched off and SQLAlchemy's ``begin``
    emits the BEGIN, the documented recipe for serialisable SQLite transactions.
    """

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB: random-key indexes stay in memory
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
