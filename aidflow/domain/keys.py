"""Uniqueness across the whole store, kept by aggregates with derived ids.

A key aggregate's id is a UUID5 of what must be unique. Saving a second one
with the same id conflicts in the event store itself, so the rule holds across
processes and machines without a lock: the loser's whole save is refused.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from aidflow.domain.base import AidAggregate
from aidflow.domain.errors import VoucherAlreadyUsed
from aidflow.domain.money import format_yuan

_NAMESPACE = uuid5(NAMESPACE_URL, "https://aidflow.invalid/keys")


class Enrolment(AidAggregate):
    """One case per student per programme year."""

    @staticmethod
    def create_id(student_id: str, year: int) -> UUID:
        return uuid5(_NAMESPACE, f"enrolment/{student_id}/{year}")

    @event("Registered")
    def __init__(self, *, student_id: str, year: int, case_id: UUID) -> None:
        self.case_id = case_id


class Voucher(AidAggregate):
    """A disbursement voucher (凭证) number, used once across the whole store."""

    @staticmethod
    def create_id(number: str) -> UUID:
        return uuid5(_NAMESPACE, f"voucher/{number}")

    @event("Issued")
    def __init__(self, *, number: str, case_id: UUID, amount_fen: int) -> None:
        self.number = number
        self.case_id = case_id
        self.amount_fen = amount_fen

    def is_retry_of(self, *, case_id: UUID, amount_fen: int) -> bool:
        """The same voucher, case and amount again is a retry, not a new payment."""
        if self.case_id == case_id and self.amount_fen == amount_fen:
            return True
        raise VoucherAlreadyUsed(
            f"voucher {self.number} was already used for {format_yuan(self.amount_fen)} yuan "
            f"to case {self.case_id}; every payment needs its own voucher number"
        )
