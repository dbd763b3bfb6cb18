"""Who held which role at each position, re-derived from the staff events alone: an
event recorded by someone without the role for it is a finding, and so is a household
verified by a verifier registered for other towns (issue 24 §5: the command refuses it, a
login appending through the database gate is checked for its role only)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from aidflow.auditing.state import Checking, shown
from aidflow.domain.canonical import same_person
from aidflow.domain.case import StudentCase
from aidflow.domain.errors import said
from aidflow.domain.events import COMMAND_OF, EventClass
from aidflow.domain.staff import REQUIRED, Role, StaffRegistry
from aidflow.i18n.words import COMMAND, Word

STAFF_COMMANDS = ("add_staff", "grant_or_revoke")
"""What the staff events are counted as, besides the role table's commands (``REQUIRED``)."""


class Authority:
    """Who held which role at each position, re-derived from the staff events alone."""

    def __init__(self, checker: Checking) -> None:
        self.checker = checker
        self.members: dict[str, dict[str, Any]] = {}
        self.refused: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.towns: dict[str, str] = {}
        """Each case's town, from its application."""
        self.out_of_town: dict[str, list[int]] = defaultdict(list)

    def staff_event(self, cls: EventClass, position: int, actor: str, d: dict[str, Any]) -> None:
        name = same_person(d["name"])
        if cls is StaffRegistry.MemberAdded:
            if self.members and not self._holds(actor, (Role.ADMIN,)):
                self.refused[(same_person(actor), STAFF_COMMANDS[0])].append(position)
            self.members[name] = {
                "roles": set(d["roles"]),
                "department": d["department"],
                "towns": StaffRegistry.towns(str(d.get("town", ""))),
            }
            return
        if not self._holds(actor, (Role.ADMIN,)) or same_person(actor) == name:
            self.refused[(same_person(actor), STAFF_COMMANDS[1])].append(position)
        member = self.members.setdefault(name, {"roles": set(), "department": ""})
        if cls is StaffRegistry.RoleGranted:
            member["roles"].add(d["role"])
        else:
            member["roles"].discard(d["role"])

    def command_event(
        self, cls: EventClass, position: int, actor: str, d: dict[str, Any], aggregate_id: str
    ) -> None:
        if cls is StudentCase.Applied:
            self.towns[aggregate_id] = str(d.get("town", ""))
        elif cls is StudentCase.Verified:
            self._visited(position, actor, aggregate_id)
        command = "resolve_payment" if d.get("resolved") else COMMAND_OF[cls]
        if command == "issue_token" and same_person(actor) != same_person(d["name"]):
            roles: tuple[Role, ...] = (Role.ADMIN,)  # another's token is an admin's to issue
        else:
            roles = REQUIRED[command]
        department = d.get("department") if command == "complete_action" else None
        if not self._holds(actor, roles, department):
            self.refused[(same_person(actor), command)].append(position)

    def _visited(self, position: int, actor: str, case: str) -> None:
        member = self.members.get(same_person(actor))
        towns = member.get("towns", frozenset()) if member is not None else frozenset()
        if not StaffRegistry.works_in(towns, self.towns.get(case, "")):
            self.out_of_town[same_person(actor)].append(position)

    def roles_of(self, actor: str) -> set[str]:
        member = self.members.get(same_person(actor))
        return set() if member is None else set(member["roles"])

    def _holds(self, actor: str, roles: tuple[Role, ...], department: str | None = None) -> bool:
        member = self.members.get(same_person(actor))
        if member is None or not any(r.value in member["roles"] for r in roles):
            return False
        return department is None or member["department"] == department

    def finish(self) -> None:
        for actor, positions in self.out_of_town.items():
            self.checker.flag(
                "verified_out_of_town",
                said(
                    "{actor} verified {count} household(s) outside the towns they are "
                    "registered for",
                    actor=actor,
                    count=len(positions),
                ),
                shown(positions),
            )
        for (actor, command), positions in self.refused.items():
            self.checker.flag(
                "unauthorised_actor",
                said(
                    "{actor} recorded {count} {command} event(s) without holding a role for it "
                    "at the time (or not registered staff)",
                    actor=actor,
                    count=len(positions),
                    command=Word(command.replace("_", " "), COMMAND),
                ),
                shown(positions),
            )
