"""Who held which role at each position, re-derived from the staff events alone: an
event recorded by someone without the role for it is a finding."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from aidflow.auditing.state import Checking, shown
from aidflow.domain.canonical import same_person
from aidflow.domain.case import StudentCase as C
from aidflow.domain.events import EventClass
from aidflow.domain.findings import FindingsRegister
from aidflow.domain.fund import Fund
from aidflow.domain.payments import PaymentBook
from aidflow.domain.policy import PolicyRegister
from aidflow.domain.searches import Search
from aidflow.domain.staff import REQUIRED, Role, StaffRegistry

COMMAND_OF: dict[EventClass, str] = {
    C.Applied: "apply",
    C.Verified: "verify",
    C.Rejected: "reject",
    C.GrantApproved: "approve",
    C.Disbursed: "disburse",
    C.DisbursementReturned: "return_disbursement",
    C.SecondaryAidAllocated: "secondary_aid",
    C.HardshipReported: "report_hardship",
    C.ReviewConvened: "convene_review",
    C.ActionCompleted: "complete_action",
    C.FollowedUp: "follow_up",
    C.Closed: "close_case",
    C.PersonalDataRevealed: "reveal",
    C.PersonalDataErased: "erase_case",
    Fund.Opened: "open_fund",
    Fund.Deposited: "deposit",
    PolicyRegister.ValueSet: "set_policy",
    C.AccountSet: "set_account",
    C.AccountConfirmed: "confirm_account",
    C.DisbursementConfirmed: "reconcile",
    C.SecondaryAidProposed: "secondary_aid",
    C.SecondaryAidApproved: "approve_secondary_aid",
    PaymentBook.ListIssued: "pay_list",
    PaymentBook.StatementImported: "reconcile",
    PolicyRegister.Changed: "set_policy",
    Search.Recorded: "find",
    C.DisbursementDisputed: "reconcile",
    C.PaymentReissued: "reissue_payment",
    C.AppealLodged: "lodge_appeal",
    C.AppealDecided: "decide_appeal",
    C.ApprovalCorrectionProposed: "correct_approval",
    C.ApprovalCorrected: "confirm_correction",
    Fund.DepositReversalProposed: "reverse_deposit",
    Fund.DepositReversed: "confirm_reversal",
    FindingsRegister.Disposed: "dispose_finding",
    FindingsRegister.Withdrawn: "dispose_finding",
    StaffRegistry.TokenIssued: "issue_token",
    StaffRegistry.TokenRevoked: "issue_token",
}
"""The command that records each event whose actor must have held a role for it. Events
saved beside these (a fund's allocation, a key) share their command's actor and check."""


class Authority:
    """Who held which role at each position, re-derived from the staff events alone."""

    def __init__(self, checker: Checking) -> None:
        self.checker = checker
        self.members: dict[str, dict[str, Any]] = {}
        self.refused: dict[tuple[str, str], list[int]] = defaultdict(list)

    def staff_event(self, cls: EventClass, position: int, actor: str, d: dict[str, Any]) -> None:
        name = same_person(d["name"])
        if cls is StaffRegistry.MemberAdded:
            if self.members and not self._holds(actor, (Role.ADMIN,)):
                self.refused[(same_person(actor), "add_staff")].append(position)
            self.members[name] = {"roles": set(d["roles"]), "department": d["department"]}
            return
        if not self._holds(actor, (Role.ADMIN,)) or same_person(actor) == name:
            self.refused[(same_person(actor), "grant_or_revoke")].append(position)
        member = self.members.setdefault(name, {"roles": set(), "department": ""})
        if cls is StaffRegistry.RoleGranted:
            member["roles"].add(d["role"])
        else:
            member["roles"].discard(d["role"])

    def command_event(self, cls: EventClass, position: int, actor: str, d: dict[str, Any]) -> None:
        command = "resolve_payment" if d.get("resolved") else COMMAND_OF[cls]
        if command == "issue_token" and same_person(actor) != same_person(d["name"]):
            roles: tuple[Role, ...] = (Role.ADMIN,)  # another's token is an admin's to issue
        else:
            roles = REQUIRED[command]
        department = d.get("department") if command == "complete_action" else None
        if not self._holds(actor, roles, department):
            self.refused[(same_person(actor), command)].append(position)

    def roles_of(self, actor: str) -> set[str]:
        member = self.members.get(same_person(actor))
        return set() if member is None else set(member["roles"])

    def _holds(self, actor: str, roles: tuple[Role, ...], department: str | None = None) -> bool:
        member = self.members.get(same_person(actor))
        if member is None or not any(r.value in member["roles"] for r in roles):
            return False
        return department is None or member["department"] == department

    def finish(self) -> None:
        for (actor, command), positions in self.refused.items():
            self.checker.flag(
                "unauthorised_actor",
                f"{actor} recorded {len(positions)} {command.replace('_', ' ')} event(s) "
                "without holding a role for it at the time (or not registered staff)",
                shown(positions),
            )


STAFF_EVENTS = frozenset(
    {StaffRegistry.MemberAdded, StaffRegistry.RoleGranted, StaffRegistry.RoleRevoked}
)
