"""Rule checks an auditor runs, answered from the audit journal alone.

They do not trust the write side: each rule is re-derived from the recorded
events in position order, so a violation shows even if a rule had a bug, data
was imported, or the policy changed after the fact. They count every event they
read by its stable name, and an event they cannot read (a kind outside this
version's catalogue, or one the checks have not declared) is itself a finding,
so "all rules hold" is never said over events that were not read.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aidflow.domain.canonical import document_key, same_person
from aidflow.domain.events import NAMES, EventClass
from aidflow.domain.money import format_yuan
from aidflow.domain.policy import Policy, decode_value
from aidflow.domain.staff import REQUIRED, Role
from aidflow.domain.values import Severity
from aidflow.projections.audit.tables import (
    audit_account_table,
    audit_fund_table,
    journal_table,
)
from aidflow.projections.catalogue import (
    RECORD_KEEPING,
    Enrolment,
    Fund,
    PaymentBook,
    PolicyRegister,
    StaffRegistry,
    StudentCase,
    Voucher,
)
from aidflow.projections.models import CheckResult, Violation

C = StudentCase
CLASS_OF: dict[str, EventClass] = {name: cls for cls, name in NAMES.items()}
"""The catalogue read backwards: the journal's stable names to event classes."""

Row = tuple[int, datetime, str, str, str, dict[str, Any]]
"""A journal row: (position, recorded_at, actor, aggregate_id, stable name, detail)."""

SHOWN_POSITIONS = 20
"""At most this many positions are listed in a finding about many events."""


@dataclass
class _Case:
    verifiers: set[str] = field(default_factory=set)
    verified: bool = False
    approved: int = 0
    paid: int = 0
    secondary: int = 0
    closed: bool = False
    approvals: list[int] = field(default_factory=list)
    vouchers: list[str] = field(default_factory=list)
    funds: set[str] = field(default_factory=set)
    last_approval_at: datetime | None = None
    last_approval_position: int = 0
    hardships: list[tuple[int, datetime, str]] = field(default_factory=list)
    actions: dict[str, tuple[int, datetime, str]] = field(default_factory=dict)
    # the money loop (issue 12)
    account_proposer: str | None = None
    secondary_proposers: dict[str, str] = field(default_factory=dict)
    secondary_approved: int = 0
    secondary_paid: int = 0
    listed: dict[str, tuple[int, datetime, int]] = field(default_factory=dict)
    """Vouchers issued on a payment list and not yet settled: key -> (position, at, fen)."""
    # issue 12: the rules that keep the loop closed
    gap: int = 0
    since_visit: int = 0
    needs: frozenset[str] = frozenset()
    verified_once: bool = False
    follow_up_due: bool = False
    rejected: bool = False


