"""The command pipeline: every command goes through the same steps, in this order.

1. refused at once on a read-only store;
2. the request's idempotency: its decision ``ref`` or its ``idempotency_key`` (a retry
   answers the first result and writes nothing);
3. one moment: every event of the command carries the same timestamp;
4. authorisation, which returns the acting :class:`~aidflow.application.context.Member`
   so a slice never reads the staff registry again;
5. the slice decides (loads, asks the domain, which raises a named error on a broken rule);
   what steps 2, 4 and 5 read of the records the command names, the registers and the
   programme years is read ahead at once (:meth:`~.records.Records.reading_ahead`);
6. one ``save()`` of every changed aggregate (and the request's key), atomically;
7. after the commit, one hook is given exactly what ``save()`` recorded.

Inside one process, commands on the same records take turns (:mod:`.locks`): a command
waits for the records its command names before step 4, so threads of one service never
lose their work to each other. A writer in another process can still make the save
conflict; the command is then decided again from fresh state, waiting its turn for every
record it writes, with jittered backoff, until :attr:`Pipeline.conflict_wait` runs out.
"""

from __future__ import annotations

import itertools
import random
import sqlite3
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar
from uuid import UUID

from eventsourcing.persistence import OperationalError, ProgrammingError, RecordConflictError
from pydantic import BaseModel

from aidflow import commands as cmd
from aidflow.application.context import Context, FindingFacts, Member, YearFacts
from aidflow.application.locks import AggregateLocks, NoTurns, StoreTurns, waited_too_long
from aidflow.config import Login, person
from aidflow.domain import canonical
from aidflow.domain.base import AidAggregate
from aidflow.domain.clock import Clock, fixed, now, using_clock
from aidflow.domain.errors import (
    AidflowError,
    NotAuthorised,
    ReadOnlyStore,
    UnknownStaff,
    said,
    store_failure,
    store_refused,
)
from aidflow.domain.keys import RequestKey, fingerprint
from aidflow.domain.policy import REGISTER_ID, Policy
from aidflow.domain.staff import REGISTRY_ID, StaffRegistry
from aidflow.domain.year import year_id
from aidflow.privacy import revealing

if TYPE_CHECKING:
    from eventsourcing.persistence import Recording

    from aidflow.application.records import Records
    from aidflow.privacy import Vault

C = TypeVar("C", bound=cmd.Command[Any])
R = TypeVar("R")
Decision = tuple[R, Sequence[AidAggregate]]
"""What a slice decided: its result, and the aggregates to save (none: nothing to write)."""

DECISION = "decision"
"""Scope of decision references: approvals and secondary aid share one numbering."""
REQUEST = "request"
"""Scope of callers' idempotency keys."""
UNGUARDED = frozenset({"add_staff", "grant_role", "revoke_role"})
"""Commands the staff registry itself authorises (the first admin has no role yet)."""


@dataclass(frozen=True)
class Slice(Generic[C, R]):
    """One command's use case: who may run it, how it decides, how its result is kept."""

    decide: Callable[[Context, C], Decision[R]]
    command: str
    """Its name in the staff registry's table of roles (``approve``, ``pay_list``)."""
    returns: type[Any] | None
    """The result's type, to rebuild the first result for a retry (None: it answers None)."""
    ref: Callable[[C], str] | None = field(default=None)
    """A money decision's document number: its natural idempotency key."""
    idempotent: bool = True
    """False for a command whose every run must be recorded and whose answer must never be
    kept in the store (a reveal: each showing of personal data is recorded, and the data
    itself is not stored in clear): an idempotency key is then ignored."""
    opens: bool = False
    """A command that reads personal data in full for a post that may (a reveal, a visit
    list, a payment list, a statement's names): only inside one does a person's login on a
    shared store open a sealed value (:func:`aidflow.privacy.revealing`)."""
    reads: Callable[[C], Iterable[UUID]] | None = field(default=None)
    """Records the decision reads besides those the command names (which are read ahead
    anyway), read with them at one moment: where what one says implies what another holds
    (a voucher key is saved with its payment in the case), reading them apart could see
    one without the other."""


