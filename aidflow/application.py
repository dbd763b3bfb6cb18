"""The AidFlow application: every command is load -> decide -> save, atomically.

Cross-aggregate rules (a grant reserving money in a fund, a voucher being
unique, one case per student-year) save every aggregate involved in one
``save()``: the event store checks each aggregate's version, so a concurrent
writer makes the whole save conflict, and the command is retried from fresh
state. Nothing is written when a command is refused.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, project_aggregate
from eventsourcing.persistence import (
    EventStore,
    JSONTranscoder,
    Mapper,
    Notification,
    PersistenceError,
    RecordConflictError,
    Transcoding,
)
from pydantic import BaseModel

from aidflow import commands as cmd
from aidflow.config import Login, open_prepared, prepare_store
from aidflow.domain import canonical
from aidflow.domain.base import AidAggregate
from aidflow.domain.case import StudentCase
from aidflow.domain.clock import Clock, fixed, now, using_clock
from aidflow.domain.errors import (
    AidflowError,
    CaseNotFound,
    CaseNotOpen,
    ConcurrencyConflict,
    DuplicateApplication,
    ErasureRefused,
    FundNotFound,
    InvalidInput,
    MasterKeyError,
    MasterKeyMissing,
    NotAuthorised,
    NotFound,
    ReadOnlyStore,
    StoreDamaged,
    UnknownDepartment,
    UnknownStaff,
    VoucherReturned,
    said,
)
from aidflow.domain.events import event_name
from aidflow.domain.fund import Fund
from aidflow.domain.keys import Enrolment, RequestKey, Voucher, fingerprint
from aidflow.domain.masking import Sealed, mask_identifier, mask_personal
from aidflow.domain.money import format_yuan
from aidflow.domain.payments import BOOK_ID, PaymentBook, voucher_number
from aidflow.domain.policy import DEFAULT_POLICY, REGISTER_ID, Policy, PolicyRegister
from aidflow.domain.staff import REGISTRY_ID, Role, StaffRegistry
from aidflow.domain.values import FundKind
from aidflow.models import (
    AccountResult,
    ApplyOutcome,
    CaseSnapshot,
    DecisionResult,
    DepositResult,
    DisbursementResult,
    EventRecord,
    FundSnapshot,
    HeldLine,
    PaymentLine,
    PaymentList,
    PersonalData,
    PolicyInForce,
    Reconciliation,
    ReviewResult,
    StaffMember,
    StatementFinding,
)
from aidflow.privacy import PrivacyMapper, SealingEventStore, Vault

T = TypeVar("T")
A = TypeVar("A", bound=AidAggregate)

_EVENT_META = ("originator_id", "originator_version", "timestamp", "originator_topic")
_PERSONAL = ("student_id", "account")


def _personal(domain_event: Any) -> tuple[str, ...]:
    """The fields of an event masked in its history: those its class declares, and the
    national ID and account of events written before classes declared them."""
    return (*_PERSONAL, *getattr(type(domain_event), "PERSONAL", ()))


DECISION = "decision"
"""Scope of decision references: approvals and secondary aid share one numbering."""
REQUEST = "request"
"""Scope of callers' idempotency keys."""
UNGUARDED = frozenset({"add_staff", "grant_role", "revoke_role"})
"""Commands the staff registry itself authorises (the first admin has no role yet)."""


@dataclass(frozen=True)
class Once:
    """What makes a command idempotent: its key, and how to store and restore its result."""

    scope: str
    key: str
    command: str
    fingerprint: str
    encode: Callable[[Any], dict[str, Any]]
    decode: Callable[[dict[str, Any]], Any]


def _encode(result: Any) -> dict[str, Any]:
    if result is None:
        return {}
    if isinstance(result, UUID):
        return {"id": str(result)}
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    raise TypeError(f"cannot keep a {type(result).__name__} as a request's result")


def _decoder(returns: type[Any] | None) -> Callable[[dict[str, Any]], Any]:
    """Rebuild a first result for a retry; results with ``recorded`` say it was not this time."""

    def decode(data: dict[str, Any]) -> Any:
        if returns is None:
            return None
        if returns is UUID:
            return UUID(data["id"])
        assert issubclass(returns, BaseModel)
        if "recorded" in returns.model_fields:
            data = {**data, "recorded": False}
        return returns.model_validate(data)

    return decode


def _damaged(aggregate_id: UUID, exc: Exception) -> StoreDamaged:
    """A stored record of ``aggregate_id`` that cannot be decoded: say so, and where to look."""
    return StoreDamaged(
        f"the stored records of {aggregate_id} cannot be read ({type(exc).__name__}: {exc}); "
        "the store is damaged: run `aidflow audit verify` to find the record",
        ids={"aggregate_id": str(aggregate_id)},
    )


LOOKBACK_YEARS = 6
"""How many programme years back a new case looks for the same person's earlier case."""


def _new_case(c: cmd.Apply, previous_case: UUID | None = None) -> StudentCase:
    return StudentCase.open(
        student_id=c.student_id,
        name=c.name,
        university=c.university,
        family_category=c.family_category.value,
        town=c.town,
        year=c.year,
        account=c.account,
        source=c.source,
        actor=c.actor,
        previous_case=previous_case,
    )


def _line(case: StudentCase, payment: dict[str, Any], *, new: bool) -> PaymentLine:
    return PaymentLine(
        voucher=str(payment["voucher"]),
        case_id=case.id,
        name=case.name,
        account=str(payment.get("account") or case.account),
        bank=case.bank,
        amount_fen=int(payment["amount_fen"]),
        use=str(payment.get("use", "grant")),
        reference=str(payment["voucher"]),
        new=new,
    )


def _held_reason(case: StudentCase) -> str:
    """Why approved money of ``case`` cannot go on a payment list now ("" when it can)."""
    try:
        case.check_payable()
    except AidflowError as exc:
        return str(exc)
    if case.account_suspect:
        return (
            f"the bank returned a payment of case {case.id}; correct its account with "
            "`aidflow case set-account` (and `case confirm-account`) before it is paid again"
        )
    return ""


