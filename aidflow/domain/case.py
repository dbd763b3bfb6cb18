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

from aidflow.domain import canonical, money
from aidflow.domain.base import AidAggregate
from aidflow.domain.clock import now
from aidflow.domain.errors import (
    AccountChangePending,
    ActionsOpen,
    CapExceeded,
    CaseNotOpen,
    ErasureRefused,
    FollowUpRequired,
    GapExceeded,
    InvalidInput,
    InvalidTransition,
    NeedNotFound,
    NoAccount,
    NoAccountChangePending,
    NoPaidGrant,
    OverDisbursement,
    PersonalDataGone,
    ReverificationPending,
    SecondaryAidUnpaid,
    SecondaryCapExceeded,
    SegregationOfDuties,
    TierExceeded,
    UnknownAction,
    UnknownDepartment,
    UnknownSecondaryAid,
    UnknownVoucher,
    VerificationRequired,
    said,
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
        PERSONAL = ("student_id", "name", "account")
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
        PERSONAL = ("account",)
        amount_fen: int
        voucher: str
        fund_id: UUID
        value_date: date | None
        actor: str
        account: str = ""  # the account the money was sent to; "" before v0.3
        listed: bool = False  # issued on a payment list (代发清单), so a statement must answer it
        use: str = "grant"  # "grant" or "secondary-aid" (secondary aid paid like a grant, v0.3)

    class DisbursementReturned(Event):
        TOPIC = "aidflow:StudentCase.DisbursementReturned"
        voucher: str
        amount_fen: int
        fund_id: UUID
        reason: str
        value_date: date | None
        actor: str
        was_confirmed: bool = False  # a statement had confirmed it paid before the return
        use: str = "grant"

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

    # -- the money loop (issue 12): accounts, confirmed payments, secondary aid as money ----

    class AccountSet(Event):
        """The student's own account recorded or corrected; after a payment it waits for a
        second person (``pending``) before money flows to it."""

        TOPIC = "aidflow:StudentCase.AccountSet"
        PERSONAL = ("account",)
        account: str
        bank: str
        reason: str
        pending: bool
        actor: str

    class AccountConfirmed(Event):
        """A second person confirmed a proposed account change (maker-checker)."""

        TOPIC = "aidflow:StudentCase.AccountConfirmed"
        PERSONAL = ("account",)
        account: str
        bank: str
        actor: str

    class DisbursementConfirmed(Event):
        """The bank's statement says the payment under ``voucher`` reached the account."""

        TOPIC = "aidflow:StudentCase.DisbursementConfirmed"
        voucher: str
        amount_fen: int
        fund_id: UUID
        value_date: date | None
        statement: str
        use: str
        actor: str

    class SecondaryAidProposed(Event):
        """Secondary aid proposed (by the donations officer); a second person approves it."""

        TOPIC = "aidflow:StudentCase.SecondaryAidProposed"
        fund_id: UUID
        amount_fen: int
        reason: str
        ref: str
        actor: str

    class SecondaryAidApproved(Event):
        """Secondary aid approved and reserved in its donation fund; paid through the list."""

        TOPIC = "aidflow:StudentCase.SecondaryAidApproved"
        ref: str
        fund_id: UUID
        amount_fen: int
        policy_version: int
        actor: str

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
        # the money loop (issue 12)
        self.bank = ""
        self.pending_account: dict[str, str] | None = None
        self.account_suspect = False  # a payment came back: the account must be corrected
        self.secondary_granted_by_fund: dict[str, int] = {}
        self.secondary_proposals: dict[str, dict[str, Any]] = {}
        self.secondary_paid_fen = 0
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
        """Approved money (grants and secondary aid) still reserved in each fund, not yet paid."""
        granted = {**self.granted_by_fund, **self.secondary_granted_by_fund}
        return {
            fund: total - self.paid_by_fund.get(fund, 0)
            for fund, total in granted.items()
            if total - self.paid_by_fund.get(fund, 0) > 0
        }

    @property
    def open_actions(self) -> list[str]:
        return [aid for aid, action in self.actions.items() if not action["done"]]

    # -- checks --------------------------------------------------------------------

    def check_open(self, doing: str) -> None:
        if self.rejected:
            raise CaseNotOpen(
                said(
                    "case {id} was rejected ({reason}); it cannot {doing}",
                    id=self.id,
                    reason=self.reason,
                    doing=doing,
                )
            )
        if self.closed:
            raise CaseNotOpen(
                said(
                    "case {id} is closed ({reason}); it cannot {doing}. Report new hardship to reopen it",
                    id=self.id,
                    reason=self.reason,
                    doing=doing,
                )
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
                said(
                    "case {id} is already verified; report new hardship to verify it again",
                    id=self.id,
                )
            )
        for what, fen in (("income", income_fen), ("tuition", tuition_fen), ("gap", gap_fen)):
            money.measure(fen, what)
        if not needs:
            raise InvalidInput(said("verification must name at least one need category"))
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
                said(
                    "case {id} already has {approved} yuan approved; close it instead, which releases what is unpaid",
                    id=self.id,
                    approved=format_yuan(self.approved_fen),
                )
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
        money.amount(amount_fen, "grant amount")
        self.check_open("take a grant")
        if self.awaiting_verification:
            raise VerificationRequired(
                said(
                    "case {id} must be verified by a household visit before a grant is approved",
                    id=self.id,
                )
            )
        if any(canonical.same_actor(actor, verifier) for verifier in self.verifiers):
            raise SegregationOfDuties(
                said(
                    "{actor} verified case {id} and so may not approve its grant; another officer must approve",
                    actor=actor,
                    id=self.id,
                )
            )
        if self.approved_fen + amount_fen > policy.cap_fen:
            raise CapExceeded(
                said(
                    "approving {amount} yuan would bring case {id} to {approved} yuan, over the cap of {cap} yuan per programme year",
                    amount=format_yuan(amount_fen),
                    id=self.id,
                    approved=format_yuan(self.approved_fen + amount_fen),
                    cap=format_yuan(policy.cap_fen),
                )
            )
        self._check_loop_rules(amount_fen=amount_fen, actor=actor, policy=policy, need=need)
        if roles is not None:
            limit = policy.approval_limit(roles)
            if self.approved_fen + amount_fen > limit:
                raise TierExceeded(
                    said(
                        "{actor} approves a case up to {limit} yuan; approving {amount} yuan would bring case {id} to {approved} yuan: an approver of a higher tier (policy approval-tiers) must approve it",
                        actor=actor,
                        limit=format_yuan(limit),
                        amount=format_yuan(amount_fen),
                        id=self.id,
                        approved=format_yuan(self.approved_fen + amount_fen),
                    ),
                    ids={"case_id": str(self.id)},
                )

    def _check_loop_rules(
        self, *, amount_fen: int, actor: str, policy: Policy, need: str | None
    ) -> None:
        if policy.need_rule and need is not None and need not in self.needs:
            raise NeedNotFound(
                said(
                    "a grant for {need} but the household visit of case {id} found only {needs}; approve it for a need the visit found",
                    need=need,
                    id=self.id,
                    needs=", ".join(self.needs) or "no need",
                ),
                ids={"case_id": str(self.id)},
            )
        if policy.gap_bound and self.approved_since_visit + amount_fen > self.gap_fen:
            raise GapExceeded(
                said(
                    "approving {amount} yuan would bring case {id} to {approved_since_visit} yuan since its household visit, above the verified gap of {gap} yuan",
                    amount=format_yuan(amount_fen),
                    id=self.id,
                    approved_since_visit=format_yuan(self.approved_since_visit + amount_fen),
                    gap=format_yuan(self.gap_fen),
                ),
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

    def fund_for_payment(self, amount_fen: int, fund_id: UUID | None = None) -> UUID:
        """The fund whose unpaid reservation covers a payment of ``amount_fen`` (``fund_id``'s,
        when a payment list pays one fund)."""
        money.amount(amount_fen, "payment amount")
        self.check_open("be paid")
        unpaid = self.unpaid_by_fund
        if fund_id is not None:
            unpaid = {k: v for k, v in unpaid.items() if k == str(fund_id)}
        total_unpaid = sum(unpaid.values())
        if amount_fen > total_unpaid:
            raise OverDisbursement(
                said(
                    "paying {amount} yuan to case {id} would exceed what is approved and unpaid ({total_unpaid} yuan)",
                    amount=format_yuan(amount_fen),
                    id=self.id,
                    total_unpaid=format_yuan(total_unpaid),
                )
            )
        for fund, remaining in unpaid.items():
            if remaining >= amount_fen:
                return UUID(fund)
        raise OverDisbursement(
            said(
                "no single fund's approval covers {amount} yuan for case {id}; pay each fund's approval with its own voucher",
                amount=format_yuan(amount_fen),
                id=self.id,
            )
        )

    def disburse(
        self,
        *,
        amount_fen: int,
        voucher: str,
        value_date: date | None,
        actor: str,
        listed: bool = False,
        fund: UUID | None = None,
    ) -> UUID:
        """Pay approved money straight into the student's own account; returns the fund."""
        fund_id = self.fund_for_payment(amount_fen, fund)
        self.check_payable()
        self._disbursed(
            amount_fen=amount_fen,
            voucher=canonical.document(voucher, "voucher number"),
            fund_id=fund_id,
            value_date=value_date,
            actor=canonical.actor(actor),
            account=self.account,
            listed=listed,
            use="secondary-aid" if str(fund_id) in self.secondary_granted_by_fund else "grant",
        )
        return fund_id

    def check_payable(self) -> None:
        """Money goes to the student's own account: one on record, and no change awaiting a
        second person."""
        if not self.account.strip():
            raise NoAccount(
                said(
                    "case {id} has no bank account on record; payments go straight into the student's own account: record one with `aidflow case set-account`",
                    id=self.id,
                ),
                ids={"case_id": str(self.id)},
            )
        if self.pending_account is not None:
            raise AccountChangePending(
                said(
                    "case {id} has an account change awaiting a second person's confirmation (`aidflow case confirm-account`); no money is paid until it is confirmed",
                    id=self.id,
                ),
                ids={"case_id": str(self.id)},
            )

    def payment(self, voucher: str) -> dict[str, Any] | None:
        """The payment made under ``voucher`` (compared in canonical form), if any."""
        return self.payments.get(canonical.document_key(voucher))

    @event(Disbursed)
    def _disbursed(
        self,
        *,
        amount_fen: int,
        voucher: str,
        fund_id: UUID,
        value_date: date | None,
        actor: str,
        account: str = "",
        listed: bool = False,
        use: str = "grant",
    ) -> None:
        if use == "secondary-aid":
            self.secondary_paid_fen += amount_fen
        else:
            self.disbursed_fen += amount_fen
        self.follow_up_due = True
        key = str(fund_id)
        self.paid_by_fund[key] = self.paid_by_fund.get(key, 0) + amount_fen
        self.payments[canonical.document_key(voucher)] = {
            "voucher": voucher,
            "amount_fen": amount_fen,
            "fund_id": key,
            "returned": False,
            "confirmed": False,
            "account": account,
            "listed": listed,
            "listed_on": value_date,
            "use": use,
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
            raise UnknownVoucher(
                said("case {id} was not paid with voucher {voucher}", id=self.id, voucher=voucher)
            )
        if payment["returned"]:
            raise InvalidTransition(said("voucher {voucher} was already returned", voucher=voucher))
        self._disbursement_returned(
            voucher=payment["voucher"],
            amount_fen=payment["amount_fen"],
            fund_id=UUID(payment["fund_id"]),
            reason=canonical.text(reason, "return reason"),
            value_date=value_date,
            actor=canonical.actor(actor),
            was_confirmed=bool(payment.get("confirmed")),
            use=str(payment.get("use", "grant")),
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
        was_confirmed: bool = False,
        use: str = "grant",
    ) -> None:
        if use == "secondary-aid":
            self.secondary_paid_fen -= amount_fen
        else:
            self.disbursed_fen -= amount_fen
        key = str(fund_id)
        self.paid_by_fund[key] -= amount_fen
        payment = self.payments[canonical.document_key(voucher)]
        payment["returned"] = True
        payment["confirmed"] = False
        self.account_suspect = True

    def check_can_receive_secondary_aid(self, amount_fen: int) -> None:
        money.amount(amount_fen, "secondary aid amount")
        self.check_open("take secondary aid")
        if self.disbursed_fen <= 0:
            raise NoPaidGrant(
                said(
                    "case {id} has not been paid temporary assistance yet; secondary aid only goes to students already paid a grant",
                    id=self.id,
                )
            )

    def allocate_secondary_aid(
        self, *, fund_id: UUID, amount_fen: int, reason: str, actor: str, ref: str = ""
    ) -> None:
        """The v0.1 one-step allocation, kept for replaying old stores' events and for tests of
        them; new decisions go through :meth:`propose_secondary_aid` and
        :meth:`approve_secondary_aid`."""
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
                said(
                    "case {id} has no reported hardship; a consultation follows a hardship report",
                    id=self.id,
                )
            )
        if not departments:
            raise InvalidInput(said("a consultation needs at least one department"))
        present = list(dict.fromkeys(canonical.slug(d, "department") for d in departments))
        if policy is not None:
            unknown = [d for d in present if d not in policy.departments]
            if unknown:
                raise UnknownDepartment(
                    said(
                        "no department {unknown} in the policy; departments are {departments} (an admin changes them with `aidflow policy set departments ...`)",
                        unknown=", ".join(unknown),
                        departments=", ".join(policy.departments),
                    )
                )
        items = []
        next_number = len(self.actions) + 1
        for offset, action in enumerate(actions):
            department, text = canonical.slug(action[0], "department"), action[1]
            due = action[2] if len(action) > 2 else None
            if department not in present:
                raise InvalidInput(
                    said(
                        "action for {department} but that department was not at the consultation",
                        department=department,
                    )
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
            raise UnknownAction(
                said(
                    "case {id} has no action {action_id} (actions: {known})",
                    id=self.id,
                    action_id=action_id,
                    known=known,
                )
            )
        if action["done"]:
            raise InvalidTransition(
                said(
                    "action {action_id} of case {id} is already done",
                    action_id=action_id,
                    id=self.id,
                )
            )
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
            raise CaseNotOpen(
                said("case {id} was rejected; there is nobody to follow up", id=self.id)
            )
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
        unpaid_secondary = {
            f: fen for f, fen in self.unpaid_by_fund.items() if f in self.secondary_granted_by_fund
        }
        if unpaid_secondary:
            raise SecondaryAidUnpaid(
                said(
                    "case {id} has {amount} yuan of approved secondary aid not yet paid; "
                    "pay it through the payment list first",
                    id=self.id,
                    amount=format_yuan(sum(unpaid_secondary.values())),
                ),
                ids={"case_id": str(self.id)},
            )
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
                said(
                    "case {id} was reopened by new hardship and not verified again; record the household visit before closing it",
                    id=self.id,
                ),
                ids=ids,
            )
        if self.open_actions:
            raise ActionsOpen(
                said(
                    "case {id} still has consultation action(s) {open_actions} open; the departments must complete them before the case closes",
                    id=self.id,
                    open_actions=", ".join(self.open_actions),
                ),
                ids=ids,
            )
        if self.follow_up_due:
            raise FollowUpRequired(
                said(
                    "case {id} was paid and not followed up since; record a follow-up (study, living, hardship) before closing it",
                    id=self.id,
                ),
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

    # -- issue 11: personal data revealed (audited) and erased -----------------------

    class PersonalDataRevealed(Event):
        """Someone saw the student's personal data unmasked: who, which fields, why."""

        TOPIC = "aidflow:StudentCase.PersonalDataRevealed"
        fields: list[str]
        reason: str
        actor: str

    class PersonalDataErased(Event):
        """The student's data key was destroyed: their name, ID and account in every
        stored event of ``cases`` (their cases of every year) can no longer be read."""

        TOPIC = "aidflow:StudentCase.PersonalDataErased"
        reason: str
        cases: list[str]
        actor: str

    @property
    def personal_data_erased(self) -> bool:
        return bool(getattr(self, "erased", False)) or getattr(self.name, "erased", False)

    def reveal(self, *, fields: list[str], reason: str, actor: str) -> None:
        """Record that ``actor`` sees ``fields`` unmasked, for ``reason`` (required)."""
        if self.personal_data_erased:
            raise PersonalDataGone(
                said(
                    "the personal data of case {id} was erased; there is nothing to reveal",
                    id=self.id,
                ),
                ids={"case_id": str(self.id)},
            )
        self._revealed(
            fields=list(fields),
            reason=canonical.text(reason, "reason for revealing"),
            actor=canonical.actor(actor),
        )

    @event(PersonalDataRevealed)
    def _revealed(self, *, fields: list[str], reason: str, actor: str) -> None:
        pass

    def check_erasable(self, *, ended_at: Any, now: Any, retention_years: int) -> None:
        """Erasure waits until the case is over, nothing is owed, and retention has passed."""
        ids = {"case_id": str(self.id)}
        if self.personal_data_erased:
            raise ErasureRefused(
                said("the personal data of case {id} is erased already", id=self.id), ids=ids
            )
        if not (self.closed or self.rejected) or ended_at is None:
            raise ErasureRefused(
                said(
                    "case {id} is still open; personal data is kept until the case is closed or rejected and its retention period has passed",
                    id=self.id,
                ),
                ids=ids,
            )
        if self.unpaid_by_fund:
            raise ErasureRefused(
                said(
                    "case {id} still owes approved money ({unpaid} yuan unpaid)",
                    id=self.id,
                    unpaid=format_yuan(sum(self.unpaid_by_fund.values())),
                ),
                ids=ids,
            )
        try:
            until = ended_at.replace(year=ended_at.year + retention_years)
        except ValueError:  # 29 February
            until = ended_at.replace(year=ended_at.year + retention_years, day=28)
        if now < until:
            raise ErasureRefused(
                said(
                    "case {id} is within its retention period ({years} years after it ended, "
                    "until {until}); see `aidflow policy set retention-years`",
                    id=self.id,
                    years=retention_years,
                    until=until.date().isoformat(),
                ),
                ids=ids,
            )

    def erase_personal_data(self, *, reason: str, cases: list[str], actor: str) -> None:
        self._erased(
            reason=canonical.text(reason, "reason for erasing"),
            cases=sorted(cases),
            actor=canonical.actor(actor),
        )

    @event(PersonalDataErased)
    def _erased(self, *, reason: str, cases: list[str], actor: str) -> None:
        self.erased = True

    # -- the money loop (issue 12) ---------------------------------------------------

    def set_account(self, *, account: str, bank: str, reason: str, actor: str) -> bool:
        """Record or correct the student's own account; returns whether it waits for a second
        person. Before any payment it takes effect at once; after one (the money may have gone
        to the old account, or come back from it) a different person must confirm it. The same
        account again, with nothing to correct and nothing pending, records nothing."""
        self.check_open("change its account")
        number = canonical.account(account)
        if number == self.account and self.pending_account is None and not self.account_suspect:
            return False
        pending = bool(self.payments)
        self._account_set(
            account=number,
            bank=canonical.text(bank, "bank", required=False, max_length=canonical.MAX_NAME),
            reason=canonical.text(reason, "reason"),
            pending=pending,
            actor=canonical.actor(actor),
        )
        return pending

    @event(AccountSet)
    def _account_set(
        self, *, account: str, bank: str, reason: str, pending: bool, actor: str
    ) -> None:
        if pending:
            self.pending_account = {"account": account, "bank": bank, "by": actor}
        else:
            self.account, self.bank = account, bank
            self.pending_account = None
            self.account_suspect = False

    def confirm_account(self, *, actor: str, account: str = "") -> None:
        """The second person confirms the proposed account (re-typed from the form, if given)."""
        self.check_open("change its account")
        pending = self.pending_account
        if pending is None:
            raise NoAccountChangePending(
                said("case {id} has no account change awaiting confirmation", id=self.id),
                ids={"case_id": str(self.id)},
            )
        if account.strip() and canonical.account(account) != pending["account"]:
            raise NoAccountChangePending(
                said(
                    "the account typed is not the one proposed for case {id}; check the form (the proposal stays pending)",
                    id=self.id,
                ),
                ids={"case_id": str(self.id)},
            )
        if canonical.same_actor(actor, pending["by"]):
            raise SegregationOfDuties(
                said(
                    "{actor} proposed this account change for case {id}; a different person must confirm it",
                    actor=actor,
                    id=self.id,
                ),
                ids={"case_id": str(self.id)},
            )
        self._account_confirmed(
            account=pending["account"], bank=pending["bank"], actor=canonical.actor(actor)
        )

    @event(AccountConfirmed)
    def _account_confirmed(self, *, account: str, bank: str, actor: str) -> None:
        self.account, self.bank = account, bank
        self.pending_account = None
        self.account_suspect = False

    def payable_lines(self, fund_id: UUID) -> int:
        """Fen approved on ``fund_id`` and not yet paid (what the next payment list carries)."""
        return self.unpaid_by_fund.get(str(fund_id), 0)

    def outstanding_listed(self, fund_id: UUID) -> list[dict[str, Any]]:
        """Payments issued on a list for ``fund_id`` that no statement has settled yet."""
        return [
            p
            for p in self.payments.values()
            if p.get("listed")
            and p["fund_id"] == str(fund_id)
            and not p["returned"]
            and not p.get("confirmed")
        ]

    def confirm_payment(
        self, *, voucher: str, value_date: date | None, statement: str, actor: str
    ) -> None:
        """The bank's statement shows the payment under ``voucher`` paid (once)."""
        payment = self.payment(voucher)
        if payment is None:
            raise UnknownVoucher(
                said("case {id} was not paid with voucher {voucher}", id=self.id, voucher=voucher)
            )
        if payment["returned"] or payment.get("confirmed"):
            raise InvalidTransition(said("voucher {voucher} is already settled", voucher=voucher))
        self._disbursement_confirmed(
            voucher=payment["voucher"],
            amount_fen=payment["amount_fen"],
            fund_id=UUID(payment["fund_id"]),
            value_date=value_date,
            statement=statement,
            use=str(payment.get("use", "grant")),
            actor=canonical.actor(actor),
        )

    @event(DisbursementConfirmed)
    def _disbursement_confirmed(
        self,
        *,
        voucher: str,
        amount_fen: int,
        fund_id: UUID,
        value_date: date | None,
        statement: str,
        use: str,
        actor: str,
    ) -> None:
        self.payments[canonical.document_key(voucher)]["confirmed"] = True

    def propose_secondary_aid(
        self, *, fund_id: UUID, amount_fen: int, reason: str, actor: str, ref: str, policy: Policy
    ) -> None:
        """Secondary aid (二次帮扶) proposed: checked now, approved by a different person."""
        self.check_can_receive_secondary_aid(amount_fen)
        self.check_secondary_cap(amount_fen, policy)
        self._secondary_aid_proposed(
            fund_id=fund_id,
            amount_fen=amount_fen,
            reason=canonical.text(reason, "reason", required=False),
            ref=canonical.document(ref, "decision reference"),
            actor=canonical.actor(actor),
        )

    def check_secondary_cap(self, amount_fen: int, policy: Policy) -> None:
        total = self.secondary_aid_fen + amount_fen
        if total > policy.secondary_cap_fen:
            raise SecondaryCapExceeded(
                said(
                    "secondary aid of {amount} yuan would bring case {id} to {total} yuan, over the cap of {secondary_cap} yuan per programme year",
                    amount=format_yuan(amount_fen),
                    id=self.id,
                    total=format_yuan(total),
                    secondary_cap=format_yuan(policy.secondary_cap_fen),
                ),
                ids={"case_id": str(self.id)},
            )

    @event(SecondaryAidProposed)
    def _secondary_aid_proposed(
        self, *, fund_id: UUID, amount_fen: int, reason: str, ref: str, actor: str
    ) -> None:
        self.secondary_proposals[canonical.document_key(ref)] = {
            "ref": ref,
            "fund_id": str(fund_id),
            "amount_fen": amount_fen,
            "by": actor,
            "approved": False,
        }

    def secondary_proposal(self, ref: str) -> dict[str, Any]:
        proposal = self.secondary_proposals.get(canonical.document_key(ref))
        if proposal is None:
            raise UnknownSecondaryAid(
                said("case {id} has no secondary aid proposed under {ref}", id=self.id, ref=ref),
                ids={"case_id": str(self.id), "ref": ref},
            )
        return proposal

    def approve_secondary_aid(self, *, ref: str, actor: str, policy: Policy) -> dict[str, Any]:
        """A second person approves proposed secondary aid; returns the proposal (its fund and
        amount), which the caller reserves in the donation fund in the same save."""
        proposal = self.secondary_proposal(ref)
        if proposal["approved"]:
            raise InvalidTransition(
                said("secondary aid {ref} is already approved", ref=proposal["ref"])
            )
        self.check_can_receive_secondary_aid(proposal["amount_fen"])
        if canonical.same_actor(actor, proposal["by"]):
            raise SegregationOfDuties(
                said(
                    "{actor} proposed secondary aid {ref} for case {id}; a different person must approve it",
                    actor=actor,
                    ref=proposal["ref"],
                    id=self.id,
                ),
                ids={"case_id": str(self.id)},
            )
        self.check_secondary_cap(proposal["amount_fen"], policy)
        self._secondary_aid_approved(
            ref=proposal["ref"],
            fund_id=UUID(proposal["fund_id"]),
            amount_fen=proposal["amount_fen"],
            policy_version=policy.version,
            actor=canonical.actor(actor),
        )
        return proposal

    @event(SecondaryAidApproved)
    def _secondary_aid_approved(
        self, *, ref: str, fund_id: UUID, amount_fen: int, policy_version: int, actor: str
    ) -> None:
        self.secondary_proposals[canonical.document_key(ref)]["approved"] = True
        self.secondary_aid_fen += amount_fen
        key = str(fund_id)
        self.secondary_granted_by_fund[key] = (
            self.secondary_granted_by_fund.get(key, 0) + amount_fen
        )
        self.secondary_by_fund[key] = self.secondary_by_fund.get(key, 0) + amount_fen
