"""The read side as one object: keep the views current, query them, travel in time.

``ReadModels.attach(flow)`` catches the views up after every command of that
``AidFlow`` (inline), so a command's effect is visible to the next query.
``follow()`` keeps them current from another process. ``as_of()`` builds them
from the events up to a past moment into a scratch in-memory database and
answers with the same queries.
"""

from __future__ import annotations

import queue as queue_module
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from threading import Event, Lock, Thread
from typing import ClassVar
from uuid import UUID

import sqlalchemy as sa
from eventsourcing.persistence import Notification
from sqlalchemy.engine import Connection, Engine

from aidflow.application import AidFlow
from aidflow.config import resolve_url
from aidflow.domain.errors import CaseNotFound
from aidflow.domain.policy import Policy
from aidflow.projections import audit, dossier, queue
from aidflow.projections.base import (
    Envelope,
    SQLView,
    advance_positions,
    create_view_engine,
    tracked_positions,
)
from aidflow.projections.checks import run_checks
from aidflow.projections.models import (
    ActionItem,
    AwaitingConsultation,
    CaseSummary,
    Digest,
    Dossier,
    DossierEntry,
    FundTotals,
    JournalLine,
    Ledger,
    LedgerLine,
    OwedAction,
    Queue,
    Verification,
    View,
    ViewStatus,
    Violation,
)

PAGE = 2000
Progress = Callable[[int], None]


