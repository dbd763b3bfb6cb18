"""Grants and payments: temporary assistance (临时救助) approved, paid into the student's own
account under a unique voucher, and returned by the bank.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from uuid import UUID

from eventsourcing.domain import event

from aidflow.domain import canonical, money
from aidflow.domain.case.events import (
    Disbursed,
    DisbursementReturned,
    GrantApproved,
)
from aidflow.domain.case.state import CaseState
from aidflow.domain.errors import (
    AccountChangePending,
    CapExceeded,
    GapExceeded,
    InvalidTransition,
    NeedNotFound,
    NoAccount,
    OverDisbursement,
    SegregationOfDuties,
    TierExceeded,
    VerificationRequired,
    said,
)
from aidflow.domain.money import format_yuan
from aidflow.domain.policy import Policy


class Grants(CaseState):
    """Approve a grant under the policy in force, pay it, record the bank sending it back."""

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
        self._check_loop_rules(amount_fen=amount_fen, policy=policy, need=need)
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

    def _check_loop_rules(self, *, amount_fen: int, policy: Policy, need: str | None) -> None:
        if policy.need_rule and need is not None and need not in self.needs:
            raise NeedNotFound(
                said(
                    "a grant for {need} but the household visit of case {id} found only {needs}; approve it for a need the visit found",
                    need=need,
                    id=self.id,
                    needs=", ".join(self.needs),  # never empty: verify refuses no needs
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
        if ref:
            self.approvals[canonical.document_key(ref)] = {
                "ref": ref,
                "fund_id": key,
                "amount_fen": amount_fen,
                "correction": None,
            }

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
            "by": actor,
            "disputed": "",
        }

    def return_disbursement(
        self, *, voucher: str, reason: str, value_date: date | None, actor: str
    ) -> None:
        """The bank sent a payment back (wrong account, closed account).

        Refused on a closed case like every money event: report new hardship to
        reopen it first, so the returned money is handled in an open case.
        """
        self.check_open("record a returned payment")
        payment = self.known_payment(voucher)
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
            use=str(payment["use"]),  # every payment kept records its use
            resolved=False,
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
        resolved: bool = False,
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
        payment["disputed"] = ""
        self.account_suspect = True
