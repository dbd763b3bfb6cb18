"""The bank's statement (银行回单 / 代发结果), read into statement lines.

Columns (English or the usual Chinese headers; ``mapping`` adds a bank's own header for
any of them): ``date``, ``account``, ``amount`` (yuan), ``reference`` (the voucher the
payment list gave), ``status`` (``paid`` or ``returned``; 成功 / 退回 also read) and the
optional ``note`` (the bank's reason for a return) and ``name`` (the account holder, 户名:
a name that is not the student's holds the payment in dispute). CSV in UTF-8 or GBK, or .xlsx,
through the strict reader (:mod:`aidflow.imports.table`): a statement is money, so one
line that cannot be read refuses the whole file and nothing is written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path

from aidflow.commands import MAX_STATEMENT_LINES, StatementLine
from aidflow.domain.canonical import nfkc
from aidflow.domain.errors import InvalidInput, said
from aidflow.domain.money import parse_yuan
from aidflow.imports.table import Column, read_table
from aidflow.imports.values import canonical_label, parse_account

COLUMNS: tuple[Column, ...] = (
    Column("date", ("date", "value_date", "日期", "交易日期", "入账日期")),
    Column("account", ("account", "账号", "收款账号", "收款人账号", "银行账号"), identifier=True),
    Column("amount", ("amount", "金额", "交易金额", "代发金额")),
    Column("reference", ("reference", "摘要", "附言", "凭证号", "业务编号")),
    Column("status", ("status", "状态", "交易状态", "处理结果")),
    Column("note", ("note", "reason", "备注", "说明", "退回原因", "失败原因"), required=False),
    Column(
        "name", ("name", "户名", "收款人", "收款人姓名", "收款人户名", "账户名称"), required=False
    ),
)
"""What ``aidflow pay reconcile`` reads; see docs/domain.md, "The bank statement"."""

_STATUS = {
    "paid": "paid",
    "success": "paid",
    "成功": "paid",
    "已付": "paid",
    "已入账": "paid",
    "returned": "returned",
    "return": "returned",
    "failed": "returned",
    "退回": "returned",
    "退票": "returned",
    "失败": "returned",
}
_DATE = re.compile(r"([0-9]{4})[-/.年]?([0-9]{1,2})[-/.月]?([0-9]{1,2})日?(?:[ T][0-9:.]*)?")


def columns(mapping: Mapping[str, str] | None = None) -> tuple[Column, ...]:
    """The statement's columns, each also read under the header ``mapping`` gives it."""
    mapping = dict(mapping or {})
    unknown = sorted(set(mapping) - {c.name for c in COLUMNS})
    if unknown:
        raise InvalidInput(
            said(
                "no statement column {unknown}; columns are {name}",
                unknown=", ".join(unknown),
                name=", ".join(c.name for c in COLUMNS),
            )
        )
    return tuple(
        replace(c, headers=(*c.headers, mapping[c.name])) if c.name in mapping else c
        for c in COLUMNS
    )


def parse_status(text: str) -> str:
    status = _STATUS.get(canonical_label(text))
    if status is None:
        raise InvalidInput(
            said("status {text!r} is neither paid (成功) nor returned (退回)", text=text.strip())
        )
    return status


def parse_date(text: str) -> date | None:
    value = nfkc(text).strip()
    if not value:
        return None
    match = _DATE.fullmatch(value)
    if match is None:
        raise InvalidInput(said("date {value!r} is not a date like 2026-08-12", value=value))
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise InvalidInput(
            said("date {value!r} is not a date of the calendar", value=value)
        ) from None


def parse_amount(text: str) -> int:
    """Yuan as banks print it (``5,000.00``, ``¥5000``) into fen."""
    return parse_yuan(text.strip().lstrip("¥￥").replace(",", "").strip())


def read_statement(
    path: Path,
    *,
    mapping: Mapping[str, str] | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
) -> list[StatementLine]:
    """Every line of the statement at ``path``; any line that cannot be read refuses the file."""
    table = read_table(
        path, columns(mapping), encoding=encoding, sheet=sheet, most=MAX_STATEMENT_LINES
    )
    if table.rejected:
        first = table.rejected[0]
        raise InvalidInput(
            said(
                "{file} line {line}: {reason}; {rejected_count} line(s) cannot be read, so the statement is refused whole",
                file=first.file,
                line=first.line,
                reason=first.reason,
                rejected_count=len(table.rejected),
            )
        )
    lines = []
    for record in table.records:
        values = record.values
        try:
            lines.append(
                StatementLine(
                    line=record.line,
                    value_date=parse_date(values["date"]),
                    account=parse_account(values["account"]),
                    amount_fen=parse_amount(values["amount"]),
                    reference=values["reference"],
                    status=parse_status(values["status"]),
                    note=values.get("note", ""),
                    name=values.get("name", ""),
                )
            )
        except InvalidInput as exc:
            raise InvalidInput(
                said(
                    "{file} line {line}: {exc}; the statement is refused whole",
                    file=table.file,
                    line=record.line,
                    exc=exc,
                )
            ) from None
    if not lines:
        raise InvalidInput(said("{file}: the statement has no lines", file=table.file))
    return lines
