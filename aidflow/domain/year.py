"""A programme year closed (年度结账): after it, no new approval, secondary aid or payment for a
case of that year; corrections of what it recorded stay possible, recorded in the open year.

An admin proposes the close; a second admin or an approver confirms it. The confirmation
records the year's totals (from the cases' own events) and the store's tree digest, and in
the same save releases every unpaid approval of the year back to its fund (each case records
what it gave back). One aggregate per year, named by the year.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from aidflow.domain import canonical
from aidflow.domain.base import AidAggregate
from aidflow.domain.errors import InvalidTransition, SegregationOfDuties, YearClosed, said


def year_id(year: int) -> UUID:
    return uuid5(NAMESPACE_URL, f"https://aidflow.invalid/programme-year/{year}")


class ProgrammeYear(AidAggregate):
    """One programme year's close: proposed, then confirmed by a second person."""

    TOPIC = "aidflow:ProgrammeYear"

    class Event(AidAggregate.Event):
        TOPIC = "aidflow:ProgrammeYear.Event"

    class CloseProposed(Event, AidAggregate.Created):
        """An admin proposes closing ``year``; nothing is frozen until it is confirmed."""

        TOPIC = "aidflow:ProgrammeYear.CloseProposed"
        year: int
        actor: str

    class Closed(Event):
        """The year closed: its totals as the cases' events give them, the unpaid approvals
        released (``released_fen``), and the store's tree digest just before (``digest`` at
        ``digest_size`` events) for anyone to hold the office to."""

        TOPIC = "aidflow:ProgrammeYear.Closed"
        year: int
        cases: int
        approved_fen: int
        paid_fen: int
        released_fen: int
        digest: str
        digest_size: int
        proposed_by: str
        actor: str

    @staticmethod
    def create_id(year: int) -> UUID:
        return year_id(year)

    @event(CloseProposed)
    def __init__(self, *, year: int, actor: str) -> None:
        self.year = year
        self.proposed_by = actor
        self.closed: dict[str, Any] | None = None

    @classmethod
    def propose(cls, *, year: int, actor: str) -> ProgrammeYear:
        return cls(year=year, actor=canonical.actor(actor))

    def check_open(self) -> None:
        """Refuse what a closed year no longer takes (an approval, secondary aid, a payment)."""
        if self.closed is not None:
            raise YearClosed(
                said(
                    "programme year {year} was closed by {by}; it takes no new approval, secondary aid or payment (a correction of what it recorded is still possible)",
                    year=self.year,
                    by=self.closed["actor"],
                ),
                ids={"year": str(self.year)},
            )

    def check_confirmable(self, actor: str) -> None:
        self.check_open()
        if canonical.same_actor(actor, self.proposed_by):
            raise SegregationOfDuties(
                said(
                    "{actor} proposed closing programme year {year}; a second admin or an approver confirms it",
                    actor=actor,
                    year=self.year,
                ),
                ids={"year": str(self.year)},
            )

    def re_propose(self, actor: str) -> None:
        """The same proposal again is a retry; a close already proposed awaits its second."""
        self.check_open()
        if not canonical.same_actor(actor, self.proposed_by):
            raise InvalidTransition(
                said(
                    "closing programme year {year} was proposed by {by} and awaits a second person's confirmation (`aidflow year confirm-close {year}`)",
                    year=self.year,
                    by=self.proposed_by,
                )
            )

    def close(self, *, totals: dict[str, int], digest: str, digest_size: int, actor: str) -> None:
        self.check_confirmable(actor)
        self._closed(
            year=self.year,
            cases=totals["cases"],
            approved_fen=totals["approved_fen"],
            paid_fen=totals["paid_fen"],
            released_fen=totals["released_fen"],
            digest=digest,
            digest_size=digest_size,
            proposed_by=self.proposed_by,
            actor=canonical.actor(actor),
        )

    @event(Closed)
    def _closed(
        self,
        *,
        year: int,
        cases: int,
        approved_fen: int,
        paid_fen: int,
        released_fen: int,
        digest: str,
        digest_size: int,
        proposed_by: str,
        actor: str,
    ) -> None:
        self.closed = {
            "cases": cases,
            "approved_fen": approved_fen,
            "paid_fen": paid_fen,
            "released_fen": released_fen,
            "digest": digest,
            "digest_size": digest_size,
            "proposed_by": proposed_by,
            "actor": actor,
        }
