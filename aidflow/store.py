"""Event-store adjustments for several processes sharing one PostgreSQL database."""

from __future__ import annotations

from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresFactory,
)

# Any constant works; it only has to be the same in every aidflow process.
DDL_LOCK_KEY = 0x41494446  # "AIDF"


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


class SerialisedDDLFactory(PostgresFactory):
    """The library's PostgreSQL factory with every table (events, snapshots) created under
    the DDL lock, so any number of processes can open a fresh store at once."""

    aggregate_recorder_class = SerialisedDDLAggregateRecorder
    application_recorder_class = SerialisedDDLApplicationRecorder
