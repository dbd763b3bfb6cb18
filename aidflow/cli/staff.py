"""``aidflow staff`` and ``aidflow policy``: who may do what, and the rules in force.

Both are recorded as events, so ``--as-of`` answers what they were at any past moment.
"""

from __future__ import annotations

import functools
from datetime import datetime
from importlib import import_module
from pathlib import Path

import click

from aidflow.cli import params
from aidflow.cli.helptext import HelpGroup
from aidflow.cli.session import Session, emit, global_options, pass_session, writes
from aidflow.i18n import messages as M
from aidflow.i18n import tr
from aidflow.i18n import value as shown
from aidflow.render import line, table

ROLE = params.WordChoice(lambda: params.enum_values_of("aidflow.domain.staff", "Role"), M.WORD_ROLE)
POLICY_KEY = params.LazyChoice(lambda: import_module("aidflow.domain.policy").SETTINGS)


@click.group("staff", cls=HelpGroup)
@global_options
def staff() -> None:
    """Staff and their roles (人员与岗位): every command is authorised against them."""


@staff.command("add")
@click.argument("name")
@click.option("--role", "roles", type=ROLE, multiple=True, required=True, help="Repeatable.")
@click.option("--department", default="", help="A liaison's department.")
@click.option("--town", default="", help="The town an officer works in.")
@global_options
@pass_session
@writes
def staff_add(
    session: Session, name: str, roles: tuple[str, ...], department: str, town: str
) -> None:
    """Register a staff member. On a store with no staff, the first admin adds themselves
    (``--actor`` is then the new admin); after that only an admin adds staff."""
    from aidflow import commands as cmd

    # Only the first admin makes a store: adding anyone else where there is none is a
    # mistyped --db (it made an empty store, then was refused).
    session.makes_store = "admin" in roles
    session.office.handle(
        cmd.AddStaff(
            name=name,
            roles=list(roles),
            department=department,
            town=town,
            actor=session.actor(),
        )
    )
    emit(
        session,
        {"name": name, "roles": list(roles)},
        line(M.STAFF_ADDED, name=name, roles=", ".join(roles)),
    )


@staff.command("grant")
@click.argument("name")
@click.argument("role", type=ROLE)
@global_options
@pass_session
@writes
def staff_grant(session: Session, name: str, role: str) -> None:
    """Grant a role. Nobody grants themselves a role: a second admin must."""
    from aidflow import commands as cmd

    session.office.handle(cmd.GrantRole(name=name, role=role, actor=session.actor()))
    emit(session, {"name": name, "granted": role}, line(M.ROLE_GRANTED, name=name, role=role))


@staff.command("revoke")
@click.argument("name")
@click.argument("role", type=ROLE)
@global_options
@pass_session
@writes
def staff_revoke(session: Session, name: str, role: str) -> None:
    """Take a role away (the last admin stays)."""
    from aidflow import commands as cmd

    session.office.handle(cmd.RevokeRole(name=name, role=role, actor=session.actor()))
    emit(session, {"name": name, "revoked": role}, line(M.ROLE_REVOKED, name=name, role=role))


@staff.command("token")
@click.argument("name")
@click.option(
    "--expires",
    "days",
    type=params.LIFETIME,
    default="30d",
    show_default=True,
    help="How long the token is in force: 30d, 90d ... (at most 366d).",
)
@click.option("--revoke", is_flag=True, help="Stop NAME's token now instead of issuing one.")
@click.option("--reason", default="", help="Why a token is revoked (recorded).")
@global_options
@pass_session
@writes
def staff_token(session: Session, name: str, days: int, revoke: bool, reason: str) -> None:
    """Issue NAME's bearer token for `aidflow serve` (printed once; the store records its hash).

    A member issues their own token; an admin may issue another member's, and the record
    says so (`aidflow audit check` flags cases where the admin and the holder both acted).
    The token expires after ``--expires``; a new one replaces the member's old one;
    ``--revoke`` stops it at once. Every issue and revocation is an event.
    """
    if revoke:
        session.office.revoke_token(name, actor=session.actor(), reason=reason)
        emit(session, {"name": name, "revoked": True}, line(M.TOKEN_REVOKED, name=name))
        return
    issued = session.office.issue_token(name, actor=session.actor(), days=days)
    emit(
        session,
        issued,
        line(
            M.TOKEN_ISSUED,
            name=issued.name,
            token=issued.token,
            expires=issued.expires_at.isoformat(timespec="minutes"),
        ),
    )


