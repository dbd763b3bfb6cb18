"""What every view shares: the engine, its transactions, time columns, fast bulk writes, JSON.

The same code runs on SQLite and PostgreSQL because it speaks SQLAlchemy Core.
Reads and writes begin differently on SQLite: a query begins a plain (deferred)
transaction, which WAL mode never blocks, and only a writer takes the write lock
up front (``BEGIN IMMEDIATE``), so its read-then-write cannot deadlock.
"""

from __future__ import annotations

import functools
import json
import operator
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from typing import Any, NamedTuple
from uuid import UUID

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.types import TypeDecorator

from aidflow.config import parse_url
from aidflow.domain.errors import StoreError, said
from aidflow.domain.masking import masked, orjson_safe, plain


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


# -- JSON: one encoder for every view row --------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


def _json_text(value: Any) -> str:
    return json.dumps(
        value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=_json_default
    )


_ORJSON_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def to_json(value: Any, *, plain: bool = False) -> str:
    """The one JSON encoding of view rows: keys sorted, UUIDs and dates as text.

    Rows written through :func:`bulk` are encoded with it, and it is the engine's
    ``json_serializer`` for the rest. orjson writes it (several times faster); the
    text is byte for byte what ``json.dumps(..., ensure_ascii=False,
    separators=(",", ":"), sort_keys=True)`` writes, and anything orjson would
    write differently or refuses (floats, integers beyond 64 bits, lone
    surrogates, non-text keys, subclasses of built-in types) goes to ``json``
    itself (``tests/unit/test_view_json.py``). ``plain=True`` says the value was read
    from stored JSON by orjson with no float in it (:class:`~aidflow.projections.view.Envelope`),
    so nothing in it needs the check.
    """
    if plain or orjson_safe(value):
        try:
            return orjson.dumps(value, default=_json_default, option=_ORJSON_OPTIONS).decode()
        except (orjson.JSONEncodeError, TypeError):
            pass
    return _json_text(value)


def public_fields(event: Any) -> dict[str, Any]:
    """An event's own fields as the views keep them: the same with or without the student's
    key (:func:`~aidflow.domain.masking.masked`), JSON-ready."""
    return {key: plain(value) for key, value in masked(event, keyless=True).items()}


# -- rows in the driver's terms, written a page at a time ----------------------------------

KEEP_DURING_REBUILD = "aidflow_keep_during_rebuild"
"""``Index(..., info={KEEP_DURING_REBUILD: True})``: a view's writer reads through this index,
so a blue/green rebuild makes it with the table; other secondary indexes come after the load."""


def db_time(dialect: sa.Dialect, moment: datetime | None) -> Any:
    """A timestamp as the driver stores it for a :class:`UTCDateTime` column."""
    if moment is None:
        return None
    if moment.tzinfo is UTC:  # as stored events' times are read: one call, not three
        return (
            moment.isoformat(" ", "microseconds")[:26]
            if dialect.name == "sqlite"
            else moment.replace(tzinfo=None)
        )
    naive = moment.astimezone(UTC).replace(tzinfo=None)
    return naive.isoformat(" ", "microseconds") if dialect.name == "sqlite" else naive


_COMPILED: dict[tuple[str, str], tuple[str, Callable[[dict[str, Any]], Any] | None]] = {}


def _compiled(
    conn: Connection, key: str, statement: sa.ClauseElement
) -> tuple[str, Callable[[dict[str, Any]], Any] | None]:
    """A statement's SQL for this dialect, and how to order a row's parameters for the driver."""
    dialect = conn.dialect
    cached = _COMPILED.get((dialect.name, key))
    if cached is None:
        compiled = statement.compile(dialect=dialect)
        order: list[str] = list(getattr(compiled, "positiontup", None) or [])
        if dialect.positional and not order:
            cached = (compiled.string, lambda row: ())
        elif dialect.positional and len(order) == 1:
            only = order[0]
            cached = (compiled.string, lambda row: (row[only],))
        else:
            cached = (compiled.string, operator.itemgetter(*order) if dialect.positional else None)
        _COMPILED[(dialect.name, key)] = cached
    return cached


class Executed(NamedTuple):
    """What a statement run on the driver's cursor gave: rows changed, rows read."""

    rowcount: int
    rows: list[Any]


