"""Which event each rule reads, and the run over a journal's rows in position order.

Every event read is counted by its stable name; an event no rule declares (a kind
outside this version's catalogue, or one the rules have not declared) is itself a
finding, so "all rules hold" is never said over events that were not read.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from aidflow.auditing.authority import Authority
from aidflow.auditing.state import CLASS_OF, Row, shown
from aidflow.auditing.timeliness import EndRules
from aidflow.auditing.tokens import TokenWatch
from aidflow.domain.canonical import same_person
from aidflow.domain.case import StudentCase as C
from aidflow.domain.errors import Said, said
from aidflow.domain.events import COMMAND_OF, RECORD_KEEPING, STAFF_EVENTS, EventClass
from aidflow.domain.findings import FindingsRegister
from aidflow.domain.fund import Fund
from aidflow.domain.keys import Enrolment, Voucher
from aidflow.domain.payments import PaymentBook
from aidflow.domain.policy import Policy, PolicyRegister
from aidflow.domain.staff import StaffRegistry
from aidflow.domain.year import ProgrammeYear
from aidflow.projections.models import CheckResult, DisposedFinding, Violation


class Checker(EndRules):
    """Every rule: the stages' rules, one class (one state) read in position order."""


Rule = Callable[[Checker, int, datetime, str, str, dict[str, Any]], None]

RULES: dict[EventClass, Rule] = {
    Fund.Deposited: Checker.deposited,
    Fund.Allocated: Checker.allocated,
    Fund.Released: Checker.released,
    Fund.DepositReversalProposed: Checker.reversal_proposed,
    Fund.DepositReversed: Checker.reversed_deposit,
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
    C.AppealLodged: Checker.appeal_lodged,
    C.AppealDecided: Checker.appeal_decided,
    C.ApprovalCorrectionProposed: Checker.correction_proposed,
    C.ApprovalCorrected: Checker.corrected,
    C.PaymentReissued: Checker.reissued,
    PaymentBook.StatementImported: Checker.statement,
    PolicyRegister.ValueSet: Checker.policy_changed,
    PolicyRegister.Changed: Checker.policy_changed,
    FindingsRegister.Disposed: Checker.disposed,
    FindingsRegister.Withdrawn: Checker.withdrawn,
    C.Applied: Checker.applied,
    ProgrammeYear.CloseProposed: Checker.year_close_proposed,
    ProgrammeYear.Closed: Checker.year_closed,
    C.YearClosed: Checker.case_year_closed,
}
"""The event classes the rules read, each with what it does to the rules' state."""

TOKEN_EVENTS = frozenset({StaffRegistry.TokenIssued, StaffRegistry.TokenRevoked})
NEW_MONEY: dict[EventClass, Said] = {
    C.GrantApproved: said("an approval"),
    C.SecondaryAidAllocated: said("secondary aid"),
    C.SecondaryAidProposed: said("secondary aid"),
    C.SecondaryAidApproved: said("secondary aid"),
    C.Disbursed: said("a payment"),
    C.PaymentReissued: said("a payment issued again"),
}
"""What a closed programme year takes no more of (issue 23)."""
CASE_STREAM = "case."
"""The stable names of a student case's events start so."""

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
        PaymentBook.NoticePosted,
        FindingsRegister.Started,
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
    actors_at: Callable[[list[int]], dict[int, str]] | None = None,
) -> CheckResult:
    """Every rule over the journal rows, in position order, with what was read.

    ``base``: the policy before any recorded change (the one the store was opened with),
    so each decision is judged by the policy of its moment; without it, by ``policy``
    changed as the journal goes. ``accounts``: (case, person, account, position)
    pseudonyms from ``audit_account``, for the checks across people. ``actors_at``: who
    recorded the events at some positions, so an explanation by one of the people whose
    acts raised a finding is refused (without it, as in a bundle, it is not asked).
    """
    checker = Checker(fund_kinds, policy, base)
    authority = Authority(checker)
    tokens = TokenWatch(checker)
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
            authority.command_event(cls, position, actor, detail, aggregate_id)
        if cls in TOKEN_EVENTS:
            tokens.token_event(cls, position, at, actor, detail)
        elif name.startswith(CASE_STREAM):
            tokens.case_event(position, at, actor, aggregate_id)
        if cls in NEW_MONEY:
            checker.new_money(position, aggregate_id, NEW_MONEY[cls])
        rule = RULES.get(cls) if cls is not None else None
        if rule is not None:
            rule(checker, position, at, actor, aggregate_id, detail)
        elif cls is None or cls not in ignores:
            unread[name].append(position)
    checker.finish(now)
    checker.people(accounts)
    authority.finish()
    tokens.finish()
    _unread(checker, unread)
    checker.found = _told_apart(checker.found)
    found, disposed = _explained(checker, actors_at)
    return CheckResult(
        violations=found,
        checked=dict(sorted(counts.items())),
        position=position,
        disposed=disposed,
    )


def _unread(checker: Checker, unread: dict[str, list[int]]) -> None:
    """Events no rule read are findings: "all rules hold" is never said over them."""
    for name, positions in unread.items():
        if name not in CLASS_OF:
            checker.flag(
                "unknown_event",
                said(
                    "{count} event(s) of kind {name} were not checked: the kind is not in this "
                    "version's event catalogue",
                    count=len(positions),
                    name=repr(name),
                ),
                shown(positions),
            )
        else:
            checker.flag(
                "unchecked_event",
                said(
                    "{count} event(s) of kind {name} were not checked: the kind is in the "
                    "catalogue but no rule check declares it",
                    count=len(positions),
                    name=repr(name),
                ),
                shown(positions),
            )


def _told_apart(found: list[Violation]) -> list[Violation]:
    """Findings that would share an id (one rule, the same events, no subject) told apart by
    their message: a last resort, as a message's words may change with a release."""
    seen = Counter(v.id for v in found)
    return [
        v.model_copy(update={"subject": hashlib.sha256(v.message.encode()).hexdigest()[:8]})
        if seen[v.id] > 1
        else v
        for v in found
    ]


def _explained(
    checker: Checker, actors_at: Callable[[list[int]], dict[int, str]] | None
) -> tuple[list[Violation], list[DisposedFinding]]:
    """The findings still open, and those explained (``audit dispose``). An explanation by
    someone whose act raised the finding does not count: the finding stays open, and the
    explanation is a finding of its own."""
    explained = [v for v in checker.found if v.id in checker.disposals]
    raised = (
        {} if actors_at is None else actors_at(sorted({p for v in explained for p in v.positions}))
    )
    found: list[Violation] = []
    disposed: list[DisposedFinding] = []
    for v in checker.found:
        if v.id not in checker.disposals:
            found.append(v)
            continue
        position, by, reason = checker.disposals[v.id]
        if any(same_person(raised.get(p, "")) == same_person(by) for p in v.positions):
            found.append(v)
            found.append(
                Violation(
                    rule="finding_explained_by_its_actor",
                    case_id=v.case_id,
                    fund_id=v.fund_id,
                    positions=[position],
                    message=said(
                        "{by} explained finding {finding} ({rule}), which their own act raised",
                        by=by,
                        finding=v.id,
                        rule=v.rule,
                    ),
                )
            )
            continue
        disposed.append(DisposedFinding(violation=v, reason=reason, by=by, position=position))
    return found, disposed
