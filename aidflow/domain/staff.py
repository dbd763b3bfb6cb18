"""Who may do what: the staff registry (人员与岗位), recorded as events like everything else.

One registry per store (a district office has tens of staff, not thousands), so
"is there any staff yet?" and "is this the last admin?" are answered by one
aggregate, and two first admins registering at once conflict in the store.

Every write command names the role it needs (:data:`REQUIRED`); the application
checks the acting person held it at that moment, and the audit re-derives the
same answer from the record for every stored event.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from aidflow.domain import canonical
from aidflow.domain.base import AidAggregate
from aidflow.domain.errors import InvalidInput, NotAuthorised, Terms, UnknownStaff, said


class Role(StrEnum):
    """The office's posts. A liaison acts for their own department only."""

    SCREENING_CLERK = "screening-clerk"  # 信息筛查
    VERIFIER = "verifier"  # 入户核实
    APPROVER = "approver"  # 审批
    COUNTY_APPROVER = "county-approver"  # 县级审批: approves above a township approver's tier
    CASHIER = "cashier"  # 财务出纳
    DONATIONS_OFFICER = "donations-officer"  # 社会捐赠
    LIAISON = "liaison"  # 部门联络员
    AUDITOR = "auditor"  # 审计 (read-only)
    ADMIN = "admin"  # 管理人员与岗位


REQUIRED: dict[str, tuple[Role, ...]] = {
    "open_fund": (Role.CASHIER, Role.DONATIONS_OFFICER),
    "deposit": (Role.CASHIER, Role.DONATIONS_OFFICER),
    "apply": (Role.SCREENING_CLERK,),
    "verify": (Role.VERIFIER,),
    "reject": (Role.APPROVER, Role.COUNTY_APPROVER),
    "approve": (Role.APPROVER, Role.COUNTY_APPROVER),
    "disburse": (Role.CASHIER,),
    "return_disbursement": (Role.CASHIER,),
    "secondary_aid": (Role.DONATIONS_OFFICER, Role.APPROVER, Role.COUNTY_APPROVER),
    "report_hardship": (Role.SCREENING_CLERK, Role.VERIFIER, Role.LIAISON),
    "convene_review": (Role.APPROVER, Role.COUNTY_APPROVER),
    "complete_action": (Role.LIAISON,),
    "follow_up": (Role.VERIFIER,),
    "close_case": (Role.APPROVER, Role.COUNTY_APPROVER),
    "set_policy": (Role.ADMIN,),
    # issue 11: seeing personal data unmasked is recorded; erasing it is an admin's
    "reveal": (Role.VERIFIER, Role.CASHIER),
    "erase_case": (Role.ADMIN,),
    # issue 21: finding a case by national ID or name says who is a student: the roles
    # that may reveal, and each search is recorded
    "find": (Role.VERIFIER, Role.CASHIER),
    # issue 21: a member issues (or revokes) their own token, an admin another's (the
    # registry decides which; the acting person is the one logged in, and it is recorded)
    "issue_token": tuple(Role),
    # the money loop (issue 12): the clerk or verifier who has the form records an account,
    # an approver (never the same person) confirms a change; the cashier issues payment
    # lists (full accounts leave the system only there) and reconciles statements
    "set_account": (Role.SCREENING_CLERK, Role.VERIFIER),
    "confirm_account": (Role.APPROVER,),
    "pay_list": (Role.CASHIER,),
    "reconcile": (Role.CASHIER,),
    "resolve_payment": (Role.CASHIER, Role.APPROVER),
    "reissue_payment": (Role.CASHIER, Role.APPROVER),
    "dispose_finding": (Role.APPROVER, Role.COUNTY_APPROVER, Role.CASHIER),
    # corrections are events, never edits: an approver proposes, another confirms
    "correct_approval": (Role.APPROVER, Role.COUNTY_APPROVER),
    # an appeal (复核) is taken at the counter; an approver who did not reject decides it
    "lodge_appeal": (Role.SCREENING_CLERK, Role.VERIFIER, Role.APPROVER, Role.COUNTY_APPROVER),
    "decide_appeal": (Role.APPROVER, Role.COUNTY_APPROVER),
    "reverse_deposit": (Role.CASHIER, Role.DONATIONS_OFFICER),
    "confirm_reversal": (Role.APPROVER, Role.COUNTY_APPROVER, Role.CASHIER),
    "confirm_correction": (Role.APPROVER, Role.COUNTY_APPROVER),
    "approve_secondary_aid": (Role.APPROVER,),
    # a programme year closes on an admin's word, confirmed by a second admin or an approver
    "propose_year_close": (Role.ADMIN,),
    "close_year": (Role.ADMIN, Role.APPROVER),
    # issue 21 §5: the master key is replaced by an admin, on record
    "rotate_keys": (Role.ADMIN,),
    # issue 22 §4: a second party's digest co-signature is recorded by an auditor or an admin
    "witness": (Role.AUDITOR, Role.ADMIN),
    # issue 22 §5: the bureau posts a public notice of who was paid what
    "post_notice": (Role.ADMIN, Role.APPROVER, Role.COUNTY_APPROVER),
}
"""The roles that may record each command (any one of them). ``complete_action`` also
needs the liaison's department to be the action's department."""

