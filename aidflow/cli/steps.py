"""``aidflow import``: verifications, approvals and follow-ups from the towns' spreadsheets;
``aidflow template``: the empty sheet of each; ``aidflow visits``: a verifier's visit list."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from aidflow.cli.failures import writable, written_after
from aidflow.cli.helptext import HelpCommand, HelpGroup
from aidflow.cli.session import (
    Session,
    emit,
    global_options,
    output_file,
    pass_session,
    writes,
)
from aidflow.i18n import messages as M
from aidflow.i18n import tr, value
from aidflow.imports.kinds import KINDS
from aidflow.render import line

if TYPE_CHECKING:
    from aidflow.models import StepImport

SHEET = click.Path(exists=True, dir_okay=False, path_type=Path)
SHOWN = 50
"""Rows listed one by one (every one is counted; ``--json`` gives them all)."""


@click.group("import", cls=HelpGroup)
@global_options
def import_group() -> None:
    """Casework from spreadsheets: one command per row, the same rules and roles."""


def _shown(result: StepImport) -> str:
    out = [
        line(
            M.IMPORT_SUMMARY,
            file=result.file,
            rows=len(result.rows),
            recorded=result.count("would_record" if result.dry_run else "recorded"),
            already=result.count("already"),
            refused=result.count("refused"),
        )
    ]
    if result.dry_run:
        out.append(line(M.IMPORT_DRY_RUN))
    for row in [r for r in result.rows if r.outcome == "refused"][:SHOWN]:
        out.append(
            line(M.IMPORT_REFUSED, line=row.line, case=row.case_id[:8] or "-", reason=row.reason)
        )
    return "\n".join(out)


def _import(kind: str, help_text: str) -> None:
    @import_group.command(kind, help=help_text)
    @click.argument("sheet", type=SHEET)
    @click.option("--dry-run", is_flag=True, help="Decide every row; record nothing.")
    @click.option("--encoding", help="Encoding of a CSV sheet (detected if omitted).")
    @click.option(
        "--sheet-name", "sheet_name", help="Worksheet of an .xlsx (the first if omitted)."
    )
    @global_options
    @pass_session
    @writes
    def command(
        session: Session, sheet: Path, dry_run: bool, encoding: str | None, sheet_name: str | None
    ) -> None:
        result = session.office.import_steps(
            kind,
            sheet,
            actor=session.actor(),
            dry_run=dry_run,
            encoding=encoding,
            sheet=sheet_name,
        )
        emit(session, result, lambda: _shown(result))
        if result.count("refused"):
            raise SystemExit(1)  # every row accounted for, and some need a person's look


_import(
    "verifications",
    "Household visits (入户核实结果) from SHEET: 案件编号, 家庭年收入, 学费, 缺口, 需求 "
    "(学费、生活费 …), optional 核实日期, 备注; a verifier's act.",
)
_import(
    "approvals",
    "Grant approvals (审批表) from SHEET: 案件编号, 金额, 用途, 资金编号, 审批编号; an "
    "approver's act, each approval number once.",
)
_import(
    "follow-ups",
    "Follow-up visits (回访记录) from SHEET: 案件编号, 学业, 生活, 困难变化, optional 是否到账; "
    "a verifier's act.",
)


@click.command("template", cls=HelpCommand)
@click.argument("kind", type=click.Choice(KINDS))
@output_file("The empty sheet to write: .xlsx or .csv.")
@click.option("--english", is_flag=True, help="English headers instead of Chinese.")
@global_options
@pass_session
def template_command(session: Session, kind: str, output: Path, english: bool) -> None:
    """An empty sheet of KIND for the towns to fill in, with the headers `aidflow import` reads."""
    from aidflow.imports.steps import template_headers
    from aidflow.sheets import check_path, write_table

    write_table(check_path(output), template_headers(kind, chinese=not english), [])
    emit(
        session,
        {"kind": kind, "file": str(output)},
        line(M.TEMPLATE_WRITTEN, kind=value(kind), file=output),
    )


@click.command("visits", cls=HelpCommand)
@click.option("--town", help="Only this town's households (one of the verifier's towns).")
@click.option("--reason", default="", help="Why the names are needed (default: the visit list).")
@output_file("The visit list to write: .xlsx or .csv, readable by its owner only.")
@global_options
@pass_session
@writes
def visits_command(session: Session, town: str | None, reason: str, output: Path) -> None:
    """A verifier's visit list (走访清单): the households awaiting a visit in their towns, names
    and IDs in full; each case's reveal is recorded."""
    from aidflow.sheets import check_path, write_table

    check_path(output)
    if not output.parent.is_dir():  # refused before any reveal is recorded
        raise click.UsageError(line(M.VISITS_NO_FOLDER, path=output.parent))
    writable(output)
    listed = session.office.visits(
        actor=session.actor(), town=town, reason=reason or tr(M.VISITS_REASON)
    )
    rows = [
        (
            n,
            r.name,
            r.student_id,
            r.university,
            r.town,
            value(r.family_category),
            value(r.status),
            str(r.case_id),
        )
        for n, r in enumerate(listed.rows, start=1)
    ]
    with written_after():
        write_table(output, M.VISITS_HEADER, rows, private=True)
    emit(
        session,
        {
            "file": str(output),
            "households": len(rows),
            "cases": [str(r.case_id) for r in listed.rows],
        },
        line(M.VISITS_WRITTEN, count=len(rows), path=output),
    )