@dataclass(frozen=True)
class Once:
    """What makes a command idempotent: its key, and how to store and restore its result."""

    scope: str
    key: str
    command: str
    fingerprint: str
    returns: type[Any] | None

    def encode(self, result: Any) -> dict[str, Any]:
        if self.returns is None or result is None:
            return {}
        if isinstance(result, UUID):
            return {"id": str(result)}
        if isinstance(result, list):
            return {"ids": [str(item) for item in result]}
        if isinstance(result, BaseModel):
            return result.model_dump(mode="json")
        raise TypeError(f"cannot keep a {type(result).__name__} as a request's result")

    def decode(self, data: dict[str, Any]) -> Any:
        """The first result again; results with ``recorded`` say it was not this time."""
        if self.returns is None:
            return None
        if self.returns is UUID:
            return UUID(data["id"])
        if self.returns is list:
            return [UUID(item) for item in data["ids"]]
        assert issubclass(self.returns, BaseModel)
        if "recorded" in self.returns.model_fields:
            data = {**data, "recorded": False}
        return self.returns.model_validate(data)


class Host(Protocol):
    """What the pipeline needs of the application it runs in."""

    records: Records
    login: Login | None
    read_only: bool
    clock: Clock | None
    policy: Policy
    conflicts_retried: int
    payable: Callable[[UUID], Sequence[UUID]] | None
    findings: Callable[[str], FindingFacts | None] | None
    year_facts: Callable[[int], YearFacts] | None

    @property
    def vault(self) -> Vault: ...

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]: ...

    def committed(self, recordings: Sequence[Recording[UUID]]) -> None: ...