class DateAsISO(Transcoding):
    """Business dates (a bank's value date) stored as ISO text."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class AidFlow(Application[UUID]):
    """Closed-loop aid for new students: the library that the CLI and other services call."""

    name = "AidFlow"
    max_attempts: ClassVar[int] = 8
    # A fund collects an allocation per grant: thousands of events in a busy year. A
    # snapshot every 100 events keeps loading it (on every approval) short.
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Fund: 100}

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
        self.listeners: list[Callable[[], None]] = []
        """Called after every command that succeeded: the read side's inline catch-up."""
        self._recorded = threading.local()
        self.subscribers: list[Callable[[Any], None]] = []
        """Given each integration event this instance records (issue 13; see :meth:`subscribe`)."""
        self.conflicts_retried = 0
        """How many times a command was retried after a concurrent writer won; for monitoring."""
        self.login: Login | None = None
        """On PostgreSQL, the authenticated login; it acts only as the staff member of its own
        name unless it may name staff (a superuser, or a member of ``aidflow_service``)."""
        self.read_only = False
        """Opened with ``?mode=ro``: queries only; a command is refused before it is decided."""
        self._singletons: dict[UUID, tuple[int | None, AidAggregate | None]] = {}
        """The staff registry and policy register last read, by id (see :meth:`_current`)."""

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        policy: Policy = DEFAULT_POLICY,
        clock: Clock | None = None,
    ) -> AidFlow:
        """Open the store at ``url``, else ``$AIDFLOW_DB``, else ``./aidflow.db`` (created).

        A store that cannot be opened raises :class:`~aidflow.domain.errors.StoreUnavailable`
        with one line saying why; a read-only URL (``?mode=ro``) opens for queries only.
        """
        prepared = prepare_store(url)
        flow = open_prepared(prepared, lambda env: cls(env, policy=policy, clock=clock))
        flow.read_only = prepared.store.read_only
        flow.login = prepared.login
        flow.vault = Vault(prepared.store)
        return flow

    # -- issue 11: personal data encrypted at rest (aidflow/privacy.py) ------------------

    def close(self) -> None:
        vault = getattr(self.mapper, "vault", None)
        if vault is not None:
            vault.db.close()
        super().close()

    def enrolment_id(self, student_id: str, year: int) -> UUID:
        """The id a new enrolment key gets: from a keyed hash, never the ID itself."""
        return Enrolment.keyed_id(self.vault.key_id(student_id), year)

    def enrolment_of(self, student_id: str, year: int) -> Enrolment | None:
        """The student's enrolment key for the year: keyed (this release) or, in a store
        written before it, the one derived from the ID itself (:meth:`Enrolment.create_id`)."""
        found = self._find(Enrolment, self.enrolment_id(student_id, year))
        if found is None:
            found = self._find(Enrolment, Enrolment.create_id(student_id, year))
        return found

    def _enrolment(self, case: StudentCase) -> Enrolment:
        return Enrolment.register(
            key_id=self.enrolment_id(case.student_id, case.year),
            student_id=case.student_id,
            year=case.year,
            case_id=case.id,
        )

    def construct_mapper(self) -> Mapper[UUID]:
        return PrivacyMapper(transcoder=self.construct_transcoder())

    def construct_event_store(self) -> EventStore[UUID]:
        return SealingEventStore(mapper=self.mapper, recorder=self.recorder)

    def construct_snapshot_store(self) -> EventStore[UUID]:
        recorder = self.factory.aggregate_recorder(purpose="snapshots")
        return SealingEventStore(mapper=self.mapper, recorder=recorder)

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
        self.mapper.vault = vault

    def take_snapshot(
        self,
        aggregate_id: UUID,
        version: int | None = None,
        projector_func: Any = project_aggregate,
    ) -> None:
        """A snapshot is an optimisation: failing to take one never fails the command.

        Its events are already committed when snapshots are taken, so an error here
        (another process took the same snapshot first) must not reach the retry
        loop, which would run the command again.
        """
        try:
            super().take_snapshot(aggregate_id, version, projector_func)
        except PersistenceError as exc:
            warnings.warn(
                f"snapshot of {aggregate_id} at version {version} not taken: {exc}", stacklevel=2
            )

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    # -- plumbing --------------------------------------------------------------------

    def _run(
        self,
        decide: Callable[[], tuple[T, Sequence[AidAggregate]]],
        c: cmd.Command,
        command: str,
        returns: type[Any] | None,
        *,
        ref: str | None = None,
    ) -> T:
        """Run one command, retrying from fresh state when another writer got there first.

        The actor must hold a role that may record ``command`` (checked against the staff
        registry as it stands now). ``decide`` loads what it needs, calls the domain and
        returns its result with the aggregates to save; they are saved here in one
        transaction, with the request's idempotency key when it has one. All events of
        one command carry the same timestamp, so a case and the fund it draws on never
        disagree about when a grant was approved.
        """
        once = self.once(c, command, returns, ref=ref)
        if self.read_only:
            raise ReadOnlyStore(
                said(
                    "this store was opened read-only (?mode=ro); nothing was written. Open it without mode=ro to record commands"
                )
            )
        for attempt in range(self.max_attempts):
            try:
                with self._one_moment():
                    self.authorise(c.actor, command)
                    if once is not None:
                        seen = self._find(RequestKey, RequestKey.create_id(once.scope, once.key))
                        if seen is not None:
                            first = seen.replay_result(
                                command=once.command, fingerprint=once.fingerprint
                            )
                            return once.decode(first)  # type: ignore[no-any-return]
                    result, aggregates = decide()
                    if aggregates and once is not None:
                        key = RequestKey(
                            scope=once.scope,
                            key=once.key,
                            command=once.command,
                            fingerprint=once.fingerprint,
                            result=once.encode(result),
                            actor=self._actor_of(aggregates),
                        )
                        aggregates = [*aggregates, key]
                    if aggregates:
                        self.save(*aggregates)
            except RecordConflictError:
                self.conflicts_retried += 1
                time.sleep(random.uniform(0, 0.005 * (2**attempt)))  # noqa: S311 - jitter
                continue
            self._after_command()
            return result
        raise ConcurrencyConflict(
            said(
                "the records kept changing under this command ({max_attempts} attempts); nothing was written, try again",
                max_attempts=self.max_attempts,
            )
        )

    @contextmanager
    def _one_moment(self) -> Iterator[None]:
        """Stamp every event created inside with one timestamp taken from the clock."""
        with using_clock(self.clock):
            moment = now()
        with using_clock(fixed(moment)):
            yield

    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        """Call ``callback`` with each :class:`aidflow.feed.IntegrationEvent` this instance
        records, after it is committed; returns a function that unsubscribes. Events other
        processes record reach a service through :mod:`aidflow.feed` instead."""
        self.subscribers.append(callback)
        return lambda: self.subscribers.remove(callback)

    def recorded(self) -> Sequence[Notification]:
        """The records the command whose listeners are running stored, in position order
        (this thread's; empty outside a listener or when the command stored nothing).

        An inline catch-up applies them without reading them back from the store.
        """
        return getattr(self._recorded, "records", ())

    def _notify(self, recordings: list[Any]) -> None:
        self._recorded.records = [recording.notification for recording in recordings]
        if not self.subscribers:
            return
        from aidflow.feed import public

        for recording in recordings:
            item = public(recording.domain_event, recording.notification.id)
            for callback in [] if item is None else list(self.subscribers):
                try:
                    callback(item)
                except Exception as exc:
                    warnings.warn(
                        f"the command was recorded, but a subscriber failed: {exc}", stacklevel=3
                    )

    def _after_command(self) -> None:
        """Tell the listeners; the command is committed, so their failure must not look like its.

        A read model that could not catch up (a lock timeout, a first-use race on a
        shared store) stays behind and catches up on its next read or command;
        raising here would make the caller retry a command that was recorded.
        """
        try:
            for listener in self.listeners:
                try:
                    listener()
                except Exception as exc:
                    warnings.warn(
                        f"the command was recorded, but a read model is behind: {exc}",
                        stacklevel=3,
                    )
        finally:
            self._recorded.records = ()

    @staticmethod
    def _actor_of(aggregates: Sequence[AidAggregate]) -> str:
        for aggregate in aggregates:
            for pending in aggregate.pending_events:
                actor = getattr(pending, "actor", None)
                if isinstance(actor, str):
                    return actor
        return ""

    def once(
        self,
        c: cmd.Command,
        command: str,
        returns: type[Any] | None,
        *,
        ref: str | None = None,
    ) -> Once | None:
        """The idempotency of request ``c``: its decision ``ref``, else its idempotency key."""
        scope, key = (DECISION, ref) if ref else (REQUEST, c.idempotency_key)
        if not key:
            return None
        content = c.content()
        for field in getattr(type(c), "PERSONAL", ()):  # issue 11: no plain hash of an ID
            if isinstance(content.get(field), str) and content[field]:
                content[field] = "keyed:" + self.vault.keyed(field, content[field])
        if ref:
            content["ref"] = canonical.document_key(ref)  # a retyped number is the same one
        return Once(
            scope=scope,
            key=key,
            command=command,
            fingerprint=fingerprint({"command": command, **content}),
            encode=_encode,
            decode=_decoder(returns),
        )

    def _get(self, aggregate_id: UUID, version: int | None = None) -> AidAggregate | None:
        """An aggregate from the store, or None; a record that cannot be decoded is damage."""
        try:
            aggregate: AidAggregate = self.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:
            return None
        except (PersistenceError, RecordConflictError, MasterKeyError):
            raise
        except Exception as exc:
            raise _damaged(aggregate_id, exc) from exc
        return aggregate

    def _load(self, cls: type[A], aggregate_id: UUID, missing: type[NotFound]) -> A:
        aggregate = self._get(aggregate_id)
        if aggregate is None:
            raise missing(f"no {cls.__name__.lower()} with id {aggregate_id}")
        if not isinstance(aggregate, cls):
            raise missing(f"{aggregate_id} is not a {cls.__name__.lower()}")
        return aggregate

    def _find(self, cls: type[A], aggregate_id: UUID) -> A | None:
        aggregate = self._get(aggregate_id)
        if aggregate is not None and not isinstance(aggregate, cls):
            raise StoreDamaged(
                said(
                    "record {aggregate_id} should be a {type_name} key",
                    aggregate_id=aggregate_id,
                    type_name=cls.__name__,
                )
            )
        return aggregate

    def load_case(self, case_id: UUID) -> StudentCase:
        return self._load(StudentCase, case_id, CaseNotFound)

    def load_fund(self, fund_id: UUID) -> Fund:
        return self._load(Fund, fund_id, FundNotFound)

    # -- staff and policy --------------------------------------------------------------

    def staff_registry(self) -> StaffRegistry | None:
        return self._find(StaffRegistry, REGISTRY_ID)

    def _current(self, cls: type[A], aggregate_id: UUID) -> A | None:
        """The staff registry or the policy register as it stands, **for reading only**.

        Every command reads both; replaying them each time cost more than the rest of
        a command. The instance loaded last is kept in the process with its version,
        and reused while the store's latest event of it has that version (one indexed
        read of one row): a change by any process is seen by the next command, as with
        a fresh load. Callers must not change what this returns.
        """
        latest = self.recorder.select_events(aggregate_id, desc=True, limit=1)
        version = latest[0].originator_version if latest else None
        cached = self._singletons.get(aggregate_id)
        if cached is not None and cached[0] == version and isinstance(cached[1], cls):
            return cached[1]
        found = self._find(cls, aggregate_id)
        self._singletons[aggregate_id] = (None if found is None else found.version, found)
        return found

    def authorise(self, actor: str, command: str, *, department: str | None = None) -> None:
        """Refuse ``command`` unless ``actor`` is registered staff holding a role for it now.

        Embedding services call this with the identity they authenticated (never one
        taken from a request body); the CLI with ``--actor`` on SQLite.
        """
        login = self.login
        if (
            login is not None
            and not login.may_name_staff
            and not canonical.same_actor(actor, login.name)
        ):
            raise NotAuthorised(
                said(
                    "database login {name} acts only as itself, not as {actor}; a service login needs the aidflow_service role to name staff",
                    name=login.name,
                    actor=actor,
                ),
                ids={"actor": canonical.actor(actor), "login": login.name},
            )
        if command in UNGUARDED:
            return
        registry = self._current(StaffRegistry, REGISTRY_ID)
        if registry is None:
            raise UnknownStaff(
                said(
                    "no staff is registered in this store yet; register the first admin with `aidflow staff add NAME --role admin`"
                ),
                ids={"actor": canonical.actor(actor)},
            )
        registry.authorise(actor, command, department=department)

    def current_policy(self) -> Policy:
        """The policy in force: the one given to :meth:`open`, changed by recorded ``policy set``."""
        register = self._current(PolicyRegister, REGISTER_ID)
        return register.policy(self.policy) if register is not None else self.policy

    def staff(self, *, as_of: datetime | None = None) -> list[StaffMember]:
        """Every staff member with their roles, now or as registered at ``as_of``."""
        try:
            registry = self._replay(StaffRegistry, REGISTRY_ID, NotFound, version=None, as_of=as_of)
        except NotFound:
            return []
        return [
            StaffMember(
                name=name, roles=list(m["roles"]), department=m["department"], town=m["town"]
            )
            for name, m in sorted(registry.members.items())
        ]

    def policy_at(self, as_of: datetime | None = None) -> PolicyInForce:
        """The policy in force now, or at ``as_of`` (replayed from its events)."""
        try:
            register = self._replay(
                PolicyRegister, REGISTER_ID, NotFound, version=None, as_of=as_of
            )
            policy = register.policy(self.policy)
        except NotFound:
            policy = self.policy
        return PolicyInForce(**dataclasses.asdict(policy))

    def add_staff(self, c: cmd.AddStaff) -> None:
        """Register a staff member; on a store without staff, the first admin registers themselves."""

        def decide() -> tuple[None, list[AidAggregate]]:
            registry = self.staff_registry() or StaffRegistry()
            department = c.department
            if Role.LIAISON in c.roles and department.strip():
                department = self.policy_department(department)
            registry.add_member(
                name=c.name,
                roles=list(c.roles),
                department=department,
                town=c.town,
                actor=c.actor,
            )
            return None, [registry]

        self._run(decide, c, "add_staff", None)

    def grant_role(self, c: cmd.GrantRole) -> None:
        def decide() -> tuple[None, list[AidAggregate]]:
            registry = self._require_registry()
            member = registry.member(c.name)
            if c.role is Role.LIAISON and member is not None and member["department"]:
                self.policy_department(member["department"])
            registry.grant(name=c.name, role=c.role, actor=c.actor)
            return None, [registry]

        self._run(decide, c, "grant_role", None)

    def revoke_role(self, c: cmd.RevokeRole) -> None:
        def decide() -> tuple[None, list[AidAggregate]]:
            registry = self._require_registry()
            registry.revoke(name=c.name, role=c.role, actor=c.actor)
            return None, [registry]

        self._run(decide, c, "revoke_role", None)

    def set_policy(self, c: cmd.SetPolicy) -> PolicyInForce:
        """Change one policy value (an admin's decision, recorded); returns the policy now."""

        def decide() -> tuple[None, list[AidAggregate]]:
            register = self._find(PolicyRegister, REGISTER_ID) or PolicyRegister()
            register.set_value(key=c.key, text=c.value, actor=c.actor, base=self.policy)
            return None, [register]

        self._run(decide, c, "set_policy", None)
        return self.policy_at()

    def load_policy(self, c: cmd.LoadPolicy) -> PolicyInForce:
        """Change several values at once (a policy file), each recorded as its own change."""

        def decide() -> tuple[None, list[AidAggregate]]:
            register = self._find(PolicyRegister, REGISTER_ID) or PolicyRegister()
            register.set_values(settings=dict(c.settings), actor=c.actor, base=self.policy)
            return None, [register]

        self._run(decide, c, "set_policy", None)
        return self.policy_at()

    def policy_department(self, department: str) -> str:
        """``department`` in canonical form, refused unless the policy in force lists it
        (a liaison acts for one of the policy's departments)."""
        name = canonical.slug(department, "department")
        listed = self.current_policy().departments
        if name not in listed:
            raise UnknownDepartment(
                said(
                    "no department {name} in the policy; departments are {listed} (an admin changes them with `aidflow policy set departments ...`)",
                    name=name,
                    listed=", ".join(listed),
                )
            )
        return name

    def _roles_of(self, actor: str) -> list[str]:
        """The roles ``actor`` holds now (for the approval tiers); none when not staff."""
        registry = self._current(StaffRegistry, REGISTRY_ID)
        member = None if registry is None else registry.member(actor)
        return [] if member is None else list(member["roles"])

    def _require_registry(self) -> StaffRegistry:
        registry = self.staff_registry()
        if registry is None:
            raise UnknownStaff(said("no staff is registered in this store yet"))
        return registry

    # -- funds -----------------------------------------------------------------------

    def open_fund(self, c: cmd.OpenFund) -> UUID:
        def decide() -> tuple[UUID, list[AidAggregate]]:
            fund = Fund.open(name=c.name, kind=c.kind.value, purpose=c.purpose, actor=c.actor)
            return fund.id, [fund]

        return self._run(decide, c, "open_fund", UUID)

    def deposit(self, c: cmd.Deposit) -> DepositResult:
        """A deposit; its receipt number is its natural retry key within the fund."""

        def decide() -> tuple[DepositResult, list[AidAggregate]]:
            fund = self.load_fund(c.fund_id)
            retry = fund.is_retried_deposit(
                receipt=c.receipt, amount_fen=c.amount_fen, source=c.source
            )
            if not retry:
                fund.deposit(
                    amount_fen=c.amount_fen,
                    source=c.source,
                    receipt=c.receipt,
                    value_date=c.value_date,
                    actor=c.actor,
                )
            result = DepositResult(
                fund_id=fund.id, receipt=c.receipt, amount_fen=c.amount_fen, recorded=not retry
            )
            return result, [] if retry else [fund]

        return self._run(decide, c, "deposit", DepositResult)

    # -- cases -----------------------------------------------------------------------

    def apply(self, c: cmd.Apply) -> UUID:
        """Open a case; a second case for the same student and year is refused."""

        def decide() -> tuple[UUID, list[AidAggregate]]:
            key = self.enrolment_of(c.student_id, c.year)
            if key is not None:
                raise DuplicateApplication(mask_identifier(c.student_id), c.year, key.case_id)
            case = _new_case(c, self.previous_case(c.student_id, c.year))
            return case.id, [case, self._enrolment(case)]

        return self._run(decide, c, "apply", UUID)

    def apply_many(self, commands: Sequence[cmd.Apply], *, batch: int = 500) -> list[ApplyOutcome]:
        """Open many cases (a screening import) in a few large saves.

        Each batch is saved in one transaction. If any student in it already has a
        case for the year, that batch is redone one application at a time, so every
        row gets its own answer: opened, or the case it already has.
        """
        outcomes: list[ApplyOutcome] = []
        for actor in sorted({c.actor for c in commands}):
            self.authorise(actor, "apply")
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
        if self.read_only:
            return [ApplyOutcome(case_id=self.apply(chunk[0]), opened=True)]  # raises ReadOnly
        with self._one_moment():
            aggregates: list[AidAggregate] = []
            outcomes = []
            for c in chunk:
                case = _new_case(c, self.previous_case(c.student_id, c.year))
                aggregates.append(case)
                aggregates.append(self._enrolment(case))
                outcomes.append(ApplyOutcome(case_id=case.id, opened=True))
            self.save(*aggregates)
        self._after_command()
        return outcomes

    def previous_case(self, student_id: str, year: int) -> UUID | None:
        """The same person's case of the nearest earlier programme year, through the
        student-year keys (never by reading national IDs out of a view)."""
        for earlier in range(year - 1, year - 1 - LOOKBACK_YEARS, -1):
            key = self.enrolment_of(student_id, earlier)
            if key is not None:
                return key.case_id
        return None

    def cases_of(self, student_id: str, *, first: int = 2000, last: int = 2100) -> list[UUID]:
        """Every case of one person, oldest programme year first, through the student-year keys."""
        found = []
        for year in range(first, last + 1):
            key = self.enrolment_of(student_id, year)
            if key is not None:
                found.append(key.case_id)
        return found

    def _change_case(
        self, c: cmd.CaseCommand, command: str, change: Callable[[StudentCase], T]
    ) -> T:
        def decide() -> tuple[T, list[AidAggregate]]:
            case = self.load_case(c.case_id)
            return change(case), [case]

        return self._run(decide, c, command, None)

    def verify(self, c: cmd.Verify) -> None:
        self._change_case(
            c,
            "verify",
            lambda case: case.verify(
                income_fen=c.income_fen,
                tuition_fen=c.tuition_fen,
                gap_fen=c.gap_fen,
                needs=[n.value for n in c.needs],
                visited_on=c.visited_on,
                note=c.note,
                actor=c.actor,
            ),
        )

    def reject(self, c: cmd.Reject) -> None:
        self._change_case(c, "reject", lambda case: case.reject(reason=c.reason, actor=c.actor))

    def approve(self, c: cmd.Approve) -> DecisionResult:
        """Approve a grant and reserve it in its government fund, in one save.

        The approval form's number (``ref``) makes it exactly-once: the same number
        with the same content again records nothing and answers ``recorded=False``.
        """

        def decide() -> tuple[DecisionResult, list[AidAggregate]]:
            case = self.load_case(c.case_id)
            fund = self.load_fund(c.fund_id)
            fund.check_kind(FundKind.GOVERNMENT, "temporary assistance")
            case.approve_grant(
                amount_fen=c.amount_fen,
                need=c.need.value,
                fund_id=fund.id,
                actor=c.actor,
                policy=self.current_policy(),
                ref=c.ref,
                roles=self._roles_of(c.actor),
            )
            fund.allocate(case_id=case.id, amount_fen=c.amount_fen, use="grant", actor=c.actor)
            result = DecisionResult(
                case_id=case.id, ref=c.ref, fund_id=fund.id, amount_fen=c.amount_fen, recorded=True
            )
            return result, [case, fund]

        return self._run(decide, c, "approve", DecisionResult, ref=c.ref)

    def disburse(self, c: cmd.Disburse) -> DisbursementResult:
        """Pay into the student's account. The same voucher again is a retry: nothing new.

        A voucher the bank returned is spent: paying under it again is refused, and
        the clerk issues a new voucher for the re-payment.
        """

        def decide() -> tuple[DisbursementResult, list[AidAggregate]]:
            case = self.load_case(c.case_id)
            used = self._find(Voucher, Voucher.create_id(c.voucher))
            if used is None and Voucher.legacy_id(c.voucher) != Voucher.create_id(c.voucher):
                used = self._find(Voucher, Voucher.legacy_id(c.voucher))
            if used is not None and used.is_retry_of(case_id=case.id, amount_fen=c.amount_fen):
                payment = case.payment(c.voucher)
                assert payment is not None, "a voucher key is saved with its payment"
                if payment["returned"]:
                    raise VoucherReturned(
                        said(
                            "voucher {voucher} was returned by the bank; the payment was not made. Issue a new voucher number for the re-payment",
                            voucher=payment["voucher"],
                        ),
                        ids={"case_id": str(case.id), "voucher": str(payment["voucher"])},
                    )
                result = DisbursementResult(
                    case_id=case.id,
                    voucher=str(payment["voucher"]),
                    fund_id=UUID(payment["fund_id"]),
                    amount_fen=c.amount_fen,
                    recorded=False,
                )
                return result, []
            fund_id = case.disburse(
                amount_fen=c.amount_fen,
                voucher=c.voucher,
                value_date=c.value_date,
                actor=c.actor,
                fund=c.fund_id,
            )
            voucher = Voucher(number=c.voucher, case_id=case.id, amount_fen=c.amount_fen)
            result = DisbursementResult(
                case_id=case.id,
                voucher=c.voucher,
                fund_id=fund_id,
                amount_fen=c.amount_fen,
                recorded=True,
            )
            return result, [case, voucher]

        return self._run(decide, c, "disburse", DisbursementResult)

    def return_disbursement(self, c: cmd.ReturnDisbursement) -> None:
        """The bank returned a payment; the approval stays reserved for a new payment."""
        self._change_case(
            c,
            "return_disbursement",
            lambda case: case.return_disbursement(
                voucher=c.voucher, reason=c.reason, value_date=c.value_date, actor=c.actor
            ),
        )

    def allocate_secondary_aid(self, c: cmd.AllocateSecondaryAid) -> DecisionResult:
        """Propose social-fund money for a paid student (二次帮扶), under the decision's ``ref``.

        Since 0.3 this is the first of two steps: a different person approves it
        (:meth:`approve_secondary_aid`), which reserves it in the donation fund; it is
        paid through the payment list and confirmed by the bank's statement like a grant.
        """

        def decide() -> tuple[DecisionResult, list[AidAggregate]]:
            case = self.load_case(c.case_id)
            fund = self.load_fund(c.fund_id)
            fund.check_kind(FundKind.DONATION, "secondary aid")
            fund.check_can_allocate(case_id=case.id, amount_fen=c.amount_fen)
            case.propose_secondary_aid(
                fund_id=fund.id,
                amount_fen=c.amount_fen,
                reason=c.reason,
                actor=c.actor,
                ref=c.ref,
                policy=self.current_policy(),
            )
            result = DecisionResult(
                case_id=case.id, ref=c.ref, fund_id=fund.id, amount_fen=c.amount_fen, recorded=True
            )
            return result, [case]

        return self._run(decide, c, "secondary_aid", DecisionResult, ref=c.ref)

    def approve_secondary_aid(self, c: cmd.ApproveSecondaryAid) -> DecisionResult:
        """A second person approves proposed secondary aid; it is reserved in its donation fund
        in the same save. Approving it again records nothing (``recorded=False``)."""

        def decide() -> tuple[DecisionResult, list[AidAggregate]]:
            case = self.load_case(c.case_id)
            proposal = case.secondary_proposal(c.ref)
            result = DecisionResult(
                case_id=case.id,
                ref=str(proposal["ref"]),
                fund_id=UUID(proposal["fund_id"]),
                amount_fen=int(proposal["amount_fen"]),
                recorded=not proposal["approved"],
            )
            if proposal["approved"]:
                return result, []
            fund = self.load_fund(UUID(proposal["fund_id"]))
            fund.check_kind(FundKind.DONATION, "secondary aid")
            case.approve_secondary_aid(ref=c.ref, actor=c.actor, policy=self.current_policy())
            fund.allocate(
                case_id=case.id,
                amount_fen=int(proposal["amount_fen"]),
                use="secondary-aid",
                actor=c.actor,
            )
            return result, [case, fund]

        return self._run(decide, c, "approve_secondary_aid", DecisionResult)

    def report_hardship(self, c: cmd.ReportHardship) -> None:
        self._change_case(
            c,
            "report_hardship",
            lambda case: case.report_hardship(
                kind=c.kind.value, severity=c.severity.value, detail=c.detail, actor=c.actor
            ),
        )

    def convene_review(self, c: cmd.ConveneReview) -> ReviewResult:
        def decide() -> tuple[ReviewResult, list[AidAggregate]]:
            case = self.load_case(c.case_id)
            action_ids = case.convene_review(
                departments=list(c.departments),
                actions=[(a.department, a.text, a.due) for a in c.actions],
                note=c.note,
                actor=c.actor,
                policy=self.current_policy(),
            )
            return ReviewResult(case_id=case.id, action_ids=action_ids), [case]

        return self._run(decide, c, "convene_review", ReviewResult)

    def complete_action(self, c: cmd.CompleteAction) -> None:
        """A department's liaison reports its action done; only that department's liaison."""

        def complete(case: StudentCase) -> None:
            action = case.actions.get(c.action_id)
            if action is not None:
                self.authorise(c.actor, "complete_action", department=action["department"])
            case.complete_action(action_id=c.action_id, note=c.note, actor=c.actor)

        self._change_case(c, "complete_action", complete)

    def follow_up(self, c: cmd.FollowUp) -> None:
        self._change_case(
            c,
            "follow_up",
            lambda case: case.follow_up(
                study=c.study,
                living=c.living,
                hardship_trend=c.hardship_trend.value,
                actor=c.actor,
            ),
        )

    def close_case(self, c: cmd.CloseCase) -> None:
        """Close a case and give unpaid reservations back to their funds, in one save."""

        def decide() -> tuple[None, list[AidAggregate]]:
            case = self.load_case(c.case_id)
            releases = case.close(reason=c.reason, actor=c.actor, policy=self.current_policy())
            funds: list[AidAggregate] = []
            for fund_id, fen in releases.items():
                fund = self.load_fund(UUID(fund_id))
                fund.release(case_id=case.id, amount_fen=fen, reason="case closed", actor=c.actor)
                funds.append(fund)
            return None, [case, *funds]

        self._run(decide, c, "close_case", None)

    # -- the money loop: accounts, payment lists, statements (issue 12) ----------------

    def set_account(self, c: cmd.SetAccount) -> AccountResult:
        """Record or correct the student's own account. After any payment the change waits
        for a different person's confirmation (:meth:`confirm_account`)."""

        def decide() -> tuple[AccountResult, list[AidAggregate]]:
            case = self.load_case(c.case_id)
            pending = case.set_account(
                account=c.account, bank=c.bank, reason=c.reason, actor=c.actor
            )
            recorded = bool(case.pending_events)
            result = AccountResult(
                case_id=case.id,
                account_masked=mask_identifier(c.account),
                pending=pending,
                recorded=recorded,
            )
            return result, [case] if recorded else []

        return self._run(decide, c, "set_account", AccountResult)

    def confirm_account(self, c: cmd.ConfirmAccount) -> AccountResult:
        """A different person (an approver) confirms the proposed account change."""

        def decide() -> tuple[AccountResult, list[AidAggregate]]:
            case = self.load_case(c.case_id)
            case.confirm_account(actor=c.actor, account=c.account)
            result = AccountResult(
                case_id=case.id,
                account_masked=mask_identifier(case.account),
                pending=False,
                recorded=True,
            )
            return result, [case]

        return self._run(decide, c, "confirm_account", AccountResult)

    def issue_payment_list(
        self, c: cmd.IssuePaymentList, candidates: Sequence[UUID]
    ) -> PaymentList:
        """The payment list (代发清单) of one fund, with FULL account numbers (cashier only).

        ``candidates`` are the cases that may hold approved, unpaid money on the fund
        (:meth:`aidflow.projections.read_models.ReadModels.payable_cases`); each is
        loaded and decided from its own events. A line issued before and not yet settled
        by a statement keeps its voucher; new money gets a new voucher (its ``Disbursed``
        event: paid, unconfirmed). The export itself is recorded (``ListIssued``).
        """

        def decide() -> tuple[PaymentList, list[AidAggregate]]:
            fund = self.load_fund(c.fund_id)
            book = self._find(PaymentBook, BOOK_ID) or PaymentBook()
            number = book.next_number()
            lines: list[PaymentLine] = []
            held: list[HeldLine] = []
            changed: list[AidAggregate] = []
            for case_id in dict.fromkeys(candidates):
                case = self.load_case(case_id)
                for p in case.outstanding_listed(fund.id):
                    lines.append(_line(case, p, new=False))
                unpaid = case.payable_lines(fund.id)
                if unpaid <= 0 or case.rejected or case.closed:
                    continue
                reason = _held_reason(case)
                if reason:
                    held.append(HeldLine(case_id=case.id, amount_fen=unpaid, reason=reason))
                    continue
                while True:
                    voucher = voucher_number(c.list_date, number)
                    number += 1
                    if self._find(Voucher, Voucher.create_id(voucher)) is None:
                        break
                case.disburse(
                    amount_fen=unpaid,
                    voucher=voucher,
                    value_date=c.list_date,
                    actor=c.actor,
                    listed=True,
                    fund=fund.id,
                )
                payment = case.payment(voucher)
                assert payment is not None
                lines.append(_line(case, payment, new=True))
                changed += [case, Voucher(number=voucher, case_id=case.id, amount_fen=unpaid)]
            issued = number - book.next_number()
            result = PaymentList(
                fund_id=fund.id,
                list_date=c.list_date,
                lines=lines,
                held=held,
                new_vouchers=sum(1 for line in lines if line.new),
            )
            if not lines:
                return result, []
            book.record_list(
                fund_id=fund.id,
                list_date=c.list_date,
                lines=[
                    {
                        "voucher": line.voucher,
                        "case_id": str(line.case_id),
                        "amount_fen": line.amount_fen,
                        "new": line.new,
                    }
                    for line in lines
                ],
                new_vouchers=issued,
                actor=c.actor,
            )
            return result, [book, *changed]

        return self._run(decide, c, "pay_list", PaymentList)

    def reconcile(self, c: cmd.Reconcile) -> Reconciliation:
        """Match every line of the bank's statement to a voucher.

        A paid line confirms its payment (``DisbursementConfirmed``); a returned line
        records the return (``DisbursementReturned``: the approval is payable again, to
        a corrected account). Lines with no voucher, a different amount or account are
        findings, recorded with the statement (``StatementImported``). The same
        statement again (same lines) writes nothing and answers ``recorded=False``.
        Listed vouchers with no statement line after ``statement-days`` are reported.
        """
        if not c.lines:
            raise InvalidInput(said("the statement has no lines"))

        def decide() -> tuple[Reconciliation, list[AidAggregate]]:
            book = self._find(PaymentBook, BOOK_ID) or PaymentBook()
            digest = fingerprint(
                {"lines": [line.model_dump(mode="json", exclude={"line"}) for line in c.lines]}
            )
            cases: dict[UUID, StudentCase] = {}

            def case_of(case_id: UUID) -> StudentCase:
                if case_id not in cases:
                    cases[case_id] = self.load_case(case_id)
                return cases[case_id]

            seen = book.statement(digest)
            if seen is not None:
                result = Reconciliation(
                    digest=digest,
                    name=str(seen["name"]),
                    lines=len(c.lines),
                    confirmed=[],
                    returned=[],
                    already_settled=len(c.lines),
                    findings=[StatementFinding.model_validate(f) for f in seen["findings"]],
                    overdue=self._overdue(book, case_of),
                    recorded=False,
                )
                return result, []
            findings: list[StatementFinding] = []
            confirmed: list[str] = []
            returned: list[str] = []
            already = 0
            done: set[tuple[str, str]] = set()
            for line in c.lines:

                def finding(kind: str, detail: str, line: cmd.StatementLine = line) -> None:
                    findings.append(
                        StatementFinding(
                            kind=kind,
                            line=line.line,
                            reference=line.reference,
                            amount_fen=line.amount_fen,
                            account_masked=mask_identifier(line.account),
                            detail=detail,
                        )
                    )

                key = self._voucher_key(line.reference)
                case = None if key is None else case_of(key.case_id)
                payment = None if case is None else case.payment(line.reference)
                if case is None or payment is None:
                    finding("no_voucher", "no voucher of this store carries this reference")
                    continue
                voucher = str(payment["voucher"])
                marker = (canonical.document_key(voucher), line.status)
                if marker in done:
                    finding("duplicate_line", f"voucher {voucher} is {line.status} twice")
                    continue
                if line.amount_fen != payment["amount_fen"]:
                    finding(
                        "amount_mismatch",
                        f"voucher {voucher} was issued for {format_yuan(payment['amount_fen'])} "
                        f"yuan; the bank shows {format_yuan(line.amount_fen)}",
                    )
                    continue
                if line.account and payment.get("account") and line.account != payment["account"]:
                    finding(
                        "account_mismatch",
                        f"voucher {voucher} was sent to account "
                        f"{mask_identifier(str(payment['account']))}",
                    )
                    continue
                done.add(marker)  # a line that matched: the same again is a duplicate
                if line.status == "paid":
                    if payment.get("confirmed"):
                        already += 1
                    elif payment["returned"]:
                        finding("paid_after_return", f"voucher {voucher} was returned before")
                    else:
                        case.confirm_payment(
                            voucher=voucher,
                            value_date=line.value_date,
                            statement=digest[:16],
                            actor=c.actor,
                        )
                        confirmed.append(voucher)
                    continue
                if payment["returned"]:
                    already += 1
                    continue
                try:
                    case.return_disbursement(
                        voucher=voucher,
                        reason=line.note
                        or f"returned by the bank (statement {c.name or digest[:16]})",
                        value_date=line.value_date,
                        actor=c.actor,
                    )
                except CaseNotOpen as exc:
                    finding("not_applied", str(exc))
                    continue
                returned.append(voucher)
            book.record_statement(
                digest=digest,
                name=c.name,
                lines=len(c.lines),
                confirmed=len(confirmed),
                returned=len(returned),
                findings=[f.model_dump(mode="json") for f in findings],
                actor=c.actor,
            )
            result = Reconciliation(
                digest=digest,
                name=c.name,
                lines=len(c.lines),
                confirmed=confirmed,
                returned=returned,
                already_settled=already,
                findings=findings,
                overdue=self._overdue(book, case_of),
                recorded=True,
            )
            changed = [case for case in cases.values() if case.pending_events]
            return result, [book, *changed]

        return self._run(decide, c, "reconcile", Reconciliation)

    def _voucher_key(self, reference: str) -> Voucher | None:
        try:
            found = self._find(Voucher, Voucher.create_id(reference))
            if found is None and Voucher.legacy_id(reference) != Voucher.create_id(reference):
                found = self._find(Voucher, Voucher.legacy_id(reference))
        except AidflowError:
            return None
        return found

    def _overdue(
        self, book: PaymentBook, case_of: Callable[[UUID], StudentCase]
    ) -> list[StatementFinding]:
        """Listed vouchers no statement has settled ``statement-days`` after their list."""
        with using_clock(self.clock):
            today = now().date()
        days = self.current_policy().statement_days
        late: list[StatementFinding] = []
        for item in book.listed.values():
            listed_on = date.fromisoformat(item["listed_on"])
            if (today - listed_on).days <= days:
                continue
            payment = case_of(UUID(item["case_id"])).payment(item["voucher"])
            if payment is None or payment["returned"] or payment.get("confirmed"):
                continue
            late.append(
                StatementFinding(
                    kind="no_statement_line",
                    line=0,
                    reference=str(item["voucher"]),
                    amount_fen=int(item["amount_fen"]),
                    account_masked=mask_identifier(str(payment.get("account", ""))),
                    detail=f"listed on {listed_on.isoformat()}, {(today - listed_on).days} days "
                    "ago, and no statement line since",
                )
            )
        return late

    # -- queries ---------------------------------------------------------------------

    def _events(self, aggregate_id: UUID) -> Iterator[AidAggregate.Event]:
        try:
            for domain_event in self.events.get(aggregate_id):
                assert isinstance(domain_event, AidAggregate.Event)
                yield domain_event
        except (PersistenceError, MasterKeyError):
            raise
        except Exception as exc:
            raise _damaged(aggregate_id, exc) from exc

    def _replay(
        self,
        cls: type[A],
        aggregate_id: UUID,
        missing: type[NotFound],
        *,
        version: int | None,
        as_of: datetime | None,
    ) -> A:
        """The aggregate as of a version, or as of a moment (its last version at or before it)."""
        if as_of is not None and as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware")
        if as_of is None:
            if version is None:
                return self._load(cls, aggregate_id, missing)
            aggregate = self._get(aggregate_id, version)
            if aggregate is None:
                raise missing(f"no {cls.__name__.lower()} with id {aggregate_id}")
            if not isinstance(aggregate, cls):
                raise missing(f"{aggregate_id} is not a {cls.__name__.lower()}")
            return aggregate
        state: Any = None
        for domain_event in self._events(aggregate_id):
            if domain_event.timestamp > as_of or (
                version is not None and domain_event.originator_version > version
            ):
                break
            state = domain_event.mutate(state)
        if not isinstance(state, cls):
            raise missing(
                f"{cls.__name__.lower()} {aggregate_id} did not exist at {as_of.isoformat()}"
            )
        return state

    def case(
        self, case_id: UUID, *, version: int | None = None, as_of: datetime | None = None
    ) -> CaseSnapshot:
        """A case now, as of version ``version``, or as it stood at ``as_of``."""
        return CaseSnapshot.of(
            self._replay(StudentCase, case_id, CaseNotFound, version=version, as_of=as_of)
        )

    def fund(
        self, fund_id: UUID, *, version: int | None = None, as_of: datetime | None = None
    ) -> FundSnapshot:
        return FundSnapshot.of(
            self._replay(Fund, fund_id, FundNotFound, version=version, as_of=as_of)
        )

    def history(self, aggregate_id: UUID) -> list[EventRecord]:
        """Every event of one case or fund, oldest first; national ID and bank account masked."""
        records = [
            EventRecord(
                originator_id=e.originator_id,
                version=e.originator_version,
                timestamp=e.timestamp,
                type=event_name(type(e)),
                actor=str(getattr(e, "actor", "")),
                data={
                    k: mask_personal(k, v) if k in _personal(e) else v
                    for k, v in e.__dict__.items()
                    if k not in _EVENT_META
                },
            )
            for e in self._events(aggregate_id)
        ]
        if not records:
            raise NotFound(
                said("nothing recorded with id {aggregate_id}", aggregate_id=aggregate_id)
            )
        return records

    # -- issue 11: reveal (audited) and erasure ---------------------------------------

    def is_named(self, case_id: UUID | str, name: str) -> bool:
        """Whether the case's student has this name (canonical, case-insensitive); for
        finding a case by name, which the views keep only masked. Reveals nothing else."""
        try:
            case = self.load_case(UUID(str(case_id)))
        except (NotFound, ValueError):
            return False
        if getattr(case.name, "erased", False):
            return False
        try:
            wanted = canonical.text(name, "name", max_length=canonical.MAX_NAME)
        except Exception:
            return False
        return " ".join(wanted.split()).casefold() == " ".join(str(case.name).split()).casefold()

    def reveal(self, c: cmd.Reveal) -> PersonalData:
        """The student's national ID, name and account in full, for a role that needs them
        (verifier, cashier); the reveal is recorded on the case (who, what, why) first."""
        fields = ["student_id", "name", "account"]

        def decide() -> tuple[PersonalData, list[AidAggregate]]:
            case = self.load_case(c.case_id)
            case.reveal(fields=fields, reason=c.reason, actor=c.actor)
            result = PersonalData(
                case_id=case.id,
                student_id=str(case.student_id),
                name=str(case.name),
                account=str(case.account),
            )
            return result, [case]

        return self._run(decide, c, "reveal", None)

    def _ended_at(self, case_id: UUID) -> datetime | None:
        ended = None
        for domain_event in self._events(case_id):
            if isinstance(domain_event, StudentCase.Closed | StudentCase.Rejected):
                ended = domain_event.timestamp
            elif isinstance(domain_event, StudentCase.HardshipReported):
                ended = None  # a reported hardship reopens the case
        return ended

    def erase(self, c: cmd.EraseCase) -> list[UUID]:
        """Erase the student's personal data: destroy their data key, so their ID, name and
        account in every stored event and snapshot, of every year's case, can no longer be
        read. Refused while any of their cases is open, owes money, or is within the
        retention period (``Policy.retention_years`` after it was closed or rejected).
        Returns the cases whose personal data went with the key."""

        def decide() -> tuple[list[UUID], list[AidAggregate]]:
            case = self.load_case(c.case_id)
            if not isinstance(case.student_id, Sealed):
                raise ErasureRefused(
                    said(
                        "case {id} was recorded before personal data was encrypted (v0.1.0): its name and ID are in clear in the append-only record, and destroying a key cannot remove them; see docs/security.md, 'Migrating a v0.1.0 store'",
                        id=case.id,
                    ),
                    ids={"case_id": str(case.id)},
                )
            key_id = case.student_id.key_id
            if case.personal_data_erased:
                self.vault.erase(key_id)  # finish an erasure interrupted after its record
                raise ErasureRefused(
                    said("the personal data of case {id} is erased already", id=case.id),
                    ids={"case_id": str(case.id)},
                )
            policy = self.current_policy()
            with using_clock(self.clock):
                moment = now()
            cases: list[StudentCase] = []
            owners = [str(case.id), *self.vault.owners_of(key_id)]
            for owner in dict.fromkeys(owners):
                found = case if owner == str(case.id) else self._get(UUID(owner))
                if isinstance(found, StudentCase):
                    found.check_erasable(
                        ended_at=self._ended_at(found.id),
                        now=moment,
                        retention_years=policy.retention_years,
                    )
                    cases.append(found)
            case.erase_personal_data(
                reason=c.reason, cases=[str(x.id) for x in cases], actor=c.actor
            )
            return [x.id for x in cases], [case]

        erased: list[UUID] | None = self._run(decide, c, "erase_case", None)
        case = self.load_case(c.case_id)  # recorded: now the key goes (again, if a retry)
        assert isinstance(case.student_id, Sealed)
        self.vault.erase(case.student_id.key_id)
        return erased or []
