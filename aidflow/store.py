"""Event-store adjustments for several processes sharing one PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple
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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ahead: dict[int, bytes] = {}

    @property
    def gated(self) -> bool:
        """The office's events table (not another application's sharing the database)."""
        return self.events_table_name == EVENTS_TABLE

    # -- what a command will read, read in one round trip ---------------------------------

    @contextmanager
    def reading_ahead(self, wanted: Mapping[UUID, Ahead]) -> Iterator[None]:
        """Inside, :meth:`select_events` answers from one read of ``wanted`` made now, where
        that read holds the whole answer, and asks the store otherwise (see :class:`Ahead`).

        A command read the staff registry's version, its request key, its case, its fund,
        the programme year and the policy register's version one statement each, each a
        round trip; now one (issue 25 §2). What is read is what those statements would have
        read at this moment, all at one moment: the append still checks every version, and
        a retry reads again. Only this recorder answers from it, and only in this context
        (a thread, a task): another store, or another command, asks the store."""
        token = _AHEAD.set((self, self._read_ahead(wanted)) if wanted else None)
        try:
            yield
        finally:
            _AHEAD.reset(token)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)  # as the library reads
    def _read_ahead(self, wanted: Mapping[UUID, Ahead]) -> dict[UUID, _Read]:
        ids = list(wanted)
        most = {i: max(1, wanted[i].most) for i in ids}
        rows: dict[UUID, list[StoredEvent]] = {i: [] for i in ids}
        # one row of three values a record, not three arrays: psycopg dumps an array element
        # by element and the server unnests it, which cost as much as the reads it replaced
        params = [v for i in ids for v in (i, wanted[i].after, most[i])]
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._ahead_statement(len(ids), curs), params, prepare=True)
            for row in curs.fetchall():
                rows[row["originator_id"]].append(
                    StoredEvent(
                        originator_id=row["originator_id"],
                        originator_version=row["originator_version"],
                        topic=row["topic"],
                        state=bytes(row["state"]),
                    )
                )
        read = {}
        for i, found in rows.items():
            found.reverse()  # oldest first
            # every event after ``after`` is here when fewer than asked for came back; else
            # (the latest ``most``) every event from the oldest that came back on
            whole = len(found) < most[i]
            read[i] = _Read(found, wanted[i].after if whole else found[0].originator_version - 1)
        return read

    def _ahead_statement(self, records: int, curs: Any) -> bytes:
        """The read ahead of so many records, as bytes made once per recorder and count (as
        the append: a composed statement is rendered again at every execute otherwise)."""
        from psycopg.sql import SQL, Identifier

        found = self._ahead.get(records)
        if found is None:
            found = self._ahead[records] = (
                SQL(
                    "SELECT e.originator_id, e.originator_version, e.topic, e.state"
                    " FROM (VALUES {2}) AS a(id, after, n)"
                    " CROSS JOIN LATERAL (SELECT * FROM {0}.{1} WHERE originator_id = a.id AND"
                    " originator_version > a.after ORDER BY originator_version DESC LIMIT a.n) AS e"
                )
                .format(
                    Identifier(self.datastore.schema),
                    Identifier(self.events_table_name),
                    SQL(", ").join([SQL("(%s::uuid, %s::bigint, %s::bigint)")] * records),
                )
                .as_bytes(curs)
            )
        return found

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        ahead = _AHEAD.get()
        if ahead is not None and ahead[0] is self:  # another store's reads are its own
            key = originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
            read = ahead[1].get(key)
            if read is not None:
                answer = read.answer(gt=gt, lte=lte, desc=desc, limit=limit)
                if answer is not None:
                    return answer
        asked: Sequence[StoredEvent] = super().select_events(
            originator_id, gt=gt, lte=lte, desc=desc, limit=limit
        )
        return asked

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


class Ahead(NamedTuple):
    """What to read ahead of one record: at most ``most`` of its latest events after version
    ``after`` (the version a process already holds; 0 for all of them)."""

    after: int = 0
    most: int = 100


class _Read(NamedTuple):
    """A record's events read ahead, oldest first: every event after version ``since``."""

    events: list[StoredEvent]
    since: int

    def answer(
        self, *, gt: int | None, lte: int | None, desc: bool, limit: int | None
    ) -> list[StoredEvent] | None:
        """What ``select_events`` with these arguments gives, or None when events older than
        those read ahead could be part of it."""
        found = [
            e
            for e in self.events
            if (gt is None or e.originator_version > gt)
            and (lte is None or e.originator_version <= lte)
        ]
        if desc:
            found.reverse()
        complete = (gt or 0) >= self.since
        if not complete and not (
            desc and lte is None and limit is not None and len(found) >= limit
        ):
            return None  # only the newest ``limit`` are known to be the newest there are
        return found if limit is None else found[:limit]


_ReadAhead = tuple[SerialisedDDLApplicationRecorder, dict[UUID, _Read]]
_AHEAD: ContextVar[_ReadAhead | None] = ContextVar("aidflow_read_ahead", default=None)
"""The recorder that read ahead in this context, and what it read."""


class SerialisedDDLFactory(PostgresFactory):
    """The library's PostgreSQL factory with every table (events, snapshots) created under
    the DDL lock, so any number of processes can open a fresh store at once."""

    aggregate_recorder_class = SerialisedDDLAggregateRecorder
    application_recorder_class = SerialisedDDLApplicationRecorder
