"""``aidflow pay``: the payment list for the bank (代发清单) and the bank's statement back."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from aidflow.cli import params
from aidflow.cli.failures import writable, written_after
from aidflow.cli.helptext import HelpGroup
from aidflow.cli.session import (
    Session,
    emit,
    export_path,
    global_options,
    pass_session,
    writes,
)
from aidflow.i18n import messages as M
from aidflow.i18n import tr, value
from aidflow.render import Money, line, table, yuan

if TYPE_CHECKING:
    from aidflow.models import PaymentList, Reconciliation, StatementFinding


@click.group("pay", cls=HelpGroup)
@global_options
def pay() -> None:
    """Payments through the bank: the payment list out, the statement back."""


@pay.command("list")
@click.option("--fund", "fund_ref", required=True, help="The fund whose approved money is paid.")
@click.option(
    "--date",
    "list_date",
    type=params.DATE,
    help="The payment date (default: today on the office's clock, policy timezone).",
)
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    required=True,
    callback=export_path,
    help="The list for the bank: .csv (UTF-8) or .xlsx. It holds FULL account numbers.",
)
@global_options
@pass_session
@writes
def pay_list(session: Session, fund_ref: str, list_date: date | None, output: Path) -> None:
    """Write the payment list (代发清单): approved, unpaid money with a voucher for each line.

    Only a cashier may issue it: it is the one place full account numbers leave aidflow,
    and every issue is recorded. Issuing again before the bank's statement is back gives
    the unsettled lines their same vouchers; only new money gets new ones.
    """
    from aidflow import commands as cmd
    from aidflow.domain.clock import now, office_day
    from aidflow.sheets import write_table

    if not output.parent.is_dir():  # refused before vouchers are issued (a retry would re-list)
        raise click.UsageError(line(M.PAY_LIST_NO_FOLDER, path=output.parent))
    writable(output)
    office = session.office
    day = list_date or office_day(now(), office.timezone)
    result = office.handle(
        cmd.IssuePaymentList(fund_id=office.fund_id(fund_ref), list_date=day, actor=session.actor())
    )
    with written_after():
        write_table(output, M.PAY_LIST_HEADER, _rows(result), private=True)
    emit(session, _masked(result), lambda: _text(result, output))


def _rows(result: PaymentList) -> list[tuple[object, ...]]:
    """A bank's 代发 template (序号 姓名 身份证号 银行账号 开户行 金额 摘要 凭证号), then ours."""
    return [
        (
            number,
            x.name,
            x.student_id,
            x.account,
            x.bank,
            Money(x.amount_fen),
            x.reference,
            x.voucher,
            value(x.use),
            str(x.case_id),
        )
        for number, x in enumerate(result.lines, start=1)
    ]


def _masked(result: PaymentList) -> dict[str, object]:
    """The list as ``--json`` prints it: names, IDs and accounts masked (in full in the file
    only, which only its owner may read)."""
    from aidflow.domain.masking import mask_personal

    data = result.model_dump(mode="json")
    for item in data["lines"]:
        for field in ("name", "student_id", "account"):
            item[field] = mask_personal(field, item[field])
    data["total_fen"] = result.total_fen
    return data


def _text(result: PaymentList, output: Path) -> str:
    lines = [
        line(
            M.PAY_LIST_WRITTEN,
            day=result.list_date.isoformat(),
            count=len(result.lines),
            amount=yuan(result.total_fen),
            new=result.new_vouchers,
            path=output,
        )
    ]
    if result.held:
        lines += [
            tr(M.PAY_LIST_HELD),
            table(
                [(str(h.case_id)[:8], yuan(h.amount_fen), h.reason) for h in result.held],
                M.PAY_LIST_HELD_HEADER,
            ),
        ]
    return "\n".join(lines)


class ColumnMapping(click.ParamType[tuple[str, str]]):
    """``COLUMN=HEADER``: a bank's own header for one of the statement's columns."""

    name = "COLUMN=HEADER"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[str, str]:
        if isinstance(value, tuple):
            return value
        column, sep, header = str(value).partition("=")
        if not sep or not column.strip() or not header.strip():
            self.fail(line(M.NOT_A_COLUMN_MAPPING, value=value), param, ctx)
        return column.strip(), header.strip()