def bulk(
    conn: Connection, key: str, statement: sa.ClauseElement, rows: Sequence[dict[str, Any]]
) -> None:
    """``executemany`` of a statement compiled once per dialect, on the driver's own cursor.

    SQLAlchemy's per-row parameter processing costs more than SQLite's insert
    itself, and its per-statement work was a tenth of a command's views; the rows
    given here are already in the driver's terms (JSON as text, times from
    :func:`db_time`), so the same statement serves SQLite and PostgreSQL. Inside
    :func:`held_writes` it is sent with the page's other writes, not on its own.
    """
    if not rows:
        return
    sql, positions = _compiled(conn, key, statement)
    params = list(rows) if positions is None else [positions(r) for r in rows]
    held = _held_for(conn)
    if held is not None:
        held.statements.append((sql, params))
        return
    _on_driver(conn, sql, params, True)


def execute_once(
    conn: Connection, key: str, statement: sa.ClauseElement, row: dict[str, Any]
) -> Executed:
    """One execution of a statement compiled once per dialect (as :func:`bulk`)."""
    sql, positions = _compiled(conn, key, statement)
    return _on_driver(conn, sql, row if positions is None else positions(row), False)


def _on_driver(conn: Connection, sql: str, params: Any, many: bool) -> Executed:
    """Run on the driver's cursor inside ``conn``'s transaction; its errors raised as
    SQLAlchemy raises them (a lock timeout or lost connection is retried, the rest recorded).
    Writes held before it (:func:`held_writes`) travel with it, in the same round trip."""
    if many and len(params) == 1:  # a command's views: psycopg's executemany costs 2× execute
        params, many = params[0], False
    held = _take_held(conn)
    error = conn.dialect.loaded_dbapi.Error
    dbapi: Any = conn.connection.dbapi_connection
    cursor = dbapi.cursor()
    try:
        if held:  # PostgreSQL: the held writes, then this statement, in one pipeline
            with dbapi.cursor() as before, dbapi.pipeline():
                _queue(before, held)
                _run(cursor, sql, params, many)
        else:
            _run(cursor, sql, params, many)
        if many:
            return Executed(cursor.rowcount, [])
        return Executed(cursor.rowcount, list(cursor.fetchall()) if cursor.description else [])
    except error as exc:
        raise sa.exc.DBAPIError.instance(
            sql, params, exc, error, dialect=conn.dialect, ismulti=many
        ) from exc
    finally:
        cursor.close()


def _run(cursor: Any, sql: str, params: Any, many: bool) -> None:
    if many:
        cursor.executemany(sql, params)
    else:
        cursor.execute(sql, params)


def _queue(cursor: Any, statements: Sequence[tuple[str, list[Any]]]) -> None:
    """Queue held statements on a cursor in pipeline mode."""
    for sql, params in statements:
        if len(params) == 1:  # psycopg's executemany costs 2× execute
            cursor.execute(sql, params[0])
        else:
            cursor.executemany(sql, params)


# -- a page's writes sent together (PostgreSQL) ----------------------------------------------


class _Held(NamedTuple):
    dbapi: Any
    statements: list[tuple[str, list[Any]]]


_HELD: ContextVar[_Held | None] = ContextVar("aidflow_held_writes", default=None)

_BEGIN: tuple[str, list[Any]] = ("BEGIN", [None])
_COMMIT: tuple[str, list[Any]] = ("COMMIT", [None])


@contextmanager
def held_writes(conn: Connection, *, commit: bool = False) -> Iterator[None]:
    """On PostgreSQL, the :func:`bulk` writes made inside are held, then sent together in
    one round trip (psycopg's pipeline mode) by :func:`send_held` on leaving, or before
    any statement whose answer is read (:func:`execute_once`, which takes them along, or
    any SQLAlchemy statement on ``conn``), so every statement still runs in the order it
    was made. A command's views waited for each statement: about seven round trips a
    command, now two (issue 25 §2). ``commit``: in a transaction :func:`writing` began
    ``held``, the COMMIT travels with the last of them. Elsewhere (SQLite: no round trips)
    it changes nothing. An error of a held write is raised where they are sent: the caller
    writes the page again without holding
    (:func:`~aidflow.projections.runner.Runner._apply_page`)."""
    if _HELD.get() is not None:
        yield  # held already, by writing(held=True) on this connection, or not at all
        if holds(conn):
            send_held(conn, commit=commit)
        return
    if not _can_hold(conn):
        yield  # an engine made without :func:`sends_held_first` sends each write at once
        return
    token = _HELD.set(_Held(conn.connection.dbapi_connection, []))
    try:
        yield
        send_held(conn)
    finally:
        _HELD.reset(token)


def _can_hold(conn: Connection) -> bool:
    """Whether writes on ``conn`` can be held: PostgreSQL with pipeline mode, on an engine made
    with :func:`sends_held_first`."""
    return (
        conn.dialect.name == "postgresql"
        and sa.event.contains(conn.engine, "before_cursor_execute", _send_held_first)
        and _pipelines()
    )


