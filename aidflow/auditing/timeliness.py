"""At the end of the journal: what is late by ``now``, what a paid case lacks, and the
checks across people (one account on two students, two open cases for one)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from aidflow.auditing.lifecycle import LifecycleRules
from aidflow.auditing.state import CaseState, shown
from aidflow.domain.errors import said
from aidflow.domain.money import format_yuan
from aidflow.i18n.words import Listed, Word

SHARED_ACCOUNT = "shared_account"
SEVERAL_OPEN_CASES = "several_open_cases"
ACROSS_PEOPLE = (SHARED_ACCOUNT, SEVERAL_OPEN_CASES)
"""The rules that compare people with each other, from the audit view's keyed pseudonyms
(never in an event): no bundle can judge them (:mod:`aidflow.proofs.context`)."""


class EndRules(LifecycleRules):
    def finish(self, now: datetime) -> None:
        """Every case's findings that depend on the moment the checks run."""
        for case_id, c in self.cases.items():
            self.unconfirmed(case_id, c, now)
            if c.paid > 0:
                self.incomplete(case_id, c)
            self.unpaid(case_id, c, now)
            self.unanswered(case_id, c, now)
            self.unreceived(case_id, c, now)
            self.undecided(case_id, c, now)

    def undecided(self, case_id: str, c: CaseState, now: datetime) -> None:
        """An appeal still awaiting its decision past ``appeal-decision-days``."""
        if c.appeal is not None and now - c.appeal[1] > timedelta(
            days=self.policy.appeal_decision_days
        ):
            self.flag(
                "appeal_decided_late",
                said(
                    "the appeal lodged {days} days ago is still undecided",
                    days=(now - c.appeal[1]).days,
                ),
                [c.appeal[0]],
                case=case_id,
            )

    def unreceived(self, case_id: str, c: CaseState, now: datetime) -> None:
        """Payments the student has not said arrived, ``receipt-days`` after them."""
        for position, at, days, voucher in c.awaiting_receipt.values():
            if now - at > timedelta(days=days):
                self.flag(
                    "receipt_unconfirmed",
                    said(
                        "voucher {voucher} was paid {days} days ago; the student has not said "
                        "whether the money arrived (`case follow-up --received`)",
                        voucher=voucher,
                        days=(now - at).days,
                    ),
                    [position],
                    case=case_id,
                )

    def unconfirmed(self, case_id: str, c: CaseState, now: datetime) -> None:
        limit = timedelta(days=self.policy.statement_days)
        for position, at, fen in c.listed.values():
            if now - at > limit:
                self.flag(
                    "payment_unconfirmed",
                    said(
                        "{amount} yuan listed for the bank {days} days ago; no statement line "
                        "has confirmed or returned it",
                        amount=format_yuan(fen),
                        days=(now - at).days,
                    ),
                    [position],
                    case=case_id,
                )

    def incomplete(self, case_id: str, c: CaseState) -> None:
        missing = [
            what
            for what, ok in (
                (said("verification"), bool(c.verifiers)),
                (said("approval"), bool(c.approvals)),
                (said("voucher"), all(v.strip() for v in c.vouchers)),
                (
                    said("fund source"),
                    bool(c.funds) and all(f in self.fund_kinds for f in c.funds),
                ),
            )
            if not ok
        ]
        if missing:
            self.flag(
                "incomplete_dossier",
                said("paid case lacks {missing}", missing=Listed(missing)),
                [],
                case=case_id,
            )

    def unpaid(self, case_id: str, c: CaseState, now: datetime) -> None:
        if (
            not c.closed
            and c.approved > c.paid
            and c.last_approval_at is not None
            and now - c.last_approval_at > timedelta(days=self.policy.max_unpaid_days)
        ):
            days = (now - c.last_approval_at).days
            self.flag(
                "approved_unpaid_too_long",
                said(
                    "{amount} yuan approved {days} days ago, still unpaid",
                    amount=format_yuan(c.approved - c.paid),
                    days=days,
                ),
                [c.last_approval_position],
                case=case_id,
            )

    def unanswered(self, case_id: str, c: CaseState, now: datetime) -> None:
        consult_limit = timedelta(days=self.policy.max_days_to_consultation)
        action_limit = timedelta(days=self.policy.max_days_action_open)
        for position, at, kind in c.hardships:
            if now - at > consult_limit:
                self.flag(
                    "hardship_without_consultation",
                    said(
                        "{kind} hardship reported {days} days ago, no consultation since",
                        kind=Word(kind),
                        days=(now - at).days,
                    ),
                    [position],
                    case=case_id,
                )
        for action_id, (position, at, department) in c.actions.items():
            if now - at > action_limit:
                self.flag(
                    "consultation_action_open",
                    said(
                        "{department} has not completed {action} after {days} days",
                        department=Word(department),
                        action=action_id,
                        days=(now - at).days,
                    ),
                    [position],
                    case=case_id,
                    subject=action_id,
                )

    def people(self, accounts: Iterable[tuple[str, str, str, int]]) -> None:
        """One account on two people (each case's current account, after corrections); one
        person with more than one open case (:data:`ACROSS_PEOPLE`)."""
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
                    SHARED_ACCOUNT,
                    said(
                        "one bank account is recorded for {count} different students",
                        count=len(people),
                    ),
                    shown(positions),
                )
        for cases in cases_of.values():
            still_open = {
                case: position
                for case, position in cases.items()
                if not self.cases[case].closed  # closed or rejected
            }
            if len(still_open) > 1:
                self.flag(
                    SEVERAL_OPEN_CASES,
                    said(
                        "one student has {count} open cases; close the earlier year's case "
                        "before the next opens",
                        count=len(still_open),
                    ),
                    shown(sorted(still_open.values())),
                    case=min(still_open, key=lambda k: still_open[k]),
                )
