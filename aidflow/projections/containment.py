"""A view that fails on an event stops alone: how a page is written so that its failure is contained.

A page is first written to every view without savepoints (:func:`write_or_flag`; on
PostgreSQL the views' writes are held and sent together, :func:`page_writes`);
when a view raises, the page is rolled back and written again with one savepoint
per view (:func:`write_contained`), which keeps the events before the failing one
and names the failure. Errors that say nothing about the event (:func:`transient`)
are never a view's failure: they reach the caller, and the page is retried.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aidflow.domain.errors import MasterKeyError, StoreUnavailable
from aidflow.projections.base import held_writes
from aidflow.projections.tracking import Failure, PositionsMoved, moved_meanwhile
from aidflow.projections.view import Envelope, SQLView


class ViewFailed(Exception):
    """A view raised while writing a page without savepoints: write the page again with them."""


def describe(error: BaseException) -> str:
    """An error as one line for the failure record (the driver's message, not the SQL and rows)."""
    if isinstance(error, sa.exc.StatementError) and error.orig is not None:
        error = error.orig
    return f"{type(error).__name__}: {error}".strip().replace("\n", " ")[:1000]


def transient(error: Exception) -> bool:
    """Lock timeouts and lost connections say nothing about the event: the page is retried.

    A missing or wrong master key (met when a view decodes an event with personal
    data) says nothing about the event either: it reaches the caller, who must
    give the key, and no view records it as a failure; nor do the key tables out of reach.
    """
    if isinstance(
        error,
        sa.exc.OperationalError | sa.exc.InterfaceError | MasterKeyError | StoreUnavailable,
    ):
        return True
    return isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated


def write_or_flag(
    conn: Connection, view: SQLView, fresh: Sequence[Envelope], after: int | None
) -> int:
    """Write a view's events with no savepoint; returns its new position.

    Raises :class:`ViewFailed` when the view fails on them (the caller writes the
    page again with :func:`write_contained`), a transient error as it is.
    """
    try:
        view.write(conn, fresh, after=after)
    except Exception as exc:
        failure = _failure(exc)
        if failure is exc:
            raise
        raise failure from exc
    return fresh[-1].position


def _failure(error: Exception) -> Exception:
    """What a page's write that failed without savepoints raises: a transient error itself;
    :class:`PositionsMoved` when the positions the page was written from had moved (the check
    :func:`~aidflow.projections.tracking.move_together` holds with the rows); else
    :class:`ViewFailed`, and the page is written again view by view."""
    if transient(error):
        return error
    return PositionsMoved() if moved_meanwhile(error) else ViewFailed()


@contextmanager
def page_writes(conn: Connection, *, careful: bool, commit: bool = False) -> Iterator[None]:
    """Where a page's writes go: on PostgreSQL, held and sent together at the end when not
    ``careful`` (:func:`~aidflow.projections.base.held_writes`); one by one when ``careful``,
    so that a failure is the failing view's. A held write that fails raises
    :class:`ViewFailed` wherever they are sent (at the end, or by the next statement that
    reads, a view's or the runner's own): which view's is not told, and the caller writes
    the page again, carefully. A transient error is raised as it is, positions that moved
    meanwhile as :class:`PositionsMoved`. ``commit``: the
    page's writes are the last of a transaction begun ``held`` (its COMMIT goes with them)."""
    if careful:
        yield
        return
    try:  # held_writes sends what it holds on leaving, inside this ``try``
        with held_writes(conn, commit=commit):
            yield
    except sa.exc.DBAPIError as exc:
        failure = _failure(exc)
        if failure is exc:
            raise
        raise failure from exc


def write_contained(
    conn: Connection, view: SQLView, fresh: Sequence[Envelope], after: int | None
) -> tuple[int | None, Failure | None]:
    """Write a view's events in a savepoint; on failure, apply those before the failing one.

    Returns the view's new position (None: unchanged) and its failure, if any.
    """
    try:
        with conn.begin_nested():
            view.write(conn, fresh, after=after)
        return fresh[-1].position, None
    except Exception as exc:
        view.forget()
        if transient(exc):
            raise
    good: int | None = None
    for envelope in fresh:  # the slow path: find the event, keep what came before it
        try:
            with conn.begin_nested():
                view.write(conn, [envelope], after=good if good is not None else after)
        except Exception as exc:
            view.forget()
            if transient(exc):
                raise
            return good, Failure(envelope.position, describe(exc), damaged=False)
        good = envelope.position
    return good, None