@pay.command("reconcile")
@click.argument(
    "statement", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)
)
@click.option(
    "--column",
    "mapping",
    type=ColumnMapping(),
    multiple=True,
    help="A bank's own header for a column, e.g. --column reference=交易附言 (repeatable).",
)
@click.option("--encoding", help="The CSV's encoding when detection is not wanted (gbk, utf-8).")
@click.option("--sheet", help="The workbook's sheet (default: the first).")
@global_options
@pass_session
@writes
def pay_reconcile(
    session: Session,
    statement: Path,
    mapping: tuple[tuple[str, str], ...],
    encoding: str | None,
    sheet: str | None,
) -> None:
    """Take the bank's statement back: every line matched to a voucher.

    Columns ``date,account,amount,reference,status`` (status ``paid`` or ``returned``;
    the usual Chinese headers too; an optional ``name`` column, 户名, is compared with the
    student's name). A paid line confirms its payment, a returned line records the return;
    lines with no voucher are reported and recorded; a line whose amount, account or name
    disagrees holds its voucher in dispute (`aidflow pay resolve`). The same statement
    again writes nothing.
    """
    office = session.office
    result = office.reconcile_file(
        statement, actor=session.actor(), mapping=dict(mapping), encoding=encoding, sheet=sheet
    )
    days = office.policy().statement_days
    emit(session, result, lambda: _statement_text(result, days))


@pay.command("resolve")
@click.argument("voucher")
@click.option(
    "--as",
    "outcome",
    type=params.SETTLEMENT,
    required=True,
    help="What became of the money: paid (the bank paid it) or returned (it came back).",
)
@click.option(
    "--reason", required=True, help="What was found out, and from whom (the bank's reply)."
)
@click.option("--date", "value_date", type=params.DATE, help="The bank's value date, if known.")
@global_options
@pass_session
@writes
def pay_resolve(
    session: Session, voucher: str, outcome: str, reason: str, value_date: date | None
) -> None:
    """Settle a payment held in dispute: its statement line disagreed (amount, account, name).

    A disputed voucher goes on no payment list until it is settled. A cashier other than the
    one who issued it, or an approver, records what became of the money: ``paid`` confirms it
    at the voucher's amount, ``returned`` records the return (the approval is payable again).
    """
    from aidflow import commands as cmd

    result = session.office.handle(
        cmd.ResolvePayment(
            voucher=voucher,
            outcome=outcome,
            reason=reason,
            value_date=value_date,
            actor=session.actor(),
        )
    )
    text = line(
        M.PAYMENT_RESOLVED,
        voucher=result.voucher,
        case_id=result.case_id,
        amount=yuan(result.amount_fen),
        outcome=value(result.outcome),
    )
    if result.outcome == "returned":
        text += "\n" + line(M.PAYMENT_RESOLVED_RETURNED, voucher=result.voucher)
    emit(session, result, text)


@pay.command("reissue")
@click.argument("voucher")
@click.option("--reason", required=True, help="Why the same account is right (the bank's reply).")
@global_options
@pass_session
@writes
def pay_reissue(session: Session, voucher: str, reason: str) -> None:
    """Pay a returned payment again to the same account, with no account change.

    For a return whose account was right (户名与账号不符 cleared with the bank): someone other
    than the cashier who issued it decides; the fund's next payment list carries the money
    under a new voucher.
    """
    from aidflow import commands as cmd

    result = session.office.handle(
        cmd.ReissuePayment(voucher=voucher, reason=reason, actor=session.actor())
    )
    emit(
        session,
        result,
        line(
            M.PAYMENT_REISSUED,
            voucher=result.voucher,
            case_id=result.case_id,
            amount=yuan(result.amount_fen),
        ),
    )


def _finding_rows(
    findings: list[StatementFinding],
) -> list[tuple[str, str, str, str, str, str]]:
    return [
        (
            str(f.line or "-"),
            value(f.kind),
            f.reference,
            yuan(f.amount_fen),
            f.account_masked or "-",
            f.detail,
        )
        for f in findings
    ]


def _statement_text(result: Reconciliation, days: int) -> str:
    if not result.recorded:
        lines = [line(M.STATEMENT_REPEATED, name=result.name)]
    else:
        lines = [
            line(
                M.STATEMENT_DONE,
                name=result.name,
                lines=result.lines,
                confirmed=len(result.confirmed),
                returned=len(result.returned),
                already=result.already_settled,
                findings=len(result.findings),
            )
        ]
    if result.findings:
        lines += [
            tr(M.STATEMENT_FINDINGS),
            table(_finding_rows(result.findings), M.STATEMENT_FINDINGS_HEADER),
        ]
    if result.overdue:
        lines += [
            line(M.STATEMENT_OVERDUE, days=days),
            table(_finding_rows(result.overdue), M.STATEMENT_FINDINGS_HEADER),
        ]
    return "\n".join(lines)
