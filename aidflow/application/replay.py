"""Time travel on the write side: an aggregate as of a version or a moment, its history,
the staff and the policy as they stood. Rebuilt from the events alone."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from aidflow.application.records import Records, replay
from aidflow.domain.base import AidAggregate
from aidflow.domain.errors import NotFound, said
from aidflow.domain.events import event_name
from aidflow.domain.masking import masked
from aidflow.domain.policy import REGISTER_ID, Policy, PolicyRegister
from aidflow.domain.staff import REGISTRY_ID, StaffRegistry
from aidflow.models import EventRecord, PolicyInForce, StaffMember

A = TypeVar("A", bound=AidAggregate)


def as_of(
    records: Records,
    cls: type[A],
    aggregate_id: UUID,
    missing: type[NotFound],
    *,
    version: int | None = None,
    at: datetime | None = None,
) -> A:
    """The aggregate now, as of a version, or as of a moment (its last version at or before it)."""
    if at is not None and at.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    if at is None:
        if version is None:
            return records.load(cls, aggregate_id, missing)
        aggregate = records.get(aggregate_id, version)
        if aggregate is None:
            raise missing(f"no {cls.__name__.lower()} with id {aggregate_id}")
        if not isinstance(aggregate, cls):
            raise missing(f"{aggregate_id} is not a {cls.__name__.lower()}")
        return aggregate
    state = replay(records.events(aggregate_id), until=at, version=version)
    if not isinstance(state, cls):
        raise missing(f"{cls.__name__.lower()} {aggregate_id} did not exist at {at.isoformat()}")
    return state


def history(records: Records, aggregate_id: UUID) -> list[EventRecord]:
    """Every event of one case or fund, oldest first; personal data masked."""
    found = [
        EventRecord(
            originator_id=e.originator_id,
            version=e.originator_version,
            timestamp=e.timestamp,
            type=event_name(type(e)),
            actor=str(getattr(e, "actor", "")),
            data=masked(e, keyless=False),
        )
        for e in records.events(aggregate_id)
    ]
    if not found:
        raise NotFound(said("nothing recorded with id {aggregate_id}", aggregate_id=aggregate_id))
    return found


def staff(records: Records, at: datetime | None = None) -> list[StaffMember]:
    """Every staff member with their roles, now or as registered at ``at``."""
    try:
        registry = as_of(records, StaffRegistry, REGISTRY_ID, NotFound, at=at)
    except NotFound:
        return []
    return [
        StaffMember(name=name, roles=list(m["roles"]), department=m["department"], town=m["town"])
        for name, m in sorted(registry.members.items())
    ]


def policy_at(records: Records, base: Policy, at: datetime | None = None) -> PolicyInForce:
    """The policy in force now, or at ``at`` (replayed from its events)."""
    try:
        register = as_of(records, PolicyRegister, REGISTER_ID, NotFound, at=at)
        policy = register.policy(base)
    except NotFound:
        policy = base
    return PolicyInForce(**dataclasses.asdict(policy))
