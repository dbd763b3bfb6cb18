"""``aidflow year``: close a programme year (年度结账) and show its close."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from aidflow.cli.helptext import HelpGroup
from aidflow.cli.session import Session, emit, global_options, pass_session, writes
from aidflow.i18n import messages as M
from aidflow.i18n import value
from aidflow.render import line, yuan

if TYPE_CHECKING:
    from aidflow.models import YearClose


@click.group("year", cls=HelpGroup)
@global_options
def year_group() -> None:
    """Programme years: closing one (an admin proposes, a second person confirms)."""


def _shown(result: YearClose) -> str:
    if result.status != "closed":
        return line(
            M.YEAR_STATUS, year=result.year, status=value(result.status), by=result.proposed_by
        )
    return line(
        M.YEAR_CLOSED,
        year=result.year,
        proposed_by=result.proposed_by,
        closed_by=result.closed_by,
        cases=result.cases,
        approved=yuan(result.approved_fen),
        paid=yuan(result.paid_fen),
        released=yuan(result.released_fen),
        digest=result.digest,
        size=result.digest_size,
    )


@year_group.command("close")
@click.argument("year", type=click.IntRange(2000, 2100))
@global_options
@pass_session
@writes
def year_close(session: Session, year: int) -> None:
    """Propose closing programme YEAR (an admin). Nothing is frozen until a second admin or
    an approver confirms it (`aidflow year confirm-close`)."""
    from aidflow import commands as cmd

    result = session.office.handle(cmd.CloseYear(year=year, actor=session.actor()))
    template = M.YEAR_CLOSE_PROPOSED if result.recorded else M.YEAR_CLOSE_PROPOSED_BEFORE
    emit(session, result, line(template, year=year))


@year_group.command("confirm-close")
@click.argument("year", type=click.IntRange(2000, 2100))
@global_options
@pass_session
@writes
def year_confirm_close(session: Session, year: int) -> None:
    """Confirm closing programme YEAR (a second admin or an approver): its unpaid approvals
    go back to their funds; no new approval, secondary aid or payment for it afterwards."""
    from aidflow import commands as cmd

    result = session.office.handle(cmd.ConfirmYearClose(year=year, actor=session.actor()))
    emit(session, result, lambda: _shown(result))


@year_group.command("show")
@click.argument("year", type=click.IntRange(2000, 2100))
@global_options
@pass_session
def year_show(session: Session, year: int) -> None:
    """Programme YEAR's close: open, proposed, or closed with its totals and digest."""
    result = session.office.year(year)
    emit(session, result, lambda: _shown(result))