REVEALERS: tuple[Role, ...] = tuple(
    dict.fromkeys(REQUIRED["reveal"] + REQUIRED["find"] + REQUIRED["pay_list"])
)
"""The posts whose commands open personal data in full (a reveal, a visit list, a search, a
payment list, a statement): on a shared store the database hands a data key to no other
person's login (issue 21 §5)."""

_CASEWORK = (
    Role.SCREENING_CLERK,
    Role.VERIFIER,
    Role.APPROVER,
    Role.COUNTY_APPROVER,
    Role.CASHIER,
    Role.DONATIONS_OFFICER,
    Role.LIAISON,
    Role.AUDITOR,
)

READS: dict[str, tuple[Role, ...]] = {
    # cases as the counter sees them (masked): the list, a dossier, its history and
    # explanation, the consultation queue, what is due; the posts that work cases and the
    # auditor; not the admin, whose post is staff and policy (a second admin grants a
    # reading role when one is needed: nobody grants themselves one)
    "read_cases": _CASEWORK,
    # the money: funds, a fund's movements, the donor trace, the ledger, a year's close
    "read_money": (
        Role.CASHIER,
        Role.DONATIONS_OFFICER,
        Role.APPROVER,
        Role.COUNTY_APPROVER,
        Role.AUDITOR,
        Role.ADMIN,
    ),
    # the record itself: journal, findings, report, digest and proofs, bundles, the event
    # feed (another service reads it with an auditor's token); the posts that explain
    # findings (approvers, cashiers), witness, post notices or close a year (admins)
    "read_audit": (
        Role.AUDITOR,
        Role.APPROVER,
        Role.COUNTY_APPROVER,
        Role.CASHIER,
        Role.ADMIN,
    ),
    # the office itself: who is staff with which roles and towns, the policy, the views'
    # state: every post
    "read_office": tuple(Role),
}
"""The roles that may ask each kind of question (issue 21 §3), checked by the Office for
the reader a face knows (a bearer token's holder, a person's database login); whoever holds
an embedded store's file reads it all. Asking with no role is refused before anything is
read (``NotAuthorised``); a member with no role at all holds no token."""

REGISTRY_ID: UUID = uuid5(NAMESPACE_URL, "https://aidflow.invalid/staff-registry")

BEARER_PREFIX = "afw_"
"""Bearer tokens read ``afw_…``: a secret scanner (or a person) can tell one in a log."""


