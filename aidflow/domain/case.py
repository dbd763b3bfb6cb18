"""The student case (救助档案): one aggregate per student per programme year.

Public methods check the rules and raise a named error; the private ``@event``
methods only change state, so replaying history never re-checks a policy that
may since have changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from aidflow.domain import canonical
from aidflow.domain.base import AidAggregate
from aidflow.domain.clock import now
from aidflow.domain.errors import (
    ActionsOpen,
    CapExceeded,
    CaseNotOpen,
    FollowUpRequired,
    GapExceeded,
    InvalidInput,
    InvalidTransition,
    NeedNotFound,
    NoAccount,
    NoPaidGrant,
    OverDisbursement,
    ReverificationPending,
    SegregationOfDuties,
    TierExceeded,
    UnknownAction,
    UnknownDepartment,
    UnknownVoucher,
    VerificationRequired,
)
from aidflow.domain.money import format_yuan
from aidflow.domain.policy import Policy
from aidflow.domain.values import CaseStatus, derive_status


class StudentCase(AidAggregate):
    """A new student's assistance case (救助档案), from screening match to closing.

    The nested classes are the case's stored events: their ``TOPIC`` and fields are
    a permanent contract (docs/domain.md, "Versioning"). Each is applied by the
    ``@event`` method below it, whose body is how the event changes state.
    """

    TOPIC = "aidflow:StudentCase"
    class_version = 1

    class Event(AidAggregate.Event):
        TOPIC = "aidflow:StudentCase.Event"

    class Applied(Event, AidAggregate.Created):
        """A case opened by a screening match or the family's own application."""

        TOPIC = "aidflow:StudentCase.Applied"
        student_id: str
        name: str
        university: str
        family_category: str
        town: str
        year: int
        account: str
        source: str
        actor: str
        previous_case: UUID | None = None  # the same person's case of an earlier year; v0.3

    class Verified(Event):
        """The household visit (入户核实): income, tuition, the gap and the needs found."""

        TOPIC = "aidflow:StudentCase.Verified"
        income_fen: int
        tuition_fen: int
        gap_fen: int
        needs: list[str]
        visited_on: date | None
        note: str
        actor: str

    class Rejected(Event):
        TOPIC = "aidflow:StudentCase.Rejected"
        reason: str
        actor: str

    class GrantApproved(Event):
        """Temporary assistance (临时救助) approved and reserved in a government fund."""

        TOPIC = "aidflow:StudentCase.GrantApproved"
        amount_fen: int
        need: str
        fund_id: UUID
        actor: str
        ref: str = ""  # the approval form's number (审批编号); "" before v0.2
        policy_version: int = 0  # the policy register's version in force; 0 before v0.2

    class Disbursed(Event):
        """Money paid into the student's own account under a unique voucher (凭证)."""

        TOPIC = "aidflow:StudentCase.Disbursed"
        amount_fen: int
        voucher: str
        fund_id: UUID
        value_date: date | None
        actor: str

    class DisbursementReturned(Event):
        TOPIC = "aidflow:StudentCase.DisbursementReturned"
        voucher: str
        amount_fen: int
        fund_id: UUID
        reason: str
        value_date: date | None
        actor: str

    class SecondaryAidAllocated(Event):
        """Social-fund money (二次帮扶) for a student already paid a grant."""

        TOPIC = "aidflow:StudentCase.SecondaryAidAllocated"
        fund_id: UUID
        amount_fen: int
        reason: str
        actor: str
        ref: str = ""  # the decision's number; "" before v0.2

    class HardshipReported(Event):
        TOPIC = "aidflow:StudentCase.HardshipReported"
        kind: str
        severity: str
        detail: str
        actor: str

    class ReviewConvened(Event):
        """A multi-department consultation (多部门会商) and the actions it owes."""

        TOPIC = "aidflow:StudentCase.ReviewConvened"
        departments: list[str]
        actions: list[dict[str, str]]
        note: str
        actor: str
        policy_version: int = 0  # the policy that gave the actions' due dates; 0 before v0.3

    class ActionCompleted(Event):
        TOPIC = "aidflow:StudentCase.ActionCompleted"
        action_id: str
        department: str
        note: str
        actor: str

    class FollowedUp(Event):
        TOPIC = "aidflow:StudentCase.FollowedUp"
        study: str
        living: str
        hardship_trend: str
        actor: str

    class Closed(Event):
        TOPIC = "aidflow:StudentCase.Closed"
        reason: str
        releases: dict[str, int]
        actor: str
        policy_version: int = 0  # the policy whose close rules allowed it; 0 before v0.3

    @classmethod
    def open(
        cls,
        *,
        student_id: str,
        name: str,
        university: str,
        family_category: str,
        town: str,
        year: int,
        account: str,
        source: str,
        actor: str,
        previous_case: UUID | None = None,
    ) -> StudentCase:
        """Open a case from checked, canonical values (the constructor itself never checks,
        because replaying an old ``Applied`` must not re-judge it by today's rules)."""
        return cls(
            student_id=canonical.national_id(student_id),
            name=canonical.text(name, "name", max_length=canonical.MAX_NAME),
            university=canonical.text(university, "university", max_length=canonical.MAX_NAME),
            family_category=family_category,
            town=canonical.text(town, "town", max_length=canonical.MAX_NAME),
            year=year,
            account=canonical.account(account) if account.strip() else "",
            source=source,
            actor=canonical.actor(actor),
            previous_case=previous_case,
        )

    @event(Applied)
    def __init__(
        self,
        previous_case: UUID | None = None,  # before the ``*``: the library requires keywords
        *,
        student_id: str,
        name: str,
        university: str,
        family_category: str,
        town: str,
        year: int,
        account: str,
        source: str,
        actor: str,
    ) -> None:
        self.student_id = student_id
        self.name = name
        self.university = university
        self.family_category = family_category
        self.town = town
        self.year = year
        self.account = account
        self.source = source
        self.opened_by = actor
        self.verifiers: list[str] = []
        self.verified_once = False
        self.awaiting_verification = True
        self.needs: list[str] = []
        self.approved_fen = 0
        self.disbursed_fen = 0
        self.secondary_aid_fen = 0
        self.granted_by_fund: dict[str, int] = {}
        self.paid_by_fund: dict[str, int] = {}
        self.payments: dict[str, dict[str, Any]] = {}
        self.secondary_by_fund: dict[str, int] = {}
        self.hardships = 0
        self.reviews = 0
        self.actions: dict[str, dict[str, Any]] = {}
        self.follow_ups = 0
        self.rejected = False
        self.closed = False
        self.reason = ""
        # issue 12: the loop's rules
        self.previous_case = previous_case
        self.gap_fen = 0
        self.approved_since_visit = 0
        self.follow_up_due = False  # paid since the last follow-up

    # -- derived state -------------------------------------------------------------

    @property
    def status(self) -> CaseStatus:
        return derive_status(
            rejected=self.rejected,
            closed=self.closed,
            verified_once=self.verified_once,
            awaiting_verification=self.awaiting_verification,
            approved_fen=self.approved_fen,
            disbursed_fen=self.disbursed_fen,
        )

    @property
    def unpaid_by_fund(self) -> dict[str, int]:
        """Approved money still reserved in each fund and not yet paid out."""
        return {
            fund: granted - self.paid_by_fund.get(fund, 0)
            for fund, granted in self.granted_by_fund.items()
            if granted - self.paid_by_fund.get(fund, 0) > 0
        }

    @property
    def open_actions(self) -> list[str]:
        return [aid for aid, action in self.actions.items() if not action["done"]]

    # -- checks --------------------------------------------------------------------

    def check_open(self, doing: str) -> None:
        if self.rejected:
            raise CaseNotOpen(f"case {self.id} was rejected ({self.reason}); it cannot {doing}")
        if self.closed:
            raise CaseNotOpen(
                f"case {self.id} is closed ({self.reason}); it cannot {doing}. "
                "Report new hardship to reopen it"
            )

    # -- commands ------------------------------------------------------------------

    def verify(
        self,
        *,
        income_fen: int,
        tuition_fen: int,
        gap_fen: int,
        needs: list[str],
        visited_on: date | None,
        note: str,
        actor: str,
    ) -> None:
        """Record the household visit (入户核实)."""
        self.check_open("be verified")
        if not self.awaiting_verification:
            raise InvalidTransition(
                f"case {self.id} is already verified; report new hardship to verify it again"
            )
        for what, fen in (("income", income_fen), ("tuition", tuition_fen), ("gap", gap_fen)):
            canonical.measure(fen, what)
        if not needs:
            raise InvalidInput("verification must name at least one need category")
        self._verified(
            income_fen=income_fen,
            tuition_fen=tuition_fen,
            gap_fen=gap_fen,
            needs=sorted(set(needs)),
            visited_on=visited_on,
            note=canonical.text(note, "note", required=False),
            actor=canonical.actor(actor),
        )

    @event(Verified)
    def _verified(
        self,
        *,
        income_fen: int,
        tuition_fen: int,
        gap_fen: int,
        needs: list[str],
        visited_on: date | None,
        note: str,
        actor: str,
    ) -> None:
        self.verifiers.append(actor)
        self.verified_once = True
        self.awaiting_verification = False
        self.needs = list(needs)
        self.gap_fen = gap_fen
        self.approved_since_visit = 0

    def reject(self, *, reason: str, actor: str) -> None:
        """Refuse the application with a written reason; only before any money is approved."""
        self.check_open("be rejected")
        if self.approved_fen:
            raise InvalidTransition(
                f"case {self.id} already has {format_yuan(self.approved_fen)} yuan approved; "
                "close it instead, which releases what is unpaid"
            )
        self._rejected(
            reason=canonical.text(reason, "rejection reason"), actor=canonical.actor(actor)
        )

    @event(Rejected)
    def _rejected(self, *, reason: str, actor: str) -> None:
        self.rejected = True
        self.reason = reason

    def check_can_approve(
        self,
        *,
        amount_fen: int,
        actor: str,
        policy: Policy,
        need: str | None = None,
        roles: Iterable[str] | None = None,
    ) -> None:
        """Every rule an approval must meet under ``policy``. ``need`` and ``roles`` (the
        approver's roles now) are checked when given; a what-if replay has no roles."""
        canonical.amount(amount_fen, "grant amount")
        self.check_open("take a grant")
        if self.awaiting_verification:
            raise VerificationRequired(
                f"case {self.id} must be verified by a household visit before a grant is approved"
            )
        if any(canonical.same_actor(actor, verifier) for verifier in self.verifiers):
            raise SegregationOfDuties(
                f"{actor} verified case {self.id} and so may not approve its grant; "
                "another officer must approve"
            )
        if self.approved_fen + amount_fen > policy.cap_fen:
            raise CapExceeded(
                f"approving {format_yuan(amount_fen)} yuan would bring case {self.id} to "
                f"{format_yuan(self.approved_fen + amount_fen)} yuan, over the cap of "
                f"{format_yuan(policy.cap_fen)} yuan per programme year"
            )
        self._check_loop_rules(amount_fen=amount_fen, actor=actor, policy=policy, need=need)
        if roles is not None:
            limit = policy.approval_limit(roles)
            if self.approved_fen + amount_fen > limit:
                raise TierExceeded(
                    f"{actor} approves a case up to {format_yuan(limit)} yuan; approving "
                    f"{format_yuan(amount_fen)} yuan would bring case {self.id} to "
                    f"{format_yuan(self.approved_fen + amount_fen)} yuan: an approver of a "
                    "higher tier (policy approval-tiers) must approve it",
                    ids={"case_id": str(self.id)},
                )

    def _check_loop_rules(
        self, *, amount_fen: int, actor: str, policy: Policy, need: str | None
    ) -> None:
        if policy.need_rule and need is not None and need not in self.needs:
            raise NeedNotFound(
                f"a grant for {need} but the household visit of case {self.id} found only "
                f"{', '.join(self.needs) or 'no need'}; approve it for a need the visit found",
                ids={"case_id": str(self.id)},
            )
        if policy.gap_bound and self.approved_since_visit + amount_fen > self.gap_fen:
            raise GapExceeded(
                f"approving {format_yuan(amount_fen)} yuan would bring case {self.id} to "
                f"{format_yuan(self.approved_since_visit + amount_fen)} yuan since its household "
                f"visit, above the verified gap of {format_yuan(self.gap_fen)} yuan",
                ids={"case_id": str(self.id)},
            )

    def approve_grant(
        self,
        *,
        amount_fen: int,
        need: str,
        fund_id: UUID,
        actor: str,
        policy: Policy,
        ref: str = "",
        roles: Iterable[str] | None = None,
    ) -> None:
        """Approve temporary assistance (临时救助) paid from a government fund."""
        self.check_can_approve(
            amount_fen=amount_fen, actor=actor, policy=policy, need=need, roles=roles
        )
        self._grant_approved(
            amount_fen=amount_fen,
            need=need,
            fund_id=fund_id,
            actor=canonical.actor(actor),
            ref=canonical.document(ref, "decision reference") if ref else "",
            policy_version=policy.version,
        )

    @event(GrantApproved)
    def _grant_approved(
        self,
        *,
        amount_fen: int,
        need: str,
        fund_id: UUID,
        actor: str,
        ref: str = "",
        policy_version: int = 0,
    ) -> None:
        self.approved_fen += amount_fen
        self.approved_since_visit += amount_fen
        key = str(fund_id)
        self.granted_by_fund[key] = self.granted_by_fund.get(key, 0) + amount_fen

    def fund_for_payment(self, amount_fen: int) -> UUID:
        """The fund whose unpaid reservation covers a payment of ``amount_fen``."""
        canonical.amount(amount_fen, "payment amount")
        self.check_open("be paid")
        unpaid = self.unpaid_by_fund
        total_unpaid = sum(unpaid.values())
        if amount_fen > total_unpaid:
            raise OverDisbursement(
                f"paying {format_yuan(amount_fen)} yuan to case {self.id} would exceed what is "
                f"approved and unpaid ({format_yuan(total_unpaid)} yuan)"
            )
        for fund, remaining in unpaid.items():
            if remaining >= amount_fen:
                return UUID(fund)
        raise OverDisbursement(
            f"no single fund's approval covers {format_yuan(amount_fen)} yuan for case "
            f"{self.id}; pay each fund's approval with its own voucher"
        )

    def disburse(
        self, *, amount_fen: int, voucher: str, value_date: date | None, actor: str
    ) -> UUID:
        """Pay approved money straight into the student's own account; returns the fund."""
        fund_id = self.fund_for_payment(amount_fen)
        if not self.account.strip():
            raise NoAccount(
                f"case {self.id} has no bank account on record; payments go straight into the "
                "student's own account, so record one first"
            )
        self._disbursed(
            amount_fen=amount_fen,
            voucher=canonical.document(voucher, "voucher number"),
            fund_id=fund_id,
            value_date=value_date,
            actor=canonical.actor(actor),
        )
        return fund_id

    def payment(self, voucher: str) -> dict[str, Any] | None:
        """The payment made under ``voucher`` (compared in canonical form), if any."""
        return self.payments.get(canonical.document_key(voucher))

    @event(Disbursed)
    def _disbursed(
        self, *, amount_fen: int, voucher: str, fund_id: UUID, value_date: date | None, actor: str
    ) -> None:
        self.disbursed_fen += amount_fen
        self.follow_up_due = True
        key = str(fund_id)
        self.paid_by_fund[key] = self.paid_by_fund.get(key, 0) + amount_fen
        self.payments[canonical.document_key(voucher)] = {
            "voucher": voucher,
            "amount_fen": amount_fen,
            "fund_id": key,
            "returned": False,
        }

    def return_disbursement(
        self, *, voucher: str, reason: str, value_date: date | None, actor: str
    ) -> None:
        """The bank sent a payment back (wrong account, closed account).

        Refused on a closed case like every money event: report new hardship to
        reopen it first, so the returned money is handled in an open case.
        """
        self.check_open("record a returned payment")
        payment = self.payment(voucher)
        if payment is None:
            raise UnknownVoucher(f"case {self.id} was not paid with voucher {voucher}")
        if payment["returned"]:
            raise InvalidTransition(f"voucher {voucher} was already returned")
        self._disbursement_returned(
            voucher=payment["voucher"],
            amount_fen=payment["amount_fen"],
            fund_id=UUID(payment["fund_id"]),
            reason=canonical.text(reason, "return reason"),
            value_date=value_date,
            actor=canonical.actor(actor),
        )

    @event(DisbursementReturned)
    def _disbursement_returned(
        self,
        *,
        voucher: str,
        amount_fen: int,
        fund_id: UUID,
        reason: str,
        value_date: date | None,
        actor: str,
    ) -> None:
        self.disbursed_fen -= amount_fen
        key = str(fund_id)
        self.paid_by_fund[key] -= amount_fen
        self.payments[canonical.document_key(voucher)]["returned"] = True

    def check_can_receive_secondary_aid(self, amount_fen: int) -> None:
        canonical.amount(amount_fen, "secondary aid amount")
        self.check_open("take secondary aid")
        if self.disbursed_fen <= 0:
            raise NoPaidGrant(
                f"case {self.id} has not been paid temporary assistance yet; secondary aid "
                "only goes to students already paid a grant"
            )

    def allocate_secondary_aid(
        self, *, fund_id: UUID, amount_fen: int, reason: str, actor: str, ref: str = ""
    ) -> None:
        """Social-fund money (二次帮扶) for a paid student who still has heavy costs."""
        self.check_can_receive_secondary_aid(amount_fen)
        self._secondary_aid_allocated(
            fund_id=fund_id,
            amount_fen=amount_fen,
            reason=canonical.text(reason, "reason", required=False),
            actor=canonical.actor(actor),
            ref=canonical.document(ref, "decision reference") if ref else "",
        )

    @event(SecondaryAidAllocated)
    def _secondary_aid_allocated(
        self, *, fund_id: UUID, amount_fen: int, reason: str, actor: str, ref: str = ""
    ) -> None:
        self.secondary_aid_fen += amount_fen
        key = str(fund_id)
        self.secondary_by_fund[key] = self.secondary_by_fund.get(key, 0) + amount_fen

    def report_hardship(self, *, kind: str, severity: str, detail: str, actor: str) -> None:
        """New hardship after enrolment reopens the case for re-verification."""
        self._hardship_reported(
            kind=kind,
            severity=severity,
            detail=canonical.text(detail, "hardship detail"),
            actor=canonical.actor(actor),
        )

    @event(HardshipReported)
    def _hardship_reported(self, *, kind: str, severity: str, detail: str, actor: str) -> None:
        self.hardships += 1
        self.awaiting_verification = True
        self.rejected = False
        self.closed = False

    def convene_review(
        self,
        *,
        departments: list[str],
        actions: Sequence[tuple[str, str] | tuple[str, str, date | None]],
        note: str,
        actor: str,
        policy: Policy | None = None,
    ) -> list[str]:
        """Record a multi-department consultation (多部门会商); returns the new action ids.

        With ``policy``, every department must be on its list, and each action gets a due
        date: its own, else ``action_due_days`` after today.
        """
        if not self.hardships:
            raise InvalidTransition(
                f"case {self.id} has no reported hardship; a consultation follows a hardship report"
            )
        if not departments:
            raise InvalidInput("a consultation needs at least one department")
        present = list(dict.fromkeys(canonical.slug(d, "department") for d in departments))
        if policy is not None:
            unknown = [d for d in present if d not in policy.departments]
            if unknown:
                raise UnknownDepartment(
                    f"no department {', '.join(unknown)} in the policy; departments are "
                    f"{', '.join(policy.departments)} (an admin changes them with "
                    "`aidflow policy set departments ...`)"
                )
        items = []
        next_number = len(self.actions) + 1
        for offset, action in enumerate(actions):
            department, text = canonical.slug(action[0], "department"), action[1]
            due = action[2] if len(action) > 2 else None
            if department not in present:
                raise InvalidInput(
                    f"action for {department} but that department was not at the consultation"
                )
            item = {
                "action_id": f"A{next_number + offset}",
                "department": department,
                "text": canonical.text(text, "action text"),
            }
            if due is None and policy is not None:
                due = now().date() + timedelta(days=policy.action_due_days)
            if due is not None:
                item["due"] = due.isoformat()
            items.append(item)
        self._review_convened(
            departments=present,
            actions=items,
            note=canonical.text(note, "note", required=False),
            actor=canonical.actor(actor),
            policy_version=0 if policy is None else policy.version,
        )
        return [item["action_id"] for item in items]

    @event(ReviewConvened)
    def _review_convened(
        self,
        *,
        departments: list[str],
        actions: list[dict[str, str]],
        note: str,
        actor: str,
        policy_version: int = 0,
    ) -> None:
        self.reviews += 1
        for item in actions:
            self.actions[item["action_id"]] = {
                "department": item["department"],
                "text": item["text"],
                "done": False,
                "due": item.get("due", ""),
            }

    def complete_action(self, *, action_id: str, note: str, actor: str) -> None:
        """A department reports its referral or decision carried out (not on a closed case)."""
        self.check_open("record a completed action")
        action = self.actions.get(action_id)
        if action is None:
            known = ", ".join(self.actions) or "none"
            raise UnknownAction(f"case {self.id} has no action {action_id} (actions: {known})")
        if action["done"]:
            raise InvalidTransition(f"action {action_id} of case {self.id} is already done")
        self._action_completed(
            action_id=action_id,
            department=action["department"],
            note=canonical.text(note, "completion note"),
            actor=canonical.actor(actor),
        )

    @event(ActionCompleted)
    def _action_completed(self, *, action_id: str, department: str, note: str, actor: str) -> None:
        self.actions[action_id]["done"] = True

    def follow_up(self, *, study: str, living: str, hardship_trend: str, actor: str) -> None:
        """A follow-up visit: study progress, living conditions, how hardship develops."""
        if self.rejected:
            raise CaseNotOpen(f"case {self.id} was rejected; there is nobody to follow up")
        self.check_open("be followed up")
        self._followed_up(
            study=canonical.text(study, "study progress"),
            living=canonical.text(living, "living situation"),
            hardship_trend=hardship_trend,
            actor=canonical.actor(actor),
        )

    @event(FollowedUp)
    def _followed_up(self, *, study: str, living: str, hardship_trend: str, actor: str) -> None:
        self.follow_ups += 1
        self.follow_up_due = False

    def close(self, *, reason: str, actor: str, policy: Policy | None = None) -> dict[str, int]:
        """Close the case; approved money not yet paid goes back to its fund.

        Returns the fen to release per fund id, which the caller must release in the
        same save so that case and funds stay in step. Under a ``policy`` with
        ``strict_close``, the loop must be closed first (:meth:`check_can_close`).
        """
        self.check_open("be closed")
        if policy is not None and policy.strict_close:
            self.check_can_close()
        releases = self.unpaid_by_fund
        self._closed(
            reason=canonical.text(reason, "closing reason"),
            releases=releases,
            actor=canonical.actor(actor),
            policy_version=0 if policy is None else policy.version,
        )
        return releases

    def check_can_close(self) -> None:
        """Re-verified after new hardship, no action owed, followed up after the last payment."""
        ids = {"case_id": str(self.id)}
        if self.awaiting_verification and self.verified_once:
            raise ReverificationPending(
                f"case {self.id} was reopened by new hardship and not verified again; "
                "record the household visit before closing it",
                ids=ids,
            )
        if self.open_actions:
            raise ActionsOpen(
                f"case {self.id} still has consultation action(s) {', '.join(self.open_actions)} "
                "open; the departments must complete them before the case closes",
                ids=ids,
            )
        if self.follow_up_due:
            raise FollowUpRequired(
                f"case {self.id} was paid and not followed up since; record a follow-up "
                "(study, living, hardship) before closing it",
                ids=ids,
            )

    @event(Closed)
    def _closed(
        self, *, reason: str, releases: dict[str, int], actor: str, policy_version: int = 0
    ) -> None:
        self.closed = True
        self.reason = reason
        for fund, fen in releases.items():
            self.granted_by_fund[fund] -= fen
            self.approved_fen -= fen
            self.approved_since_visit = max(0, self.approved_since_visit - fen)
