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
    JSONTranscoder,
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
    CaseNotFound,
    ConcurrencyConflict,
    DuplicateApplication,
    FundNotFound,
    NotAuthorised,
    NotFound,
    ReadOnlyStore,
    StoreDamaged,
    UnknownDepartment,
    UnknownStaff,
    VoucherReturned,
)
from aidflow.domain.events import event_name
from aidflow.domain.fund import Fund
from aidflow.domain.keys import Enrolment, RequestKey, Voucher, fingerprint
from aidflow.domain.policy import DEFAULT_POLICY, REGISTER_ID, Policy, PolicyRegister
from aidflow.domain.staff import REGISTRY_ID, Role, StaffRegistry
from aidflow.domain.values import FundKind, mask_identifier
from aidflow.models import (
    ApplyOutcome,
    CaseSnapshot,
    DecisionResult,
    DepositResult,
    DisbursementResult,
    EventRecord,
    FundSnapshot,
    PolicyInForce,
    ReviewResult,
    StaffMember,
)

T = TypeVar("T")
A = TypeVar("A", bound=AidAggregate)

_EVENT_META = ("originator_id", "originator_version", "timestamp", "originator_topic")
_PERSONAL = ("student_id", "account")

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
        self.subscribers: list[Callable[[Any], None]] = []
        """Given each integration event this instance records (issue 13; see :meth:`subscribe`)."""
        self.conflicts_retried = 0
        """How many times a command was retried after a concurrent writer won; for monitoring."""
        self.login: Login | None = None
        """On PostgreSQL, the authenticated login; it acts only as the staff member of its own
        name unless it may name staff (a superuser, or a member of ``aidflow_service``)."""
        self.read_only = False
        """Opened with ``?mode=ro``: queries only; a command is refused before it is decided."""

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
        return flow

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
                "this store was opened read-only (?mode=ro); nothing was written. "
                "Open it without mode=ro to record commands"
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
            f"the records kept changing under this command ({self.max_attempts} attempts); "
            "nothing was written, try again"
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

    def _notify(self, recordings: list[Any]) -> None:
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
        for listener in self.listeners:
            try:
                listener()
            except Exception as exc:
                warnings.warn(
                    f"the command was recorded, but a read model is behind: {exc}", stacklevel=3
                )

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
        except (PersistenceError, RecordConflictError):
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
            raise StoreDamaged(f"record {aggregate_id} should be a {cls.__name__} key")
        return aggregate

    def load_case(self, case_id: UUID) -> StudentCase:
        return self._load(StudentCase, case_id, CaseNotFound)

    def load_fund(self, fund_id: UUID) -> Fund:
        return self._load(Fund, fund_id, FundNotFound)

    # -- staff and policy --------------------------------------------------------------

    def staff_registry(self) -> StaffRegistry | None:
        return self._find(StaffRegistry, REGISTRY_ID)

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
                f"database login {login.name} acts only as itself, not as {actor}; "
                "a service login needs the aidflow_service role to name staff",
                ids={"actor": canonical.actor(actor), "login": login.name},
            )
        if command in UNGUARDED:
            return
        registry = self.staff_registry()
        if registry is None:
            raise UnknownStaff(
                "no staff is registered in this store yet; register the first admin with "
                "`aidflow staff add NAME --role admin`",
                ids={"actor": canonical.actor(actor)},
            )
        registry.authorise(actor, command, department=department)

    def current_policy(self) -> Policy:
        """The policy in force: the one given to :meth:`open`, changed by recorded ``policy set``."""
        register = self._find(PolicyRegister, REGISTER_ID)
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
                f"no department {name} in the policy; departments are {', '.join(listed)} "
                "(an admin changes them with `aidflow policy set departments ...`)"
            )
        return name

    def _roles_of(self, actor: str) -> list[str]:
        """The roles ``actor`` holds now (for the approval tiers); none when not staff."""
        registry = self.staff_registry()
        member = None if registry is None else registry.member(actor)
        return [] if member is None else list(member["roles"])

    def _require_registry(self) -> StaffRegistry:
        registry = self.staff_registry()
        if registry is None:
            raise UnknownStaff("no staff is registered in this store yet")
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
            key = self._find(Enrolment, Enrolment.create_id(c.student_id, c.year))
            if key is not None:
                raise DuplicateApplication(mask_identifier(c.student_id), c.year, key.case_id)
            case = _new_case(c, self.previous_case(c.student_id, c.year))
            enrolment = Enrolment(student_id=case.student_id, year=c.year, case_id=case.id)
            return case.id, [case, enrolment]

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
                aggregates.append(
                    Enrolment(student_id=case.student_id, year=c.year, case_id=case.id)
                )
                outcomes.append(ApplyOutcome(case_id=case.id, opened=True))
            self.save(*aggregates)
        self._after_command()
        return outcomes

    def previous_case(self, student_id: str, year: int) -> UUID | None:
        """The same person's case of the nearest earlier programme year, through the
        student-year keys (never by reading national IDs out of a view)."""
        for earlier in range(year - 1, year - 1 - LOOKBACK_YEARS, -1):
            key = self._find(Enrolment, Enrolment.create_id(student_id, earlier))
            if key is not None:
                return key.case_id
        return None

    def cases_of(self, student_id: str, *, first: int = 2000, last: int = 2100) -> list[UUID]:
        """Every case of one person, oldest programme year first, through the student-year keys."""
        found = []
        for year in range(first, last + 1):
            key = self._find(Enrolment, Enrolment.create_id(student_id, year))
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
                        f"voucher {payment['voucher']} was returned by the bank; the payment "
                        "was not made. Issue a new voucher number for the re-payment",
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
        """Social-fund money for a paid student, taken from a donation fund in the same save."""

        def decide() -> tuple[DecisionResult, list[AidAggregate]]:
            case = self.load_case(c.case_id)
            fund = self.load_fund(c.fund_id)
            fund.check_kind(FundKind.DONATION, "secondary aid")
            case.allocate_secondary_aid(
                fund_id=fund.id, amount_fen=c.amount_fen, reason=c.reason, actor=c.actor, ref=c.ref
            )
            fund.allocate(
                case_id=case.id, amount_fen=c.amount_fen, use="secondary-aid", actor=c.actor
            )
            result = DecisionResult(
                case_id=case.id, ref=c.ref, fund_id=fund.id, amount_fen=c.amount_fen, recorded=True
            )
            return result, [case, fund]

        return self._run(decide, c, "secondary_aid", DecisionResult, ref=c.ref)

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

    # -- queries ---------------------------------------------------------------------

    def _events(self, aggregate_id: UUID) -> Iterator[AidAggregate.Event]:
        try:
            for domain_event in self.events.get(aggregate_id):
                assert isinstance(domain_event, AidAggregate.Event)
                yield domain_event
        except PersistenceError:
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
                    k: mask_identifier(v) if k in _PERSONAL else v
                    for k, v in e.__dict__.items()
                    if k not in _EVENT_META
                },
            )
            for e in self._events(aggregate_id)
        ]
        if not records:
            raise NotFound(f"nothing recorded with id {aggregate_id}")
        return records
