"""Commands on one record take turns, inside a process and across processes (issue 25 §1).

The store's optimistic check (one event per aggregate version) keeps money exact, but a
service with many threads on one hot fund lost most of its work to it: every deposit
loaded the fund, another thread saved first, and the loser decided again, up to failing
with ``ConcurrencyConflict`` after its last attempt. That contest wastes a whole decision
per loser, so commands queue for the records they write instead:

- **Inside a process** (:class:`AggregateLocks`): a command waits for the lock of every
  record its command names (its fund, its case, its request key) before it decides; a
  command that met a conflict anyway waits for every record it wrote before it decides
  again. Records it writes beyond those are locked only if free (never waited for).
- **Across processes** (:func:`store_turns`): a record that conflicted lately is *hot*;
  a command naming a hot record, and every retry, also takes the record's turn in the
  store: an advisory lock on PostgreSQL, a byte-range lock on a ``.turns`` file beside a
  SQLite file. Both die with their process (kill -9 included), so a crashed writer never
  leaves a turn taken. Cold records pay nothing. A store turn is waited for a few seconds
  at most (:attr:`~aidflow.application.pipeline.Pipeline.turn_wait`), then the command goes
  on without it: any login may take an advisory lock, so one held by a hung or hostile
  session slows a hot record down and never stops it.

Each kind is taken in one order (ids; store keys) with none of its kind held, so no two
commands deadlock; a lock inside the process that does not come before the command's wait
runs out (:attr:`~aidflow.application.pipeline.Pipeline.conflict_wait`) is
``ConcurrencyConflict`` with nothing written. The store's check stays the last word: a turn
saves work, never decides correctness (two records may share a store key; that costs a
wait, not a wrong answer).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol
from uuid import UUID

from aidflow.config import StoreURL
from aidflow.domain.errors import ConcurrencyConflict, said

TURN_CLASS = 0x41494447
"""The first key of aidflow's record turns on PostgreSQL (two-key advisory locks)."""
FILE_TURNS = 1 << 24
"""Byte offsets of the ``.turns`` file: a record's turn is one byte of it."""


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
                if not self._take(aggregate_id, held, timeout=max(0.0, until - time.monotonic())):
                    raise waited_too_long(wait)
            yield
        finally:
            self._give_back(held)

    @contextmanager
    def trying(self, ids: Iterable[UUID]) -> Iterator[None]:
        """Hold the locks of ``ids`` that are free now, without waiting for the others."""
        held: list[UUID] = []
        try:
            for aggregate_id in sorted(set(ids)):
                self._take(aggregate_id, held, timeout=None)
            yield
        finally:
            self._give_back(held)

    def _take(self, aggregate_id: UUID, held: list[UUID], *, timeout: float | None) -> bool:
        """Take one lock (``timeout`` None: only if free now); a taken one joins ``held``."""
        lock = self._use(aggregate_id)
        taken = lock.acquire(blocking=False) if timeout is None else lock.acquire(timeout=timeout)
        if taken:
            held.append(aggregate_id)
        else:
            self._disuse(aggregate_id)
        return taken

    def _give_back(self, held: list[UUID]) -> None:
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


def store_key(record: UUID) -> int:
    """A record's turn in the store: 32 bits of its id (a signed int4 for PostgreSQL)."""
    return int.from_bytes(record.bytes[:4], "big", signed=True)


class StoreTurns(Protocol):
    """Turns between the processes writing one store. ``holding`` yields True when it took
    every turn asked for before the monotonic moment ``until``, False when it gave up
    waiting (the command goes on without them; it never raises for a turn)."""

    def holding(self, ids: Iterable[UUID], *, until: float) -> Any: ...

    def close(self) -> None: ...


class NoTurns:
    """An in-memory store: one process, so the locks inside it are all the turns."""

    @contextmanager
    def holding(self, ids: Iterable[UUID], *, until: float) -> Iterator[bool]:
        yield True

    def close(self) -> None:
        return None


