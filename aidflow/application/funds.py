"""Funds: opening one, money in with its receipt (the government line and donations), and a
deposit entered wrongly reversed by two people."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from aidflow import commands as cmd
from aidflow.application.context import Context
from aidflow.application.pipeline import Decision
from aidflow.domain.fund import Fund
from aidflow.models import DepositResult, ReversalResult


def open_fund(_ctx: Context, c: cmd.OpenFund) -> Decision[UUID]:
    fund = Fund.open(name=c.name, kind=c.kind.value, purpose=c.purpose, actor=c.actor)
    return fund.id, [fund]


def reverse_deposit(ctx: Context, c: cmd.ReverseDeposit) -> Decision[ReversalResult]:
    """Propose reversing a deposit; the same proposal again records nothing."""
    fund = ctx.fund(c.fund_id)
    amount, recorded = fund.propose_reversal(receipt=c.receipt, reason=c.reason, actor=c.actor)
    result = ReversalResult(
        fund_id=fund.id, receipt=c.receipt, amount_fen=amount, pending=True, recorded=recorded
    )
    return result, [fund] if recorded else []


def confirm_reversal(ctx: Context, c: cmd.ConfirmReversal) -> Decision[ReversalResult]:
    """A second person confirms: the deposit no longer counts in the fund's balance."""
    fund = ctx.fund(c.fund_id)
    amount = fund.confirm_reversal(receipt=c.receipt, actor=c.actor)
    result = ReversalResult(
        fund_id=fund.id, receipt=c.receipt, amount_fen=amount, pending=False, recorded=True
    )
    return result, [fund]


def deposit(ctx: Context, c: cmd.Deposit) -> Decision[DepositResult]:
    """A deposit; its receipt number is its natural retry key within the fund."""
    fund = ctx.fund(c.fund_id)
    retry = fund.is_retried_deposit(receipt=c.receipt, amount_fen=c.amount_fen, source=c.source)
    if not retry:
        fund.deposit(
            amount_fen=c.amount_fen,
            source=c.source,
            receipt=c.receipt,
            value_date=c.value_date,
            actor=c.actor,
        )
    result = DepositResult(
        fund_id=fund.id, receipt=c.receipt, amount_fen=c.amount_fen, recorded=not retry
    )
    changed: list[Any] = [] if retry else [fund]
    return result, changed
