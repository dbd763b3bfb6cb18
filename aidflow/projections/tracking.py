"""The one record of how far each view has got, which schema it was built with, and why it stopped.

``aidflow_tracking`` holds each view's position (the last notification it
applied), written in the same transaction as the view's rows. ``aidflow_view``
holds each view's schema version and, when a view failed on a stored event, the
position and error. A view whose stored schema version differs from the code's
(a store written by an older release) has its tables dropped and created again
when the read side opens, and the next catch-up rebuilds it from the events.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple, Protocol

import sqlalchemy as sa
from eventsourcing.persistence import IntegrityError
from sqlalchemy.engine import Connection, Engine

from aidflow.domain.errors import (
    INSUFFICIENT_PRIVILEGE,
    INVALID_TEXT_REPRESENTATION,
    ViewsBehind,
    said,
    sqlstate,
)
from aidflow.gate import DDL_LOCK_KEY
from aidflow.projections.base import bulk, execute_once, holds, reading, writing

TRACKING_METADATA = sa.MetaData()

tracking_table = sa.Table(
    "aidflow_tracking",
    TRACKING_METADATA,
    sa.Column("view", sa.String(64), primary_key=True),
    sa.Column("application_name", sa.String(64), primary_key=True),
    sa.Column("notification_id", sa.BigInteger, nullable=False),
)

view_table = sa.Table(
    "aidflow_view",
    TRACKING_METADATA,
    sa.Column("view", sa.String(64), primary_key=True),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("failed_position", sa.BigInteger, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("damaged", sa.Boolean, nullable=False, default=False),
)


class Schema(Protocol):
    """A view's tables and the version of what they hold."""

    @property
    def name(self) -> str: ...

    @property
    def schema_version(self) -> int: ...

    @property
    def metadata(self) -> sa.MetaData: ...


# -- positions -----------------------------------------------------------------------------


_POSITIONS = sa.select(tracking_table.c.view, tracking_table.c.notification_id).where(
    tracking_table.c.application_name == sa.bindparam("app")
)
_POSITIONS_LOCKED = _POSITIONS.with_for_update()
_POSITIONS_LOCKED_NOWAIT = _POSITIONS.with_for_update(nowait=True)


@functools.lru_cache(maxsize=64)
def _advance(count: int) -> sa.Update:
    """Move ``count`` views forward to one position (never back, never standing still)."""
    t = tracking_table
    return (
        sa.update(t)
        .where(
            t.c.application_name == sa.bindparam("app"),
            t.c.view.in_([sa.bindparam(f"v{i}") for i in range(count)]),
            t.c.notification_id < sa.bindparam("position"),
        )
        .values(notification_id=sa.bindparam("position"))
    )


# Statements built once and run on the driver (``execute_once``): an inline catch-up runs
# them after every command.


@functools.lru_cache(maxsize=64)
def _move_from(count: int) -> sa.Update:
    """Move ``count`` views standing together at one position (compare-and-set)."""
    return (
        sa.update(tracking_table)
        .where(*_standing_at_old(count))
        .values(notification_id=sa.bindparam("new"))
    )


def _standing_at_old(count: int) -> tuple[sa.ColumnElement[bool], ...]:
    """The positions of ``count`` named views, where they still stand at ``old``."""
    t = tracking_table
    return (
        t.c.application_name == sa.bindparam("app"),
        t.c.notification_id == sa.bindparam("old"),
        t.c.view.in_([sa.bindparam(f"v{i}") for i in range(count)]),
    )


@functools.lru_cache(maxsize=64)
def _move_from_nowait(count: int) -> sa.Update:
    """:func:`_move_from`, refused at once (``LOCK_NOT_AVAILABLE``) where another transaction
    holds a position's row (PostgreSQL: ``FOR UPDATE NOWAIT`` has no ``UPDATE`` of its own)."""
    t = tracking_table
    locked = (
        sa.select(t.c.view)
        .where(*_standing_at_old(count))
        .with_for_update(nowait=True)
        .cte("locked")
    )
    return (
        sa.update(t)
        .where(t.c.application_name == sa.bindparam("app"), t.c.view == locked.c.view)
        .values(notification_id=sa.bindparam("new"))
    )


MOVED_MEANWHILE = "aidflow: the positions of the views moved meanwhile"
"""What PostgreSQL says (an integer's invalid text, ``22P02``) when the check that travels with
a page's rows finds the positions moved (:func:`move_together`): no other statement of the
views casts text, and the words name it."""


class PositionsMoved(Exception):
    """The positions this process remembered were moved by another process (which applied
    the views meanwhile): the page's transaction is rolled back; read them again and go on."""


def moved_meanwhile(error: BaseException) -> bool:
    """Whether ``error`` is the server's refusal of a page written from positions that moved
    (its own words: SQLAlchemy's adds the statements sent, the check's text among them)."""
    said_by_server = str(getattr(error, "orig", None) or error)
    return sqlstate(error) == INVALID_TEXT_REPRESENTATION and MOVED_MEANWHILE in said_by_server


