"""Commands on one aggregate take turns inside a process (issue 25 §1).

The store's optimistic check (one event per aggregate version) keeps money exact, but a
service with many threads on one hot fund lost most of its work to it: every deposit
loaded the fund, another thread saved first, and the loser decided again, up to failing
with ``ConcurrencyConflict`` after its last attempt. Inside one process that contest is
pointless, so commands queue for the aggregates they write instead: a command waits for
the lock of every record its command names (its fund, its case) before it decides, and a
command that met a conflict anyway (another process; a record it did not name) waits for
every record it wrote before it decides again. Locks are taken in id order with none held
(no deadlock); records a command writes beyond those are tried without waiting.

Between processes the store's check still decides; the pipeline retries until its wait
runs out (:attr:`~aidflow.application.pipeline.Pipeline.conflict_wait`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from uuid import UUID

from aidflow.domain.errors import ConcurrencyConflict, said


class AggregateLocks:
    """One lock per aggregate id in use, dropped when no command holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[UUID, tuple[threading.RLock, int]] = {}

    def _use(self, aggregate_id: UUID) -> threading.RLock:
        with self._guard:
            lock, users = self._locks.get(aggregate_id, (None, 0))
            if lock is None:
                lock = threading.RLock()  # re-entrant: a command run inside another's turn
            self._locks[aggregate_id] = (lock, users + 1)
            return lock

    def _disuse(self, aggregate_id: UUID) -> None:
        with self._guard:
            lock, users = self._locks[aggregate_id]
            if users == 1:
                del self._locks[aggregate_id]
            else:
                self._locks[aggregate_id] = (lock, users - 1)

    def in_use(self) -> int:
        """How many aggregates have a lock now (for tests: none once commands finish)."""
        with self._guard:
            return len(self._locks)

    @contextmanager
    def holding(self, ids: Iterable[UUID], *, until: float, wait: float) -> Iterator[None]:
        """Hold the lock of every id in ``ids``, taken in id order; past the monotonic
        moment ``until`` the wait gives up with ``ConcurrencyConflict`` (nothing written)."""
        held: list[UUID] = []
        try:
            for aggregate_id in sorted(set(ids)):
                lock = self._use(aggregate_id)
                if not lock.acquire(timeout=max(0.0, until - time.monotonic())):
                    self._disuse(aggregate_id)
                    raise waited_too_long(wait)
                held.append(aggregate_id)
            yield
        finally:
            for aggregate_id in reversed(held):
                self._locks[aggregate_id][0].release()
                self._disuse(aggregate_id)

    @contextmanager
    def trying(self, ids: Iterable[UUID]) -> Iterator[None]:
        """Hold the locks of ``ids`` that are free now, without waiting for the others."""
        held: list[UUID] = []
        try:
            for aggregate_id in sorted(set(ids)):
                lock = self._use(aggregate_id)
                if lock.acquire(blocking=False):
                    held.append(aggregate_id)
                else:
                    self._disuse(aggregate_id)
            yield
        finally:
            for aggregate_id in reversed(held):
                self._locks[aggregate_id][0].release()
                self._disuse(aggregate_id)


def waited_too_long(seconds: float) -> ConcurrencyConflict:
    """The one answer when a command's wait for its records ran out."""
    return ConcurrencyConflict(
        said(
            "other writers kept changing the records this command writes for {seconds} s; nothing was written, try again",
            seconds=f"{seconds:g}",
        )
    )
