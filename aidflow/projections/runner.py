"""Keeps the views current: catch-up, follow, rebuild and status, over one tracking record.

The runner reads the store's notifications a page at a time, decodes each page
once, and hands it to every view in one transaction: each view writes inside
its own savepoint and the positions of all views advance together with their
rows. A view that fails on an event (its writer raised, or the event is of a
class it has not declared) is contained: its savepoint rolls back, the events
before the failing one are applied, the failure (position and error) is
recorded, and the view stays at its last good position while the others go
on. Commands and ``verify`` never depend on a view succeeding.

A failed view is retried once by each new runner (every CLI command, every
restarted follower) from its last good position; ``rebuild`` empties it and
builds it again. A view whose position is ahead of the store's last event holds
events this store does not have (a restored or replaced database): that damage
is recorded and only ``rebuild`` clears it.

The library's ``ProjectionRunner`` is not used: it hands a projection one
decoded event at a time, while the audit chain hashes each event's stored
bytes and the views write whole pages with ``executemany``.

The runner pages and applies; its other jobs live beside it, each in its own
module: how a failing view is contained (:mod:`.containment`), the long-running
follower (:mod:`.follower`), and status and the guard on queries (:mod:`.status`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from threading import Event, Lock

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from aidflow.bulk import collector_paused
from aidflow.domain.errors import LOCK_NOT_AVAILABLE, sqlstate
from aidflow.projections import bluegreen, follower
from aidflow.projections.base import read_only, reading, refuse_read_only, writing
from aidflow.projections.containment import (
    ViewFailed,
    describe,
    page_writes,
    write_contained,
    write_or_flag,
)
from aidflow.projections.models import ViewStatus
from aidflow.projections.source import EventSource, Stored, head, read_page
from aidflow.projections.status import ahead, guarded, statuses
from aidflow.projections.tracking import (
    Failure,
    PositionsMoved,
    PositionTaken,
    advance,
    clear_failure,
    move_together,
    outdated,
    positions,
    positions_and_failures,
    prepare,
    record_failure,
)
from aidflow.projections.view import Envelope, SQLView, envelopes, read_keys_ahead

__all__ = ["PAGE", "Progress", "Runner", "describe"]

PAGE = 2000
Progress = Callable[[int], None]
Reader = Callable[[dict[str, int]], Sequence[Envelope]]
"""What a page holds, read once the positions it starts from are locked."""


_RACES = 3
"""Tries of a catch-up that met another process giving a view its first position."""


def following(recorded: Sequence[Stored], after: int, limit: int) -> Sequence[Stored]:
    """``recorded`` in position order when they are the very records after ``after`` (and no
    more than ``limit``), else nothing: then they are read from the store with the rest."""
    records = sorted(recorded, key=lambda r: r.id)
    if not records or len(records) > limit:
        return ()
    if any(r.id != after + 1 + i for i, r in enumerate(records)):
        return ()
    return records


def together_at(
    runnable: Sequence[str],
    failed: Mapping[str, Failure],
    expected: dict[str, int] | None,
    page: Sequence[Envelope],
) -> int | None:
    """The one position every runnable view stands at, when the page can move them as one.

    None sends the page down the general path: no positions remembered, views at different
    positions, one without a position yet, one that failed before, or nothing new.
    """
    if expected is None:
        return None
    at = {expected.get(n) for n in runnable}
    if len(at) != 1 or any(n in failed for n in runnable):
        return None
    (position,) = at
    if position is None or not page or page[-1].position <= position:
        return None
    return position


def decoded(views: Sequence[SQLView], page: list[Envelope]) -> list[Envelope]:
    """The page, with what ``views`` will read decoded now: the events of the views that
    read events, the personal fields others open (see :meth:`Envelope.prepare`)."""
    handled: set[type] = set()
    decode: set[type] = set()
    fields: dict[type, set[str]] = {}
    for view in views:
        handled |= view.handles
        if view.decodes:
            decode |= view.handles
        for cls, opened in view.opens.items():
            fields.setdefault(cls, set()).update(opened)
    read_keys_ahead(page, fields)
    for envelope in page:
        cls = envelope.cls
        if cls in handled:
            envelope.prepare(decode=cls in decode, fields=sorted(fields.get(cls, ())))
    return page


def read_by(
    views: Sequence[SQLView], records: Sequence[Stored], source: EventSource, *, every: bool
) -> list[Envelope]:
    """The records as envelopes, what ``views`` will read decoded now (:func:`decoded`).
    Records of classes none of them handles are not parsed (:func:`envelopes`), except where
    ``every`` record's time is read (``until``)."""
    handled = None if every else frozenset().union(*(v.handles for v in views))
    return decoded(views, envelopes(records, source.mapper, parse=handled))


