"""The money loop (issue 12): the student's account kept by two people, payments confirmed by
the bank's statement, and secondary aid (二次帮扶) proposed by one person, approved by another.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from aidflow.domain import canonical, money
from aidflow.domain.case.events import (
    AccountConfirmed,
    AccountSet,
    DisbursementConfirmed,
    DisbursementDisputed,
    PaymentReissued,
    SecondaryAidAllocated,
    SecondaryAidApproved,
    SecondaryAidProposed,
)
from aidflow.domain.case.state import CaseState
from aidflow.domain.errors import (
    InvalidTransition,
    NoAccountChangePending,
    NoPaidGrant,
    NothingToReissue,
    NotInDispute,
    SecondaryCapExceeded,
    SegregationOfDuties,
    UnknownSecondaryAid,
    said,
)
from aidflow.domain.money import format_yuan
from aidflow.domain.policy import Policy
from aidflow.domain.values import Settlement


class MoneyLoop(CaseState):
    """Accounts, confirmed payments and secondary aid: money reaches the student, checked twice."""

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
            and not p.get("disputed")
        ]

    def confirm_payment(
        self, *, voucher: str, value_date: date | None, statement: str, actor: str
    ) -> None:
        """The bank's statement shows the payment under ``voucher`` paid (once)."""
        payment = self.unsettled_payment(voucher)
        self._disbursement_confirmed(
            voucher=payment["voucher"],
            amount_fen=payment["amount_fen"],
            fund_id=UUID(payment["fund_id"]),
            value_date=value_date,
            statement=statement,
            use=str(payment["use"]),  # every payment kept records its use
            actor=canonical.actor(actor),
            reason="",
            resolved=False,
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
        reason: str = "",
        resolved: bool = False,
    ) -> None:
        payment = self.payments[canonical.document_key(voucher)]
        payment["confirmed"] = True
        payment["disputed"] = ""

    # -- disputed and returned payments, settled by a second person (issue 23) ------------

    def unsettled_payment(self, voucher: str) -> dict[str, Any]:
        """The payment under ``voucher``, neither confirmed nor returned yet."""
        payment = self.known_payment(voucher)
        if payment["returned"] or payment.get("confirmed"):
            raise InvalidTransition(
                said("voucher {voucher} is already settled", voucher=payment["voucher"])
            )
        return payment

    def dispute_payment(
        self, *, voucher: str, kind: str, bank_amount_fen: int, statement: str, actor: str
    ) -> None:
        """A statement line disagrees with ``voucher``: the payment is held (never listed
        again) until :meth:`resolve_payment`. Recorded once per voucher."""
        payment = self.unsettled_payment(voucher)
        if payment.get("disputed"):
            return
        self._disbursement_disputed(
            voucher=payment["voucher"],
            amount_fen=payment["amount_fen"],
            fund_id=UUID(payment["fund_id"]),
            kind=kind,
            bank_amount_fen=bank_amount_fen,
            statement=statement,
            actor=canonical.actor(actor),
        )

    @event(DisbursementDisputed)
    def _disbursement_disputed(
        self,
        *,
        voucher: str,
        amount_fen: int,
        fund_id: UUID,
        kind: str,
        bank_amount_fen: int,
        statement: str,
        actor: str,
    ) -> None:
        self.payments[canonical.document_key(voucher)]["disputed"] = kind

    def check_second_person(self, payment: dict[str, Any], actor: str, *, reissue: bool) -> None:
        """Whoever issued a payment may not settle or reissue it: a second person looks."""
        if not canonical.same_actor(actor, str(payment.get("by", ""))):
            return
        values = {"actor": actor, "voucher": payment["voucher"]}
        raise SegregationOfDuties(
            said(
                "{actor} issued voucher {voucher}; a different cashier or an approver must decide to issue it again",
                **values,
            )
            if reissue
            else said(
                "{actor} issued voucher {voucher}; a different cashier or an approver must settle its dispute",
                **values,
            ),
            ids={"case_id": str(self.id), "voucher": str(payment["voucher"])},
        )

    def resolve_payment(
        self, *, voucher: str, outcome: Settlement, reason: str, value_date: date | None, actor: str
    ) -> dict[str, Any]:
        """Settle a disputed payment by hand: the bank paid it (confirmed at the voucher's
        amount) or it came back (returned: the approval is payable again). Returns the
        payment."""
        payment = self.unsettled_payment(voucher)
        if not payment.get("disputed"):
            raise NotInDispute(
                said(
                    "voucher {voucher} is not in dispute; the bank's statement settles it",
                    voucher=payment["voucher"],
                ),
                ids={"case_id": str(self.id), "voucher": str(payment["voucher"])},
            )
        self.check_second_person(payment, actor, reissue=False)
        why = canonical.text(reason, "reason")
        common = {
            "voucher": payment["voucher"],
            "amount_fen": payment["amount_fen"],
            "fund_id": UUID(payment["fund_id"]),
            "value_date": value_date,
            "actor": canonical.actor(actor),
            "use": str(payment["use"]),
            "resolved": True,
        }
        if outcome is Settlement.PAID:
            self._disbursement_confirmed(statement="", reason=why, **common)
        else:
            self.check_open("record a returned payment")
            self._disbursement_returned(reason=why, was_confirmed=False, **common)
        return payment

    def reissue_payment(self, *, voucher: str, reason: str, actor: str) -> dict[str, Any]:
        """Pay a returned payment again to the same account (the bank cleared a name
        mismatch): the hold on the account is lifted with no account change; the next payment
        list carries the money under a new voucher. Returns the payment."""
        self.check_open("be paid")
        payment = self.known_payment(voucher)
        if not payment["returned"] or not self.account_suspect or payment.get("reissued"):
            raise NothingToReissue(
                said(
                    "voucher {voucher} of case {id} is not a returned payment held for its account; nothing to issue again",
                    voucher=payment["voucher"],
                    id=self.id,
                ),
                ids={"case_id": str(self.id), "voucher": str(payment["voucher"])},
            )
        self.check_second_person(payment, actor, reissue=True)
        self._payment_reissued(
            voucher=payment["voucher"],
            amount_fen=payment["amount_fen"],
            fund_id=UUID(payment["fund_id"]),
            reason=canonical.text(reason, "reason"),
            actor=canonical.actor(actor),
        )
        return payment

    @event(PaymentReissued)
    def _payment_reissued(
        self, *, voucher: str, amount_fen: int, fund_id: UUID, reason: str, actor: str
    ) -> None:
        self.payments[canonical.document_key(voucher)]["reissued"] = True
        self.account_suspect = False

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
