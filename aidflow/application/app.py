"""The AidFlow application: the store's wiring, and one method per command.

Every command method is one line: its slice (:data:`~aidflow.application.handlers.HANDLERS`)
run through the :class:`~aidflow.application.pipeline.Pipeline`. Cross-aggregate rules (a
grant reserving money in a fund, a voucher being unique, one case per student-year) save
every aggregate involved in one ``save()``: the event store checks each aggregate's
version, so a concurrent writer makes the whole save conflict, and the command is decided
again from fresh state. Nothing is written when a command is refused.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.persistence import (
    EventStore,
    JSONTranscoder,
    Mapper,
    Notification,
    PersistenceError,
    RecordConflictError,
    Recording,
    Transcoding,
)

from aidflow import commands as cmd
from aidflow.application import cases, payments, personal, replay
from aidflow.application.context import (
    FindingFacts,
    YearFacts,
    current_policy,
    enrolment_of,
    listed_department,
)
from aidflow.application.direct import DirectSave, project
from aidflow.application.feed import IntegrationEvent, public
from aidflow.application.handlers import HANDLERS
from aidflow.application.locks import store_turns
from aidflow.application.pipeline import Pipeline
from aidflow.application.records import SNAPSHOT_EVERY, Records
from aidflow.application.snapshots import SnapshotStore, verify_snapshots
from aidflow.config import Login, open_prepared, person, prepare_store
from aidflow.domain.case import StudentCase
from aidflow.domain.clock import Clock
from aidflow.domain.errors import (
    CaseNotFound,
    DuplicateApplication,
    FundNotFound,
    MasterKeyError,
    MasterKeyMissing,
    said,
)
from aidflow.domain.fund import Fund
from aidflow.domain.keys import Enrolment
from aidflow.domain.policy import DEFAULT_POLICY, Policy
from aidflow.domain.staff import REGISTRY_ID, StaffRegistry
from aidflow.models import (
    AccountResult,
    ApplyOutcome,
    CaseSnapshot,
    DecisionResult,
    DepositResult,
    DisbursementResult,
    EventRecord,
    FundSnapshot,
    PaymentList,
    PaymentSettlement,
    PersonalData,
    PolicyInForce,
    Reconciliation,
    ReviewResult,
    SnapshotVerification,
    StaffMember,
)
from aidflow.privacy import PrivacyMapper, SealingEventStore, SnapshotMapper, Vault

R = TypeVar("R")

Listener = Callable[[Sequence[Notification]], None]
"""Called after every command that recorded, with the records it stored in position order
(the read side's inline catch-up applies them without reading them back)."""


def _tell(callback: Callable[[Any], None], what: Any, failing: str) -> None:
    """Hand a committed command's outcome to ``callback``; its failure is a warning only."""
    try:
        callback(what)
    except Exception as exc:
        warnings.warn(f"the command was recorded, but {failing}: {exc}", stacklevel=4)


class DateAsISO(Transcoding):
    """Business dates (a bank's value date) stored as ISO text."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class AidFlow(DirectSave):
    """Closed-loop aid for new students: the command side that the Office, the CLI and
    other services call. Commands are methods taking one model of :mod:`aidflow.commands`;
    :meth:`handle` runs any of them by its class."""

    name = "AidFlow"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass is the same application over the same (guarded) ``aidflow_*`` tables."""
        cls.name = cls.__dict__.get("name", AidFlow.name)
        super().__init_subclass__(**kwargs)

    # A fund collects an allocation per grant: a snapshot every 100 events keeps loading it short.
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = SNAPSHOT_EVERY

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        policy: Policy = DEFAULT_POLICY,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(env)
        self.policy = policy
        self.clock = clock
        self.records = Records(self.repository, self.events, self.recorder)
        self.pipeline = Pipeline(self)
        self.listeners: list[Listener] = []
        """Called after every command, with what it recorded (see :data:`Listener`)."""
        self.subscribers: list[Callable[[IntegrationEvent], None]] = []
        """Given each integration event this instance records (see :meth:`subscribe`)."""
        self.payable: Callable[[UUID], Sequence[UUID]] | None = None
        """The read side's index of the cases owed money on a fund (a payment list's
        candidates); set by the :class:`~aidflow.office.Office` that composes both."""
        self.findings: Callable[[str], FindingFacts | None] | None = None
        """The audit view's word on one finding (``audit dispose``); set by the Office too."""
        self.year_facts: Callable[[int], YearFacts] | None = None  # a year's cases: the Office
        self.conflicts_retried = 0  # commands decided again after another writer won: monitoring
        self.login: Login | None = None
        """On PostgreSQL, the authenticated login; it acts only as the staff member of its own
        name unless it may name staff (a superuser, the owner, or the store's service role)."""
        self.read_only = False
        """Opened with ``?mode=ro``: queries only; a command is refused before it is decided."""

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        policy: Policy = DEFAULT_POLICY,
        clock: Clock | None = None,
        create: bool = True,
    ) -> AidFlow:
        """Open the store at ``url``, else ``$AIDFLOW_DB``, else ``./aidflow.db``: created on
        first use, unless ``create=False`` (then a store that does not exist is refused with
        :class:`~aidflow.domain.errors.NoSuchStore`, and nothing is made).

        A store that cannot be opened raises :class:`~aidflow.domain.errors.StoreUnavailable`
        with one line saying why; a read-only URL (``?mode=ro``) opens for queries only.
        """
        prepared = prepare_store(url, create=create)
        flow = open_prepared(prepared, lambda env: cls(env, policy=policy, clock=clock))
        flow.read_only = prepared.store.read_only
        flow.login = prepared.login
        flow.vault = Vault(prepared.store)
        flow.pipeline.store_turns = store_turns(prepared.store)
        return flow

    def close(self) -> None:
        self.pipeline.store_turns.close()
        vault = getattr(self.mapper, "vault", None)
        if vault is not None:
            vault.db.close()
        super().close()

    # -- the store's wiring: personal data sealed at rest (aidflow/privacy.py) -----------

    def construct_mapper(self) -> Mapper[UUID]:
        return PrivacyMapper(transcoder=self.construct_transcoder())

    def construct_event_store(self) -> EventStore[UUID]:
        return SealingEventStore(mapper=self.mapper, recorder=self.recorder)

    def construct_snapshot_store(self) -> EventStore[UUID]:
        """Snapshots sealed with a key only the master key opens, and used only when their
        seal verifies (issue 21 §4): a snapshot edited in the database never decides a
        command. Its mapper shares the event mapper's vault (see :attr:`vault`)."""
        recorder = self.factory.aggregate_recorder(purpose="snapshots")
        assert isinstance(self.mapper, PrivacyMapper)
        return SnapshotStore(mapper=SnapshotMapper(self.mapper), recorder=recorder)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    @property
    def vault(self) -> Vault:
        """The store's keys (personal data at rest); set by :meth:`open`."""
        vault = getattr(self.mapper, "vault", None)
        if vault is None:
            raise MasterKeyMissing(said("this application was not opened with AidFlow.open"))
        return vault  # type: ignore[no-any-return]

    @vault.setter
    def vault(self, vault: Vault) -> None:
        assert isinstance(self.mapper, PrivacyMapper)
        self.mapper.vault = vault  # the snapshot mapper reads it from here: the same keys

    def take_snapshot(
        self,
        aggregate_id: UUID,
        version: int | None = None,
        projector_func: Any = project,
    ) -> None:
        """A snapshot is an optimisation: failing to take one never fails the command.

        Its events are already committed when snapshots are taken, so an error here
        (another process took the same snapshot first; no master key to seal it with)
        must not reach the retry loop, which would run the command again.
        """
        if person(self.login) is not None:
            return  # a person's login writes no snapshot: the service takes them (issue 21 §1)
        try:
            super().take_snapshot(aggregate_id, version, projector_func)
        except (PersistenceError, MasterKeyError) as exc:
            warnings.warn(
                f"snapshot of {aggregate_id} at version {version} not taken: {exc}", stacklevel=2
            )

    # -- after a commit: the one hook -------------------------------------------------

    def committed(self, recordings: Sequence[Recording[UUID]]) -> None:
        """Tell the listeners and subscribers what the command recorded.

        The command is committed, so their failure must not look like its: a read model
        that could not catch up (a lock timeout, a first-use race on a shared store)
        stays behind and catches up on its next read or command; raising here would
        make the caller retry a command that was recorded.
        """
        records = [recording.notification for recording in recordings]
        for listener in list(self.listeners):
            _tell(listener, records, "a read model is behind")
        if not self.subscribers:
            return
        for recording in recordings:
            item = public(recording.domain_event, recording.notification.id)
            for callback in [] if item is None else list(self.subscribers):
                _tell(callback, item, "a subscriber failed")

    def subscribe(self, callback: Callable[[IntegrationEvent], None]) -> Callable[[], None]:
        """Call ``callback`` with each integration event this instance records, after it is
        committed; returns a function that unsubscribes. Events other processes record
        reach a service through :mod:`aidflow.application.feed` instead."""
        self.subscribers.append(callback)
        return lambda: self.subscribers.remove(callback)

    # -- commands ---------------------------------------------------------------------

    def handle(self, c: cmd.Command[R]) -> R:
        """Run any command by its class (the table :data:`HANDLERS`); see the pipeline."""
        if isinstance(c, cmd.Reconcile):
            payments.check_statement(c)
        result: R = self.pipeline.run(HANDLERS[type(c)], c)
        return result

    def authorise(self, actor: str, command: str, *, department: str | None = None) -> None:
        """Refuse ``command`` unless ``actor`` is registered staff holding a role for it now.

        Embedding services call this with the identity they authenticated (never one
        taken from a request body); the CLI with ``--actor`` on SQLite.
        """
        self.pipeline.authorise(actor, command, department=department)

    def add_staff(self, c: cmd.AddStaff) -> None:
        """Register a staff member; on a store without staff, the first admin registers themselves."""
        return self.handle(c)

    def grant_role(self, c: cmd.GrantRole) -> None:
        return self.handle(c)

    def revoke_role(self, c: cmd.RevokeRole) -> None:
        return self.handle(c)

    def set_policy(self, c: cmd.SetPolicy) -> PolicyInForce:
        """Change one policy value (an admin's decision, recorded); returns the policy now."""
        return self.handle(c)

    def load_policy(self, c: cmd.LoadPolicy) -> PolicyInForce:
        """Change several values at once (a policy file), each recorded as its own change."""
        return self.handle(c)

    def open_fund(self, c: cmd.OpenFund) -> UUID:
        return self.handle(c)

    def deposit(self, c: cmd.Deposit) -> DepositResult:
        """A deposit; its receipt number is its natural retry key within the fund."""
        return self.handle(c)

    def apply(self, c: cmd.Apply) -> UUID:
        """Open a case; a second case for the same student and year is refused."""
        return self.handle(c)

    def verify(self, c: cmd.Verify) -> None:
        return self.handle(c)

    def reject(self, c: cmd.Reject) -> None:
        return self.handle(c)

    def approve(self, c: cmd.Approve) -> DecisionResult:
        """Approve a grant and reserve it in its government fund, in one save; the same
        ``ref`` with the same content again records nothing (``recorded=False``)."""
        return self.handle(c)

    def disburse(self, c: cmd.Disburse) -> DisbursementResult:
        """Pay into the student's account. The same voucher again is a retry: nothing new."""
        return self.handle(c)

    def return_disbursement(self, c: cmd.ReturnDisbursement) -> None:
        """The bank returned a payment; the approval stays reserved for a new payment."""
        return self.handle(c)

    def allocate_secondary_aid(self, c: cmd.AllocateSecondaryAid) -> DecisionResult:
        """Propose social-fund money for a paid student (二次帮扶); a second person approves."""
        return self.handle(c)

    def approve_secondary_aid(self, c: cmd.ApproveSecondaryAid) -> DecisionResult:
        """A second person approves proposed secondary aid; it is reserved in its fund."""
        return self.handle(c)

    def report_hardship(self, c: cmd.ReportHardship) -> None:
        return self.handle(c)

    def convene_review(self, c: cmd.ConveneReview) -> ReviewResult:
        return self.handle(c)

    def complete_action(self, c: cmd.CompleteAction) -> None:
        """A department's liaison reports its action done; only that department's liaison."""
        return self.handle(c)

    def follow_up(self, c: cmd.FollowUp) -> None:
        return self.handle(c)

    def close_case(self, c: cmd.CloseCase) -> None:
        """Close a case and give unpaid reservations back to their funds, in one save."""
        return self.handle(c)

    def set_account(self, c: cmd.SetAccount) -> AccountResult:
        """Record or correct the student's own account (a second person confirms after a
        payment)."""
        return self.handle(c)

    def confirm_account(self, c: cmd.ConfirmAccount) -> AccountResult:
        return self.handle(c)

    def issue_payment_list(
        self, c: cmd.IssuePaymentList, candidates: Sequence[UUID] | None = None
    ) -> PaymentList:
        """The payment list (代发清单) of one fund, with FULL account numbers (cashier only).

        ``candidates``: the cases that may hold approved, unpaid money on the fund (by
        default the read side's, when an :class:`~aidflow.office.Office` composed it)."""
        if candidates is None:
            return self.handle(c)
        handler = replace(HANDLERS[cmd.IssuePaymentList], decide=payments.pay_list(candidates))
        listed: PaymentList = self.pipeline.run(handler, c)
        return listed

    def reconcile(self, c: cmd.Reconcile) -> Reconciliation:
        """Match every line of the bank's statement to a voucher (see
        :func:`aidflow.application.payments.reconcile`)."""
        return self.handle(c)

    def resolve_payment(self, c: cmd.ResolvePayment) -> PaymentSettlement:
        """Settle a disputed payment as paid or returned (a second person: not its issuer)."""
        return self.handle(c)

    def reissue_payment(self, c: cmd.ReissuePayment) -> PaymentSettlement:
        """Pay a returned payment again to the same account (a second person decides)."""
        return self.handle(c)

    def reveal(self, c: cmd.Reveal) -> PersonalData:
        """The student's national ID, name and account in full, recorded first."""
        return self.handle(c)

    def erase(self, c: cmd.EraseCase) -> list[UUID]:
        """Erase the student's personal data: destroy their data key, across every year's
        case; returns the cases whose personal data went with the key."""
        return self.handle(c)

    def apply_many(self, commands: Sequence[cmd.Apply], *, batch: int = 2000) -> list[ApplyOutcome]:
        """Open many cases (a screening import) in a few large saves.

        Each batch is saved in one transaction; every row is answered: opened, or the case
        its student has for the year already. A batch whose save conflicts (another process
        opened one of its students, or one is in it twice) is redone row by row.
        """
        for actor in sorted({c.actor for c in commands}):
            self.authorise(actor, "apply")
        outcomes: list[ApplyOutcome] = []
        for start in range(0, len(commands), batch):
            chunk = commands[start : start + batch]
            try:
                outcomes.extend(self._apply_batch(chunk))
            except RecordConflictError:
                for c in chunk:
                    try:
                        outcomes.append(ApplyOutcome(case_id=self.apply(c), opened=True))
                    except DuplicateApplication as duplicate:
                        outcomes.append(ApplyOutcome(case_id=duplicate.case_id, opened=False))
        return outcomes

    def _apply_batch(self, chunk: Sequence[cmd.Apply]) -> list[ApplyOutcome]:
        self.pipeline.refuse_read_only()
        with self.pipeline.one_moment() as moment:
            context = self.pipeline.context(chunk[0].actor, None, moment)
            already, aggregates = cases.new_cases(context, chunk)
            recordings = self.save(*aggregates)
        self.committed(recordings)
        return cases.outcomes(already, aggregates)

    # -- questions the write side answers ----------------------------------------------

    def verify_snapshots(self, *, page_size: int = 1000) -> SnapshotVerification:
        """Every stored snapshot against a replay of its aggregate's events."""
        return verify_snapshots(self, page_size=page_size)

    def load_case(self, case_id: UUID) -> StudentCase:
        return self.records.case(case_id)

    def load_fund(self, fund_id: UUID) -> Fund:  # as stored: never the process's warm copy
        return self.records.load(Fund, fund_id, FundNotFound)

    def staff_registry(self) -> StaffRegistry | None:
        return self.records.find(StaffRegistry, REGISTRY_ID)

    def current_policy(self) -> Policy:
        """The policy in force: the one given to :meth:`open`, changed by recorded ``policy set``."""
        return current_policy(self.records, self.policy)

    def policy_department(self, department: str) -> str:
        """``department`` in canonical form, refused unless the policy in force lists it."""
        return listed_department(self.current_policy(), department)

    def case(
        self, case_id: UUID, *, version: int | None = None, as_of: datetime | None = None
    ) -> CaseSnapshot:
        """A case now, as of version ``version``, or as it stood at ``as_of``."""
        found = replay.as_of(
            self.records, StudentCase, case_id, CaseNotFound, version=version, at=as_of
        )
        return CaseSnapshot.of(found)

    def fund(
        self, fund_id: UUID, *, version: int | None = None, as_of: datetime | None = None
    ) -> FundSnapshot:
        found = replay.as_of(self.records, Fund, fund_id, FundNotFound, version=version, at=as_of)
        return FundSnapshot.of(found)

    def history(self, aggregate_id: UUID) -> list[EventRecord]:
        """Every event of one case or fund, oldest first; personal data masked."""
        return replay.history(self.records, aggregate_id)

    def staff(self, *, as_of: datetime | None = None) -> list[StaffMember]:
        """Every staff member with their roles, now or as registered at ``as_of``."""
        return replay.staff(self.records, as_of)

    def policy_at(self, as_of: datetime | None = None) -> PolicyInForce:
        """The policy in force now, or at ``as_of`` (replayed from its events)."""
        return replay.policy_at(self.records, self.policy, as_of)

    # -- personal data: keyed lookups ---------------------------------------------------

    def enrolment_id(self, student_id: str, year: int) -> UUID:
        """The id a new enrolment key gets: from a keyed hash, never the ID itself."""
        return Enrolment.keyed_id(self.vault.key_id(student_id), year)

    def enrolment_of(self, student_id: str, year: int) -> Enrolment | None:
        """The student's enrolment key for the year (keyed, or a v0.1.0 store's)."""
        return enrolment_of(self.records, self.vault, student_id, year)

    def previous_case(self, student_id: str, year: int) -> UUID | None:
        """The same person's case of the nearest earlier programme year."""
        return cases.previous_case(self.enrolment_of, student_id, year)

    def cases_of(self, student_id: str, *, first: int = 2000, last: int = 2100) -> list[UUID]:
        """Every case of one person, oldest programme year first, through the student-year keys."""
        found = []
        for year in range(first, last + 1):
            key = self.enrolment_of(student_id, year)
            if key is not None:
                found.append(key.case_id)
        return found

    def is_named(self, case_id: UUID | str, name: str) -> bool:
        """Whether the case's student has this name (canonical, case-insensitive)."""
        try:
            case = self.load_case(UUID(str(case_id)))
        except (CaseNotFound, ValueError):
            return False
        return personal.is_named(case, name)
