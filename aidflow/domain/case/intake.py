"""Intake: the household visit (入户核实) that verifies a case, or the written refusal."""

from __future__ import annotations

from datetime import date

from eventsourcing.domain import event

from aidflow.domain import canonical, money
from aidflow.domain.case.events import Rejected, Verified
from aidflow.domain.case.state import CaseState
from aidflow.domain.errors import InvalidInput, InvalidTransition, said
from aidflow.domain.money import format_yuan


class Intake(CaseState):
    """Verify a case by the household visit, or reject the application before any money."""

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
        unpaid = sum(self.unpaid_by_fund.values())
        if unpaid:  # secondary aid approved and unpaid (a returned payment): still reserved
            raise InvalidTransition(
                said(
                    "case {id} still holds {unpaid} yuan approved and unpaid; close it instead, which releases it",
                    id=self.id,
                    unpaid=format_yuan(unpaid),
                )
            )
        self._rejected(
            reason=canonical.text(reason, "rejection reason"), actor=canonical.actor(actor)
        )

    @event(Rejected)
    def _rejected(self, *, reason: str, actor: str) -> None:
        self.rejected = True
        self.reason = reason
        self.rejected_by = actor
