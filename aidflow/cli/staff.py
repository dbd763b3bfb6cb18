"""``aidflow staff``: register staff, and issue their HTTP bearer tokens."""

from __future__ import annotations

import click

from aidflow.cli import messages as M
from aidflow.cli.render import line
from aidflow.cli.session import Session, emit, json_option, pass_session, writes


@click.group()
def staff() -> None:
    """Staff: the registry of who may do what, and their tokens for the HTTP service."""


def _roles() -> list[str]:
    from aidflow.domain.staff import Role

    return [r.value for r in Role]


@staff.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, help="Repeat for each role.")
@click.option("--department", default=None, help="The department a liaison speaks for.")
@click.option("--town", default=None)
@json_option
@pass_session
@writes
def staff_add(
    session: Session, name: str, roles: tuple[str, ...], department: str | None, town: str | None
) -> None:
    """Register a staff member with roles (the first admin may register themselves)."""
    from aidflow import commands as cmd

    extra = {k: v for k, v in (("department", department), ("town", town)) if v}
    session.flow.add_staff(
        cmd.AddStaff(name=name, roles=list(roles), actor=session.actor(), **extra)
    )
    emit(session, {"name": name, "roles": list(roles)}, line(M.ID, id=name))


@staff.command("token")
@click.argument("name")
@json_option
@pass_session
def staff_token(session: Session, name: str) -> None:
    """Issue NAME's bearer token for `aidflow serve` (printed once; the store keeps its hash).

    NAME must be in the staff registry. A new token replaces the member's old one.
    """
    from aidflow.domain import canonical
    from aidflow.domain.errors import UnknownStaff
    from aidflow.http.tokens import Tokens

    actor = canonical.actor(name)
    registry = session.flow.staff_registry()
    if registry is None or registry.member(actor) is None:
        raise UnknownStaff(line(M.TOKEN_NEEDS_STAFF, name=actor), ids={"actor": actor})
    tokens = Tokens.open(session.url)
    try:
        token = tokens.issue(actor)
    finally:
        tokens.close()
    emit(session, {"name": actor, "token": token}, line(M.TOKEN_ISSUED, name=actor, token=token))
