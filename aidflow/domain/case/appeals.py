"""Appeals (复核): a rejected student asks for the decision to be reviewed, within the
policy's ``appeal-days``; someone other than the one who rejected decides, and an overturned
rejection sends the case back to household verification (issue 23)."""

from __future__ import annotations

from datetime import datetime, timedelta

from eventsourcing.domain import event

from aidflow.domain import canonical
from aidflow.domain.case.events import AppealDecided, AppealLodged
from aidflow.domain.case.state import CaseState
from aidflow.domain.clock import office_day
from aidflow.domain.errors import (
    AppealTooLate,
    InvalidTransition,
    NoAppealPending,
    SegregationOfDuties,
    said,
)
from aidflow.domain.policy import Policy
from aidflow.domain.values import AppealOutcome


class Appeals(CaseState):
    """A rejection reviewed on appeal, by a second person."""

    def lodge_appeal(
        self, *, reason: str, actor: str, rejected_at: datetime, now: datetime, policy: Policy
    ) -> None:
        """Record the student's appeal of the rejection recorded at ``rejected_at``."""
        if not self.rejected:
            raise InvalidTransition(
                said("case {id} is not rejected; only a rejection is appealed", id=self.id)
            )
        if self.appeal_pending:
            raise InvalidTransition(
                said("case {id} already has an appeal awaiting a decision", id=self.id)
            )
        deadline = rejected_at + timedelta(days=policy.appeal_days)
        if now > deadline:
            raise AppealTooLate(
                said(
                    "case {id} was rejected on {day}; an appeal is lodged within {days} days (by {deadline})",
                    id=self.id,
                    day=office_day(rejected_at, policy.timezone).isoformat(),
                    days=policy.appeal_days,
                    deadline=office_day(deadline, policy.timezone).isoformat(),
                ),
                ids={"case_id": str(self.id)},
            )
        self._appeal_lodged(reason=canonical.text(reason, "reason"), actor=canonical.actor(actor))

    @event(AppealLodged)
    def _appeal_lodged(self, *, reason: str, actor: str) -> None:
        self.appeal_pending = True

    def decide_appeal(self, *, outcome: AppealOutcome, reason: str, actor: str) -> None:
        """Decide the appeal: someone other than the one who rejected the case."""
        if not self.appeal_pending:
            raise NoAppealPending(
                said("case {id} has no appeal awaiting a decision", id=self.id),
                ids={"case_id": str(self.id)},
            )
        if canonical.same_actor(actor, self.rejected_by):
            raise SegregationOfDuties(
                said(
                    "{actor} rejected case {id}; a different person decides the appeal",
                    actor=actor,
                    id=self.id,
                ),
                ids={"case_id": str(self.id)},
            )
        self._appeal_decided(
            outcome=outcome.value,
            reason=canonical.text(reason, "reason"),
            actor=canonical.actor(actor),
        )

    @event(AppealDecided)
    def _appeal_decided(self, *, outcome: str, reason: str, actor: str) -> None:
        self.appeal_pending = False
        if outcome == AppealOutcome.OVERTURNED:
            self.rejected = False
            self.awaiting_verification = True
