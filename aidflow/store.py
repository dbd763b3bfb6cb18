"""Event-store adjustments for several processes sharing one PostgreSQL database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresFactory,
)
from eventsourcing.utils import retry

from aidflow.domain.errors import LOCK_NOT_AVAILABLE, sqlstate
from aidflow.gate import APPEND, DDL_LOCK_KEY, EVENTS_TABLE, install_gate

_INSERT_ONCE = PostgresApplicationRecorder.insert_events.__wrapped__
"""The library's append without its retries (see ``insert_events`` below)."""


class _WaitedOut(Exception):
    """The append's lock wait ran out: carried past the library's retries, then raised as it came."""

    def __init__(self, error: OperationalError) -> None:
        super().__init__(str(error))
        self.error = error


def _serialised(recorder: PostgresAggregateRecorder, create: object) -> None:
    """Run ``create()`` holding the DDL advisory lock (session level, released after)."""
    with recorder.datastore.get_connection() as conn:
        conn.autocommit = True
        conn.execute("SELECT pg_advisory_lock(%s)", (DDL_LOCK_KEY,))
        try:
            create()  # type: ignore[operator]
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (DDL_LOCK_KEY,))


class SerialisedDDLAggregateRecorder(PostgresAggregateRecorder):
    """The snapshot table's recorder, creating its table and type under the same lock."""

    def create_table(self) -> None:
        _serialised(self, super().create_table)


class SerialisedDDLApplicationRecorder(PostgresApplicationRecorder):
    """Creates the tables under an advisory lock.

    When several writer or follower processes start at once, PostgreSQL's
    concurrent ``CREATE ... IF NOT EXISTS`` can fail with "tuple concurrently
    updated"; taking a session advisory lock first makes schema creation one at
    a time, and the later ones find everything there.
    """

    def create_table(self) -> None:
        _serialised(self, super().create_table)
        if self.gated:
            with self.datastore.get_connection() as conn:
                install_gate(conn, self.datastore.schema)

    _append: bytes | None = None

    @property
    def gated(self) -> bool:
        """The office's events table (not another application's sharing the database)."""
        return self.events_table_name == EVENTS_TABLE

    def existing(self, ids: Sequence[UUID]) -> set[UUID]:
        """Which of ``ids`` have a stored event, in one read (see ``Records.existing``)."""
        from psycopg.sql import SQL, Identifier

        statement = SQL("SELECT DISTINCT originator_id FROM {0}.{1} WHERE originator_id = ANY(%s)")
        table = Identifier(self.datastore.schema), Identifier(self.events_table_name)
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement.format(*table), (list(ids),), prepare=True)
            return {row["originator_id"] for row in curs.fetchall()}

    # -- every append goes through the store's own function (issue 21 §1) ------------------

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The library's append, retried as it retries a dropped connection, except after a
        lock wait that ran out: that wait was the command's whole ``busy_timeout``, and ten
        of them (the library's retries) kept a clerk waiting minutes for a raw driver error.
        It is raised at once; the office names it ``store_busy``."""
        try:
            return self._insert_retried(stored_events, **kwargs)  # type: ignore[no-any-return]
        except _WaitedOut as out:
            raise out.error from out.error.__cause__

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _insert_retried(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        try:
            return _INSERT_ONCE(self, stored_events, **kwargs)  # type: ignore[no-any-return]
        except OperationalError as exc:
            if sqlstate(exc) == LOCK_NOT_AVAILABLE:
                raise _WaitedOut(exc) from None
            raise

    def _insert_stored_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        """``aidflow_append`` takes the table lock, checks a person's login against the
        registry, stamps the login and the database's clock, and inserts: a writer login
        holds no INSERT on the events table, so this is its only way in. The lock's wait
        is set in the same statement (``set_config``, local to the transaction, evaluated
        first: the function's argument depends on it), not by a ``SET LOCAL`` of its own."""
        if not self.gated:
            super()._insert_stored_events(curs, stored_events, **kwargs)
            return
        events = [
            self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
            for e in stored_events
        ]
        curs.execute(self._append_statement(curs), (events,), prepare=True)

    def _append_statement(self, curs: Any) -> bytes:
        """The append as bytes, made once per recorder (a composed statement is rendered
        again at every execute otherwise)."""
        from psycopg.sql import SQL, Identifier, Literal

        if self._append is None:
            statement = SQL(
                "SELECT a.n AS {1} FROM (SELECT set_config('lock_timeout', {3}, true) AS w) AS s,"
                " LATERAL {0}.{1}(CASE WHEN s.w IS NOT NULL THEN %s::{0}.{2}[] END) AS a(n)"
            ).format(
                Identifier(self.datastore.schema),
                Identifier(APPEND),
                Identifier(self.stored_event_type_name),
                Literal(f"{int(self.datastore.lock_timeout)}s"),
            )
            self._append = statement.as_bytes(curs)
        return self._append

    def _fetch_ids_after_insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not self.gated:
            return super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        return [row[APPEND] for row in curs.fetchall()]


class SerialisedDDLFactory(PostgresFactory):
    """The library's PostgreSQL factory with every table (events, snapshots) created under
    the DDL lock, so any number of processes can open a fresh store at once."""

    aggregate_recorder_class = SerialisedDDLAggregateRecorder
    application_recorder_class = SerialisedDDLApplicationRecorder
