"""``aidflow screen`` and ``aidflow demo``: opening cases in bulk, and the article's year."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from aidflow.cli import params
from aidflow.cli.failures import writable
from aidflow.cli.helptext import HelpCommand
from aidflow.cli.session import (
    Session,
    emit,
    export_option,
    global_options,
    makes_store,
    pass_session,
    progress,
)
from aidflow.i18n import messages as M
from aidflow.i18n import tr, value
from aidflow.render import ledger_text, line

if TYPE_CHECKING:
    from aidflow.office.screening import ScreeningReport

CSV = click.Path(exists=True, dir_okay=False, path_type=Path)
SHOWN_ALREADY_OPEN = 50
SHOWN_REJECTED = 200


@click.command("screen", cls=HelpCommand)
@click.option(
    "--admissions",
    type=CSV,
    required=True,
    help="Admission list: CSV (UTF-8, GBK) or .xlsx; headers in Chinese or English "
    "(身份证号,姓名,录取院校[,银行账号] or national_id,name,university[,account]).",
)
@click.option(
    "--registry",
    type=CSV,
    required=True,
    help="Assistance registry: CSV (UTF-8, GBK) or .xlsx (身份证号,类别,乡镇 or "
    "national_id,category,town).",
)
@click.option("--year", type=params.YEAR, default=params.this_year, show_default="this year")
@click.option("--dry-run", is_flag=True, help="Report what would be opened; write nothing.")
@click.option(
    "--admissions-encoding", help="Encoding of a CSV admission list (detected if omitted)."
)
@click.option("--registry-encoding", help="Encoding of a CSV registry (detected if omitted).")
@click.option(
    "--admissions-sheet", help="Worksheet of an .xlsx admission list (the first if omitted)."
)
@click.option("--registry-sheet", help="Worksheet of an .xlsx registry (the first if omitted).")
@click.option(
    "--unmatched",
    is_flag=True,
    help="Also write, to -o FILE, every admitted student not matched and why (full ID and "
    "name from the admission list: the file is readable by its owner only).",
)
@export_option
@global_options
@pass_session
def screen_command(
    session: Session,
    admissions: Path,
    registry: Path,
    year: int,
    dry_run: bool,
    admissions_encoding: str | None,
    registry_encoding: str | None,
    admissions_sheet: str | None,
    registry_sheet: str | None,
    unmatched: bool,
    output: Path | None,
) -> None:
    """Screening (信息筛查): open a case for each admitted student from an eligible household.

    Every admission row is accounted for: opened, already open, duplicate in the file,
    not in the registry, or rejected with its line. A malformed file is refused whole.
    """
    if unmatched and output is None:
        raise click.UsageError(tr(M.SCREEN_UNMATCHED_NEEDS_FILE))
    if output is not None and not unmatched:
        raise click.UsageError(tr(M.SCREEN_OUTPUT_IS_UNMATCHED))
    if output is not None and not output.parent.is_dir():  # refused before cases are opened
        raise click.UsageError(line(M.SCREEN_UNMATCHED_NO_FOLDER, path=output.parent))
    if output is not None:
        writable(output)
    actor = session.actor() if not dry_run else (session.actor_name or "dry-run")
    with progress(None, M.SCREENING) as tick:
        report = session.office.screen(
            admissions,
            registry,
            year=year,
            actor=actor,
            dry_run=dry_run,
            progress=tick,
            admissions_encoding=admissions_encoding,
            registry_encoding=registry_encoding,
            admissions_sheet=admissions_sheet,
            registry_sheet=registry_sheet,
            unmatched=unmatched,
        )
    if output is not None:
        _write_unmatched(output, report)

    emit(session, report, lambda: _screen_text(report, output))


def _screen_text(report: ScreeningReport, output: Path | None) -> str:
    """What a screening run did, in the reader's language (its lists capped for a screen)."""
    dry_run = report.dry_run
    lines = [
        line(
            M.SCREEN_ADMISSIONS,
            r=report,
            opened_label=tr(M.WOULD_OPEN if dry_run else M.OPENED),
            opened=len(report.opened),
            already=len(report.already_open),
            duplicates=len(report.duplicates),
            rejected=sum(p.file == report.admissions_file for p in report.rejected),
        ),
        line(M.SCREEN_REGISTRY, r=report),
        line(
            M.SCREEN_COUNTS,
            r=report,
            opened_label=tr(M.WOULD_OPEN if dry_run else M.OPENED),
            opened=len(report.opened),
            already=len(report.already_open),
            rejected=len(report.rejected),
        ),
    ]
    lines += [line(M.SCREEN_ALREADY_OPEN, r=r) for r in report.already_open[:SHOWN_ALREADY_OPEN]]
    lines += [line(M.SCREEN_DUPLICATE, d=d) for d in report.duplicates[:SHOWN_REJECTED]]
    lines += [line(M.SCREEN_REJECTED, p=p) for p in report.rejected[:SHOWN_REJECTED]]
    if output is not None:
        lines.append(line(M.SCREEN_UNMATCHED_WRITTEN, count=len(report.unmatched), path=output))
    return "\n".join(lines)


def _write_unmatched(output: Path, report: ScreeningReport) -> None:
    """The students not matched, with the admission list's own ID and name (the clerk's
    input), for its owner only."""
    from aidflow.office.screening import NOT_ELIGIBLE
    from aidflow.sheets import write_table

    why = {NOT_ELIGIBLE: tr(M.UNMATCHED_NOT_ELIGIBLE)}
    rows = [
        (
            r.line,
            r.national_id,
            r.name,
            r.university,
            why.get(r.reason, tr(M.UNMATCHED_NOT_IN_REGISTRY)),
            value(r.category) if r.category else "",
        )
        for r in report.unmatched
    ]
    write_table(output, M.UNMATCHED_HEADER, rows, private=True)


@click.command("demo", cls=HelpCommand)
@click.option("--seed", type=params.SEED, default=2026, show_default=True)
@global_options
@pass_session
@makes_store
def demo_command(session: Session, seed: int) -> None:
    """Build the article's programme year into a fresh database, then show the ledger."""
    from aidflow.office.demo import STEPS

    office = session.office_as_is()
    with progress(STEPS, M.BUILDING_YEAR) as tick:
        result = office.demo(seed=seed, progress=tick)
    with progress(office.head(), M.BUILDING_VIEWS) as tick:
        office.catch_up_views(progress=tick)
    ledger = office.ledger()
    db = f" --db {session.db}" if session.db else ""
    emit(
        session,
        {
            "year": result.year,
            "ledger": ledger,
            "consulted_case_id": result.consulted,
            "government_fund_id": result.government_fund,
            "donation_fund_id": result.donation_fund,
        },
        lambda: "\n".join(
            [
                line(
                    M.DEMO_SUMMARY,
                    r=result,
                    rejected=len(result.rejected),
                    paid=len(result.paid),
                    secondary=len(result.secondary),
                ),
                "",
                ledger_text(ledger),
                "",
                line(M.DEMO_NEXT, db=db, case=str(result.consulted)[:8], r=result),
            ]
        ),
    )
