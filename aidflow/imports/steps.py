"""Casework steps that come back from the towns as spreadsheets (issue 24 §4): household
verifications (入户核实结果), approval sheets (审批表) and follow-ups (回访记录).

Each row becomes the same command its one-by-one CLI command builds, decided by the same
rules and roles: :func:`read_steps` reads a file through the strict reader
(:mod:`aidflow.imports.table`: CSV in UTF-8 or GBK, or .xlsx; Chinese or English headers) and
gives every data line back as a command or a refusal naming its reason; the Office runs them.
A re-run records nothing new: approvals carry their approval number (``ref``), and the other
rows an idempotency key made from the file kind, the case and what the row says.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from aidflow import commands as cmd
from aidflow.domain.errors import AidflowError, InvalidInput, message_of, said
from aidflow.domain.money import parse_yuan
from aidflow.imports.kinds import KINDS
from aidflow.imports.statement import parse_date
from aidflow.imports.table import Column, RowProblem, read_table

CASE = Column("case", ("case", "case_id", "案件编号", "案件", "案件号", "档案编号"))

COLUMNS: dict[str, tuple[Column, ...]] = {
    "verifications": (
        CASE,
        Column("income", ("income", "家庭年收入", "年收入", "收入")),
        Column("tuition", ("tuition", "学费")),
        Column("gap", ("gap", "缺口", "资金缺口")),
        Column("needs", ("needs", "需求", "困难类型", "需求类型")),
        Column("visited_on", ("visited_on", "核实日期", "走访日期"), required=False),
        Column("note", ("note", "备注", "说明"), required=False),
    ),
    "approvals": (
        CASE,
        Column("amount", ("amount", "金额", "批准金额")),
        Column("need", ("need", "用途", "需求")),
        Column("fund", ("fund", "fund_id", "资金", "资金编号")),
        Column("ref", ("ref", "审批编号", "批准编号", "审批表编号")),
    ),
    "follow-ups": (
        CASE,
        Column("study", ("study", "学业", "学习情况")),
        Column("living", ("living", "生活", "生活情况")),
        Column("hardship", ("hardship", "hardship_trend", "困难变化", "困难趋势")),
        Column("received", ("received", "是否到账", "到账"), required=False),
    ),
}
"""What each kind reads (one entry per name of :data:`~aidflow.imports.kinds.KINDS`); a
template of it is written by ``aidflow template KIND``."""

_SEPARATORS = re.compile(r"[、,，/;；\s]+")


@dataclass(frozen=True)
class Step:
    """A data line: the command it builds, or why it cannot build one."""

    line: int
    case: str
    command: cmd.Command[Any] | None
    problem: str = ""


def columns_of(kind: str) -> tuple[Column, ...]:
    """The columns a sheet of ``kind`` is read with; an unknown kind refused."""
    if kind not in COLUMNS:
        raise InvalidInput(
            said(
                "{kind!r} is not a kind of sheet; use one of {kinds}",
                kind=kind,
                kinds=", ".join(KINDS),
            )
        )
    return COLUMNS[kind]


def _key(kind: str, values: Mapping[str, str]) -> str:
    """The same row of the same kind, in any file and any run, is one request."""
    digest = hashlib.sha256(
        json.dumps([kind, sorted(values.items())], ensure_ascii=False).encode()
    ).hexdigest()
    return f"IMP-{digest[:40]}"


def _verification(values: Mapping[str, str], case: UUID, actor: str) -> cmd.Command[Any]:
    return cmd.Verify(
        case_id=case,
        income_fen=parse_yuan(values["income"]),
        tuition_fen=parse_yuan(values["tuition"]),
        gap_fen=parse_yuan(values["gap"]),
        needs=[n for n in _SEPARATORS.split(values["needs"]) if n],
        visited_on=parse_date(values.get("visited_on", "")),
        note=values.get("note", ""),
        actor=actor,
        idempotency_key=_key("verifications", values),
    )


def _follow_up(values: Mapping[str, str], case: UUID, actor: str) -> cmd.Command[Any]:
    return cmd.FollowUp(
        case_id=case,
        study=values["study"],
        living=values["living"],
        hardship_trend=values["hardship"],
        received=values.get("received") or None,
        actor=actor,
        idempotency_key=_key("follow-ups", values),
    )


def _approval(
    values: Mapping[str, str], case: UUID, actor: str, fund: Callable[[str], UUID]
) -> cmd.Command[Any]:
    return cmd.Approve(
        case_id=case,
        amount_fen=parse_yuan(values["amount"]),
        need=values["need"],
        fund_id=fund(values["fund"]),
        ref=values["ref"],
        actor=actor,
    )


def read_steps(
    kind: str,
    path: Path,
    *,
    actor: str,
    case: Callable[[str], UUID],
    fund: Callable[[str], UUID],
    encoding: str | None = None,
    sheet: str | None = None,
) -> tuple[str, list[Step], list[RowProblem]]:
    """Every data line of ``path`` as a :class:`Step` (or, where the reader refused the line
    itself, a :class:`RowProblem`); returns the file's name too. ``case`` and ``fund`` resolve
    the ids or prefixes the sheet gives."""
    table = read_table(path, columns_of(kind), encoding=encoding, sheet=sheet)
    steps = []
    for record in table.records:
        values = record.values
        try:
            case_id = case(values["case"])
            if kind == "verifications":
                command = _verification(values, case_id, actor)
            elif kind == "follow-ups":
                command = _follow_up(values, case_id, actor)
            else:
                command = _approval(values, case_id, actor, fund)
        except AidflowError as exc:
            steps.append(Step(record.line, values.get("case", ""), None, message_of(exc)))
            continue
        steps.append(Step(record.line, str(case_id), command))
    return table.file, steps, table.rejected


def template_headers(kind: str, *, chinese: bool = True) -> list[str]:
    """The header row of an empty sheet of ``kind``: each column's first Chinese (or English)
    spelling, so the sheet a town fills in is read back as it was given."""
    picked = []
    for column in columns_of(kind):
        names = [h for h in column.headers if not h.isascii()] if chinese else []
        picked.append(names[0] if names else column.headers[0])
    return picked
