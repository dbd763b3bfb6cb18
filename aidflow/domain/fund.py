"""Funds: the government budget line and the social donation pool.

A fund's balance is deposits - allocations + releases and never goes below zero.
Allocations are saved in the same transaction as the case they pay, so a
concurrent allocation that would overdraw the fund conflicts and is retried.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.domain import event

from aidflow.domain.base import AidAggregate
from aidflow.domain.errors import DuplicateReceipt, InsufficientFunds, InvalidInput, WrongFundKind
from aidflow.domain.money import format_yuan, require_positive
from aidflow.domain.values import FundKind


class Fund(AidAggregate):
    @event("Opened")
    def __init__(self, *, name: str, kind: str, purpose: str, actor: str) -> None:
        self.name = name
        self.kind = kind
        self.purpose = purpose
        self.opened_by = actor
        self.deposited_fen = 0
        self.allocated_fen = 0
        self.released_fen = 0
        self.receipts: dict[str, dict[str, object]] = {}
        self.allocated_by_case: dict[str, int] = {}

    @property
    def balance_fen(self) -> int:
        return self.deposited_fen - self.allocated_fen + self.released_fen

    def check_kind(self, kind: FundKind, use: str) -> None:
        """Donated money goes only to its stated purpose, budget money only to grants."""
        if self.kind != kind:
            raise WrongFundKind(
                f"fund {self.name!r} is a {self.kind} fund; {use} must come from a {kind} fund"
            )

    def is_retried_deposit(self, *, receipt: str, amount_fen: int, source: str) -> bool:
        """True when this receipt was already recorded with the same amount and source."""
        seen = self.receipts.get(receipt)
        if seen is None:
            return False
        if seen["amount_fen"] == amount_fen and seen["source"] == source:
            return True
        raise DuplicateReceipt(
            f"receipt {receipt} is already recorded in fund {self.name!r} for "
            f"{format_yuan(int(str(seen['amount_fen'])))} yuan from {seen['source']}"
        )

    def deposit(
        self, *, amount_fen: int, source: str, receipt: str, value_date: date | None, actor: str
    ) -> None:
        """A budget appropriation or a donation, always with its receipt number."""
        require_positive(amount_fen, "deposit amount")
        if not source.strip():
            raise InvalidInput("a deposit must name its source (donor or budget line)")
        if not receipt.strip():
            raise InvalidInput("a deposit must carry a receipt number")
        self._deposited(
            amount_fen=amount_fen,
            source=source.strip(),
            receipt=receipt.strip(),
            value_date=value_date,
            actor=actor,
        )

    @event("Deposited")
    def _deposited(
        self, *, amount_fen: int, source: str, receipt: str, value_date: date | None, actor: str
    ) -> None:
        self.deposited_fen += amount_fen
        self.receipts[receipt] = {"amount_fen": amount_fen, "source": source}

    def allocate(self, *, case_id: UUID, amount_fen: int, use: str, actor: str) -> None:
        """Reserve money for a case: a grant approval or secondary aid."""
        require_positive(amount_fen, "allocation")
        if amount_fen > self.balance_fen:
            raise InsufficientFunds(
                f"fund {self.name!r} has {format_yuan(self.balance_fen)} yuan left, "
                f"not enough for {format_yuan(amount_fen)} yuan"
            )
        self._allocated(case_id=case_id, amount_fen=amount_fen, use=use, actor=actor)

    @event("Allocated")
    def _allocated(self, *, case_id: UUID, amount_fen: int, use: str, actor: str) -> None:
        self.allocated_fen += amount_fen
        key = str(case_id)
        self.allocated_by_case[key] = self.allocated_by_case.get(key, 0) + amount_fen

    def release(self, *, case_id: UUID, amount_fen: int, reason: str, actor: str) -> None:
        """Give back what a case had reserved and will not use."""
        require_positive(amount_fen, "release")
        held = self.allocated_by_case.get(str(case_id), 0)
        if amount_fen > held:
            raise InvalidInput(
                f"fund {self.name!r} holds {format_yuan(held)} yuan for case {case_id}, "
                f"cannot release {format_yuan(amount_fen)} yuan"
            )
        self._released(case_id=case_id, amount_fen=amount_fen, reason=reason, actor=actor)

    @event("Released")
    def _released(self, *, case_id: UUID, amount_fen: int, reason: str, actor: str) -> None:
        self.released_fen += amount_fen
        self.allocated_by_case[str(case_id)] -= amount_fen
