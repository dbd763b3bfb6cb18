"""The cashier's book (出纳登记): payment lists sent to the bank and statements taken back.

One book per store. It numbers the vouchers the payment lists issue, records every
export of a list (the one place full account numbers leave the system) and every
statement imported, with what it found. The money itself moves on the cases
(``Disbursed``, ``DisbursementConfirmed``, ``DisbursementReturned``), saved in the
same transaction as the book's event.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from aidflow.domain import canonical
from aidflow.domain.base import AidAggregate

BOOK_ID: UUID = uuid5(NAMESPACE_URL, "https://aidflow.invalid/payment-book")

VOUCHER_PREFIX = "PL"
"""Vouchers a payment list issues: ``PL-20260901-00001`` (list date, then the book's number)."""


def voucher_number(list_date: date, number: int) -> str:
    return f"{VOUCHER_PREFIX}-{list_date:%Y%m%d}-{number:05d}"


class PaymentBook(AidAggregate):
    """The store's payment lists and bank statements, with the next voucher number."""

    TOPIC = "aidflow:PaymentBook"

    class Event(AidAggregate.Event):
        TOPIC = "aidflow:PaymentBook.Event"

    class Started(Event, AidAggregate.Created):
        TOPIC = "aidflow:PaymentBook.Started"

    class ListIssued(Event):
        """A payment list (代发清单) written for the bank: its lines (voucher, case, amount;
        no account numbers here) and how many vouchers it issued new."""

        TOPIC = "aidflow:PaymentBook.ListIssued"
        fund_id: UUID
        list_date: date
        lines: list[dict[str, Any]]
        new_vouchers: int
        actor: str

    class StatementImported(Event):
        """A bank statement taken back: its digest (the same statement again writes nothing),
        what it settled, and its findings (lines with no voucher, amount or account
        mismatches; accounts masked)."""

        TOPIC = "aidflow:PaymentBook.StatementImported"
        digest: str
        name: str
        lines: int
        confirmed: int
        returned: int
        findings: list[dict[str, Any]]
        actor: str

    class NoticePosted(Event):
        """A public notice (公示) drawn for posting: its period, how many rows, their total,
        and the tree digest its rows are proved against (v0.6)."""

        TOPIC = "aidflow:PaymentBook.NoticePosted"
        period: str
        rows: int
        total_fen: int
        digest: str
        actor: str

    @staticmethod
    def create_id() -> UUID:
        return BOOK_ID

    @event(Started)
    def __init__(self) -> None:
        self.issued = 0
        self.listed: dict[str, dict[str, Any]] = {}
        self.statements: dict[str, dict[str, Any]] = {}

    def next_number(self) -> int:
        return self.issued + 1

    def record_list(
        self,
        *,
        fund_id: UUID,
        list_date: date,
        lines: list[dict[str, Any]],
        new_vouchers: int,
        actor: str,
    ) -> None:
        self._list_issued(
            fund_id=fund_id,
            list_date=list_date,
            lines=lines,
            new_vouchers=new_vouchers,
            actor=canonical.actor(actor),
        )

    @event(ListIssued)
    def _list_issued(
        self,
        *,
        fund_id: UUID,
        list_date: date,
        lines: list[dict[str, Any]],
        new_vouchers: int,
        actor: str,
    ) -> None:
        self.issued += new_vouchers
        for item in lines:
            key = canonical.document_key(item["voucher"])
            self.listed.setdefault(
                key, {**item, "fund_id": str(fund_id), "listed_on": list_date.isoformat()}
            )

    def statement(self, digest: str) -> dict[str, Any] | None:
        """What an earlier import of the same statement recorded, if any."""
        return self.statements.get(digest)

    def record_statement(
        self,
        *,
        digest: str,
        name: str,
        lines: int,
        confirmed: int,
        returned: int,
        findings: list[dict[str, Any]],
        actor: str,
    ) -> None:
        self._statement_imported(
            digest=digest,
            name=canonical.text(name, "statement name", required=False),
            lines=lines,
            confirmed=confirmed,
            returned=returned,
            findings=findings,
            actor=canonical.actor(actor),
        )

    @event(StatementImported)
    def _statement_imported(
        self,
        *,
        digest: str,
        name: str,
        lines: int,
        confirmed: int,
        returned: int,
        findings: list[dict[str, Any]],
        actor: str,
    ) -> None:
        self.statements[digest] = {
            "name": name,
            "lines": lines,
            "confirmed": confirmed,
            "returned": returned,
            "findings": findings,
        }

    def record_notice(
        self, *, period: str, rows: int, total_fen: int, digest: str, actor: str
    ) -> None:
        """A public notice drawn for posting: on record, with the digest it is proved against."""
        self._notice_posted(
            period=period, rows=rows, total_fen=total_fen, digest=digest, actor=actor
        )

    @event(NoticePosted)
    def _notice_posted(
        self, *, period: str, rows: int, total_fen: int, digest: str, actor: str
    ) -> None:
        pass