@staff.command("list")
@click.option("--as-of", "as_of", type=params.MOMENT, help="The staff as registered then.")
@global_options
@pass_session
def staff_list(session: Session, as_of: datetime | None) -> None:
    """Every staff member with roles, department and town."""
    members = session.office.staff(as_of=as_of)
    emit(
        session,
        members,
        lambda: table(
            [
                (
                    m.name,
                    tr(", ").join(shown(r) for r in m.roles),
                    shown(m.department) if m.department else m.department,
                    m.town,
                )
                for m in members
            ],
            M.STAFF_HEADER,
        ),
    )


@click.group("policy", cls=HelpGroup)
@global_options
def policy() -> None:
    """The policy in force (cap, deadlines, retention), changed by an admin as events."""


@policy.command("show")
@click.option("--as-of", "as_of", type=params.MOMENT, help="The policy in force then.")
@global_options
@pass_session
def policy_show(session: Session, as_of: datetime | None) -> None:
    """Every policy value and the version of the policy (0: the defaults)."""
    current = session.office.policy(as_of=as_of)
    emit(
        session,
        current,
        lambda: table([(k, _shown(v)) for k, v in current.model_dump().items()], M.POLICY_HEADER),
    )


def _shown(value: object) -> str:
    """A policy value as a person reads it: on/off, a list with commas, tiers as role=yuan."""
    from aidflow.domain.money import format_yuan

    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list | tuple):
        return (
            tr(", ").join(
                f"{item[0]}={format_yuan(item[1])}"
                if isinstance(item, list | tuple)
                else shown(item)
                for item in value
            )
            or "-"
        )
    return str(value)


@policy.command("set")
@click.argument("key", type=POLICY_KEY)
@click.argument("value")
@global_options
@pass_session
@writes
def policy_set(session: Session, key: str, value: str) -> None:
    """Change one value (an admin's decision, recorded): cap in yuan, deadlines in days."""
    from aidflow import commands as cmd

    current = session.office.handle(cmd.SetPolicy(key=key, value=value, actor=session.actor()))
    emit(session, current, line(M.POLICY_SET, key=key, value=value, version=current.version))


@policy.command("load")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@global_options
@pass_session
@writes
def policy_load(session: Session, path: Path) -> None:
    """Change several values from a policy file (JSON, or TOML for a .toml file), each
    recorded as its own change; all or nothing."""
    from aidflow import commands as cmd
    from aidflow.office.whatif import policy_file

    settings = policy_file(path)
    current = session.office.handle(cmd.LoadPolicy(settings=settings, actor=session.actor()))
    emit(session, current, line(M.POLICY_LOADED, count=len(settings), version=current.version))


@click.group("admin", cls=HelpGroup)
@global_options
def admin() -> None:
    """Database administration for a shared PostgreSQL store."""


@admin.command("roles")
@click.option("--apply", "apply_now", is_flag=True, help="Run them now (as the store's owner).")
@functools.partial(global_options, answers=False)
@pass_session
def admin_roles(session: Session, apply_now: bool) -> None:
    """The CREATE ROLE / GRANT statements: auditors read, writers append, services name staff.

    Printed for the DBA to review; ``--apply`` runs them on the store (PostgreSQL only).
    """
    from aidflow.office import Office

    statements = Office.database_roles(session.url, apply=apply_now)
    click.echo(";\n".join(statements) + ";")
