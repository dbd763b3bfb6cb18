"""The read side as one object: keep the views current, query them, travel in time.

A thin facade over the slices (:mod:`~aidflow.projections.dossier`,
:mod:`~aidflow.projections.queue`, :mod:`~aidflow.projections.audit`) and the
:class:`~aidflow.projections.runner.Runner`. ``ReadModels.attach(flow)`` catches
the views up after every command of that store (inline), so a command's effect
is visible to the next query: the one way for a library user to open the write
and read sides together. ``follow()`` keeps them current from another process.
``as_of()`` answers as of a past position or moment by the same queries bounded
by that position (rows carry the position at which they took effect);
``rebuilt_as_of()`` builds a scratch copy from the events, the cross-check.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from threading import Event
from typing import ClassVar
from uuid import UUID

from sqlalchemy.engine import Engine

from aidflow import privacy
from aidflow.config import resolve_url
from aidflow.domain.errors import StoreError, said
from aidflow.domain.policy import Policy
from aidflow.projections import audit, dossier, drift, queue
from aidflow.projections.base import create_view_engine, reading
from aidflow.projections.models import (
    CaseSummary,
    CheckResult,
    DonorShare,
    Dossier,
    DueItem,
    JournalLine,
    Ledger,
    Queue,
    View,
    ViewDrift,
    ViewStatus,
    Violation,
)
from aidflow.projections.runner import PAGE, Progress, Runner
from aidflow.projections.source import EventSource, NotifyingSource, Stored
from aidflow.projections.tracking import positions
from aidflow.projections.trail import AuditTrail
from aidflow.projections.view import SQLView


class ReadModels(AuditTrail):
    """The dossier, the consultation queue and the audit views over one database."""

    VIEWS: ClassVar[dict[str, type[SQLView]]] = {
        "dossier": dossier.DossierView,
        "queue": queue.ConsultationQueueView,
        "audit": audit.AuditView,
    }

    def __init__(
        self, engine: Engine, names: Sequence[str] | None = None, *, page_size: int = PAGE
    ) -> None:
        unknown = set(names or ()) - set(self.VIEWS)
        if unknown:
            raise ValueError(
                f"no such view: {', '.join(sorted(unknown))}; views are {', '.join(self.VIEWS)}"
            )
        self.engine = engine
        self.views: dict[str, SQLView] = {
            n: cls(engine) for n, cls in self.VIEWS.items() if not names or n in names
        }
        self.runner = Runner(engine, self.views, page_size)
        self.as_of_moment: datetime | None = None
        self.upto: int | None = None
        """As of this position (:meth:`as_of`): every query is bounded by it."""
        self._source: EventSource | None = None
        self._scratch: ReadModels | None = None
        self._owner = True

    @classmethod
    def open(cls, url: str | None = None) -> ReadModels:
        """The read models in the same database as the event store at ``url``."""
        return cls(create_view_engine(resolve_url(url)))

    @classmethod
    def attach(cls, flow: NotifyingSource, url: str | None = None) -> ReadModels:
        """Open the read models and catch them up now and after every command of ``flow``."""
        models = cls.open(url)

        def after_command(recorded: Sequence[Stored]) -> None:
            models.catch_up(flow, recorded=recorded)

        flow.listeners.append(after_command)
        models.catch_up(flow)
        return models

    def close(self) -> None:
        if self._scratch is not None:
            self._scratch.close()
        if self._owner:  # a past view shares its engine with the live one
            self.engine.dispose()

    # -- keeping current ----------------------------------------------------------------

    def catch_up(
        self,
        flow: EventSource,
        *,
        stop: int | None = None,
        until: datetime | None = None,
        progress: Progress | None = None,
        recorded: Sequence[Stored] = (),
    ) -> int:
        """Apply every event not yet in the views; returns how many were read.

        ``recorded``: what a command of this process just stored (what ``AidFlow``
        gives its listeners), applied without reading it back when it follows on the views.
        """
        return self.runner.catch_up(
            flow, stop=stop, until=until, progress=progress, recorded=recorded
        )

    def status(self, flow: EventSource) -> list[ViewStatus]:
        """Per view: position, how far behind the store, and why it stopped, if it did."""
        return self.runner.status(flow)

    def rebuild(
        self, flow: EventSource, names: Sequence[str] = (), *, progress: Progress | None = None
    ) -> int:
        """Drop the named views (all when none are named) and build them again from the events."""
        named = sorted(names or self.views)
        tag = "" if named == sorted(self.VIEWS) else "." + "-".join(named)  # its own scratch
        return self.runner.rebuild(flow, names, progress=progress, tag=tag)

    def forget(self) -> None:
        """Another process rebuilt the views: read their positions and rows afresh."""
        self.runner.forget()

    def follow(
        self,
        flow: EventSource,
        *,
        stop: Event | None = None,
        poll_seconds: float = 0.5,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        """Keep the views current until ``stop`` is set (see :meth:`Runner.follow`)."""
        self.runner.follow(flow, stop=stop, poll_seconds=poll_seconds, on_batch=on_batch)

    def as_of(
        self,
        flow: EventSource | None = None,
        *,
        position: int | None = None,
        at: datetime | None = None,
    ) -> ReadModels:
        """These views as they stood at a past position or moment, answered by query.

        Rows carry the position at which they took effect, so the ledger, the
        journal, the rule checks and a dossier as of position P are the live
        queries bounded by P: nothing is rebuilt. A moment resolves once to a
        position (the last event recorded at or before it; the events of one
        command share a timestamp, so none is split), and every query uses that
        position. ``flow``, when given, catches the views up first. The case list
        and the consultation queue have no by-query form yet: asked as of a past
        position they are built in a scratch database (:meth:`rebuilt_as_of`).
        """
        if at is not None and at.tzinfo is None:
            raise ValueError("as-of moments must be timezone-aware")
        if flow is not None:
            self.catch_up(flow)
        if at is not None:
            with self.runner.query("audit") as conn:
                moment_position = audit.position_at(conn, at)
            position = moment_position if position is None else min(position, moment_position)
        past = copy.copy(self)
        past.upto = position
        past.as_of_moment = at
        past._source = flow
        past._scratch = None
        past._owner = False
        return past

    @classmethod
    def rebuilt_as_of(
        cls,
        flow: EventSource,
        *,
        position: int | None = None,
        at: datetime | None = None,
        names: Sequence[str] | None = None,
    ) -> ReadModels:
        """The views as they stood at a past position or moment, rebuilt in a scratch database.

        The cross-check of :meth:`as_of` (tests compare the two), and the way to
        the views that have no by-query past form.
        """
        if at is not None and at.tzinfo is None:
            raise ValueError("as-of moments must be timezone-aware")
        scratch = cls(create_view_engine("sqlite:///:memory:"), names)
        scratch.catch_up(flow, stop=position, until=at)
        scratch.as_of_moment = at
        return scratch

    def _rebuilt(self) -> ReadModels:
        """A scratch rebuild up to this past position, for the views with no by-query past."""
        if self.upto is None:
            return self
        if self._source is None:
            raise StoreError(
                said(
                    "the case list and the queue as of a past position are rebuilt from the events: pass the store (as_of(flow, position=...))"
                )
            )
        if self._scratch is None:
            self._scratch = ReadModels.rebuilt_as_of(
                self._source, position=self.upto, names=["dossier", "queue"]
            )
            self._scratch.as_of_moment = self.as_of_moment
        return self._scratch

    def _now(self) -> datetime:
        return self.as_of_moment or datetime.now(tz=UTC)

    # -- dossier ------------------------------------------------------------------------

    def dossier(self, case_id: str) -> Dossier:
        with self.runner.query("dossier") as conn:
            return dossier.dossier(conn, case_id, upto=self.upto)

    def cases(
        self,
        *,
        status: str | None = None,
        town: str | None = None,
        family_category: str | None = None,
        year: int | None = None,
        limit: int | None = None,
    ) -> list[CaseSummary]:
        if self.upto is not None:
            return self._rebuilt().cases(
                status=status, town=town, family_category=family_category, year=year, limit=limit
            )
        with self.runner.query("dossier") as conn:
            return dossier.cases(
                conn,
                status=status,
                town=town,
                family_category=family_category,
                year=year,
                limit=limit,
            )

    def find_cases(
        self,
        text: str,
        *,
        confirm: Callable[[str, CaseSummary], bool] | None = None,
        confirm_name: Callable[[str, CaseSummary], bool] | None = None,
    ) -> list[CaseSummary]:
        """Cases by national ID (any spelling; canonicalised) or by the whole name.

        The view holds masked IDs and names only (issue 11); ``confirm(national_id,
        case)`` (the store's enrolment key) and ``confirm_name(name, case)`` (the
        case's own name, decrypted) drop look-alikes.
        """
        from aidflow.domain.canonical import national_id
        from aidflow.domain.errors import InvalidInput
        from aidflow.domain.masking import mask_identifier

        try:
            student = national_id(text)
        except InvalidInput:
            from aidflow.domain.canonical import MAX_NAME
            from aidflow.domain.canonical import text as canonical_text

            try:  # the form names are stored in; runs of spaces as one
                name = " ".join(canonical_text(text, "name", max_length=MAX_NAME).split())
            except InvalidInput:
                return []
            with self.runner.query("dossier") as conn:
                found = dossier.find(conn, name=name)
            return [c for c in found if confirm_name is None or confirm_name(name, c)]
        with self.runner.query("dossier") as conn:
            found = dossier.find(conn, masked_id=mask_identifier(student))
        return [c for c in found if confirm is None or confirm(student, c)]

    def resolve_case(self, prefix: str) -> UUID:
        """The case whose id starts with ``prefix`` (at least 6 characters, or the whole id).

        Raises ``CaseNotFound`` when none does, ``InvalidInput`` naming the
        candidates when several do.
        """
        with self.runner.query("dossier") as conn:
            return dossier.resolve_case(conn, prefix)

    def resolve_fund(self, prefix: str) -> UUID:
        """The fund whose id starts with ``prefix``, as :meth:`resolve_case` does for cases."""
        with self.runner.query("dossier") as conn:
            return dossier.resolve_fund(conn, prefix)

    # -- consultation queue ---------------------------------------------------------------

    def queue(self, department: str | None = None) -> Queue:
        """Hardship awaiting consultation (most serious, then oldest, first) and actions owed."""
        if self.upto is not None:
            return self._rebuilt().queue(department)
        with self.runner.query("queue") as conn:
            return queue.queue(conn, self._now(), department)

    def due(
        self,
        policy: Policy,
        *,
        within: int | None = None,
        department: str | None = None,
    ) -> list[DueItem]:
        """Payments and consultation actions with their due dates (``policy``'s deadlines),
        soonest first; ``within`` days from now (overdue included) when given."""
        if self.upto is not None:
            return self._rebuilt().due(policy, within=within, department=department)
        with self.runner.query("queue") as conn:
            return queue.due(
                conn,
                self._now(),
                payment_days=policy.payment_due_days,
                action_days=policy.action_due_days,
                appeal_days=policy.appeal_decision_days,
                zone=policy.timezone,
                within=within,
                department=department,
            )

    # -- audit ----------------------------------------------------------------------------

    def journal(
        self,
        *,
        aggregate_id: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
        after: int | None = None,
    ) -> list[JournalLine]:
        """The journal in position order; page with ``after`` (the last position seen)."""
        with self.runner.query("audit") as conn:
            return audit.journal(
                conn,
                aggregate_id=aggregate_id,
                since=since,
                limit=limit,
                after=after,
                upto=self.upto,
            )

    def position_of_version(self, aggregate_id: UUID, version: int) -> int | None:
        """The notification position of that aggregate's event at ``version`` (None: no such event)."""
        with self.runner.query("audit") as conn:
            return audit.position_of_version(conn, aggregate_id, version)

    def ledger(self, *, entries: bool = False) -> Ledger:
        """The money ledger's totals (and its lines when asked)."""
        with self.runner.query("audit") as conn:
            return audit.ledger(conn, entries=entries, upto=self.upto)

    def payable_cases(self, fund_id: UUID) -> list[UUID]:
        """Cases that may hold approved, unsettled money on a fund: the payment list's
        candidates (each is decided from its own events when the list is issued)."""
        with self.runner.query("audit") as conn:
            return [UUID(c) for c in audit.payable_cases(conn, str(fund_id))]

    def cases_of_year(self, year: int) -> list[UUID]:
        """Every case of programme ``year`` (closing the year decides each from its events)."""
        with self.runner.query("audit") as conn:
            return [UUID(c) for c in audit.cases_of_year(conn, year)]

    def donor_trace(self, fund_id: UUID) -> list[DonorShare]:
        """Which donation's money reached which student (FIFO by deposit)."""
        with self.runner.query("audit") as conn:
            return audit.donor_trace(conn, str(fund_id), upto=self.upto)

    def check(
        self, policy: Policy, *, now: datetime | None = None, base: Policy | None = None
    ) -> list[Violation]:
        """Every rule an auditor checks, from the journal alone; empty when all hold."""
        return self.check_report(policy, now=now, base=base).violations

    def check_report(
        self, policy: Policy, *, now: datetime | None = None, base: Policy | None = None
    ) -> CheckResult:
        """The rule checks with what they read: events by kind, and the position checked up to.

        ``base``: the policy the store was opened with, before its recorded changes, so
        each decision is judged by the policy of its moment (``AidFlow.policy``)."""
        with self.runner.query("audit") as conn:
            return audit.check(conn, policy, now or self._now(), upto=self.upto, base=base)

    def actors_at(self, positions: list[int]) -> dict[int, str]:
        """Who recorded the events at ``positions`` (the people whose acts raised a finding)."""
        with self.runner.query("audit") as conn:
            return audit.actors_at(conn, positions)

    # -- drift ----------------------------------------------------------------------------

    def verify_views(
        self, flow: EventSource, names: Sequence[str] = (), *, keyless: bool = False
    ) -> list[ViewDrift]:
        """Each named view (all when none) against a fresh replay of the store up to its position.

        The live tables are read in one snapshot (REPEATABLE READ on PostgreSQL,
        one read transaction on SQLite) with the positions; the replay goes into a
        scratch database. A drifted view is named with its first differing table
        and key (see :mod:`aidflow.projections.drift`).
        """
        chosen = list(names) or list(self.views)
        unknown = set(chosen) - set(self.views)
        if unknown:
            raise ValueError(f"no such view: {', '.join(sorted(unknown))}")
        results = []
        with reading(self.engine) as live:
            if live.dialect.name == "postgresql":
                live.execution_options(isolation_level="REPEATABLE READ")
            tracked = positions(live, flow.name)
            for name in chosen:
                position = tracked.get(name, 0)
                replay = ReadModels(create_view_engine("sqlite:///:memory:"), [name])
                try:
                    if position:
                        with privacy.keyless() if keyless else contextlib.nullcontext():
                            replay.catch_up(flow, stop=position)
                    with reading(replay.engine) as fresh:
                        view = self.views[name]
                        results.append(drift.compare(view, live, fresh, position, keyless=keyless))
                finally:
                    replay.close()
        return results


__all__ = ["ReadModels", "View"]
