"""Personal data (issue 11): every unmasked look recorded with its reason, and erasure once a
case is over, nothing is owed and the retention period has passed.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import event

from aidflow.domain import canonical
from aidflow.domain.case.events import PersonalDataErased, PersonalDataRevealed
from aidflow.domain.case.state import CaseState
from aidflow.domain.errors import ErasureRefused, PersonalDataGone, said
from aidflow.domain.money import format_yuan


class PersonalData(CaseState):
    """Reveal the student's personal data (audited) and erase it when the law allows."""

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