@functools.lru_cache(maxsize=128)
def _move_checked(count: int, nowait: bool) -> sa.Select[Any]:
    """:func:`_move_from` (``nowait``: :func:`_move_from_nowait`) as a statement that fails
    unless all ``count`` views moved, so that no answer need be read before the rows."""
    move = (_move_from_nowait if nowait else _move_from)(count)
    moved = move.returning(tracking_table.c.view).cte("moved")
    every = sa.case(
        (sa.func.count() == sa.bindparam("count"), sa.literal_column("'0'")),
        else_=sa.literal_column(f"'{MOVED_MEANWHILE}'"),  # a constant, no quote in it
    )
    return sa.select(sa.cast(every, sa.Integer)).select_from(moved)


def move_together(
    conn: Connection,
    application_name: str,
    views: Sequence[str],
    old: int,
    new: int,
    *,
    nowait: bool = False,
) -> bool:
    """Move views that all stand at ``old`` to ``new`` in one statement, before their rows.

    The inline catch-up's fast path: it checks the positions this process
    remembered and takes their row locks in the same statement. False when any
    view stood elsewhere (another process moved it): the caller rolls back.
    ``nowait`` (PostgreSQL): refused at once while another process holds them, as
    :func:`positions` locked ``nowait`` is.

    Where the transaction's writes are held (PostgreSQL, :func:`~aidflow.projections.base.holds`),
    the statement is held with them and fails on the server when a view stood elsewhere:
    True here, :class:`PositionsMoved` raised where they are sent (with the page's rows and
    COMMIT: a command's views in one round trip, where the check's answer was waited for).
    """
    row: dict[str, Any] = {"app": application_name, "old": old, "new": new}
    row.update({f"v{i}": view for i, view in enumerate(views)})
    count = len(views)
    if holds(conn):
        checked = _move_checked(count, nowait)
        bulk(conn, f"tracking.move.checked.{count}.{nowait}", checked, [{**row, "count": count}])
        return True
    if nowait and conn.dialect.name == "postgresql":
        moved = execute_once(conn, f"tracking.move.nowait.{count}", _move_from_nowait(count), row)
    else:
        moved = execute_once(conn, f"tracking.move.{count}", _move_from(count), row)
    return moved.rowcount == count


def positions(
    conn: Connection, application_name: str, *, lock: bool = False, nowait: bool = False
) -> dict[str, int]:
    """Every view's tracked position, in one query; locked (PostgreSQL) for the transaction,
    ``nowait``: or refused at once when another transaction holds them."""
    query, key = _POSITIONS, "tracking.positions"
    if lock and conn.dialect.name == "postgresql":
        query = _POSITIONS_LOCKED_NOWAIT if nowait else _POSITIONS_LOCKED
        key += ".nowait" if nowait else ".locked"
    read = execute_once(conn, key, query, {"app": application_name})
    return {view: int(position) for view, position in read.rows}


class PositionTaken(IntegrityError):
    """Another process gave a view its first position while this one was writing the same
    page (a missing row cannot be locked): this transaction is rolled back; read the
    positions again and go on from there."""


def advance(
    conn: Connection, application_name: str, moves: dict[str, int], tracked: dict[str, int]
) -> None:
    """Move each named view to its new position; one statement per distinct position.

    ``tracked`` is what this transaction read under lock. A position that moved in
    between, or would stand still or go back, is refused with IntegrityError.
    """
    by_position: dict[int, list[str]] = {}
    for view, position in moves.items():
        by_position.setdefault(position, []).append(view)
    for position, views in by_position.items():
        known = [v for v in views if v in tracked]
        if known:
            row: dict[str, Any] = {"app": application_name, "position": position}
            row.update({f"v{i}": view for i, view in enumerate(known)})
            moved = execute_once(conn, f"tracking.advance.{len(known)}", _advance(len(known)), row)
            if moved.rowcount != len(known):
                raise IntegrityError(
                    f"views {', '.join(known)} were already at or past {application_name} "
                    f"notification {position}"
                )
        for view in views:
            if view not in tracked:
                try:
                    with conn.begin_nested():
                        conn.execute(
                            sa.insert(tracking_table).values(
                                view=view,
                                application_name=application_name,
                                notification_id=position,
                            )
                        )
                except sa.exc.IntegrityError:
                    raise PositionTaken(
                        f"view {view} has already processed {application_name} "
                        f"notification {position}"
                    ) from None


# -- failures ------------------------------------------------------------------------------


class Failure(NamedTuple):
    """Why a view stopped: the event it could not apply (or the damage found) and the error."""

    position: int
    error: str
    damaged: bool