class _Checker:
    """The state the rules need, built event by event in position order."""

    def __init__(
        self, fund_kinds: dict[str, str], policy: Policy, base: Policy | None = None
    ) -> None:
        self.fund_kinds = fund_kinds
        self.policy = policy
        self.moment = base or policy
        """The policy in force at the event being read: ``base`` changed by the policy
        events read so far (the rules of issue 12 judge each decision by it)."""
        self.roles_of: Callable[[str], set[str]] = lambda actor: set()
        self.found: list[Violation] = []
        self.cases: dict[str, _Case] = defaultdict(_Case)
        self.balances: dict[str, int] = defaultdict(int)
        self.voucher_seen: dict[str, int] = {}

    def flag(
        self,
        rule: str,
        message: str,
        positions: list[int],
        case: str | None = None,
        fund: str | None = None,
    ) -> None:
        self.found.append(
            Violation(rule=rule, case_id=case, fund_id=fund, positions=positions, message=message)
        )

    # -- funds ---------------------------------------------------------------------------

    def deposited(
        self, position: int, at: datetime, actor: str, fund: str, d: dict[str, Any]
    ) -> None:
        self.balances[fund] += d["amount_fen"]
        if not str(d.get("receipt", "")).strip():
            self.flag(
                "deposit_without_receipt",
                f"deposit of {format_yuan(d['amount_fen'])} yuan has no receipt",
                [position],
                fund=fund,
            )

    def allocated(
        self, position: int, at: datetime, actor: str, fund: str, d: dict[str, Any]
    ) -> None:
        self.balances[fund] -= d["amount_fen"]
        if self.balances[fund] < 0:
            self.flag(
                "fund_overdrawn",
                f"fund balance fell to {format_yuan(self.balances[fund])} yuan",
                [position],
                case=d.get("case_id"),
                fund=fund,
            )

    def released(
        self, position: int, at: datetime, actor: str, fund: str, d: dict[str, Any]
    ) -> None:
        self.balances[fund] += d["amount_fen"]

    # -- cases ---------------------------------------------------------------------------

    def verified(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        c = self.cases[case]
        c.verifiers.add(same_person(actor))  # people, not spellings (v0.1 stored them raw)
        c.verified = True
        c.verified_once = True
        c.gap, c.since_visit, c.needs = d["gap_fen"], 0, frozenset(d["needs"])

    def approved(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        c = self.cases[case]
        if not c.verified:
            self.flag(
                "approved_before_verification",
                "grant approved while the case awaited verification",
                [position],
                case=case,
            )
        if same_person(actor) in c.verifiers:
            self.flag(
                "verifier_approved",
                f"{actor} verified this case and approved its grant",
                [position],
                case=case,
            )
        if self.fund_kinds.get(d["fund_id"]) != "government":
            self.flag(
                "wrong_fund_kind",
                "temporary assistance approved from a fund that is not a government fund",
                [position],
                case=case,
                fund=d["fund_id"],
            )
        self._loop_rules_on_approval(position, actor, case, c, d)
        c.approved += d["amount_fen"]
        c.since_visit += d["amount_fen"]
        c.approvals.append(position)
        c.funds.add(d["fund_id"])
        c.last_approval_at, c.last_approval_position = at, position
        if c.approved > self.policy.cap_fen:
            self.flag(
                "cap_exceeded",
                f"approved {format_yuan(c.approved)} yuan,"
                f" over the cap of {format_yuan(self.policy.cap_fen)} yuan",
                c.approvals[:],
                case=case,
            )

    def disbursed(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        c = self.cases[case]
        amount = d["amount_fen"]
        if d.get("listed"):
            c.listed[document_key(str(d.get("voucher", "")))] = (position, at, amount)
        if d.get("use") == "secondary-aid":
            self.secondary_paid(position, case, c, d)
        elif c.paid + amount > c.approved:
            self.flag(
                "paid_before_approval",
                f"paid {format_yuan(c.paid + amount)} yuan"
                f" against {format_yuan(c.approved)} yuan approved",
                [position],
                case=case,
            )
        if d.get("use") != "secondary-aid":
            c.paid += amount
        c.follow_up_due = True
        voucher = str(d.get("voucher", ""))
        c.vouchers.append(voucher)
        key = document_key(voucher)  # V1, v1 and Ｖ１ are one voucher
        if key in self.voucher_seen:
            self.flag(
                "duplicate_voucher",
                f"voucher {voucher} used twice",
                [self.voucher_seen[key], position],
                case=case,
            )
        else:
            self.voucher_seen[key] = position

    def returned(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        c = self.cases[case]
        c.listed.pop(document_key(str(d.get("voucher", ""))), None)
        if d.get("use") == "secondary-aid":
            c.secondary_paid -= d["amount_fen"]
        else:
            c.paid -= d["amount_fen"]

    # -- the money loop (issue 12) -------------------------------------------------------

    def secondary_paid(self, position: int, case: str, c: _Case, d: dict[str, Any]) -> None:
        if c.secondary_paid + d["amount_fen"] > c.secondary_approved:
            self.flag(
                "paid_before_approval",
                f"secondary aid paid {format_yuan(c.secondary_paid + d['amount_fen'])} yuan"
                f" against {format_yuan(c.secondary_approved)} yuan approved",
                [position],
                case=case,
            )
        c.secondary_paid += d["amount_fen"]

    def confirmed(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        self.cases[case].listed.pop(document_key(str(d.get("voucher", ""))), None)

    def account_set(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        self.cases[case].account_proposer = same_person(actor) if d.get("pending") else None

    def account_confirmed(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        c = self.cases[case]
        if c.account_proposer is None:
            self.flag(
                "account_confirmed_unproposed",
                "an account change was confirmed that nobody had proposed",
                [position],
                case=case,
            )
        elif c.account_proposer == same_person(actor):
            self.flag(
                "account_change_self_confirmed",
                f"{actor} proposed and confirmed the same account change",
                [position],
                case=case,
            )
        c.account_proposer = None

    def secondary_proposed(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        self.cases[case].secondary_proposers[document_key(d["ref"])] = same_person(actor)

    def secondary_approved(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        c = self.cases[case]
        proposer = c.secondary_proposers.get(document_key(d["ref"]))
        if proposer is None or proposer == same_person(actor):
            self.flag(
                "secondary_aid_single_person",
                f"secondary aid {d['ref']} was approved by {actor} without another person's "
                "proposal",
                [position],
                case=case,
            )
        c.secondary_approved += d["amount_fen"]
        self.secondary_aid(position, at, actor, case, d)

    def statement(
        self, position: int, at: datetime, actor: str, book: str, d: dict[str, Any]
    ) -> None:
        for item in d["findings"]:
            self.flag(
                f"statement_{item['kind']}",
                f"bank statement {d['name']!r} line {item['line']} ({item['reference']}, "
                f"{format_yuan(item['amount_fen'])} yuan): {item['detail']}",
                [position],
            )

    def secondary_aid(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        c = self.cases[case]
        if c.paid <= 0:
            self.flag(
                "secondary_aid_without_paid_grant",
                "secondary aid allocated before any grant was paid",
                [position],
                case=case,
            )
        if self.fund_kinds.get(d["fund_id"]) != "donation":
            self.flag(
                "wrong_fund_kind",
                "secondary aid allocated from a fund that is not a donation fund",
                [position],
                case=case,
                fund=d["fund_id"],
            )
        c.secondary += d["amount_fen"]
        if c.secondary > self.policy.secondary_cap_fen:
            self.flag(
                "secondary_cap_exceeded",
                f"secondary aid of {format_yuan(c.secondary)} yuan,"
                f" over the cap of {format_yuan(self.policy.secondary_cap_fen)} yuan",
                [position],
                case=case,
            )

    def hardship(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        c = self.cases[case]
        c.verified = False
        c.closed = False  # a hardship report reopens even a closed or rejected case
        c.rejected = False
        if Severity(d["severity"]).needs_consultation:
            c.hardships.append((position, at, d["kind"]))

    def review(self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]) -> None:
        c = self.cases[case]
        c.hardships = []  # a consultation answers every hardship reported before it
        for item in d["actions"]:
            c.actions[item["action_id"]] = (position, at, item["department"])

    def action_done(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        self._on_closed_case(position, case, f"action {d['action_id']} completed")
        self.cases[case].actions.pop(d["action_id"], None)

    def followed_up(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        self._on_closed_case(position, case, "follow-up recorded")
        self.cases[case].follow_up_due = False

    def closed(self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]) -> None:
        c = self.cases[case]
        if self.moment.strict_close:
            broken = [
                why
                for why, broke in (
                    (
                        "reopened by new hardship and not verified again",
                        c.verified_once and not c.verified,
                    ),
                    (f"consultation action(s) {', '.join(c.actions)} open", bool(c.actions)),
                    ("paid and not followed up since", c.follow_up_due),
                )
                if broke
            ]
            if broken:
                self.flag(
                    "closed_against_rules",
                    f"case closed while {'; '.join(broken)}",
                    [position],
                    case=case,
                )
        c.closed = True
        c.approved -= sum(d["releases"].values())
        c.since_visit = max(0, c.since_visit - sum(d["releases"].values()))

    def rejected(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        self.cases[case].closed = True
        self.cases[case].rejected = True

    # -- issue 12: the rules that keep the loop closed -------------------------------------

    def policy_changed(
        self, position: int, at: datetime, actor: str, register: str, d: dict[str, Any]
    ) -> None:
        value = d["value"]
        if isinstance(value, str):
            value = decode_value(d["field"], value)
        try:
            self.moment = dataclasses.replace(self.moment, **{d["field"]: value})
        except (TypeError, ValueError):
            self.flag(
                "policy_unreadable",
                f"policy change of {d['field']} to {d['value']!r} cannot be applied",
                [position],
            )

    def _loop_rules_on_approval(
        self, position: int, actor: str, case: str, c: _Case, d: dict[str, Any]
    ) -> None:
        policy, amount = self.moment, d["amount_fen"]
        if policy.need_rule and c.verified_once and d["need"] not in c.needs:
            self.flag(
                "need_not_found",
                f"grant for {d['need']} where the household visit found "
                f"{', '.join(sorted(c.needs)) or 'no need'}",
                [position],
                case=case,
            )
        if policy.gap_bound and c.verified_once and c.since_visit + amount > c.gap:
            self.flag(
                "gap_exceeded",
                f"{format_yuan(c.since_visit + amount)} yuan approved since the household visit,"
                f" above the verified gap of {format_yuan(c.gap)} yuan",
                [position],
                case=case,
            )
        if policy.approval_tiers:
            limit = policy.approval_limit(self.roles_of(actor))
            if c.approved + amount > limit:
                self.flag(
                    "tier_exceeded",
                    f"{actor} brought the case to {format_yuan(c.approved + amount)} yuan,"
                    f" above their approval tier of {format_yuan(limit)} yuan",
                    [position],
                    case=case,
                )

    def _on_closed_case(self, position: int, case: str, what: str) -> None:
        c = self.cases[case]
        if c.closed:
            self.flag(
                "recorded_on_closed_case",
                f"{what} on a {'rejected' if c.rejected else 'closed'} case"
                " (only a hardship report reopens it)",
                [position],
                case=case,
            )

    def people(self, accounts: Iterable[tuple[str, str, str, int]]) -> None:
        """One account on two people (each case's current account, after corrections); one
        person with more than one open case."""
        holders: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        cases_of: dict[str, dict[str, int]] = defaultdict(dict)
        paid_to: dict[str, tuple[str, str, int]] = {}  # case -> its current account (rows in order)
        for case, person, account, position in accounts:
            if case not in paid_to:
                cases_of[person].setdefault(case, position)
            paid_to[case] = (paid_to[case][0] if case in paid_to else person, account, position)
        for person, account, position in paid_to.values():
            if account:
                holders[account][person].append(position)
        for people in holders.values():
            if len(people) > 1:
                positions = sorted(p for ps in people.values() for p in ps)
                self.flag(
                    "shared_account",
                    f"one bank account is recorded for {len(people)} different students",
                    positions[:SHOWN_POSITIONS],
                )
        for cases in cases_of.values():
            still_open = {
                case: position
                for case, position in cases.items()
                if not self.cases[case].closed  # closed or rejected
            }
            if len(still_open) > 1:
                self.flag(
                    "several_open_cases",
                    f"one student has {len(still_open)} open cases; close the earlier year's "
                    "case before the next opens",
                    sorted(still_open.values())[:SHOWN_POSITIONS],
                    case=min(still_open, key=lambda k: still_open[k]),
                )

    # -- at the end: completeness and timeliness -----------------------------------------

    def finish(self, now: datetime) -> None:
        policy = self.policy
        unpaid_limit = timedelta(days=policy.max_unpaid_days)
        consult_limit = timedelta(days=policy.max_days_to_consultation)
        action_limit = timedelta(days=policy.max_days_action_open)
        statement_limit = timedelta(days=policy.statement_days)
        for case_id, c in self.cases.items():
            for position, at, fen in c.listed.values():
                if now - at > statement_limit:
                    self.flag(
                        "payment_unconfirmed",
                        f"{format_yuan(fen)} yuan listed for the bank {(now - at).days} days ago;"
                        " no statement line has confirmed or returned it",
                        [position],
                        case=case_id,
                    )
            if c.paid > 0:
                missing = [
                    what
                    for what, ok in (
                        ("verification", bool(c.verifiers)),
                        ("approval", bool(c.approvals)),
                        ("voucher", all(v.strip() for v in c.vouchers)),
                        (
                            "fund source",
                            bool(c.funds) and all(f in self.fund_kinds for f in c.funds),
                        ),
                    )
                    if not ok
                ]
                if missing:
                    self.flag(
                        "incomplete_dossier",
                        f"paid case lacks {', '.join(missing)}",
                        [],
                        case=case_id,
                    )
            if (
                not c.closed
                and c.approved > c.paid
                and c.last_approval_at is not None
                and now - c.last_approval_at > unpaid_limit
            ):
                days = (now - c.last_approval_at).days
                self.flag(
                    "approved_unpaid_too_long",
                    f"{format_yuan(c.approved - c.paid)} yuan approved {days} days ago, still unpaid",
                    [c.last_approval_position],
                    case=case_id,
                )
            for position, at, kind in c.hardships:
                if now - at > consult_limit:
                    self.flag(
                        "hardship_without_consultation",
                        f"{kind} hardship reported {(now - at).days} days ago, no consultation since",
                        [position],
                        case=case_id,
                    )
            for action_id, (position, at, department) in c.actions.items():
                if now - at > action_limit:
                    self.flag(
                        "consultation_action_open",
                        f"{department} has not completed {action_id} after {(now - at).days} days",
                        [position],
                        case=case_id,
                    )


Rule = Callable[[_Checker, int, datetime, str, str, dict[str, Any]], None]

RULES: dict[EventClass, Rule] = {
    Fund.Deposited: _Checker.deposited,
    Fund.Allocated: _Checker.allocated,
    Fund.Released: _Checker.released,
    C.Verified: _Checker.verified,
    C.GrantApproved: _Checker.approved,
    C.Disbursed: _Checker.disbursed,
    C.DisbursementReturned: _Checker.returned,
    C.SecondaryAidAllocated: _Checker.secondary_aid,
    C.HardshipReported: _Checker.hardship,
    C.ReviewConvened: _Checker.review,
    C.ActionCompleted: _Checker.action_done,
    C.FollowedUp: _Checker.followed_up,
    C.Closed: _Checker.closed,
    C.Rejected: _Checker.rejected,
    C.DisbursementConfirmed: _Checker.confirmed,
    C.AccountSet: _Checker.account_set,
    C.AccountConfirmed: _Checker.account_confirmed,
    C.SecondaryAidProposed: _Checker.secondary_proposed,
    C.SecondaryAidApproved: _Checker.secondary_approved,
    PaymentBook.StatementImported: _Checker.statement,
    PolicyRegister.ValueSet: _Checker.policy_changed,
    PolicyRegister.Changed: _Checker.policy_changed,
}
"""The event classes the rules read, each with what it does to the rules' state."""

handles = frozenset(RULES)
ignores: frozenset[EventClass] = frozenset(
    {
        C.Applied,
        Fund.Opened,
        Enrolment.Registered,
        Voucher.Issued,
        *RECORD_KEEPING,
        PaymentBook.Started,
        PaymentBook.ListIssued,
        C.PersonalDataRevealed,  # issue 11: no money or timeliness rule
        C.PersonalDataErased,
    }
    - handles
)
"""Read and counted; no money or timeliness rule depends on them (the staff and policy
events feed the authorisation check, ``_Authority``)."""


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
}
"""The command that records each event whose actor must have held a role for it. Events
saved beside these (a fund's allocation, a key) share their command's actor and check."""


class _Authority:
    """Who held which role at each position, re-derived from the staff events alone."""

    def __init__(self, checker: _Checker) -> None:
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
        command = COMMAND_OF[cls]
        department = d.get("department") if command == "complete_action" else None
        if not self._holds(actor, REQUIRED[command], department):
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
                positions[:SHOWN_POSITIONS],
            )


_STAFF_EVENTS = frozenset(
    {StaffRegistry.MemberAdded, StaffRegistry.RoleGranted, StaffRegistry.RoleRevoked}
)


def run_checks(
    journal: Iterable[Row],
    fund_kinds: dict[str, str],
    policy: Policy,
    now: datetime,
    *,
    base: Policy | None = None,
    accounts: Iterable[tuple[str, str, str, int]] = (),
) -> CheckResult:
    """Every rule over the journal rows, in position order, with what was read.

    ``base``: the policy before any recorded change (the one the store was opened with),
    so each decision is judged by the policy of its moment; without it, by ``policy``
    changed as the journal goes. ``accounts``: (case, person, account, position)
    pseudonyms from ``audit_account``, for the checks across people.
    """
    checker = _Checker(fund_kinds, policy, base)
    authority = _Authority(checker)
    checker.roles_of = authority.roles_of
    counts: Counter[str] = Counter()
    unread: dict[str, list[int]] = defaultdict(list)
    position = 0
    for row in journal:
        position, at, actor, aggregate_id, name, detail = row
        counts[name] += 1
        cls = CLASS_OF.get(name)
        if cls in _STAFF_EVENTS:
            authority.staff_event(cls, position, actor, detail)
        elif cls in COMMAND_OF:
            authority.command_event(cls, position, actor, detail)
        rule = RULES.get(cls) if cls is not None else None
        if rule is not None:
            rule(checker, position, at, actor, aggregate_id, detail)
        elif cls is None or cls not in ignores:
            unread[name].append(position)
    checker.finish(now)
    checker.people(accounts)
    authority.finish()
    for name, positions in unread.items():
        why = (
            "is not in this version's event catalogue"
            if name not in CLASS_OF
            else "is in the catalogue but no rule check declares it"
        )
        checker.flag(
            "unknown_event" if name not in CLASS_OF else "unchecked_event",
            f"{len(positions)} event(s) of kind {name!r} were not checked: the kind {why}",
            positions[:SHOWN_POSITIONS],
        )
    return CheckResult(
        violations=checker.found, checked=dict(sorted(counts.items())), position=position
    )


def check(
    conn: Connection,
    policy: Policy,
    now: datetime,
    *,
    upto: int | None = None,
    base: Policy | None = None,
) -> CheckResult:
    """Run the checks over the whole journal, or over its events up to position ``upto``."""
    j, F, A = journal_table, audit_fund_table, audit_account_table
    kinds = {r.fund_id: r.kind for r in conn.execute(sa.select(F.c.fund_id, F.c.kind))}
    held = sa.select(A.c.case_id, A.c.person, A.c.account, A.c.position).order_by(A.c.position)
    if upto is not None:
        held = held.where(A.c.position <= upto)
    accounts = [tuple(r) for r in conn.execute(held)]
    query = sa.select(
        j.c.position, j.c.recorded_at, j.c.actor, j.c.aggregate_id, j.c.event_type, j.c.detail
    ).order_by(j.c.position)
    if upto is not None:
        query = query.where(j.c.position <= upto)
    rows = conn.execute(query.execution_options(yield_per=5000))
    return run_checks(
        (tuple(r) for r in rows),
        kinds,
        policy,
        now,
        base=base,
        accounts=accounts,
    )
