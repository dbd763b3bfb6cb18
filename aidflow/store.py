"""Event-store adjustments for several processes sharing one PostgreSQL database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresFactory,
)

from aidflow.gate import APPEND, DDL_LOCK_KEY, EVENTS_TABLE, install_gate


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

    def _insert_stored_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        """``aidflow_append`` takes the table lock, checks a person's login against the
        registry, stamps the login and the database's clock, and inserts: a writer login
        holds no INSERT on the events table, so this is its only way in."""
        from psycopg.sql import SQL, Identifier

        if not self.gated:
            super()._insert_stored_events(curs, stored_events, **kwargs)
            return
        curs.execute(self.lock_table_statements[0], prepare=True)  # SET LOCAL lock_timeout
        events = [
            self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
            for e in stored_events
        ]
        schema = Identifier(self.datastore.schema)
        curs.execute(
            SQL("SELECT * FROM {0}.{1}(%s::{0}.{2}[])").format(
                schema, Identifier(APPEND), Identifier(self.stored_event_type_name)
            ),
            (events,),
        )

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
