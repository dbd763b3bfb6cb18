"""The state the stages of a case share, and the questions every stage asks of it.

Each stage (:mod:`.intake`, :mod:`.grants`, :mod:`.corrections`, :mod:`.money_loop`,
:mod:`.consultation`, :mod:`.personal_data`) is a class deriving from :class:`CaseState`, so all
of them are checked
against one declaration of the state that ``StudentCase.__init__`` and the stages' ``@event``
methods keep on the aggregate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from uuid import UUID

from aidflow.domain import canonical
from aidflow.domain.errors import CaseNotOpen, UnknownVoucher, said
from aidflow.domain.values import CaseStatus, derive_status


class CaseState:
    """What the stages of a student case read and change of its state, and the questions they
    ask of it (``StudentCase.__init__`` sets the rest: who the student is, where, which year)."""

    id: UUID
    name: str  # from ``Applied``, like the student's ID, university, town and year
    account: str  # the student's own, where payments go
    # intake
    verifiers: list[str]
    verified_once: bool
    awaiting_verification: bool
    needs: list[str]
    gap_fen: int
    rejected: bool
    rejected_by: str  # who rejected it: not the one who decides an appeal
    appeal_pending: bool
    closed: bool
    reason: str
    # grants and payments
    approved_fen: int
    approved_since_visit: int
    disbursed_fen: int
    granted_by_fund: dict[str, int]
    paid_by_fund: dict[str, int]
    payments: dict[str, dict[str, Any]]
    approvals: dict[str, dict[str, Any]]  # by decision reference: fund, amount, correction
    follow_up_due: bool  # paid since the last follow-up
    # the money loop (issue 12)
    bank: str
    pending_account: dict[str, str] | None
    account_suspect: bool  # a payment came back: the account must be corrected
    secondary_aid_fen: int
    secondary_by_fund: dict[str, int]
    secondary_granted_by_fund: dict[str, int]
    secondary_proposals: dict[str, dict[str, Any]]
    secondary_paid_fen: int
    # hardship, consultation, follow-up
    hardships: int
    reviews: int
    actions: dict[str, dict[str, Any]]
    follow_ups: int

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

    if TYPE_CHECKING:  # applied by the grants stage, recorded by the money loop's too
        _disbursement_returned: Callable[..., None]

    def payment(self, voucher: str) -> dict[str, Any] | None:
        """The payment made under ``voucher`` (compared in canonical form), if any."""
        return self.payments.get(canonical.document_key(voucher))

    def known_payment(self, voucher: str) -> dict[str, Any]:
        """The payment made under ``voucher``; a voucher this case was not paid with is refused."""
        payment = self.payment(voucher)
        if payment is None:
            raise UnknownVoucher(
                said("case {id} was not paid with voucher {voucher}", id=self.id, voucher=voucher)
            )
        return payment
