"""Which event each rule reads, and the run over a journal's rows in position order.

Every event read is counted by its stable name; an event no rule declares (a kind
outside this version's catalogue, or one the rules have not declared) is itself a
finding, so "all rules hold" is never said over events that were not read.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from aidflow.auditing.authority import COMMAND_OF, STAFF_EVENTS, Authority
from aidflow.auditing.state import CLASS_OF, SHOWN_POSITIONS, Row
from aidflow.auditing.timeliness import EndRules
from aidflow.domain.case import StudentCase as C
from aidflow.domain.events import RECORD_KEEPING, EventClass
from aidflow.domain.fund import Fund
from aidflow.domain.keys import Enrolment, Voucher
from aidflow.domain.payments import PaymentBook
from aidflow.domain.policy import Policy, PolicyRegister
from aidflow.projections.models import CheckResult


class Checker(EndRules):
    """Every rule: the stages' rules, one class (one state) read in position order."""


Rule = Callable[[Checker, int, datetime, str, str, dict[str, Any]], None]

RULES: dict[EventClass, Rule] = {
    Fund.Deposited: Checker.deposited,
    Fund.Allocated: Checker.allocated,
    Fund.Released: Checker.released,
    C.Verified: Checker.verified,
    C.GrantApproved: Checker.approved,
    C.Disbursed: Checker.disbursed,
    C.DisbursementReturned: Checker.returned,
    C.SecondaryAidAllocated: Checker.secondary_aid,
    C.HardshipReported: Checker.hardship,
    C.ReviewConvened: Checker.review,
    C.ActionCompleted: Checker.action_done,
    C.FollowedUp: Checker.followed_up,
    C.Closed: Checker.closed,
    C.Rejected: Checker.rejected,
    C.DisbursementConfirmed: Checker.confirmed,
    C.AccountSet: Checker.account_set,
    C.AccountConfirmed: Checker.account_confirmed,
    C.SecondaryAidProposed: Checker.secondary_proposed,
    C.SecondaryAidApproved: Checker.secondary_approved,
    C.DisbursementDisputed: Checker.disputed,
    C.PaymentReissued: Checker.reissued,
    PaymentBook.StatementImported: Checker.statement,
    PolicyRegister.ValueSet: Checker.policy_changed,
    PolicyRegister.Changed: Checker.policy_changed,
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
    checker = Checker(fund_kinds, policy, base)
    authority = Authority(checker)
    checker.roles_of = authority.roles_of
    counts: Counter[str] = Counter()
    unread: dict[str, list[int]] = defaultdict(list)
    position = 0
    for row in journal:
        position, at, actor, aggregate_id, name, detail = row
        counts[name] += 1
        checker.in_time_order(position, at)
        cls = CLASS_OF.get(name)
        if cls in STAFF_EVENTS:
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
