"""``aidflow audit``: the journal, the money ledger, the rule checks and the chain digest."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from aidflow.cli import messages as M
from aidflow.cli import params
from aidflow.cli.render import ledger_text, line, table, yuan
from aidflow.cli.session import (
    DIGEST_MISMATCH,
    RULE_VIOLATIONS,
    VIEWS_DRIFTED,
    Session,
    emit,
    json_option,
    pass_session,
)
from aidflow.i18n import tr

if TYPE_CHECKING:
    from aidflow.projections.models import Digest, Ledger

AS_OF_HELP = "What the ledger said then (UTC; a date means the end of that day)."


@click.group()
def audit() -> None:
    """The auditor's views: journal, money ledger, rule checks, tamper-evident digest."""


@audit.command("journal")
@click.option("--case", "case_ref", metavar="CASE", help="Only this case's (or fund's) events.")
@click.option("--since", type=params.MOMENT)
@click.option("--limit", type=params.COUNT)
@json_option
@pass_session
def audit_journal(
    session: Session, case_ref: str | None, since: datetime | None, limit: int | None
) -> None:
    """Every event: position, time, actor, case or fund, type and a one-line summary."""
    aggregate = str(session.case_or_fund_id(case_ref)) if case_ref else None
    lines = session.views.journal(aggregate_id=aggregate, since=since, limit=limit)
    emit(
        session,
        lines,
        lambda: "\n".join(
            [
                line(
                    M.JOURNAL_HEADER,
                    pos=tr(M.JOURNAL_POS),
                    when=tr(M.JOURNAL_WHEN),
                    actor=tr(M.JOURNAL_ACTOR),
                    id=tr(M.JOURNAL_ID),
                    summary=tr(M.JOURNAL_SUMMARY),
                )
            ]
            + [
                line(
                    M.JOURNAL_LINE,
                    x=x,
                    when=x.recorded_at.strftime("%Y-%m-%d %H:%M"),
                    short=x.aggregate_id[:8],
                )
                for x in lines
            ]
        ),
    )


def _entries_text(ledger: Ledger) -> str:
    rows = [
        (
            e.position,
            e.recorded_at.strftime("%Y-%m-%d"),
            e.entry,
            yuan(e.amount_fen),
            (e.case_id or "")[:8],
            (e.fund_id or "")[:8],
            e.voucher or e.receipt or "",
        )
        for e in ledger.entries
    ]
    return table(rows, M.ENTRIES_HEADER)


@audit.command("ledger")
@click.option("--as-of", "as_of", type=params.MOMENT, help=AS_OF_HELP)
@click.option("--entries", is_flag=True, help="Include every money movement, not only the totals.")
@json_option
@pass_session
def audit_ledger(session: Session, as_of: datetime | None, entries: bool) -> None:
    """The money ledger: totals by fund, fund kind, need, family category and town."""
    ledger = session.views_at(at=as_of, names=["audit"]).ledger(entries=entries)
    emit(
        session,
        ledger,
        lambda: ledger_text(ledger) + ("\n\n" + _entries_text(ledger) if entries else ""),
    )


@audit.command("check")
@click.option(
    "--as-of",
    "as_of",
    type=params.MOMENT,
    help="Check history as it stood then, with timeliness judged at that moment.",
)
@json_option
@pass_session
def audit_check(session: Session, as_of: datetime | None) -> None:
    """Check every rule from history alone; exit status 1 when any is violated.

    It says how many events of each kind it read and up to which position: a check
    never reports "all rules hold" over events it did not read.
    """
    result = session.views_at(at=as_of, names=["audit"]).check_report(
        session.flow.current_policy(), now=as_of
    )
    # The checks read the audit view: confirm it agrees with a fresh replay of the store.
    (agreement,) = session.views.verify_views(session.flow, ["audit"])
    violations = result.violations
    emit(
        session,
        {
            "ok": result.ok,
            "violations": violations,
            "position": result.position,
            "checked": result.checked,
            "audit_view": agreement,
        },
        lambda: "\n".join(
            [
                *(
                    line(
                        M.VIOLATION,
                        v=v,
                        case=v.case_id or "-",
                        positions=", ".join(map(str, v.positions)) or "-",
                    )
                    for v in violations
                ),
                line(
                    M.RULES_HOLD if result.ok else M.RULES_CHECKED,
                    events=result.events,
                    position=result.position,
                ),
                line(M.AUDIT_VIEW_AGREES, position=agreement.position)
                if agreement.ok
                else agreement.message,
            ]
        ),
    )
    if not agreement.ok:
        session.fail(VIEWS_DRIFTED, agreement.message)
    if violations:
        session.fail(RULE_VIOLATIONS, line(M.VIOLATIONS_FOUND, count=len(violations)))


@audit.command("report")
@click.option("--as-of", "as_of", type=params.MOMENT)
@click.option("--format", "fmt", type=params.REPORT_FORMAT, default="text", show_default=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to a file instead of standard output.",
)
@json_option
@pass_session
def audit_report(session: Session, as_of: datetime | None, fmt: str, output: Path | None) -> None:
    """A report for the file: ledger, rule checks and the chain digest, as of a moment."""
    from aidflow.report import render_report

    views = session.views_at(at=as_of, names=["audit"])
    text = render_report(
        views, session.flow.current_policy(), as_of=as_of, fmt="json" if session.json else fmt
    )
    if output is None:
        click.echo(text)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(line(M.WROTE, path=output), err=True)


@audit.command("digest")
@json_option
@pass_session
def audit_digest(session: Session) -> None:
    """The hash chain's head, POSITION:HASH. Keep it outside the system; verify against it later."""
    digest = session.views.digest()
    emit(session, digest, line(M.ID, id=digest))


@audit.command("verify")
@click.argument("digest", metavar="DIGEST", type=params.DIGEST)
@json_option
@pass_session
def audit_verify(session: Session, digest: Digest) -> None:
    """Recompute the chain from the store; exit status 1 when it no longer matches DIGEST."""
    result = session.views.verify(session.flow, digest)
    emit(session, result, line(M.ID, id=result.message))
    if not result.ok:
        session.fail(DIGEST_MISMATCH, result.message)
