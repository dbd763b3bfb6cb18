"""Staff and policy: who may do what, and the rules in force, both recorded as events."""

from __future__ import annotations

import dataclasses
import secrets
from datetime import timedelta

from aidflow import commands as cmd
from aidflow.application.context import Context
from aidflow.application.pipeline import Decision
from aidflow.domain.errors import UnknownStaff, said
from aidflow.domain.payments import BOOK_ID, PaymentBook
from aidflow.domain.policy import REGISTER_ID, PolicyRegister
from aidflow.domain.staff import BEARER_PREFIX, REGISTRY_ID, Role, StaffRegistry, token_hash
from aidflow.domain.witness import WITNESS_LOG_ID, WitnessLog
from aidflow.models import IssuedToken, PolicyInForce


def _registry(ctx: Context) -> StaffRegistry:
    registry = ctx.find(StaffRegistry, REGISTRY_ID)
    if registry is None:
        raise UnknownStaff(said("no staff is registered in this store yet"))
    return registry


def add_staff(ctx: Context, c: cmd.AddStaff) -> Decision[None]:
    """Register a staff member; on a store without staff, the first admin registers themselves."""
    registry = ctx.find(StaffRegistry, REGISTRY_ID) or StaffRegistry()
    department = c.department
    if Role.LIAISON in c.roles and department.strip():
        department = ctx.department(department)
    registry.add_member(
        name=c.name, roles=list(c.roles), department=department, town=c.town, actor=c.actor
    )
    return None, [registry]


def grant_role(ctx: Context, c: cmd.GrantRole) -> Decision[None]:
    registry = _registry(ctx)
    member = registry.member(c.name)
    if c.role is Role.LIAISON and member is not None and member["department"]:
        ctx.department(member["department"])
    registry.grant(name=c.name, role=c.role, actor=c.actor)
    return None, [registry]


def revoke_role(ctx: Context, c: cmd.RevokeRole) -> Decision[None]:
    registry = _registry(ctx)
    registry.revoke(name=c.name, role=c.role, actor=c.actor)
    return None, [registry]


def issue_token(ctx: Context, c: cmd.IssueToken) -> Decision[IssuedToken]:
    """A new bearer token, recorded by its hash (the token itself is shown once)."""
    registry = _registry(ctx)
    token = BEARER_PREFIX + secrets.token_urlsafe(32)
    expires_at = ctx.moment + timedelta(days=c.days)
    holder = registry.issue_token(
        name=c.name, token_hash=token_hash(token), expires_at=expires_at, actor=c.actor
    )
    return IssuedToken(name=holder, token=token, expires_at=expires_at), [registry]


def revoke_token(ctx: Context, c: cmd.RevokeToken) -> Decision[None]:
    registry = _registry(ctx)
    registry.revoke_token(name=c.name, reason=c.reason, actor=c.actor)
    return None, [registry]


def record_rotation(ctx: Context, c: cmd.RecordKeyRotation) -> Decision[None]:
    """The master key replaced (issue 21 §5): on record, by an admin."""
    registry = _registry(ctx)
    registry.record_rotation(fingerprint=c.fingerprint, rewrapped=c.rewrapped, actor=c.actor)
    return None, [registry]


def record_witness(ctx: Context, c: cmd.RecordWitness) -> Decision[None]:
    """A digest co-signed by a second party (issue 22 §4): on record."""
    log = ctx.find(WitnessLog, WITNESS_LOG_ID) or WitnessLog()
    log.record(
        witness=c.witness,
        key_fingerprint=c.key_fingerprint,
        digest=c.digest,
        statement=c.statement,
        actor=c.actor,
    )
    return None, [log]


def record_notice(ctx: Context, c: cmd.RecordNotice) -> Decision[None]:
    """A public notice drawn for posting (issue 22 §5): on record in the cashier's book."""
    book = ctx.find(PaymentBook, BOOK_ID) or PaymentBook()
    book.record_notice(
        period=c.period, rows=c.rows, total_fen=c.total_fen, digest=c.digest, actor=c.actor
    )
    return None, [book]


def _in_force(ctx: Context, register: PolicyRegister) -> PolicyInForce:
    """The policy as it stands with the register's pending changes."""
    return PolicyInForce(**dataclasses.asdict(register.policy(ctx.base_policy)))


def set_policy(ctx: Context, c: cmd.SetPolicy) -> Decision[PolicyInForce]:
    """Change one policy value (an admin's decision, recorded); answers the policy now."""
    register = ctx.find(PolicyRegister, REGISTER_ID) or PolicyRegister()
    register.set_value(key=c.key, text=c.value, actor=c.actor, base=ctx.base_policy)
    return _in_force(ctx, register), [register]


def load_policy(ctx: Context, c: cmd.LoadPolicy) -> Decision[PolicyInForce]:
    """Change several values at once (a policy file), each recorded as its own change."""
    register = ctx.find(PolicyRegister, REGISTER_ID) or PolicyRegister()
    register.set_values(settings=dict(c.settings), actor=c.actor, base=ctx.base_policy)
    return _in_force(ctx, register), [register]