class FileTurns:
    """Byte-range locks (``fcntl``) on ``FILE.turns`` beside a SQLite store ``FILE``; a lock
    is the process's, so a thread takes it only under :class:`AggregateLocks`."""

    def __init__(self, path: str) -> None:
        self.path = path + ".turns"
        self.mode = os.stat(path).st_mode & 0o666 if os.path.exists(path) else 0o600
        self._fd: int | None = None

    def _file(self) -> int | None:
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, self.mode)
            except OSError:
                return None  # a folder we may not write: the store's check still decides
        return self._fd

    @contextmanager
    def holding(self, ids: Iterable[UUID], *, until: float) -> Iterator[bool]:
        offsets = sorted({store_key(i) % FILE_TURNS for i in ids})
        fd = self._file() if offsets else None
        if fd is None:  # nothing asked, or no turns file to be had: nothing to wait for
            yield True
            return
        held: list[int] = []
        try:
            yield self._take(fd, offsets, held, until)
        finally:
            for offset in held:
                fcntl.lockf(fd, fcntl.LOCK_UN, 1, offset)

    @staticmethod
    def _take(fd: int, offsets: list[int], held: list[int], until: float) -> bool:
        for offset in offsets:
            pause = 0.0005
            while True:
                try:
                    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
                    break
                except OSError:  # another process holds it (EAGAIN/EACCES)
                    if time.monotonic() + pause >= until:
                        return False
                    time.sleep(pause)
                    pause = min(pause * 2, 0.002)
            held.append(offset)
        return True

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class AdvisoryTurns:
    """Session advisory locks on PostgreSQL, on connections of their own (a turn spans the
    command's reads and its save, which the event store makes on its own connections)."""

    def __init__(self, store: StoreURL) -> None:
        self.store = store
        self._idle: list[Any] = []
        self._guard = threading.Lock()

    @contextmanager
    def holding(self, ids: Iterable[UUID], *, until: float) -> Iterator[bool]:
        keys = sorted({store_key(i) for i in ids})
        if not keys:
            yield True
            return
        import psycopg

        with self._guard:
            conn = self._idle.pop() if self._idle else None
        held: list[int] = []
        try:
            if conn is None or conn.closed:
                conn = self.store.connect()
            taken = self._take(conn, keys, held, until)
        except psycopg.Error:  # a connection the server dropped (idle timeout, restart):
            if conn is not None:  # its locks went with it; the command goes on without turns
                conn.close()
            held.clear()
            taken = False
        try:
            yield taken
        finally:
            if conn is not None:
                self._release(conn, held)

    @staticmethod
    def _take(conn: Any, keys: list[int], held: list[int], until: float) -> bool:
        import psycopg

        for key in keys:
            ms = int((until - time.monotonic()) * 1000)
            if ms < 1:
                return False
            try:
                conn.execute(
                    f"SET lock_timeout = {ms}; SELECT pg_advisory_lock({TURN_CLASS}, {key})"
                )
            except psycopg.errors.LockNotAvailable:
                return False
            held.append(key)
        return True

    def _release(self, conn: Any, held: list[int]) -> None:
        if conn.closed:
            return
        try:
            if held:
                conn.execute(
                    "SELECT pg_advisory_unlock(%s, k) FROM unnest(%s::int[]) AS k",
                    (TURN_CLASS, held),
                )
        except Exception:  # a broken connection: its locks went with it
            conn.close()
            return
        with self._guard:
            self._idle.append(conn)

    def close(self) -> None:
        with self._guard:
            idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(Exception):
                conn.close()


def store_turns(store: StoreURL) -> StoreTurns:
    """The turns between processes that ``store``'s backend offers."""
    if store.backend == "postgresql":
        return AdvisoryTurns(store)
    if store.in_memory or store.read_only:
        return NoTurns()
    return FileTurns(store.path)
