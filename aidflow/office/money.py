"""The Office's money: funds and their statements, where donations went, the bank's loop."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from uuid import UUID

from aidflow import commands as cmd
from aidflow.imports.statement import read_statement
from aidflow.models import PaymentList, Reconciliation
from aidflow.office.base import OfficeBase
from aidflow.office.results import FundStatement
from aidflow.projections.models import DonorShare, FundTotals

FUND_MOVEMENTS = ("deposit", "allocation", "release", "disbursement", "return")
"""Ledger entries that are the fund's own movements (approvals and secondary aid are the
case-side mirrors of allocations, so they are not listed twice)."""


class Money(OfficeBase):
    """Funds, payment lists and statements."""

    def funds(self, *, reader: str | None = None) -> list[FundTotals]:
        """Every fund with its totals; names may repeat, ids tell funds apart."""
        self.may_read("read_money", reader)
        return self.fresh().ledger().funds

    def fund_statement(self, fund_id: UUID, *, reader: str | None = None) -> FundStatement:
        """A fund's balance (from its events) and its movements (from the ledger)."""
        self.may_read("read_money", reader)
        views = self.fresh()
        snapshot = self.flow.fund(fund_id)
        moves = [
            e
            for e in views.ledger(entries=True).entries
            if e.fund_id == str(fund_id) and e.entry in FUND_MOVEMENTS
        ]
        return FundStatement(**dict(snapshot), movements=moves)

    def donor_trace(self, fund_id: UUID, *, reader: str | None = None) -> list[DonorShare]:
        """Which donation reached which student: a donation fund's deposits, first in, first
        out, against its secondary aid as paid (net of bank returns)."""
        self.may_read("read_money", reader)
        return self.fresh().donor_trace(fund_id)

    def pay_list(self, c: cmd.IssuePaymentList) -> PaymentList:
        """The payment list (代发清单) of one fund, with FULL account numbers; recorded."""
        return self.flow.issue_payment_list(c, self.fresh().payable_cases(c.fund_id))

    def reconcile_file(
        self,
        path: Path,
        *,
        actor: str,
        mapping: Mapping[str, str] | None = None,
        encoding: str | None = None,
        sheet: str | None = None,
    ) -> Reconciliation:
        """Take the bank's statement back from its file (CSV or .xlsx): every line matched
        to a voucher. A file with one unreadable line is refused whole; nothing is written."""
        lines = read_statement(path, mapping=mapping, encoding=encoding, sheet=sheet)
        return self.flow.reconcile(cmd.Reconcile(name=path.name, lines=lines, actor=actor))