@functools.cache
def _pipelines() -> bool:
    """Whether this psycopg's libpq has pipeline mode (14 and later; its wheels bring one)."""
    import psycopg

    return bool(psycopg.Pipeline.is_supported())


def _held_for(conn: Connection) -> _Held | None:
    """The hold on ``conn``'s writes, when they are being held (:func:`held_writes`)."""
    held = _HELD.get()
    return held if held is not None and held.dbapi is conn.connection.dbapi_connection else None


def holds(conn: Connection) -> bool:
    """Whether writes on ``conn`` are held now: a statement :func:`bulk` sends then goes
    with the others, and its answer is never read (PostgreSQL, :func:`held_writes`)."""
    return _held_for(conn) is not None


def _take_held(conn: Connection) -> list[tuple[str, list[Any]]]:
    """The statements held for ``conn``, taken from the hold (they are about to be sent)."""
    held = _held_for(conn)
    if held is None or not held.statements:
        return []
    statements = list(held.statements)
    held.statements.clear()
    return statements


def send_held(conn: Connection, *, commit: bool = False) -> None:
    """Send the writes :func:`held_writes` holds for ``conn``, all in one round trip; their
    first error raised as SQLAlchemy raises it (as :func:`_on_driver`). ``commit``: the
    transaction's COMMIT travels with them (a transaction :func:`writing` began ``held``)."""
    statements = _take_held(conn)
    if not statements or (commit and statements == [_BEGIN]):
        return  # nothing to send (a transaction that sent nothing needs neither BEGIN nor COMMIT)
    if commit:
        statements.append(_COMMIT)
    dbapi: Any = conn.connection.dbapi_connection  # psycopg's connection (held only on PostgreSQL)
    error = conn.dialect.loaded_dbapi.Error
    try:
        with dbapi.cursor() as cursor, dbapi.pipeline():
            _queue(cursor, statements)
    except error as exc:  # which of them failed is not told: the page is written again, one by one
        sent = ";\n".join(sql for sql, _ in statements)
        raise sa.exc.DBAPIError.instance(
            sent, None, exc, error, dialect=conn.dialect, ismulti=True
        ) from exc


def sends_held_first(engine: Engine) -> None:
    """Let :func:`held_writes` hold writes on this engine: any SQLAlchemy statement on a
    connection holding writes sends them first (a view that reads what it wrote a moment
    ago reads it). Called where the engine is made, before any thread uses it: a listener
    added while another thread's statement runs its listeners could break that statement."""
    if not sa.event.contains(engine, "before_cursor_execute", _send_held_first):
        sa.event.listen(engine, "before_cursor_execute", _send_held_first)


def _send_held_first(conn: Connection, *_: Any) -> None:
    send_held(conn)


def insert_row(table: sa.Table) -> sa.Insert:
    """An INSERT of one full row, every column a bind parameter named after it (for :func:`bulk`)."""
    return table.insert().values({c.name: sa.bindparam(c.name) for c in table.columns})