class Runner:
    """Drives a set of views from an event source."""

    def __init__(self, engine: Engine, views: dict[str, SQLView], page_size: int = PAGE) -> None:
        self.engine = engine
        self.views = views
        self.page_size = page_size
        self.read_only = read_only(engine)
        """Opened on a read-only URL: queries answer from the views as they stand, nothing is written."""
        self.outdated: list[str] = []
        """Read-only only: views stored at another schema version (they cannot be rebuilt here)."""
        if self.read_only:
            self.recreated: list[str] = []
            self.outdated = outdated(engine, list(views.values()))
        else:
            self.recreated = prepare(engine, list(views.values()))
        """Views emptied on open because their stored schema version differed from the code's."""
        self.one_applier = engine.dialect.name == "postgresql"
        """After a command, apply the views unless another process is (its row locks tell)."""
        self._stopped: set[str] = set()  # failed in this process: not retried until rebuilt
        self._failed: dict[str, Failure] = {}  # as last read or recorded by this process
        self._known: dict[str, int] | None = None
        """Positions as this process last wrote them: an inline catch-up starts from here and
        checks them under the write lock, instead of reading them in a transaction first."""
        self._lock = Lock()

    # -- catching up -----------------------------------------------------------------------

    def catch_up(
        self,
        source: EventSource,
        *,
        stop: int | None = None,
        until: datetime | None = None,
        progress: Progress | None = None,
        recorded: Sequence[Stored] = (),
    ) -> int:
        """Apply every event not yet in the views; returns how many stored records were read.

        ``stop`` (a position) and ``until`` (a moment: events recorded after it are
        left out) serve time travel. ``recorded`` are records a command of this
        process just stored (``AidFlow.recorded``): when they are the very next
        records after the views (and no more than a page), they are applied as they
        are, without reading the store; events other processes record after them come
        with the next catch-up. A batch larger than a page is read in pages as usual.
        """
        if self.read_only:
            return 0  # a read-only store is queried as it stands
        with self._lock, collector_paused():
            if recorded and self.one_applier and stop is None and until is None:
                try:
                    done = self._follow_on(source, recorded)
                    if done is not None:
                        return done
                    return self._catch_up_locked(source, progress, recorded, nowait=True)
                except PositionTaken:
                    self._known = None  # a view's first position, placed meanwhile: as below
            if self._known is not None:
                try:  # positions remembered from this process's last page: no read first
                    if 0 < len(recorded) <= self.page_size and stop is None and until is None:
                        applied = self._apply_recorded(source, recorded)
                        if applied:
                            return applied
                    return self._catch_up(source, self._known, stop, until, progress, expect=True)
                except PositionsMoved:
                    self._known = None  # moved by another process: read them, then go on
                    if stop is None and until is None:
                        return self._catch_up_locked(source, progress)
            tries = 0
            while True:
                tracked = self._load(source.name)
                if stop is None and until is None:
                    # remembered for the next catch-up (a query that finds nothing new then
                    # reads no positions); a page applied later checks them under lock, and a
                    # view moved by another process meanwhile makes it read them again
                    self._known = dict(tracked)
                try:
                    return self._catch_up(source, tracked, stop, until, progress, expect=False)
                except PositionTaken:  # rolled back: another process placed a view first
                    self._known, tries = None, tries + 1
                    if tries == _RACES:
                        raise

    def _catch_up(
        self,
        source: EventSource,
        tracked: dict[str, int],
        stop: int | None,
        until: datetime | None,
        progress: Progress | None,
        *,
        expect: bool,
    ) -> int:
        runnable = self._runnable()
        if not runnable:
            return 0
        after = min(tracked.get(n, 0) for n in runnable)
        read = 0
        records, last_seen = first_page(source, after, self.page_size, stop)
        while records:
            last_seen = records[-1].id
            page = self._page(records, source, every=until is not None)
            if until is not None:
                page = [e for e in page if e.recorded_at <= until]
            if page:
                tracked, _ = self._apply_page(source.name, page, tracked if expect else None)
                expect = False  # the first page checked them under lock; later pages follow it
            read += len(records)
            if progress is not None:
                progress(len(records))
            runnable = self._runnable()
            if len(records) < self.page_size or not runnable:
                break
            # A view that stopped in this page no longer holds the others back.
            after = max(records[-1].id, min(tracked.get(n, 0) for n in runnable))
            records = read_page(source, after, self.page_size, stop)
        if stop is None and runnable:  # read to the end: nothing may stand beyond it
            self._failed.update(
                note_damage(self.engine, self.views, self._failed, source, tracked, last_seen or 0)
            )
        return read

    def _catch_up_locked(
        self,
        source: EventSource,
        progress: Progress | None,
        recorded: Sequence[Stored] = (),
        *,
        nowait: bool = False,
    ) -> int:
        """Lock the positions first, then read only what is missing (what this process just
        stored is not read back when it follows on them). Reading first had every writer
        decode every writer's events for nothing, then queue for the lock (issue 25 §2).
        ``nowait``: another process holding the positions is applying the views now; this
        one goes on, and its records come with the next catch-up (every query's first)."""
        read, last, tracked = 0, 0, dict[str, int]()
        while self._runnable():
            records: Sequence[Stored] = ()

            def missing(
                locked: dict[str, int], recorded: Sequence[Stored] = recorded
            ) -> list[Envelope]:
                nonlocal records, last
                after = min(locked.get(n, 0) for n in self._runnable())
                records = following(recorded, after, self.page_size)
                if not records:
                    records, seen = first_page(source, after, self.page_size, None)
                    last = seen or last
                return self._page(records, source)

            try:
                tracked, _ = self._apply_page(source.name, [], None, missing, nowait=nowait)
            except OperationalError as exc:
                if nowait and sqlstate(exc) == LOCK_NOT_AVAILABLE:
                    return read  # another process is applying the views now
                raise
            recorded = ()  # only the first page may be what this process just stored
            read, last = read + len(records), records[-1].id if records else last
            if progress is not None:
                progress(len(records))
            if len(records) < self.page_size:
                break
        self._failed.update(
            note_damage(self.engine, self.views, self._failed, source, tracked, last)
        )
        return read

    def _follow_on(self, source: EventSource, recorded: Sequence[Stored]) -> int | None:
        """Records this process just stored, applied where they follow the positions it left
        (PostgreSQL, one writer at work): the positions checked, locked and moved in one
        statement, not locked then moved. 0 when another process is applying the views (it
        takes them); None when they do not follow on, or another process moved the views
        (the caller locks them and reads what is missing)."""
        try:
            applied = self._apply_recorded(source, recorded, nowait=True) if self._known else 0
        except PositionsMoved:
            self._known = None
            return None
        except OperationalError as exc:
            if sqlstate(exc) == LOCK_NOT_AVAILABLE:
                return 0  # as _catch_up_locked: the one applying takes them
            raise
        return applied or None

    def _apply_recorded(
        self, source: EventSource, recorded: Sequence[Stored], *, nowait: bool = False
    ) -> int:
        """Apply records just stored when every view stands right before the first of them
        and they follow one another; 0 when they do not (the caller reads the store)."""
        known = self._known or {}
        runnable = self._runnable()
        at = {known.get(n) for n in runnable}
        after = at.pop() if len(at) == 1 else None
        if after is None or any(n in self._failed for n in runnable):
            return 0
        records = following(recorded, after, self.page_size)
        if not records:
            return 0
        page = self._page(records, source)
        self._apply_page(source.name, page, known, nowait=nowait)  # checked under the lock
        return len(records)

    def apply(self, source: EventSource, records: Sequence[Stored]) -> int:
        """Feed stored records (in position order) to every view; each skips what it has.

        Returns the most events any one view applied.
        """
        if not records or self.read_only:
            return 0
        page = self._page(records, source)
        with self._lock:
            return self._apply_page(source.name, page, None)[1]

    def _page(
        self, records: Sequence[Stored], source: EventSource, *, every: bool = False
    ) -> list[Envelope]:
        """The records as the runnable views will read them (:func:`read_by`)."""
        return read_by([self.views[n] for n in self._runnable()], records, source, every=every)

    def _load(self, application_name: str) -> dict[str, int]:
        """Read every view's position and failure; the failures are kept for the pages to come."""
        with reading(self.engine) as conn:
            tracked, self._failed = positions_and_failures(conn, application_name)
        return tracked

    def _runnable(self) -> list[str]:
        """Views to feed: not stopped in this process, not damaged."""
        return [
            n
            for n in self.views
            if n not in self._stopped and not (n in self._failed and self._failed[n].damaged)
        ]

    def _apply_page(
        self,
        application_name: str,
        page: Sequence[Envelope],
        expected: dict[str, int] | None,
        read: Reader | None = None,
        *,
        nowait: bool = False,
    ) -> tuple[dict[str, int], int]:
        """One transaction: every runnable view takes what it lacks of the page (or of what
        ``read`` gives, asked with the positions once they are locked).

        Returns the views' positions after it, and the most events any one view applied.
        The first attempt writes without savepoints; if a view fails, the page is
        rolled back and written again with one savepoint per view, so that only the
        failing view stops.
        """
        try:
            return self._apply_page_in(
                application_name, page, expected, read, careful=False, nowait=nowait
            )
        except ViewFailed:
            self._forget_rows()
            return self._apply_page_in(
                application_name, page, expected, read, careful=True, nowait=nowait
            )
        except BaseException:
            self._forget_rows()  # rolled back, maybe once the views had written: keep none of it
            raise

    def _forget_rows(self) -> None:
        """What the views keep of the pages they wrote, dropped (a page was rolled back)."""
        for view in self.views.values():
            view.forget()

    def _apply_page_in(
        self,
        application_name: str,
        page: Sequence[Envelope],
        expected: dict[str, int] | None,
        read: Reader | None,
        *,
        careful: bool,
        nowait: bool = False,
    ) -> tuple[dict[str, int], int]:
        applied = 0
        stopped: dict[str, Failure] = {}
        cleared: list[str] = []
        together = None if careful else together_at(self._runnable(), self._failed, expected, page)
        with writing(self.engine, held=not careful) as conn:
            if together is not None:  # one statement checks, locks and moves the positions
                last = page[-1].position
                if not move_together(
                    conn, application_name, self._runnable(), together, last, nowait=nowait
                ):
                    raise PositionsMoved  # rolled back: the positions this process remembered moved
                tracked = dict(expected or {})
            else:
                tracked = positions(conn, application_name, lock=True, nowait=nowait)
                if expected is not None and any(
                    tracked.get(n) != expected.get(n) for n in self._runnable()
                ):
                    raise PositionsMoved  # rolled back: the positions this process remembered moved
                if read is not None:
                    page = read(tracked)
            moves: dict[str, int] = {}
            with page_writes(conn, careful=careful, commit=together is not None):
                for name in self._runnable():
                    view = self.views[name]
                    after = tracked.get(name)
                    fresh = [e for e in page if after is None or e.position > after]
                    if not fresh:
                        continue
                    applied = max(applied, len(fresh))
                    if careful:
                        good, failure = write_contained(conn, view, fresh, after)
                    else:
                        good, failure = write_or_flag(conn, view, fresh, after), None
                    if good is not None:
                        moves[name] = good
                    if failure is not None:
                        record_failure(conn, name, failure)
                        stopped[name] = failure
                    elif name in self._failed:
                        clear_failure(conn, name)  # it failed before; the cause is gone
                        cleared.append(name)
            if together is None:
                advance(conn, application_name, moves, tracked)
        self._stopped.update(stopped)
        self._failed.update(stopped)
        for name in cleared:
            self._failed.pop(name, None)
        self._known = {**tracked, **moves}
        return self._known, applied

    # -- other ways to run -----------------------------------------------------------------

    def rebuild(
        self,
        source: EventSource,
        names: Sequence[str] = (),
        *,
        progress: Progress | None = None,
        tag: str = "",
    ) -> int:
        """Build the named views (all when none are named) again from the events, blue/green.

        They are built in fresh tables and switched in at the end in one transaction
        (:mod:`aidflow.projections.bluegreen`): until then readers see the old views,
        and a rebuild that crashes leaves them intact. Returns the records read.
        """
        chosen = list(names) or list(self.views)
        unknown = set(chosen) - set(self.views)
        if unknown:
            raise ValueError(f"no such view: {', '.join(sorted(unknown))}")
        refuse_read_only(self.engine)

        def build(scratch: Engine, fresh: dict[str, SQLView]) -> int:
            return Runner(scratch, fresh, self.page_size).catch_up(source, progress=progress)

        with self._lock:
            try:
                chosen_views = {n: self.views[n] for n in chosen}
                read = bluegreen.rebuild(self.engine, chosen_views, build, tag=tag)
            finally:
                self.forget()
            for name in chosen:
                self._stopped.discard(name)
                self._failed.pop(name, None)
        self.catch_up(source)  # what was recorded while the rebuild ran
        return read

    def forget(self) -> None:
        """Drop what this process remembers of the views' positions and rows (another process
        rebuilt them): the next catch-up reads them afresh."""
        self._known = None
        self._forget_rows()

    def follow(
        self,
        source: EventSource,
        *,
        stop: Event | None = None,
        poll_seconds: float = 0.5,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        """Keep the views current until ``stop`` is set: the long-running follower
        (:func:`aidflow.projections.follower.follow`, which subscribes or polls)."""
        follower.follow(self, source, stop=stop, poll_seconds=poll_seconds, on_batch=on_batch)

    def resume_from(self, source: EventSource) -> int:
        """Where a follower's subscription starts: the lowest position of the views still fed
        (their positions and failures read afresh)."""
        tracked = self._load(source.name)
        return min((tracked.get(n, 0) for n in self._runnable()), default=0)

    # -- how current, and may it be read (:mod:`aidflow.projections.status`) ---------------

    def status(self, source: EventSource) -> list[ViewStatus]:
        """Each view's position, lag and failure: never refused, so a stopped view shows why."""
        return statuses(self.engine, self.views, source)

    def query(self, name: str) -> AbstractContextManager[Connection]:
        """A read-only connection for a query on one view, refused when the view has stopped."""
        return guarded(self.engine, name, open_views=self.views, outdated=self.outdated)


def first_page(
    source: EventSource, after: int, limit: int, stop: int | None
) -> tuple[Sequence[Stored], int | None]:
    """The records after ``after`` (at most ``limit``), and the last position seen: the read
    starts at the record the views stand on, which, found, shows the store still reaches
    them, so a catch-up that finds nothing new (a query's) asks the store no head."""
    if after <= 0:
        return read_page(source, after, limit, stop), None
    records = read_page(source, after - 1, limit + 1, stop)
    if records and records[0].id == after:
        return records[1:], after
    return records, None


def note_damage(
    engine: Engine,
    views: Collection[str],
    failed: dict[str, Failure],
    source: EventSource,
    tracked: dict[str, int],
    last_seen: int,
) -> dict[str, Failure]:
    """Record as damage any view whose position is beyond the store's last event; returns them.

    Only a view beyond the last record this catch-up saw is a suspect; the store's
    head is then read after the positions were, so a follower elsewhere that moved
    a view on meanwhile is never mistaken for damage.
    """
    suspects = {
        name: position
        for name, position in tracked.items()
        if name in views and position > last_seen and not (name in failed and failed[name].damaged)
    }
    if not suspects:
        return {}
    last = head(source)
    beyond = {
        name: Failure(position, ahead(position, last), damaged=True)
        for name, position in suspects.items()
        if position > last
    }
    if beyond:
        with writing(engine) as conn:
            for name, failure in beyond.items():
                record_failure(conn, name, failure)
    return beyond
