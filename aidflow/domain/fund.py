"""Funds: the government budget line and the social donation pool.

A fund's balance is deposits - allocations + releases and never goes below zero.
Allocations are saved in the same transaction as the case they pay, so a
concurrent allocation that would overdraw the fund conflicts and is retried.

A fund keeps totals only: what each case holds is the case's own knowledge
(``StudentCase.unpaid_by_fund``), so loading a fund costs the same in the first
week and after ten thousand grants.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from aidflow.domain import canonical, money
from aidflow.domain.base import AidAggregate
from aidflow.domain.errors import (
    DuplicateReceipt,
    InsufficientFunds,
    InvalidInput,
    InvalidTransition,
    NoCorrectionPending,
    SegregationOfDuties,
    UnknownReceipt,
    WrongFundKind,
    said,
)
from aidflow.domain.money import format_yuan
from aidflow.domain.values import FundKind


class Fund(AidAggregate):
    """A pool of money with a stated purpose: grants (government) or secondary aid (donation)."""

    TOPIC = "aidflow:Fund"
    class_version = 2
    """v2 (0.2.0): no per-case map in the state (snapshots of v1 are upcast below)."""

    class Event(AidAggregate.Event):
        TOPIC = "aidflow:Fund.Event"

    class Opened(Event, AidAggregate.Created):
        TOPIC = "aidflow:Fund.Opened"
        name: str
        kind: str
        purpose: str
        actor: str

    class Deposited(Event):
        """A budget appropriation or a donation, with its receipt."""

        TOPIC = "aidflow:Fund.Deposited"
        amount_fen: int
        source: str
        receipt: str
        value_date: date | None
        actor: str

    class Allocated(Event):
        """Money reserved for a case: a grant approval or secondary aid."""

        TOPIC = "aidflow:Fund.Allocated"
        case_id: UUID
        amount_fen: int
        use: str
        actor: str

    class Released(Event):
        """A case gave back what it had reserved and will not use."""

        TOPIC = "aidflow:Fund.Released"
        case_id: UUID
        amount_fen: int
        reason: str
        actor: str

    class DepositReversalProposed(Event):
        """A deposit found wrong (entered twice, or into the wrong fund): its reversal
        proposed, awaiting a second person (v0.5)."""

        TOPIC = "aidflow:Fund.DepositReversalProposed"
        receipt: str
        amount_fen: int
        reason: str
        actor: str

    class DepositReversed(Event):
        """The reversal confirmed by a different person: the deposit no longer counts (v0.5)."""

        TOPIC = "aidflow:Fund.DepositReversed"
        receipt: str
        amount_fen: int
        reason: str
        proposed_by: str
        actor: str

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Snapshots of v0.1 funds carried ``allocated_by_case`` (O(cases)) and receipts
        keyed as typed; v2 drops the map and keys receipts in canonical form."""
        state.pop("allocated_by_case", None)
        receipts = state.get("receipts", {})
        state["receipts"] = {canonical.document_key(k): v for k, v in receipts.items()}

    @classmethod
    def open(cls, *, name: str, kind: str, purpose: str, actor: str) -> Fund:
        """Open a fund from checked values."""
        return cls(
            name=canonical.text(name, "fund name", max_length=canonical.MAX_NAME),
            kind=kind,
            purpose=canonical.text(purpose, "purpose", required=False),
            actor=canonical.actor(actor),
        )

    @event(Opened)
    def __init__(self, *, name: str, kind: str, purpose: str, actor: str) -> None:
        self.name = name
        self.kind = kind
        self.purpose = purpose
        self.opened_by = actor
        self.deposited_fen = 0
        self.allocated_fen = 0
        self.released_fen = 0
        self.receipts: dict[str, dict[str, object]] = {}

    @property
    def balance_fen(self) -> int:
        return self.deposited_fen - self.allocated_fen + self.released_fen

    def check_kind(self, kind: FundKind, use: str) -> None:
        """Donated money goes only to its stated purpose, budget money only to grants."""
        if self.kind != kind:
            raise WrongFundKind(
                said(
                    "fund {name!r} is a {kind} fund; {use} must come from a {kind2} fund",
                    name=self.name,
                    kind=self.kind,
                    use=use,
                    kind2=kind,
                ),
                ids={"fund_id": str(self.id)},
            )

    def is_retried_deposit(self, *, receipt: str, amount_fen: int, source: str) -> bool:
        """True when this receipt was already recorded with the same amount and source."""
        seen = self.receipts.get(canonical.document_key(receipt))
        if seen is None:
            return False
        if seen.get("reversed"):
            raise DuplicateReceipt(
                said(
                    "receipt {receipt} of fund {name!r} was reversed; a corrected deposit takes its own receipt number",
                    receipt=receipt,
                    name=self.name,
                ),
                ids={"fund_id": str(self.id)},
            )
        if seen["amount_fen"] == amount_fen and seen["source"] == source.strip():
            return True
        raise DuplicateReceipt(
            said(
                "receipt {receipt} is already recorded in fund {name!r} for {amount} yuan from {source}",
                receipt=receipt,
                name=self.name,
                amount=format_yuan(int(str(seen["amount_fen"]))),
                source=seen["source"],
            ),
            ids={"fund_id": str(self.id)},
        )

    def deposit(
        self, *, amount_fen: int, source: str, receipt: str, value_date: date | None, actor: str
    ) -> None:
        """A budget appropriation or a donation, always with its receipt number."""
        money.amount(amount_fen, "deposit amount")
        money.total(self.deposited_fen, amount_fen, f"deposits into fund {self.name!r}")
        self._deposited(
            amount_fen=amount_fen,
            source=canonical.text(source, "deposit source (donor or budget line)"),
            receipt=canonical.document(receipt, "receipt number"),
            value_date=value_date,
            actor=canonical.actor(actor),
        )

    @event(Deposited)
    def _deposited(
        self, *, amount_fen: int, source: str, receipt: str, value_date: date | None, actor: str
    ) -> None:
        self.deposited_fen += amount_fen
        self.receipts[canonical.document_key(receipt)] = {
            "amount_fen": amount_fen,
            "source": source,
        }

    # -- corrections: a deposit reversed by two people (issue 23) ---------------------------

    def deposit_of(self, receipt: str) -> dict[str, Any]:
        """The deposit recorded under ``receipt`` (not reversed)."""
        found = self.receipts.get(canonical.document_key(receipt))
        if found is None or found.get("reversed"):
            raise UnknownReceipt(
                said(
                    "fund {name!r} holds no deposit under receipt {receipt}",
                    name=self.name,
                    receipt=receipt,
                ),
                ids={"fund_id": str(self.id)},
            )
        return found

    def _check_reversible(self, receipt: str, amount_fen: int) -> None:
        """Only what the balance allows: money already reserved for students stays theirs."""
        if amount_fen > self.balance_fen:
            raise InsufficientFunds(
                said(
                    "fund {name!r} has {balance} yuan left; reversing deposit {receipt} of {amount} yuan would overdraw it (release or correct approvals first)",
                    name=self.name,
                    balance=format_yuan(self.balance_fen),
                    receipt=receipt,
                    amount=format_yuan(amount_fen),
                ),
                ids={"fund_id": str(self.id)},
            )

    def propose_reversal(self, *, receipt: str, reason: str, actor: str) -> tuple[int, bool]:
        """Propose reversing the deposit under ``receipt`` whole; a different person confirms.
        Returns its amount and whether it was recorded now (the same again is a retry)."""
        deposit = self.deposit_of(receipt)
        amount = int(str(deposit["amount_fen"]))
        number = canonical.document(receipt, "receipt number")
        self._check_reversible(number, amount)
        pending = deposit.get("reversal")
        if isinstance(pending, dict):
            if canonical.same_actor(str(pending["by"]), actor):
                return amount, False
            raise InvalidTransition(
                said(
                    "the reversal of deposit {receipt} awaits a second person's confirmation (`aidflow fund confirm-reversal`)",
                    receipt=number,
                )
            )
        self._deposit_reversal_proposed(
            receipt=number,
            amount_fen=amount,
            reason=canonical.text(reason, "reason"),
            actor=canonical.actor(actor),
        )
        return amount, True

    @event(DepositReversalProposed)
    def _deposit_reversal_proposed(
        self, *, receipt: str, amount_fen: int, reason: str, actor: str
    ) -> None:
        self.receipts[canonical.document_key(receipt)]["reversal"] = {
            "reason": reason,
            "by": actor,
        }

    def confirm_reversal(self, *, receipt: str, actor: str) -> int:
        """A different person confirms the proposed reversal; returns the amount."""
        deposit = self.deposit_of(receipt)
        pending = deposit.get("reversal")
        number = canonical.document(receipt, "receipt number")
        if not isinstance(pending, dict):
            raise NoCorrectionPending(
                said("deposit {receipt} has no reversal awaiting confirmation", receipt=number),
                ids={"fund_id": str(self.id)},
            )
        if canonical.same_actor(actor, str(pending["by"])):
            raise SegregationOfDuties(
                said(
                    "{actor} proposed reversing deposit {receipt}; a different person must confirm it",
                    actor=actor,
                    receipt=number,
                ),
                ids={"fund_id": str(self.id)},
            )
        amount = int(str(deposit["amount_fen"]))
        self._check_reversible(number, amount)  # allocated since? then not
        self._deposit_reversed(
            receipt=number,
            amount_fen=amount,
            reason=str(pending["reason"]),
            proposed_by=str(pending["by"]),
            actor=canonical.actor(actor),
        )
        return amount

    @event(DepositReversed)
    def _deposit_reversed(
        self, *, receipt: str, amount_fen: int, reason: str, proposed_by: str, actor: str
    ) -> None:
        deposit = self.receipts[canonical.document_key(receipt)]
        deposit["reversed"] = True
        deposit["reversal"] = None
        self.deposited_fen -= amount_fen

    def allocate(self, *, case_id: UUID, amount_fen: int, use: str, actor: str) -> None:
        """Reserve money for a case: a grant approval or secondary aid."""
        self.check_can_allocate(case_id=case_id, amount_fen=amount_fen)
        self._allocated(
            case_id=case_id, amount_fen=amount_fen, use=use, actor=canonical.actor(actor)
        )

    def check_can_allocate(self, *, case_id: UUID, amount_fen: int) -> None:
        """The balance covers ``amount_fen`` now (checked again when it is reserved)."""
        money.amount(amount_fen, "allocation")
        if amount_fen > self.balance_fen:
            raise InsufficientFunds(
                said(
                    "fund {name!r} has {balance} yuan left, not enough for {amount} yuan",
                    name=self.name,
                    balance=format_yuan(self.balance_fen),
                    amount=format_yuan(amount_fen),
                ),
                ids={"fund_id": str(self.id), "case_id": str(case_id)},
            )

    @event(Allocated)
    def _allocated(self, *, case_id: UUID, amount_fen: int, use: str, actor: str) -> None:
        self.allocated_fen += amount_fen

    def release(self, *, case_id: UUID, amount_fen: int, reason: str, actor: str) -> None:
        """Give back what a case had reserved and will not use.

        The case says how much it holds here (it is saved in the same transaction);
        the fund only refuses to give back more than it ever reserved.
        """
        money.amount(amount_fen, "release")
        outstanding = self.allocated_fen - self.released_fen
        if amount_fen > outstanding:
            raise InvalidInput(
                said(
                    "fund {name!r} has {outstanding} yuan reserved in all, cannot release {amount} yuan",
                    name=self.name,
                    outstanding=format_yuan(outstanding),
                    amount=format_yuan(amount_fen),
                ),
                ids={"fund_id": str(self.id), "case_id": str(case_id)},
            )
        self._released(
            case_id=case_id,
            amount_fen=amount_fen,
            reason=canonical.text(reason, "reason"),
            actor=canonical.actor(actor),
        )

    @event(Released)
    def _released(self, *, case_id: UUID, amount_fen: int, reason: str, actor: str) -> None:
        self.released_fen += amount_fen
