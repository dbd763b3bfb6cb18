"""Event-store adjustments for several processes sharing one PostgreSQL database."""

from __future__ import annotations

from eventsourcing.postgres import PostgresApplicationRecorder

# Any constant works; it only has to be the same in every aidflow process.
DDL_LOCK_KEY = 0x41494446  # "AIDF"


class SerialisedDDLApplicationRecorder(PostgresApplicationRecorder):
    """Creates the tables under an advisory lock.

    When several writer or follower processes start at once, PostgreSQL's
    concurrent ``CREATE ... IF NOT EXISTS`` can fail with "tuple concurrently
    updated"; taking a session advisory lock first makes schema creation one at
    a time, and the later ones find everything there.
    """

    def create_table(self) -> None:
        with self.datastore.get_connection() as conn:
            conn.autocommit = True
            conn.execute("SELECT pg_advisory_lock(%s)", (DDL_LOCK_KEY,))
            try:
                super().create_table()
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (DDL_LOCK_KEY,))
