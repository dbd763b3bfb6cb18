"""Corrections are events, never edits (issue 23): a grant approval for the wrong amount, or
one the student declined, is reduced for its unpaid part, proposed by one approver and
confirmed by another; the fund's reservation is released in the same save."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from aidflow.domain import canonical
from aidflow.domain.case.events import ApprovalCorrected, ApprovalCorrectionProposed, YearClosed
from aidflow.domain.case.state import CaseState
from aidflow.domain.errors import (
    CorrectionExceedsUnpaid,
    InvalidTransition,
    NoCorrectionPending,
    SegregationOfDuties,
    UnknownApproval,
    said,
)
from aidflow.domain.money import format_yuan


class Corrections(CaseState):
    """An approval's unpaid part taken off by two people: never an edit of what was recorded."""

    def approval(self, ref: str) -> dict[str, Any]:
        """The grant approval recorded under ``ref``."""
        found = self.approvals.get(canonical.document_key(ref))
        if found is None:
            raise UnknownApproval(
                said("case {id} has no grant approval under {ref}", id=self.id, ref=ref),
                ids={"case_id": str(self.id), "ref": ref},
            )
        return found

    def correctable_fen(self, approval: dict[str, Any]) -> int:
        """What of an approval can still be taken off: its unpaid part (its amount, at most
        what its fund holds unpaid for this case)."""
        return min(int(approval["amount_fen"]), self.unpaid_by_fund.get(approval["fund_id"], 0))

    def _check_correctable(self, approval: dict[str, Any], amount_fen: int) -> None:
        unpaid = self.correctable_fen(approval)
        if not 0 < amount_fen <= unpaid:
            raise CorrectionExceedsUnpaid(
                said(
                    "only the unpaid part of approval {ref} can be corrected ({unpaid} yuan), not {amount} yuan; paid money comes back by a return",
                    ref=approval["ref"],
                    unpaid=format_yuan(unpaid),
                    amount=format_yuan(amount_fen),
                ),
                ids={"case_id": str(self.id), "ref": str(approval["ref"])},
            )

    def propose_correction(
        self, *, ref: str, amount_fen: int | None, reason: str, actor: str
    ) -> tuple[int, bool]:
        """Propose taking ``amount_fen`` (all of its unpaid part when None: a cancellation) off
        approval ``ref``; a different person confirms it. Returns the amount and whether it
        was recorded now (the same proposal again is a retry and records nothing)."""
        self.check_open("correct an approval")
        approval = self.approval(ref)
        amount = self.correctable_fen(approval) if amount_fen is None else amount_fen
        self._check_correctable(approval, amount)
        pending = approval["correction"]
        if pending is not None:
            if pending["amount_fen"] == amount and canonical.same_actor(pending["by"], actor):
                return amount, False
            raise InvalidTransition(
                said(
                    "a correction of approval {ref} awaits a second person's confirmation (`aidflow case confirm-correction`)",
                    ref=approval["ref"],
                )
            )
        self._approval_correction_proposed(
            ref=approval["ref"],
            amount_fen=amount,
            reason=canonical.text(reason, "reason"),
            actor=canonical.actor(actor),
        )
        return amount, True

    @event(ApprovalCorrectionProposed)
    def _approval_correction_proposed(
        self, *, ref: str, amount_fen: int, reason: str, actor: str
    ) -> None:
        self.approvals[canonical.document_key(ref)]["correction"] = {
            "amount_fen": amount_fen,
            "reason": reason,
            "by": actor,
        }

    def confirm_correction(self, *, ref: str, actor: str) -> tuple[UUID, int]:
        """A different person confirms the proposed correction: returns the fund and the
        amount, which the caller releases from the fund in the same save."""
        self.check_open("correct an approval")
        approval = self.approval(ref)
        pending = approval["correction"]
        if pending is None:
            raise NoCorrectionPending(
                said("approval {ref} has no correction awaiting confirmation", ref=approval["ref"]),
                ids={"case_id": str(self.id), "ref": str(approval["ref"])},
            )
        if canonical.same_actor(actor, pending["by"]):
            raise SegregationOfDuties(
                said(
                    "{actor} proposed this correction of approval {ref}; a different person must confirm it",
                    actor=actor,
                    ref=approval["ref"],
                ),
                ids={"case_id": str(self.id)},
            )
        self._check_correctable(approval, pending["amount_fen"])  # paid since? then no
        self._approval_corrected(
            ref=approval["ref"],
            fund_id=UUID(approval["fund_id"]),
            amount_fen=pending["amount_fen"],
            reason=pending["reason"],
            proposed_by=pending["by"],
            actor=canonical.actor(actor),
        )
        return UUID(approval["fund_id"]), int(pending["amount_fen"])

    @event(ApprovalCorrected)
    def _approval_corrected(
        self,
        *,
        ref: str,
        fund_id: UUID,
        amount_fen: int,
        reason: str,
        proposed_by: str,
        actor: str,
    ) -> None:
        approval = self.approvals[canonical.document_key(ref)]
        approval["amount_fen"] -= amount_fen
        approval["correction"] = None
        self.approved_fen -= amount_fen
        self.approved_since_visit = max(0, self.approved_since_visit - amount_fen)
        self.granted_by_fund[str(fund_id)] -= amount_fen

    def release_at_year_close(self, *, year: int, actor: str) -> dict[str, int]:
        """The programme year closed: what is approved and unpaid goes back to its funds
        (returned per fund id, which the caller releases in the same save); nothing when all
        is paid. A closed or rejected case keeps nothing reserved, so it gives nothing."""
        unpaid = self.unpaid_by_fund
        if unpaid:
            self._year_closed(
                year=year,
                releases={
                    f: n for f, n in unpaid.items() if f not in self.secondary_granted_by_fund
                },
                secondary_releases={
                    f: n for f, n in unpaid.items() if f in self.secondary_granted_by_fund
                },
                actor=canonical.actor(actor),
            )
        return unpaid

    @event(YearClosed)
    def _year_closed(
        self,
        *,
        year: int,
        releases: dict[str, int],
        secondary_releases: dict[str, int],
        actor: str,
    ) -> None:
        for fund, fen in releases.items():
            self.granted_by_fund[fund] -= fen
            self.approved_fen -= fen
        for fund, fen in secondary_releases.items():
            self.secondary_granted_by_fund[fund] -= fen
            self.secondary_aid_fen -= fen
