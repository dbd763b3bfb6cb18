"""The read side as one object: keep the views current, query them, travel in time.

A thin facade over the slices (:mod:`~aidflow.projections.dossier`,
:mod:`~aidflow.projections.queue`, :mod:`~aidflow.projections.audit`) and the
:class:`~aidflow.projections.runner.Runner`. ``ReadModels.attach(flow)`` catches
the views up after every command of that store (inline), so a command's effect
is visible to the next query: the one way for a library user to open the write
and read sides together. ``follow()`` keeps them current from another process.
``as_of()`` builds them from the events up to a past moment into a scratch
in-memory database and answers with the same queries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from threading import Event
from typing import ClassVar
from uuid import UUID

from sqlalchemy.engine import Engine

from aidflow.config import resolve_url
from aidflow.domain.policy import Policy
from aidflow.projections import audit, dossier, queue
from aidflow.projections.base import create_view_engine, reading
from aidflow.projections.models import (
    CaseSummary,
    CheckResult,
    Digest,
    Dossier,
    JournalLine,
    Ledger,
    Queue,
    Verification,
    View,
    ViewStatus,
    Violation,
)
from aidflow.projections.runner import PAGE, Progress, Runner
from aidflow.projections.source import EventSource, NotifyingSource
from aidflow.projections.view import SQLView


class ReadModels:
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

    @property
    def page_size(self) -> int:
        return self.runner.page_size

    @classmethod
    def open(cls, url: str | None = None) -> ReadModels:
        """The read models in the same database as the event store at ``url``."""
        return cls(create_view_engine(resolve_url(url)))

    @classmethod
    def attach(cls, flow: NotifyingSource, url: str | None = None) -> ReadModels:
        """Open the read models and catch them up now and after every command of ``flow``."""
        models = cls.open(url)

        def after_command() -> None:
            models.catch_up(flow)

        flow.listeners.append(after_command)
        after_command()
        return models

    def close(self) -> None:
        self.engine.dispose()

    # -- keeping current ----------------------------------------------------------------

    def catch_up(
        self,
        flow: EventSource,
        *,
        stop: int | None = None,
        until: datetime | None = None,
        progress: Progress | None = None,
    ) -> int:
        """Apply every event not yet in the views; returns how many were read."""
        return self.runner.catch_up(flow, stop=stop, until=until, progress=progress)

    def status(self, flow: EventSource) -> list[ViewStatus]:
        """Per view: position, how far behind the store, and why it stopped, if it did."""
        return self.runner.status(flow)

    def rebuild(
        self, flow: EventSource, names: Sequence[str] = (), *, progress: Progress | None = None
    ) -> int:
        """Drop the named views (all when none are named) and build them again from the events."""
        return self.runner.rebuild(flow, names, progress=progress)

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

    @classmethod
    def as_of(
        cls,
        flow: EventSource,
        *,
        position: int | None = None,
        at: datetime | None = None,
        names: Sequence[str] | None = None,
    ) -> ReadModels:
        """The views as they stood at a past position or moment, built in a scratch database."""
        if at is not None and at.tzinfo is None:
            raise ValueError("as-of moments must be timezone-aware")
        scratch = cls(create_view_engine("sqlite:///:memory:"), names)
        scratch.catch_up(flow, stop=position, until=at)
        scratch.as_of_moment = at
        return scratch

    def _now(self) -> datetime:
        return self.as_of_moment or datetime.now(tz=UTC)

    # -- dossier ------------------------------------------------------------------------

    def dossier(self, case_id: str) -> Dossier:
        with self.runner.query("dossier") as conn:
            return dossier.dossier(conn, case_id)

    def cases(
        self,
        *,
        status: str | None = None,
        town: str | None = None,
        family_category: str | None = None,
        year: int | None = None,
        limit: int | None = None,
    ) -> list[CaseSummary]:
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
        self, text: str, *, confirm: Callable[[str, CaseSummary], bool] | None = None
    ) -> list[CaseSummary]:
        """Cases by national ID (any spelling; canonicalised) or by a part of the name.

        The view holds masked IDs only; ``confirm(national_id, case)`` (the store's
        enrolment key, :func:`aidflow.feed.confirm_enrolment`) drops look-alikes.
        """
        from aidflow.domain.canonical import national_id
        from aidflow.domain.errors import InvalidInput
        from aidflow.domain.values import mask_identifier

        try:
            student = national_id(text)
        except InvalidInput:
            with self.runner.query("dossier") as conn:
                return dossier.find(conn, name=text.strip())
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
        with self.runner.query("queue") as conn:
            return queue.queue(conn, self._now(), department)

    # -- audit ----------------------------------------------------------------------------

    def journal(
        self,
        *,
        aggregate_id: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[JournalLine]:
        with self.runner.query("audit") as conn:
            return audit.journal(conn, aggregate_id=aggregate_id, since=since, limit=limit)

    def position_of_version(self, aggregate_id: UUID, version: int) -> int | None:
        """The notification position of that aggregate's event at ``version`` (None: no such event)."""
        with self.runner.query("audit") as conn:
            return audit.position_of_version(conn, aggregate_id, version)

    def ledger(self, *, entries: bool = False) -> Ledger:
        """The money ledger's totals (and its lines when asked)."""
        with self.runner.query("audit") as conn:
            return audit.ledger(conn, entries=entries)

    def check(self, policy: Policy, *, now: datetime | None = None) -> list[Violation]:
        """Every rule an auditor checks, from the journal alone; empty when all hold."""
        return self.check_report(policy, now=now).violations

    def check_report(self, policy: Policy, *, now: datetime | None = None) -> CheckResult:
        """The rule checks with what they read: events by kind, and the position checked up to."""
        with self.runner.query("audit") as conn:
            return audit.check(conn, policy, now or self._now())

    def digest(self) -> Digest:
        """The chain's head: publish it, and verify the store against it later."""
        with self.runner.query("audit") as conn:
            return audit.digest(conn)

    def verify(self, flow: EventSource, digest: Digest) -> Verification:
        """Recompute the chain from the store and compare it with the digest and the recorded chain.

        Works whatever state the audit view is in: links it has not recorded are
        checked against the digest alone.
        """
        with reading(self.engine) as conn:
            recorded = audit.recorded_links(conn, digest.position)
        return audit.verify(flow, digest, recorded, self.page_size)


__all__ = ["ReadModels", "View"]