def chunks(items: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    """Slices small enough for an ``IN (...)`` list on every backend."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- the engine and its two kinds of transaction -------------------------------------------

_WRITE = "aidflow_write"


@contextmanager
def writing(engine: Engine, *, held: bool = False) -> Iterator[Connection]:
    """A write transaction: on SQLite it takes the write lock at once (``BEGIN IMMEDIATE``).

    ``held`` (PostgreSQL, where writes can be held): the transaction's statements travel
    together. Its BEGIN is held, to go with the first statement sent; every write is held
    (:func:`held_writes`) until a statement whose answer is read, which takes them along
    (:func:`_on_driver`); and ``send_held(conn, commit=True)`` sends the last of them with
    the COMMIT. A command's views paid a round trip each for BEGIN, the positions, the rows
    and COMMIT; now one for the positions (with BEGIN) and one for the rows (with COMMIT).
    The driver is in autocommit for it (psycopg's own BEGIN waits for its answer);
    SQLAlchemy's commit or rollback still ends the transaction where it was not sent.
    Refused on a read-only engine, naming the URL option that made it so.
    """
    refuse_read_only(engine)
    with engine.connect() as conn:
        conn.execution_options(**{_WRITE: True})
        hold = held and _HELD.get() is None and _can_hold(conn)
        if hold:
            conn.execution_options(isolation_level="AUTOCOMMIT")
        with conn.begin():
            if not hold:
                yield conn
                return
            token = _HELD.set(_Held(conn.connection.dbapi_connection, [_BEGIN]))
            try:
                yield conn
                send_held(conn, commit=True)  # what is still held is never left behind
            finally:
                _HELD.reset(token)


def refuse_read_only(engine: Engine) -> None:
    """Raise when the engine was opened read-only, naming the URL option that made it so."""
    if read_only(engine):
        raise StoreError(
            said(
                "the store was opened read-only (?mode=ro): its views are queried as they stand and never caught up, rebuilt or written; open it without mode=ro to change them"
            )
        )


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read-only query: a plain transaction, which a writer elsewhere never blocks."""
    with engine.connect() as conn:
        yield conn


READ_ONLY = "aidflow_read_only"


def read_only(engine: Engine) -> bool:
    """Whether the engine was opened on a read-only URL (``sqlite:///f.db?mode=ro``)."""
    return bool(engine.get_execution_options().get(READ_ONLY, False))


def create_view_engine(url: str, *, busy_timeout: float | None = None) -> Engine:
    """A SQLAlchemy engine for the read models, in the same database (and schema) as the events.

    The URL is read by the one parser, :func:`aidflow.config.parse_url`: on PostgreSQL
    ``?schema=x`` becomes the connection's ``search_path``, so views and tracking live
    beside the district's events; on SQLite ``?mode=ro`` opens the file read-only and
    the read side never writes to it. ``busy_timeout`` is how long a SQLite writer
    waits for another process's write lock (default: the URL's, 30 s unless it says).
    PostgreSQL commits the views asynchronously (:data:`VIEWS_SYNCHRONOUS_COMMIT`).
    """
    store = parse_url(url)
    options = {READ_ONLY: True} if store.read_only else {}
    if store.backend == "sqlite":
        if store.in_memory:
            engine = sa.create_engine(
                "sqlite+pysqlite://",
                poolclass=sa.pool.StaticPool,
                connect_args={"check_same_thread": False},
                json_serializer=to_json,
            )
        else:
            engine = sa.create_engine(
                store.sqlalchemy_url(),
                connect_args={
                    **store.sqlalchemy_connect_args(),
                    "timeout": store.busy_timeout if busy_timeout is None else busy_timeout,
                },
                json_serializer=to_json,
                execution_options=options,
            )
        _sqlite_transactions(engine, read_only=store.read_only)
        return engine
    args = store.sqlalchemy_connect_args()
    args["options"] += f" -c synchronous_commit={VIEWS_SYNCHRONOUS_COMMIT}"
    engine = sa.create_engine(
        store.sqlalchemy_url(),
        connect_args=args,
        json_serializer=to_json,
    )
    _ping_when_idle(engine)
    sends_held_first(engine)
    return engine


VIEWS_SYNCHRONOUS_COMMIT = "off"
"""The views' transactions on PostgreSQL commit without waiting for the WAL to reach disk
(asynchronous commit): the views are derived from the events, which commit durably in the
command's own transaction, and each view's rows commit with its position. A server crash
can lose the last views' transactions, never a part of one: the views then stand at an
earlier position, consistent, and the next catch-up applies the events again. Visibility
is not delayed (another session sees the rows at commit). It saves a disk flush a command
(0.15 ms here, ``docs/performance.md``). Only this engine: the events, the key vault and
everything else aidflow writes keep PostgreSQL's durable commit."""

PING_AFTER_IDLE_S = 1.0
_RETURNED = "aidflow_returned"


def _ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's pre-ping, for a pooled connection idle longer than :data:`PING_AFTER_IDLE_S`.

    A pre-ping at every checkout is a round trip to the server: one statement in nine of a
    read, one in eleven of a command with its views (issue 25 §2). A connection given back
    within the last second is taken as alive; one idle longer (every one after a database
    restart, which takes longer than that) is pinged first, and replaced when the ping fails,
    as the pre-ping does. A server gone within that second fails the statement instead:
    SQLAlchemy then drops every pooled connection, a command's views catch up at the next
    question, and a query is refused as the store not answering.
    """

    @sa.event.listens_for(engine, "checkin")
    def _given_back(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _taken(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED)
        if returned is None or time.monotonic() - returned < PING_AFTER_IDLE_S:
            return  # new, or in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise sa.exc.DisconnectionError(str(exc)) from exc


def _sqlite_transactions(engine: Engine, *, read_only: bool = False) -> None:
    """SQLAlchemy emits our BEGIN: IMMEDIATE for :func:`writing`, deferred for everything else.

    pysqlite's own transaction handling is switched off, the documented recipe for
    serialisable SQLite transactions (and for savepoints).
    """

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not read_only:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB: random-key indexes stay in memory
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # Straight to the driver: through exec_driver_sql this was most of a short
        # transaction's cost (a catch-up after every command runs one).
        write = conn.get_execution_options().get(_WRITE)
        _on_driver(conn, "BEGIN IMMEDIATE" if write else "BEGIN", (), False)