def failures(conn: Connection) -> dict[str, Failure]:
    v = view_table
    rows = conn.execute(
        sa.select(v.c.view, v.c.failed_position, v.c.error, v.c.damaged).where(
            v.c.failed_position.is_not(None)
        )
    )
    return {
        view: Failure(int(position), error or "", bool(damaged))
        for view, position, error, damaged in rows
    }


def positions_and_failures(
    conn: Connection, application_name: str
) -> tuple[dict[str, int], dict[str, Failure]]:
    """:func:`positions` and :func:`failures` in one query (a catch-up starts with it)."""
    v, t = view_table, tracking_table
    rows = conn.execute(
        sa.select(v.c.view, t.c.notification_id, v.c.failed_position, v.c.error, v.c.damaged)
        .select_from(v)
        .outerjoin(t, sa.and_(t.c.view == v.c.view, t.c.application_name == application_name))
    )
    tracked: dict[str, int] = {}
    failed: dict[str, Failure] = {}
    for view, position, failed_position, error, damaged in rows:
        if position is not None:
            tracked[view] = int(position)
        if failed_position is not None:
            failed[view] = Failure(int(failed_position), error or "", bool(damaged))
    return tracked, failed


def record_failure(conn: Connection, view: str, failure: Failure) -> None:
    conn.execute(
        sa.update(view_table)
        .where(view_table.c.view == view)
        .values(failed_position=failure.position, error=failure.error, damaged=failure.damaged)
    )


def clear_failure(conn: Connection, view: str) -> None:
    conn.execute(
        sa.update(view_table)
        .where(view_table.c.view == view, view_table.c.failed_position.is_not(None))
        .values(failed_position=None, error=None, damaged=False)
    )


# -- schema --------------------------------------------------------------------------------


@contextmanager
def _schema_change(engine: Engine) -> Iterator[Connection]:
    """One transaction for DDL, serialised across processes.

    On PostgreSQL several processes creating the same tables at once collide
    ("tuple concurrently updated"), so DDL runs under the advisory lock the event
    store's own DDL takes; SQLite's IMMEDIATE transaction already serialises it. The
    connection's lock wait (``busy_timeout``) is lifted for it: processes opening a store
    together wait for each other's DDL, however long each takes, as the event store's do.
    """
    with writing(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SET LOCAL lock_timeout = 0"))
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": DDL_LOCK_KEY})
        yield conn


@contextmanager
def _views_not_ours() -> Iterator[None]:
    """A person's login on a shared store meeting views to make (none yet, or another
    schema version): the database grants it no table, so it is told who makes them,
    not shown the driver's refusal as an internal error."""
    try:
        yield
    except sa.exc.ProgrammingError as exc:
        if sqlstate(exc) != INSUFFICIENT_PRIVILEGE:
            raise
        raise ViewsBehind(
            said(
                "the views are not made yet at this release's schema, and this login may not make them: the office's service makes them when it opens the store (`aidflow serve`, or `aidflow projections follow` under the service's login); then ask again"
            )
        ) from exc


def _stored_versions(engine: Engine) -> dict[str, int] | None:
    """Each view's stored schema version, or None when the store has no version table yet."""
    with reading(engine) as conn:
        if not sa.inspect(conn).has_table(view_table.name):
            return None
        return {
            view: int(version)
            for view, version in conn.execute(
                sa.select(view_table.c.view, view_table.c.schema_version)
            )
        }


def _recreate(conn: Connection, view: Schema) -> None:
    """Drop a view's tables, position and failure; create them empty at the code's version."""
    view.metadata.drop_all(conn, checkfirst=True)
    view.metadata.create_all(conn)
    conn.execute(sa.delete(tracking_table).where(tracking_table.c.view == view.name))
    conn.execute(sa.delete(view_table).where(view_table.c.view == view.name))
    conn.execute(sa.insert(view_table).values(view=view.name, schema_version=view.schema_version))


def outdated(engine: Engine, views: Sequence[Schema]) -> list[str]:
    """The views whose stored schema version differs from the code's (none stored: all)."""
    stored = _stored_versions(engine) or {}
    return [v.name for v in views if stored.get(v.name) != v.schema_version]


def prepare(engine: Engine, views: Sequence[Schema]) -> list[str]:
    """Make every view's tables exist at the code's schema version; returns the views recreated.

    A view stored at another version (or by a release that kept no versions) is
    emptied here and rebuilt from the events by the next catch-up.
    """
    stored = _stored_versions(engine)
    if stored is not None and all(stored.get(v.name) == v.schema_version for v in views):
        return []
    recreated = []
    with _views_not_ours(), _schema_change(engine) as conn:
        TRACKING_METADATA.create_all(conn, checkfirst=True)
        current = {
            view: int(version)
            for view, version in conn.execute(
                sa.select(view_table.c.view, view_table.c.schema_version)
            )
        }
        for view in views:
            if current.get(view.name) != view.schema_version:
                _recreate(conn, view)
                recreated.append(view.name)
    return recreated