def token_hash(token: str) -> str:
    """What the record keeps of a bearer token: its SHA-256 (a 256-bit random token cannot
    be guessed back from it)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class StaffRegistry(AidAggregate):
    """Every staff member of the store, with roles, department and town."""

    TOPIC = "aidflow:StaffRegistry"

    class Event(AidAggregate.Event):
        TOPIC = "aidflow:StaffRegistry.Event"

    class Started(Event, AidAggregate.Created):
        """The registry exists (made with its first member)."""

        TOPIC = "aidflow:StaffRegistry.Started"

    class MemberAdded(Event):
        TOPIC = "aidflow:StaffRegistry.MemberAdded"
        name: str
        roles: list[str]
        department: str
        town: str
        actor: str

    class RoleGranted(Event):
        TOPIC = "aidflow:StaffRegistry.RoleGranted"
        name: str
        role: str
        actor: str

    class RoleRevoked(Event):
        TOPIC = "aidflow:StaffRegistry.RoleRevoked"
        name: str
        role: str
        actor: str

    class TokenIssued(Event):
        """A bearer token for ``name`` (its earlier one stops working): ``token`` is the
        SHA-256 of the token, never the token; it works until ``expires_at`` (v0.5)."""

        TOPIC = "aidflow:StaffRegistry.TokenIssued"
        name: str
        token: str
        expires_at: datetime
        actor: str

    class TokenRevoked(Event):
        TOPIC = "aidflow:StaffRegistry.TokenRevoked"
        name: str
        token: str
        reason: str
        actor: str

    class KeysRotated(Event):
        """The master key replaced by an admin (issue 21 §5): ``fingerprint`` names the new key
        without revealing it; ``rewrapped`` data keys were wrapped again under it (v0.6)."""

        TOPIC = "aidflow:StaffRegistry.KeysRotated"
        fingerprint: str
        rewrapped: int
        actor: str

    @staticmethod
    def create_id() -> UUID:
        return REGISTRY_ID

    @event(Started)
    def __init__(self) -> None:
        self.members: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, dict[str, Any]] = {}
        """Each member's token in force: name -> its hash, expiry and issuer."""

    # -- questions -------------------------------------------------------------------

    @staticmethod
    def towns(town: str) -> frozenset[str]:
        """The towns a member's ``town`` names (``高坪,大连`` or ``高坪、大连`` for several),
        as compared: empty for a member registered for none (every town)."""
        return frozenset(
            StaffRegistry._town_key(t)
            for t in canonical.nfkc(town).replace("、", ",").split(",")
            if t.strip()
        )

    @staticmethod
    def works_in(towns: frozenset[str], town: str) -> bool:
        """Whether a member of ``towns`` (from :meth:`towns`; none: every town) works in ``town``."""
        return not towns or StaffRegistry._town_key(town) in towns

    @staticmethod
    def _town_key(town: str) -> str:
        """A town as compared: look-alike spellings (full-width, a zero-width space) are one."""
        return canonical.same_person(canonical.visible(town))

    def member(self, name: str) -> dict[str, Any] | None:
        return self.members.get(canonical.actor(name))

    def holds(self, name: str, role: Role, department: str | None = None) -> bool:
        member = self.member(name)
        if member is None or role.value not in member["roles"]:
            return False
        return department is None or role is not Role.LIAISON or member["department"] == department

    def authorise(self, name: str, command: str, *, department: str | None = None) -> None:
        """Refuse a command its actor may not record now, or a question (:data:`READS`) they
        may not ask; ``department`` for a liaison's action."""
        member = self.member(name)
        if member is None:
            raise UnknownStaff(
                said(
                    "{name} is not registered staff; an admin adds staff with `aidflow staff add`",
                    name=name,
                ),
                ids={"actor": canonical.actor(name)},
            )
        allowed = REQUIRED[command] if command in REQUIRED else READS[command]
        if not any(role.value in member["roles"] for role in allowed):
            raise NotAuthorised(
                said(
                    "{name} may not {command}: it needs the role {roles}",
                    name=name,
                    command=Terms([command.replace("_", " ")], "command"),
                    roles=Terms([r.value for r in allowed], "value", " or "),
                ),
                ids={"actor": canonical.actor(name)},
            )
        if department is not None and member["department"] != department:
            raise NotAuthorised(
                said(
                    "{name} is the liaison of {department}; only the {department2} liaison completes this action",
                    name=name,
                    department=Terms([member["department"] or "no department"], "value"),
                    department2=Terms([department], "value"),
                ),
                ids={"actor": canonical.actor(name)},
            )

    # -- commands --------------------------------------------------------------------

    def add_member(
        self, *, name: str, roles: list[Role], department: str, town: str, actor: str
    ) -> None:
        """Add a staff member. The first one must be an admin and may add themselves;
        after that only an admin adds staff."""
        person = canonical.actor(name, "staff name")
        if not self.members:
            if Role.ADMIN not in roles:
                raise NotAuthorised(
                    said("the first staff member of a store must be an admin (--role admin)")
                )
            actor = person
        else:
            self._require_admin(actor)  # before anything is said about who is staff
        if person in self.members:
            raise InvalidInput(
                said("{person} is already registered staff", person=person), ids={"actor": person}
            )
        self._not_a_look_alike(person)
        if not roles:
            raise InvalidInput(said("a staff member needs at least one role"))
        if Role.LIAISON in roles and not department.strip():
            raise InvalidInput(said("a liaison acts for a department: give --department"))
        self._member_added(
            name=person,
            roles=sorted({r.value for r in roles}),
            department=canonical.text(department, "department", required=False),
            town=canonical.text(town, "town", required=False),
            actor=canonical.actor(actor),
        )

    def _not_a_look_alike(self, person: str) -> None:
        """Refuse a name drawn like a member's (``wаng`` with a Cyrillic ``а`` beside ``wang``):
        the journal, the report and segregation of duties would show one person where the
        record holds two, and an admin could act under a trusted colleague's name."""
        drawn = canonical.looks(person)
        twin = next((m for m in self.members if canonical.looks(m) == drawn), None)
        if twin is not None:
            raise InvalidInput(
                said(
                    "{person} looks like {twin}, who is already registered staff: choose a name that cannot be mistaken for theirs",
                    person=person,
                    twin=twin,
                ),
                ids={"actor": person},
            )

    @event(MemberAdded)
    def _member_added(
        self, *, name: str, roles: list[str], department: str, town: str, actor: str
    ) -> None:
        self.members[name] = {"roles": list(roles), "department": department, "town": town}

    def grant(self, *, name: str, role: Role, actor: str) -> None:
        """Grant a role. Nobody grants themselves anything: a second admin must do it."""
        self._require_admin(actor)
        person = self._existing(name)
        if canonical.same_actor(person, actor):
            raise NotAuthorised(
                said(
                    "{actor} may not grant a role to themselves; another admin must grant it",
                    actor=actor,
                ),
                ids={"actor": person},
            )
        if role.value in self.members[person]["roles"]:
            raise InvalidInput(
                said("{person} already holds {role}", person=person, role=role.value),
                ids={"actor": person},
            )
        if role is Role.LIAISON and not self.members[person]["department"]:
            raise InvalidInput(
                said("{person} has no department, so cannot be a liaison", person=person)
            )
        self._role_granted(name=person, role=role.value, actor=canonical.actor(actor))

    @event(RoleGranted)
    def _role_granted(self, *, name: str, role: str, actor: str) -> None:
        self.members[name]["roles"] = sorted({*self.members[name]["roles"], role})

    def revoke(self, *, name: str, role: Role, actor: str) -> None:
        """Take a role away; the last admin cannot be removed (the store would lock itself)."""
        self._require_admin(actor)
        person = self._existing(name)
        if role.value not in self.members[person]["roles"]:
            raise InvalidInput(
                said("{person} does not hold {role}", person=person, role=role.value),
                ids={"actor": person},
            )
        if role is Role.ADMIN and self.admins() == [person]:
            raise NotAuthorised(
                said("{person} is the last admin; add another admin first", person=person)
            )
        self._role_revoked(name=person, role=role.value, actor=canonical.actor(actor))

    @event(RoleRevoked)
    def _role_revoked(self, *, name: str, role: str, actor: str) -> None:
        self.members[name]["roles"] = [r for r in self.members[name]["roles"] if r != role]

    # -- bearer tokens (the way into HTTP), recorded as events ---------------------------

    def token_holder(self, token_hash: str, now: datetime) -> str | None:
        """Whose token has the hash ``token_hash``, while it is in force (not replaced,
        revoked or expired) and its holder holds a role: a token outlives no post."""
        for name, held in self.tokens.items():
            if held["token"] == token_hash and now < held["expires_at"]:
                member = self.members.get(name)
                return name if member is not None and member["roles"] else None
        return None

    def issue_token(self, *, name: str, token_hash: str, expires_at: datetime, actor: str) -> str:
        """Record ``name``'s new token (replacing any earlier one): a member issues their
        own; an admin may issue another's, and the record says so (``audit check`` watches
        what is done under it). Returns the holder's name in canonical form."""
        person = self._existing(name)
        if not canonical.same_actor(person, actor):
            self._require_admin(actor)
        self._token_issued(
            name=person, token=token_hash, expires_at=expires_at, actor=canonical.actor(actor)
        )
        return person

    @event(TokenIssued)
    def _token_issued(self, *, name: str, token: str, expires_at: datetime, actor: str) -> None:
        self.tokens[name] = {"token": token, "expires_at": expires_at, "by": actor}

    def revoke_token(self, *, name: str, reason: str, actor: str) -> str:
        """Stop ``name``'s token now (the holder, or an admin)."""
        person = self._existing(name)
        if not canonical.same_actor(person, actor):
            self._require_admin(actor)
        held = self.tokens.get(person)
        if held is None:
            raise InvalidInput(
                said("{person} holds no token to revoke", person=person), ids={"actor": person}
            )
        self._token_revoked(
            name=person,
            token=held["token"],
            reason=canonical.text(reason, "reason", required=False),
            actor=canonical.actor(actor),
        )
        return person

    @event(TokenRevoked)
    def _token_revoked(self, *, name: str, token: str, reason: str, actor: str) -> None:
        self.tokens.pop(name, None)

    def record_rotation(self, *, fingerprint: str, rewrapped: int, actor: str) -> None:
        """An admin replaced the master key: on record, with the new key's fingerprint."""
        self._require_admin(actor)
        self._keys_rotated(
            fingerprint=fingerprint, rewrapped=rewrapped, actor=canonical.actor(actor)
        )

    @event(KeysRotated)
    def _keys_rotated(self, *, fingerprint: str, rewrapped: int, actor: str) -> None:
        self.key_fingerprint = fingerprint

    def admins(self) -> list[str]:
        return sorted(n for n, m in self.members.items() if Role.ADMIN.value in m["roles"])

    def _existing(self, name: str) -> str:
        person = canonical.actor(name, "staff name")
        if person not in self.members:
            raise UnknownStaff(
                said("{person} is not registered staff", person=person), ids={"actor": person}
            )
        return person

    def _require_admin(self, actor: str) -> None:
        if not self.holds(actor, Role.ADMIN):
            raise NotAuthorised(
                said("only an admin manages staff and policy; {actor} is not one", actor=actor),
                ids={"actor": canonical.actor(actor)},
            )
