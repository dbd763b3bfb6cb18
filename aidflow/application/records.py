"""Reading aggregates back from the store, each failure named.

An aggregate that is not there, one of another kind, and a stored record that cannot be
decoded are three different answers: not found, a damaged key, a damaged store. Every
slice and every query reads through here, so they are told apart the same way everywhere.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Repository
from eventsourcing.persistence import (
    ApplicationRecorder,
    EventStore,
    PersistenceError,
    RecordConflictError,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder

from aidflow.application.direct import project
from aidflow.domain.base import AidAggregate
from aidflow.domain.case import StudentCase
from aidflow.domain.errors import (
    CaseNotFound,
    FundNotFound,
    MasterKeyError,
    NotFound,
    StoreDamaged,
    said,
)
from aidflow.domain.fund import Fund

A = TypeVar("A", bound=AidAggregate)


def damaged(aggregate_id: UUID, exc: Exception) -> StoreDamaged:
    """A stored record of ``aggregate_id`` that cannot be decoded: say so, and where to look."""
    return StoreDamaged(
        f"the stored records of {aggregate_id} cannot be read ({type(exc).__name__}: {exc}); "
        "the store is damaged: run `aidflow audit verify` to find the record",
        ids={"aggregate_id": str(aggregate_id)},
    )


SNAPSHOT_EVERY: dict[type[Any], int] = {Fund: 100}
"""The kinds snapshotted, every so many events (a fund takes a reservation per approval);
every other kind is read from its events alone."""


WARM_FUNDS = 1000
"""How many funds a process keeps warm (a district has a few dozen)."""


_ONE_READING: ContextVar[dict[UUID, Any] | None] = ContextVar("aidflow_one_reading", default=None)


@contextmanager
def one_reading() -> Iterator[None]:
    """Inside, :meth:`Records.current` reads the staff registry and the policy register once:
    an HTTP request's token check and its command's authorisation see the same registry, as
    one question asked at one moment (one indexed read of it, not two). A service's threads
    share the reading of the request they serve (context variables reach them)."""
    token = _ONE_READING.set({})
    try:
        yield
    finally:
        _ONE_READING.reset(token)


class Records:
    """The store's aggregates, read back: by id, by kind, as events, or cached for reading."""

    def __init__(
        self,
        repository: Repository[UUID],
        events: EventStore[UUID],
        recorder: ApplicationRecorder,
        snapshotted: frozenset[type[Any]] = frozenset(SNAPSHOT_EVERY),
    ) -> None:
        self.repository = repository
        self.snapshotted = snapshotted
        """The kinds that may have snapshots (the rest are read from their events alone)."""
        self.event_store = events
        self.recorder = recorder
        self._singletons: dict[UUID, tuple[int | None, AidAggregate | None]] = {}
        """The staff registry and policy register last read, by id (see :meth:`current`)."""
        self._funds: dict[UUID, Fund] = {}
        """Funds given back by the commands that committed last, by id (see :meth:`fund`)."""
        self._funds_lock = threading.Lock()  # a service's threads share them

    def get(
        self, aggregate_id: UUID, version: int | None = None, *, snapshots: bool = True
    ) -> AidAggregate | None:
        """An aggregate from the store, or None; a record that cannot be decoded is damage.
        ``snapshots=False``: from its events alone (a kind never snapshotted: one query, not
        two, for the repository asks the snapshot store first)."""
        try:
            if snapshots:
                aggregate: AidAggregate | None = self.repository.get(
                    aggregate_id, version=version, projector_func=project
                )
            else:
                events = self.event_store.get(originator_id=aggregate_id, lte=version)
                aggregate = project(None, events)
        except AggregateNotFoundError:
            return None
        except (PersistenceError, RecordConflictError, MasterKeyError):
            raise
        except Exception as exc:
            raise damaged(aggregate_id, exc) from exc
        return aggregate

    def load(self, cls: type[A], aggregate_id: UUID, missing: type[NotFound]) -> A:
        """The aggregate of kind ``cls``, else ``missing``; a kind never snapshotted is read
        from its events alone (a snapshot of one, in a store of long ago, is not needed)."""
        aggregate = self.get(aggregate_id, snapshots=cls in self.snapshotted)
        if aggregate is None:
            raise missing(f"no {cls.__name__.lower()} with id {aggregate_id}")
        if not isinstance(aggregate, cls):
            raise missing(f"{aggregate_id} is not a {cls.__name__.lower()}")
        return aggregate

    def find(self, cls: type[A], aggregate_id: UUID) -> A | None:
        """The aggregate of kind ``cls`` under a derived id (a key, a register), or None; a
        kind never snapshotted from its events alone (a screening import looks up every new
        student's earlier years this way, most of them absent)."""
        aggregate = self.get(aggregate_id, snapshots=cls in self.snapshotted)
        if aggregate is not None and not isinstance(aggregate, cls):
            raise StoreDamaged(
                said(
                    "record {aggregate_id} should be a {type_name} key",
                    aggregate_id=aggregate_id,
                    type_name=cls.__name__,
                )
            )
        return aggregate

    def reading_ahead(
        self, records: Iterable[UUID], latest: Iterable[UUID] = ()
    ) -> AbstractContextManager[None]:
        """A context inside which ``records`` (the latest hundred events of each, or those after
        the version of a fund kept warm) and the ``latest`` event of each of ``latest`` are
        read from one read made on entering, where the recorder reads ahead (PostgreSQL: one
        round trip instead of one a record; :meth:`aidflow.store.SerialisedDDLApplicationRecorder.reading_ahead`);
        what it does not hold is asked of the store as before. Elsewhere nothing changes."""
        ahead = getattr(self.recorder, "reading_ahead", None)  # not imported: it loads psycopg
        if ahead is None:
            return nullcontext()
        from aidflow.store import Ahead

        with self._funds_lock:  # a fund kept warm: only the events after its version
            wanted = {
                i: Ahead(after=f.version if (f := self._funds.get(i)) else 0) for i in records
            }
        wanted.update({i: Ahead(most=1) for i in latest if i not in wanted})
        reading: AbstractContextManager[None] = ahead(wanted)
        return reading

    def existing(self, ids: list[UUID]) -> set[UUID]:
        """Which of ``ids`` have a stored event: in one read on PostgreSQL (the office's
        recorder, :mod:`aidflow.store`), one per 500 ids on the library's SQLite recorder,
        elsewhere one small read per id."""
        recorder = self.recorder
        in_one_read = getattr(recorder, "existing", None)  # not imported: it loads psycopg
        if in_one_read is not None:
            return set(in_one_read(ids))
        if not isinstance(recorder, SQLiteApplicationRecorder):
            return {i for i in ids if recorder.select_events(i, limit=1)}
        table = recorder.events_table_name  # the library's own
        found: set[UUID] = set()
        with recorder.datastore.transaction(commit=False) as c:
            for start in range(0, len(ids), 500):
                chunk = [i.hex for i in ids[start : start + 500]]  # as the library stores them
                marks = ", ".join("?" * len(chunk))
                c.execute(
                    f"SELECT DISTINCT originator_id FROM {table} WHERE originator_id IN ({marks})",  # noqa: S608
                    chunk,
                )
                found.update(UUID(str(row[0])) for row in c.fetchall())
        return found

    def case(self, case_id: UUID) -> StudentCase:
        return self.load(StudentCase, case_id, CaseNotFound)

    def fund(self, fund_id: UUID) -> Fund:
        """A fund as it stands, lent to one command to change (see :meth:`give_back`).

        Every approval, deposit and secondary aid loads its fund; replaying the fund from
        its snapshot each time cost a command more than its own work (issue 25). The fund
        a command committed last is kept in the process and brought up to date with the
        events recorded after its version, by any process (one indexed read): the same
        state a fresh load gives. The kept instance itself is lent, not a copy: a deep copy
        grew with the fund's receipts (a fifth of an HTTP deposit's CPU at 1,000 deposits).
        While it is lent, another command loads its own. A fund holds no personal data,
        so keeping it survives no erasure.
        """
        with self._funds_lock:
            warm = self._funds.pop(fund_id, None)
        if warm is None:
            return self.load(Fund, fund_id, FundNotFound)
        try:
            project(warm, self.event_store.get(fund_id, gt=warm.version))
        except (PersistenceError, MasterKeyError):
            raise
        except Exception as exc:
            raise damaged(fund_id, exc) from exc
        return warm

    def give_back(self, funds: Iterable[Fund]) -> None:
        """Keep the funds a command was lent, once it committed: each as the store now has it
        (changed and saved, or not changed). A fund holding events not saved is dropped;
        so is every fund of a command that failed (the pipeline gives back none)."""
        with self._funds_lock:
            for fund in funds:
                if fund.pending_events:
                    continue
                self._funds.pop(fund.id, None)
                if len(self._funds) >= WARM_FUNDS:
                    self._funds.pop(next(iter(self._funds)))  # the one used least lately
                self._funds[fund.id] = fund

    def events(self, aggregate_id: UUID) -> Iterator[AidAggregate.Event]:
        """Every stored event of one aggregate, decoded, oldest first."""
        try:
            for domain_event in self.event_store.get(aggregate_id):
                assert isinstance(domain_event, AidAggregate.Event)
                yield domain_event
        except (PersistenceError, MasterKeyError):
            raise
        except Exception as exc:
            raise damaged(aggregate_id, exc) from exc

    def current(self, cls: type[A], aggregate_id: UUID) -> A | None:
        """The staff registry or the policy register as it stands, **for reading only**.

        Every command reads both; replaying them each time cost more than the rest of
        a command. The instance loaded last is kept in the process with its version,
        and reused while the store's latest event of it has that version (one indexed
        read of one row): a change by any process is seen by the next command, as with
        a fresh load. Callers must not change what this returns.
        """
        held = _ONE_READING.get()
        if held is not None and aggregate_id in held:
            kept = held[aggregate_id]
            if kept is None or isinstance(kept, cls):
                return kept
        found = self._current(cls, aggregate_id)
        if held is not None:
            held[aggregate_id] = found
        return found

    def _current(self, cls: type[A], aggregate_id: UUID) -> A | None:
        latest = self.recorder.select_events(aggregate_id, desc=True, limit=1)
        version = latest[0].originator_version if latest else None
        cached = self._singletons.get(aggregate_id)
        if cached is not None and cached[0] == version:
            if cached[1] is None:  # not started yet (a store without a policy set), still so
                return None
            if isinstance(cached[1], cls):
                return cached[1]
        found = self.find(cls, aggregate_id)
        self._singletons[aggregate_id] = (None if found is None else found.version, found)
        return found


def replay(events: Iterator[Any], *, until: Any = None, version: int | None = None) -> Any:
    """Fold ``events`` into the aggregate they make, stopping after ``until`` (a moment) or
    ``version``; None when the first event comes after them."""
    state: Any = None
    for domain_event in events:
        if (until is not None and domain_event.timestamp > until) or (
            version is not None and domain_event.originator_version > version
        ):
            break
        state = domain_event.mutate(state)
    return state