def _days(since: datetime, now: datetime) -> float:
    return round((now - since).total_seconds() / 86400, 1)


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
        self.engine = engine
        self.page_size = page_size
        unknown = set(names or ()) - set(self.VIEWS)
        if unknown:
            raise ValueError(
                f"no such view: {', '.join(sorted(unknown))}; views are {', '.join(self.VIEWS)}"
            )
        self.views: dict[str, SQLView] = {
            n: cls(engine) for n, cls in self.VIEWS.items() if not names or n in names
        }
        for view in self.views.values():
            view.create_table()
        self._catching_up = Lock()
        self.as_of_moment: datetime | None = None

    @classmethod
    def open(cls, url: str | None = None) -> ReadModels:
        """The read models in the same database as the event store at ``url``."""
        return cls(create_view_engine(resolve_url(url)))

    @classmethod
    def attach(cls, flow: AidFlow, url: str | None = None) -> ReadModels:
        """Open the read models and catch them up after every command of ``flow``."""
        models = cls.open(url)

        def after_command() -> None:
            models.catch_up(flow)

        flow.listeners.append(after_command)
        after_command()
        return models

    def close(self) -> None:
        self.engine.dispose()

    # -- keeping current ---------------------------------------------------------------

    def _read(
        self, flow: AidFlow, after: int | None, stop: int | None
    ) -> Iterator[list[Notification]]:
        while True:
            page = flow.recorder.select_notifications(
                start=after, limit=self.page_size, stop=stop, inclusive_of_start=False
            )
            if not page:
                return
            yield list(page)
            after = page[-1].id
            if len(page) < self.page_size:
                return

    def catch_up(
        self,
        flow: AidFlow,
        *,
        stop: int | None = None,
        until: datetime | None = None,
        progress: Progress | None = None,
    ) -> int:
        """Apply every event not yet in the views; returns how many were read.

        ``stop`` (a position) and ``until`` (a moment: events recorded after it are
        left out) serve time travel.
        """
        with self._catching_up:
            name = flow.name
            with self.engine.connect() as conn:
                known = tracked_positions(conn, name)
            start = min(known.get(view, 0) for view in self.views)
            read = 0
            for records in self._read(flow, start, stop):
                page = [Envelope(r, flow.mapper.to_domain_event(r)) for r in records]
                if until is not None:
                    page = [e for e in page if e.recorded_at <= until]
                if page:
                    with self.engine.begin() as conn:  # one commit for every view's page
                        self._apply_page(conn, name, page)
                read += len(records)
                if progress is not None:
                    progress(len(records))
            return read

    def status(self, flow: AidFlow) -> list[ViewStatus]:
        head = flow.recorder.max_notification_id()
        result = []
        for name, view in self.views.items():
            position = view.max_tracking_id(flow.name)
            result.append(
                ViewStatus(
                    name=name, position=position, head=head, behind=(head or 0) - (position or 0)
                )
            )
        return result

    def rebuild(
        self, flow: AidFlow, names: Sequence[str] = (), *, progress: Progress | None = None
    ) -> int:
        """Drop the named views (all when none are named) and build them again from the events."""
        chosen = list(names) or list(self.views)
        unknown = set(chosen) - set(self.views)
        if unknown:
            raise ValueError(f"no such view: {', '.join(sorted(unknown))}")
        with self._catching_up:
            for name in chosen:
                self.views[name].drop()
                self.views[name].create_table()
        return self.catch_up(flow, progress=progress)

    def follow(
        self,
        flow: AidFlow,
        *,
        stop: Event | None = None,
        poll_seconds: float = 0.5,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        """Keep the views current until ``stop`` is set: the long-running follower.

        First catches up in pages from the tracked positions. Then, on PostgreSQL,
        it reads the library's LISTEN/NOTIFY subscription (which yields events in
        position order) and applies what has arrived in batches; on SQLite, whose
        recorder cannot subscribe, it polls. Each batch is written with its tracking
        position in one transaction, so a killed follower resumes where it stopped,
        neither skipping nor repeating an event.
        """
        stop = stop or Event()
        applied = self.catch_up(flow)
        if applied and on_batch is not None:
            on_batch(applied)
        positions = [v.max_tracking_id(flow.name) or 0 for v in self.views.values()]
        try:
            subscription = flow.recorder.subscribe(gt=min(positions, default=0))
        except NotImplementedError:
            while not stop.is_set():
                stop.wait(poll_seconds)
                applied = self.catch_up(flow)
                if applied and on_batch is not None:
                    on_batch(applied)
            return
        arrived: queue_module.Queue[Notification | None] = queue_module.Queue(maxsize=4 * PAGE)

        def pump() -> None:
            try:
                for notification in subscription:
                    arrived.put(notification)
            finally:
                arrived.put(None)

        pumping = Thread(target=pump, name="aidflow-follower-pump", daemon=True)
        pumping.start()
        try:
            while not stop.is_set():
                try:
                    first = arrived.get(timeout=poll_seconds)
                except queue_module.Empty:
                    continue
                batch = [first]
                while len(batch) < PAGE:
                    try:
                        batch.append(arrived.get_nowait())
                    except queue_module.Empty:
                        break
                records = [n for n in batch if n is not None]
                applied = self._apply(flow, records)
                if applied and on_batch is not None:
                    on_batch(applied)
                if len(records) < len(batch):
                    break  # the subscription ended (database gone): let the caller restart
        finally:
            subscription.stop()
            pumping.join(timeout=5)

    def _apply(self, flow: AidFlow, records: Sequence[Notification]) -> int:
        """Feed stored records to every view; each skips what it has already tracked."""
        if not records:
            return 0
        page = [Envelope(r, flow.mapper.to_domain_event(r)) for r in records]
        with self._catching_up, self.engine.begin() as conn:
            return self._apply_page(conn, flow.name, page)

    def _apply_page(self, conn: Connection, application_name: str, page: Sequence[Envelope]) -> int:
        """Every view takes what it lacks of the page; their positions advance together."""
        tracked = tracked_positions(conn, application_name, lock=True)
        applied = {
            name: view.process_in(conn, application_name, page, tracked=tracked)
            for name, view in self.views.items()
        }
        advanced = [name for name, count in applied.items() if count]
        if advanced:
            advance_positions(conn, application_name, advanced, tracked, page[-1].position)
        return max(applied.values(), default=0)

    @classmethod
    def as_of(
        cls,
        flow: AidFlow,
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

    # -- lookups ----------------------------------------------------------------------

    def resolve_case(self, prefix: str) -> UUID:
        """A case's id from the id or a unique prefix of it (6+ characters), as lists print them.

        ``CaseNotFound`` when no case id starts with it; ``InvalidInput`` naming the
        candidates when several do.
        """
        from aidflow.domain.errors import InvalidInput

        text = prefix.strip()
        try:
            return UUID(text)
        except ValueError:
            pass
        if len(text) < 6 or not all(ch in "0123456789abcdef-" for ch in text.lower()):
            raise CaseNotFound(
                f"{text!r} is not a case id (give the id, or at least its first 6 characters)"
            )
        column = audit.audit_case_table.c.case_id
        with self.engine.connect() as conn:
            found = list(
                conn.execute(
                    sa.select(column)
                    .where(column.like(text.lower() + "%"))
                    .order_by(column)
                    .limit(4)
                ).scalars()
            )
        if not found:
            raise CaseNotFound(f"no case id starts with {text}")
        if len(found) > 1:
            more = ", ..." if len(found) > 3 else ""
            raise InvalidInput(
                f"more than one case id starts with {text} ({', '.join(found[:3])}{more}); "
                "give more characters"
            )
        return UUID(found[0])

    def position_of_version(self, aggregate_id: UUID, version: int) -> int | None:
        """The store position of a case's or fund's ``version``-th event; ``None`` if it has none."""
        j = audit.journal_table
        with self.engine.connect() as conn:
            position = conn.execute(
                sa.select(j.c.position).where(
                    j.c.aggregate_id == str(aggregate_id), j.c.version == version
                )
            ).scalar_one_or_none()
        return None if position is None else int(position)

    # -- dossier -----------------------------------------------------------------------

    def dossier(self, case_id: str) -> Dossier:
        c, e, a = dossier.case_table, dossier.entry_table, dossier.action_table
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(c).where(c.c.case_id == str(case_id))).mappings().first()
            if row is None:
                raise CaseNotFound(f"no dossier for case {case_id}")
            entries = [
                DossierEntry.model_validate(dict(r))
                for r in conn.execute(
                    sa.select(e).where(e.c.case_id == str(case_id)).order_by(e.c.position)
                ).mappings()
            ]
            actions = [
                ActionItem.model_validate(dict(r))
                for r in conn.execute(
                    sa.select(a)
                    .where(a.c.case_id == str(case_id))
                    .order_by(a.c.assigned_at, a.c.action_id)
                ).mappings()
            ]
            funds = {r.fund_id: r for r in conn.execute(sa.select(dossier.fund_table))}

        def by(section: str) -> list[DossierEntry]:
            return [x for x in entries if x.section == section]

        secondary = []
        for entry in by("secondary_aid"):
            fund = funds.get(entry.detail["fund_id"])
            secondary.append(
                {
                    **entry.detail,
                    "position": entry.position,
                    "recorded_at": entry.recorded_at.isoformat(),
                    "fund_name": fund.name if fund else None,
                    "donors": list(fund.donors) if fund else [],
                }
            )
        header = {k: v for k, v in row.items() if k not in ("hardships", "follow_ups")}
        return Dossier(
            **header,
            approvals=by("approval"),
            disbursements=by("disbursement"),
            returns=by("return"),
            secondary_aid=secondary,
            hardships=by("hardship"),
            consultations=by("consultation"),
            actions=actions,
            follow_ups=by("follow_up"),
            timeline=entries,
        )

    def cases(
        self,
        *,
        status: str | None = None,
        town: str | None = None,
        family_category: str | None = None,
        year: int | None = None,
        limit: int | None = None,
    ) -> list[CaseSummary]:
        c = dossier.case_table
        query = sa.select(*[c.c[f] for f in CaseSummary.model_fields]).order_by(
            c.c.opened_at, c.c.case_id
        )
        for column, value in (
            ("status", status),
            ("town", town),
            ("family_category", family_category),
            ("year", year),
        ):
            if value is not None:
                query = query.where(c.c[column] == value)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [CaseSummary.model_validate(dict(r)) for r in conn.execute(query).mappings()]

    # -- consultation queue ---------------------------------------------------------------

    def queue(self, department: str | None = None) -> Queue:
        """Hardship awaiting consultation (most serious, then oldest, first) and actions owed."""
        h, qa, qc = queue.hardship_table, queue.queue_action_table, queue.queue_case_table
        now = self._now()
        awaiting_q = (
            sa.select(h, qc.c.name, qc.c.town)
            .join(qc, qc.c.case_id == h.c.case_id)
            .where(h.c.consulted_at.is_(None), h.c.severity_rank >= 2)
            .order_by(h.c.severity_rank.desc(), h.c.reported_at, h.c.position)
        )
        actions_q = (
            sa.select(qa, qc.c.name)
            .join(qc, qc.c.case_id == qa.c.case_id)
            .where(qa.c.done_at.is_(None))
            .order_by(qa.c.assigned_at, qa.c.case_id, qa.c.action_id)
        )
        if department is not None:
            actions_q = actions_q.where(qa.c.department == department)
        with self.engine.connect() as conn:
            awaiting = [
                AwaitingConsultation(
                    **{k: r[k] for k in AwaitingConsultation.model_fields if k != "waiting_days"},
                    waiting_days=_days(r["reported_at"], now),
                )
                for r in conn.execute(awaiting_q).mappings()
            ]
            owed = [
                OwedAction(
                    **{k: r[k] for k in OwedAction.model_fields if k != "waiting_days"},
                    waiting_days=_days(r["assigned_at"], now),
                )
                for r in conn.execute(actions_q).mappings()
            ]
        return Queue(as_of=now, awaiting_consultation=awaiting, open_actions=owed)

    # -- audit -----------------------------------------------------------------------------

    def journal(
        self,
        *,
        aggregate_id: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[JournalLine]:
        j = audit.journal_table
        query = sa.select(*[j.c[f] for f in JournalLine.model_fields]).order_by(j.c.position)
        if aggregate_id is not None:
            query = query.where(j.c.aggregate_id == str(aggregate_id))
        if since is not None:
            query = query.where(j.c.recorded_at >= since)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [JournalLine.model_validate(dict(r)) for r in conn.execute(query).mappings()]

    def ledger(self, *, entries: bool = False) -> Ledger:
        """The money ledger's totals (and its lines when asked)."""
        L, F, C = audit.ledger_table, audit.audit_fund_table, audit.audit_case_table
        signed_paid = sa.case(
            (L.c.entry == "disbursement", L.c.amount_fen),
            (L.c.entry == "return", -L.c.amount_fen),
            (L.c.entry == "secondary_aid", L.c.amount_fen),
            else_=0,
        )
        with self.engine.connect() as conn:
            sums: dict[tuple[str, str], int] = {}
            for fund_id, entry, total in conn.execute(
                sa.select(L.c.fund_id, L.c.entry, sa.func.sum(L.c.amount_fen)).group_by(
                    L.c.fund_id, L.c.entry
                )
            ):
                sums[(fund_id, entry)] = int(total)
            funds = []
            for f in conn.execute(sa.select(F).order_by(F.c.name, F.c.fund_id)).mappings():
                fund_sums = {entry: t for (fid, entry), t in sums.items() if fid == f["fund_id"]}

                def s(entry: str, fund_sums: dict[str, int] = fund_sums) -> int:
                    return fund_sums.get(entry, 0)

                funds.append(
                    FundTotals(
                        fund_id=f["fund_id"],
                        name=f["name"],
                        kind=f["kind"],
                        deposited_fen=s("deposit"),
                        allocated_fen=s("allocation"),
                        released_fen=s("release"),
                        balance_fen=s("deposit") - s("allocation") + s("release"),
                        disbursed_fen=s("disbursement") - s("return"),
                        secondary_aid_fen=s("secondary_aid"),
                    )
                )
            kind_of = {f.fund_id: f.kind for f in funds}

            def total_of(kind: str, attr: str) -> int:
                return sum(int(getattr(f, attr)) for f in funds if f.kind == kind)

            per_case = (
                sa.select(
                    L.c.case_id,
                    sa.func.sum(signed_paid).label("paid"),
                    sa.func.sum(
                        sa.case((L.c.entry == "secondary_aid", L.c.amount_fen), else_=0)
                    ).label("secondary"),
                )
                .where(
                    L.c.case_id.is_not(None),
                    L.c.entry.in_(["disbursement", "return", "secondary_aid"]),
                )
                .group_by(L.c.case_id)
                .subquery()
            )
            assisted = conn.execute(
                sa.select(sa.func.count()).select_from(per_case).where(per_case.c.paid > 0)
            ).scalar_one()
            with_secondary = conn.execute(
                sa.select(sa.func.count()).select_from(per_case).where(per_case.c.secondary > 0)
            ).scalar_one()
            by_need = {
                n: int(t)
                for n, t in conn.execute(
                    sa.select(L.c.need, sa.func.sum(L.c.amount_fen))
                    .where(L.c.entry == "approval")
                    .group_by(L.c.need)
                    .order_by(L.c.need)
                )
            }
            paid_rows = (
                sa.select(signed_paid.label("paid"), C.c.family_category, C.c.town)
                .join(C, C.c.case_id == L.c.case_id)
                .where(L.c.entry.in_(["disbursement", "return", "secondary_aid"]))
                .subquery()
            )
            by_family = {
                k: int(t)
                for k, t in conn.execute(
                    sa.select(paid_rows.c.family_category, sa.func.sum(paid_rows.c.paid))
                    .group_by(paid_rows.c.family_category)
                    .order_by(paid_rows.c.family_category)
                )
            }
            by_town = {
                k: int(t)
                for k, t in conn.execute(
                    sa.select(paid_rows.c.town, sa.func.sum(paid_rows.c.paid))
                    .group_by(paid_rows.c.town)
                    .order_by(paid_rows.c.town)
                )
            }
            # Net of what closing cases released back: releases only ever return grant
            # reservations, so on government funds they reduce what stands approved.
            government_approved = sum(
                int(t) if entry == "approval" else -int(t)
                for (fid, entry), t in sums.items()
                if entry in ("approval", "release") and kind_of.get(fid) == "government"
            )
            lines = (
                [
                    LedgerLine.model_validate(dict(r))
                    for r in conn.execute(sa.select(L).order_by(L.c.position)).mappings()
                ]
                if entries
                else []
            )
            position = (
                conn.execute(sa.select(sa.func.max(audit.journal_table.c.position))).scalar_one()
                or 0
            )
        government_disbursed = total_of("government", "disbursed_fen")
        secondary = sum(f.secondary_aid_fen for f in funds)
        return Ledger(
            position=position,
            entries=lines,
            funds=funds,
            government_approved_fen=government_approved,
            government_disbursed_fen=government_disbursed,
            secondary_aid_fen=secondary,
            donations_received_fen=total_of("donation", "deposited_fen"),
            budget_received_fen=total_of("government", "deposited_fen"),
            total_disbursed_fen=government_disbursed + secondary,
            students_assisted=int(assisted),
            students_with_secondary_aid=int(with_secondary),
            by_need_fen=by_need,
            by_family_category_fen=by_family,
            by_town_fen=by_town,
        )

    def check(self, policy: Policy, *, now: datetime | None = None) -> list[Violation]:
        """Every rule an auditor checks, from the journal alone; empty when all hold."""
        j, F = audit.journal_table, audit.audit_fund_table
        with self.engine.connect() as conn:
            kinds = {r.fund_id: r.kind for r in conn.execute(sa.select(F.c.fund_id, F.c.kind))}
            rows = conn.execute(
                sa.select(
                    j.c.position,
                    j.c.recorded_at,
                    j.c.actor,
                    j.c.aggregate_id,
                    j.c.event_type,
                    j.c.detail,
                )
                .where(j.c.stream != "key")
                .order_by(j.c.position)
                .execution_options(yield_per=5000)
            )
            return run_checks((tuple(r) for r in rows), kinds, policy, now or self._now())

    def digest(self) -> Digest:
        """The chain's head: publish it, and verify the store against it later."""
        c = audit.journal_table
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(c.c.position, c.c.hash).order_by(c.c.position.desc()).limit(1)
            ).first()
        if row is None:
            return Digest(position=0, hash=audit.GENESIS)
        return Digest(position=int(row.position), hash=row.hash)

    def verify(self, flow: AidFlow, digest: Digest) -> Verification:
        """Recompute the chain from the store and compare it with the digest and the recorded chain.

        Reports the first position where the store no longer matches what the
        audit view recorded when it first saw each event (altered, removed,
        inserted or reordered records), and whether the head matches the digest.
        """
        c = audit.journal_table
        with self.engine.connect() as conn:
            recorded = {
                int(p): h
                for p, h in conn.execute(
                    sa.select(c.c.position, c.c.hash).where(c.c.position <= digest.position)
                )
            }
        previous = audit.GENESIS
        checked = 0
        first_mismatch: int | None = None
        seen: set[int] = set()
        for records in self._read(flow, None, digest.position):
            for record in records:
                previous = audit.chain_step(previous, record)
                seen.add(record.id)
                checked += 1
                if first_mismatch is None and recorded.get(record.id) != previous:
                    first_mismatch = record.id
        missing = sorted(set(recorded) - seen)
        if missing and (first_mismatch is None or missing[0] < first_mismatch):
            first_mismatch = missing[0]
        head_ok = (digest.position == 0 and digest.hash == audit.GENESIS) or (
            digest.position in seen and previous == digest.hash
        )
        ok = head_ok and first_mismatch is None
        if ok:
            message = (
                f"the store matches the digest: {checked} events up to position {digest.position}"
            )
        elif first_mismatch is not None:
            message = f"the store no longer matches from position {first_mismatch}"
            if first_mismatch in missing:
                message += " (that event is missing)"
        else:
            message = (
                "the store does not match the digest, and the recorded chain was rewritten to "
                f"match the store; the change lies at or before position {digest.position}"
            )
        return Verification(
            ok=ok, digest=digest, checked=checked, first_mismatch=first_mismatch, message=message
        )


__all__ = ["ReadModels", "View"]
