"""``aidflow fund``: open a fund, record money in, show balances."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from aidflow.cli import params
from aidflow.cli.helptext import HelpGroup
from aidflow.cli.session import (
    Session,
    emit,
    emit_rows,
    export_option,
    global_options,
    pass_session,
    writes,
)
from aidflow.i18n import messages as M
from aidflow.i18n import tr, value
from aidflow.render import Money, day, line, table, yuan

if TYPE_CHECKING:
    from aidflow.projections.models import LedgerLine


@click.group(cls=HelpGroup)
@global_options
def fund() -> None:
    """Funds: the government budget line and the donation pool."""


@fund.command("open")
@click.option("--name", required=True)
@click.option("--kind", type=params.FUND_KIND, required=True)
@click.option("--purpose", default="", help="What the money may be used for.")
@global_options
@pass_session
@writes
def fund_open(session: Session, name: str, kind: str, purpose: str) -> None:
    """Open a fund; prints its id."""
    from aidflow import commands as cmd

    fund_id = session.office.handle(
        cmd.OpenFund(name=name, kind=kind, purpose=purpose, actor=session.actor())
    )
    emit(session, {"fund_id": fund_id}, line(M.ID, id=fund_id))


@fund.command("deposit")
@click.argument("fund_ref", metavar="FUND")
@click.option("--amount", type=params.YUAN, required=True, help="Yuan, e.g. 3000 or 3000.50.")
@click.option("--source", required=True, help="Budget line or donor.")
@click.option("--receipt", required=True, help="Receipt number; the same receipt again is a retry.")
@click.option("--date", "value_date", type=params.DATE, help="Date on the receipt.")
@global_options
@pass_session
@writes
def fund_deposit(
    session: Session, fund_ref: str, amount: int, source: str, receipt: str, value_date: date | None
) -> None:
    """Record a budget appropriation or a donation, with its receipt."""
    from aidflow import commands as cmd

    office = session.office
    result = office.handle(
        cmd.Deposit(
            fund_id=office.fund_id(fund_ref),
            amount_fen=amount,
            source=source,
            receipt=receipt,
            value_date=value_date,
            actor=session.actor(),
        )
    )
    template = M.DEPOSIT_RECORDED if result.recorded else M.DEPOSIT_REPEATED
    emit(session, result, line(template, amount=yuan(amount), receipt=receipt))


@fund.command("reverse-deposit")
@click.argument("fund_ref", metavar="FUND")
@click.option("--receipt", required=True, help="The receipt of the deposit entered wrongly.")
@click.option("--reason", required=True, help="Why (entered twice, into the wrong fund ...).")
@global_options
@pass_session
@writes
def fund_reverse_deposit(session: Session, fund_ref: str, receipt: str, reason: str) -> None:
    """Propose reversing a deposit entered twice or into the wrong fund (only as far as the
    balance allows). A different person confirms it (`aidflow fund confirm-reversal`);
    nothing recorded is ever edited."""
    from aidflow import commands as cmd

    office = session.office
    result = office.handle(
        cmd.ReverseDeposit(
            fund_id=office.fund_id(fund_ref), receipt=receipt, reason=reason, actor=session.actor()
        )
    )
    template = M.REVERSAL_PROPOSED if result.recorded else M.REVERSAL_PROPOSED_BEFORE
    emit(session, result, line(template, amount=yuan(result.amount_fen), receipt=receipt))


@fund.command("confirm-reversal")
@click.argument("fund_ref", metavar="FUND")
@click.option("--receipt", required=True, help="The receipt whose reversal is confirmed.")
@global_options
@pass_session
@writes
def fund_confirm_reversal(session: Session, fund_ref: str, receipt: str) -> None:
    """Confirm a proposed reversal of a deposit (someone who did not propose it)."""
    from aidflow import commands as cmd

    office = session.office
    result = office.handle(
        cmd.ConfirmReversal(
            fund_id=office.fund_id(fund_ref), receipt=receipt, actor=session.actor()
        )
    )
    emit(
        session, result, line(M.REVERSAL_CONFIRMED, amount=yuan(result.amount_fen), receipt=receipt)
    )


def movement_rows(moves: list[LedgerLine]) -> list[tuple[object, ...]]:
    return [
        (
            e.position,
            e.value_date or day(e.recorded_at),
            value(e.entry),
            Money(e.amount_fen),
            (e.case_id or "")[:8] or "-",
            e.voucher or e.receipt or "-",
            e.source or "",
            e.actor,
        )
        for e in moves
    ]


@fund.command("show")
@click.argument("fund_ref", metavar="FUND")
@export_option
@global_options
@pass_session
def fund_show(session: Session, fund_ref: str, output: Path | None) -> None:
    """A fund's balance and movements (deposits with receipts, allocations, releases, payments)."""
    office = session.office
    f = office.fund_statement(office.fund_id(fund_ref))
    rows = movement_rows(f.movements)

    def text() -> str:
        head = line(
            M.FUND_SHOW,
            f=f,
            kind=value(f.kind),
            purpose=f.purpose or "-",
            deposited=yuan(f.deposited_fen),
            allocated=yuan(f.allocated_fen),
            released=yuan(f.released_fen),
            balance=yuan(f.balance_fen),
        )
        moves = table(rows, M.FUND_MOVEMENTS_HEADER) if rows else tr(M.FUND_NO_MOVEMENTS)
        return "\n".join([head, "", tr(M.FUND_MOVEMENTS), moves])

    emit_rows(session, f, text, output, M.FUND_MOVEMENTS_HEADER, rows)


@fund.command("list")
@export_option
@global_options
@pass_session
def fund_list(session: Session, output: Path | None) -> None:
    """Every fund with its totals. Names may repeat: a fund is always shown with its id."""
    funds = session.office.funds()
    rows = [
        (
            f.fund_id,
            f.name,
            value(f.kind),
            Money(f.deposited_fen),
            Money(f.allocated_fen - f.released_fen),
            Money(f.balance_fen),
        )
        for f in funds
    ]
    emit_rows(
        session,
        funds,
        lambda: table(rows, M.FUND_LIST_HEADER),
        output,
        M.FUND_LIST_HEADER,
        rows,
        totals=True,
    )


@fund.command("trace")
@click.argument("fund_ref", metavar="FUND")
@export_option
@global_options
@pass_session
def fund_trace(session: Session, fund_ref: str, output: Path | None) -> None:
    """Which donation reached which student: a donation fund's deposits, first in, first out,
    against its secondary aid as paid (net of bank returns)."""
    office = session.office
    shares = office.donor_trace(office.fund_id(fund_ref))
    rows = [
        (s.receipt, s.source, s.case_id[:8], s.voucher or "-", Money(s.amount_fen)) for s in shares
    ]
    emit_rows(
        session,
        shares,
        lambda: table(rows, M.DONOR_TRACE_HEADER) if rows else tr(M.NO_DONOR_TRACE),
        output,
        M.DONOR_TRACE_HEADER,
        rows,
        totals=True,
    )