class Pipeline:
    """Runs slices for one application: the steps above, once each."""

    conflict_wait = 30.0
    """Seconds a command keeps waiting for its turn and retrying conflicts before it gives
    up with ``ConcurrencyConflict`` (nothing written): longer than any turn on a hot fund
    under ordinary load, short enough for a caller's timeout."""

    turn_wait = 5.0
    """Seconds a command waits for a record's turn in the store before it goes on without
    it (the store's check then decides, as it always does)."""
    hot_seconds = 60.0
    """How long a record that conflicted keeps taking turns in the store."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.locks = AggregateLocks()
        self.store_turns: StoreTurns = NoTurns()
        """Turns between processes (set by :meth:`AidFlow.open` for its store)."""
        self.hot: dict[UUID, float] = {}
        """Records that conflicted lately, with the monotonic moment they did."""
        self.stalled: dict[UUID, float] = {}
        """Records whose store turn someone else held too long, with when (see :meth:`stall`)."""
        self._heat = threading.Lock()  # the two tables above, shared by a service's threads

    def run(self, handler: Slice[C, R], c: C) -> R:
        """Decide and record ``c`` with ``handler``; see the module's docstring."""
        self.refuse_read_only()
        once = self.once(c, handler)
        until = time.monotonic() + self.conflict_wait
        turn = named_records(c, once)
        for attempt in itertools.count():
            shared = self.hot_among(turn, every=attempt > 0)
            try:
                with (
                    self.locks.holding(turn, until=until, wait=self.conflict_wait),
                    self.store_turns.holding(
                        shared, until=min(until, time.monotonic() + self.turn_wait)
                    ) as taken,
                ):
                    if not taken and shared:
                        self.stall(shared)
                    result, recordings, context = self._attempt(handler, c, once, turn)
            except (OperationalError, sqlite3.OperationalError) as exc:
                failed = store_failure(exc)  # a lock wait ran out, a full disk; else not ours
                if failed is None:
                    raise
                raise failed from None
            except ProgrammingError as exc:
                refused = store_refused(exc)  # the database's own check (issue 21 §1)
                if refused is None:
                    raise
                raise refused from None
            except RecordConflictError:
                self.host.conflicts_retried += 1
                self.heat(turn)
                pause = random.uniform(0, min(0.1, 0.002 * 2**attempt))  # noqa: S311 - jitter
                if time.monotonic() + pause >= until:
                    raise waited_too_long(self.conflict_wait) from None
                time.sleep(pause)
                continue
            if context is not None:
                for action in context.after_commit:
                    action()
                self.host.records.give_back(context.funds.values())
            self.host.committed(recordings)
            return result
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def hot_among(self, records: set[UUID], *, every: bool = False) -> set[UUID]:
        """Those of ``records`` that take turns in the store: that conflicted within
        :attr:`hot_seconds` (``every``: all, as a retry does), unless their turn was held by
        someone else lately (see :meth:`stall`)."""
        since = time.monotonic() - self.hot_seconds
        with self._heat:
            return {
                r
                for r in records
                if (every or self.hot.get(r, since) > since) and self.stalled.get(r, since) <= since
            }

    def stall(self, records: set[UUID]) -> None:
        """A store turn not given within :attr:`turn_wait`: a hung writer, or a login holding
        the lock on purpose. These records go without store turns for :attr:`hot_seconds`
        (one wait per process a minute, not one per command), and the office is told."""
        with self._heat:
            self.stalled.update(dict.fromkeys(records, time.monotonic()))
        warnings.warn(
            f"the store turn of {sorted(map(str, records))} was not given within "
            f"{self.turn_wait:g} s; going on without it (pg_locks names the session holding it)",
            stacklevel=2,
        )

    def heat(self, records: set[UUID]) -> None:
        """Mark ``records`` as conflicting now (and forget those long cold)."""
        moment = time.monotonic()
        with self._heat:
            if len(self.hot) + len(self.stalled) > 10_000:
                since = moment - self.hot_seconds
                self.hot = {r: t for r, t in self.hot.items() if t > since}
                self.stalled = {r: t for r, t in self.stalled.items() if t > since}
            self.hot.update(dict.fromkeys(records, moment))

    def rehearse(self, handler: Slice[C, R], c: C) -> bool:
        """Decide ``c`` as :meth:`run` would, and record nothing (a ``--dry-run``): True when
        it would record, False when it is a retry of what is recorded; a refusal raises the
        error the command would (a reused idempotency key with another request included)."""
        self.refuse_read_only()
        once = self.once(c, handler)
        with self.one_moment() as moment:
            _result, aggregates, _context = self._decide(handler, c, once, moment)
            return bool(aggregates)

    def _decide(
        self, handler: Slice[C, R], c: C, once: Once | None, moment: datetime
    ) -> tuple[R, list[AidAggregate], Context | None]:
        """Authorise and decide ``c``: a retry's first answer (nothing changed, no context), or
        the decision's result, the aggregates it changed and its context. What it reads of
        the records it names, the staff registry, the policy register and the programme
        years is read at once."""
        named = named_records(c, once)
        if handler.reads is not None:
            named.update(handler.reads(c))
        # a case's programme year is known once the case is read: those its money is most
        # likely of (this year's and last year's) are read ahead, any other when asked
        named.update((year_id(moment.year), year_id(moment.year - 1)))
        with self.host.records.reading_ahead(named, latest=(REGISTRY_ID, REGISTER_ID)):
            return self._decide_now(handler, c, once, moment)

    def _decide_now(
        self, handler: Slice[C, R], c: C, once: Once | None, moment: datetime
    ) -> tuple[R, list[AidAggregate], Context | None]:
        member = self.authorise(c.actor, handler.command)
        if once is not None:
            seen = self.host.records.find(RequestKey, RequestKey.create_id(once.scope, once.key))
            if seen is not None:
                first = seen.replay_result(command=once.command, fingerprint=once.fingerprint)
                return once.decode(first), [], None
        context = self.context(c.actor, member, moment)
        try:
            result, aggregates = handler.decide(context, c)
        except AidflowError:  # refused: a fund it did not change is as the store has it
            self.host.records.give_back(context.funds.values())
            raise
        return result, list(aggregates), context

    def _attempt(
        self, handler: Slice[C, R], c: C, once: Once | None, turn: set[UUID]
    ) -> tuple[R, list[Recording[UUID]], Context | None]:
        """Decide and save; every record saved joins ``turn``, so that after a conflict the
        next attempt waits for all of them before it decides."""
        with self.one_moment() as moment, revealing() if handler.opens else nullcontext():
            result, aggregates, context = self._decide(handler, c, once, moment)
            if not aggregates:
                return result, [], context
            if once is not None:
                key = RequestKey(
                    scope=once.scope,
                    key=once.key,
                    command=once.command,
                    fingerprint=once.fingerprint,
                    result=once.encode(result),
                    actor=_actor_of(aggregates),
                )
                aggregates = [*aggregates, key]
            written = {aggregate.id for aggregate in aggregates}
            with self.locks.trying(written - turn):
                turn |= written
                return result, self.host.save(*aggregates), context

    def context(self, actor: str, member: Member | None, moment: datetime) -> Context:
        return Context(
            self.host.records,
            lambda: self.host.vault,
            member=member,
            moment=moment,
            base_policy=self.host.policy,
            authorise=lambda command, department: self.authorise(
                actor, command, department=department
            ),
            payable=self.host.payable,
            findings=self.host.findings,
            year_facts=self.host.year_facts,
        )

    def refuse_read_only(self) -> None:
        if self.host.read_only:
            raise ReadOnlyStore(
                said(
                    "this store was opened read-only (?mode=ro); nothing was written. Open it without mode=ro to record commands"
                )
            )

    @contextmanager
    def one_moment(self) -> Iterator[datetime]:
        """Stamp every event created inside with one timestamp taken from the clock; what is
        worked out from a personal input is worked out once inside it (and then forgotten)."""
        with using_clock(self.host.clock):
            moment = now()
        with using_clock(fixed(moment)), canonical.remembering():
            yield moment

    def once(self, c: cmd.Command[Any], handler: Slice[Any, Any]) -> Once | None:
        """The idempotency of request ``c``: its decision ``ref``, else its idempotency key."""
        if not handler.idempotent:
            return None
        ref = handler.ref(c) if handler.ref is not None else None
        scope, key = (DECISION, ref) if ref else (REQUEST, c.idempotency_key)
        if not key:
            return None
        content = c.content()
        for name in getattr(type(c), "PERSONAL", ()):  # issue 11: no plain hash of an ID
            if isinstance(content.get(name), str) and content[name]:
                content[name] = "keyed:" + self.host.vault.keyed(name, content[name])
        if ref:
            content["ref"] = canonical.document_key(ref)  # a retyped number is the same one
        return Once(
            scope=scope,
            key=key,
            command=handler.command,
            fingerprint=fingerprint({"command": handler.command, **content}),
            returns=handler.returns,
        )

    def authorise(
        self, actor: str, command: str, *, department: str | None = None
    ) -> Member | None:
        """The member ``actor`` is, refused unless they hold a role for ``command`` now.

        Embedding services call this with the identity they authenticated (never one
        taken from a request body); the CLI with ``--actor`` on SQLite. The staff
        registry's own commands (the first admin has no role yet) answer None: the
        registry authorises them itself.
        """
        login = person(self.host.login)
        if login is not None and not canonical.same_actor(actor, login):
            from aidflow.gate import store_roles

            raise NotAuthorised(
                said(
                    "database login {name} acts only as itself, not as {actor}; a service login needs the store's service role {role} to name staff",
                    name=login,
                    actor=actor,
                    role=store_roles(
                        self.host.vault.store.database, self.host.vault.store.schema
                    ).service,
                ),
                ids={"actor": canonical.actor(actor), "login": login},
            )
        if command in UNGUARDED:
            return None
        registry = self.host.records.current(StaffRegistry, REGISTRY_ID)
        if registry is None:
            raise UnknownStaff(
                said(
                    "no staff is registered in this store yet; register the first admin with `aidflow staff add NAME --role admin`"
                ),
                ids={"actor": canonical.actor(actor)},
            )
        registry.authorise(actor, command, department=department)
        found = registry.member(actor)
        assert found is not None  # authorise refused anyone not registered
        return Member(
            name=canonical.actor(actor),
            roles=tuple(found["roles"]),
            department=str(found["department"]),
            town=str(found["town"]),
        )


def named_records(c: cmd.Command[Any], once: Once | None) -> set[UUID]:
    """The records a command names (its case, its fund) and its request key: those it waits
    for before it decides."""
    named = {value for name in type(c).model_fields if isinstance(value := getattr(c, name), UUID)}
    if once is not None:
        named.add(RequestKey.create_id(once.scope, once.key))
    return named


def _actor_of(aggregates: Sequence[AidAggregate]) -> str:
    for aggregate in aggregates:
        for pending in aggregate.pending_events:
            actor = getattr(pending, "actor", None)
            if isinstance(actor, str):
                return actor
    return ""
