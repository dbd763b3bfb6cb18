"""Funds: opening one, and money in with its receipt (the government line and donations)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from aidflow import commands as cmd
from aidflow.application.context import Context
from aidflow.application.pipeline import Decision
from aidflow.domain.fund import Fund
from aidflow.models import DepositResult


def open_fund(_ctx: Context, c: cmd.OpenFund) -> Decision[UUID]:
    fund = Fund.open(name=c.name, kind=c.kind.value, purpose=c.purpose, actor=c.actor)
    return fund.id, [fund]


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
