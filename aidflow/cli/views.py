"""``aidflow projections``: how current the read models are, rebuilding and following them."""

from __future__ import annotations

import contextlib
import functools

import click

from aidflow.cli import params
from aidflow.cli.failures import VIEWS_BROKEN, VIEWS_DRIFTED
from aidflow.cli.helptext import HelpGroup
from aidflow.cli.session import (
    Session,
    emit,
    global_options,
    pass_session,
    progress,
)
from aidflow.i18n import messages as M
from aidflow.i18n import tr
from aidflow.render import line, table


@click.group(cls=HelpGroup)
@global_options
def projections() -> None:
    """The read models: how current they are, rebuilding them, following the store."""


@projections.command("status")
@global_options
@pass_session
def projections_status(session: Session) -> None:
    """Each view's tracked position against the store's head; exit status 1 when a view
    has stopped on an event (named with its position and error) or is damaged."""
    rows = session.office_as_is().views_status()
    emit(
        session,
        rows,
        lambda: table(
            [
                (
                    r.name,
                    r.position or 0,
                    r.head or 0,
                    r.behind,
                    r.damage
                    or (
                        line(M.STOPPED_AT, position=r.failed_position, error=r.error)
                        if r.error
                        else ""
                    ),
                )
                for r in rows
            ],
            M.VIEW_STATUS_HEADER,
        ),
    )
    broken = [r.name for r in rows if r.error or r.damage]
    if broken:
        session.fail(VIEWS_BROKEN, line(M.VIEWS_BROKEN, names=", ".join(broken)))


@projections.command("rebuild")
@click.argument("names", nargs=-1, type=params.VIEW_NAME)
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Views rebuilt at once, at most one a core: the heaviest in this process, the others each in a process of its own (1: one after another here).",
)
@global_options
@pass_session
def projections_rebuild(session: Session, names: tuple[str, ...], jobs: int) -> None:
    """Drop views (all when none named) and rebuild them from the events; exit status 1,
    naming where and why, when a view stopped before the store's head."""
    office = session.office_as_is()
    with progress(office.head(), M.REBUILDING) as tick:
        read = office.rebuild(names, progress=tick, jobs=jobs)
    rebuilt = list(names) or office.view_names()
    # The same question `projections status` asks: a rebuild that stopped is not "rebuilt".
    stopped = [r for r in office.views_status() if r.name in rebuilt and (r.error or r.damage)]
    emit(
        session,
        {"rebuilt": rebuilt, "events": read, "stopped": stopped},
        lambda: "\n".join(
            [line(M.REBUILT, names=", ".join(names) or tr(M.ALL_VIEWS), count=read)]
            + [
                line(
                    M.REBUILD_STOPPED,
                    view=r.name,
                    position=r.position or 0,
                    problem=r.damage
                    or line(M.STOPPED_AT, position=r.failed_position, error=r.error),
                )
                for r in stopped
            ]
        ),
    )
    if stopped:
        session.fail(VIEWS_BROKEN, line(M.NOT_REBUILT, names=", ".join(r.name for r in stopped)))


@projections.command("follow")
@click.option(
    "--poll",
    type=params.SECONDS,
    default=0.5,
    show_default=True,
    help="Seconds between polls (SQLite) or wake-ups.",
)
@functools.partial(global_options, answers=False)
@pass_session
def projections_follow(session: Session, poll: float) -> None:
    """Keep the views current until interrupted (a long-running follower process)."""
    office = session.office_as_is()
    click.echo(line(M.FOLLOWING, url=session.url), err=True)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a follower stops
        office.follow_views(
            poll_seconds=poll,
            on_batch=lambda n: click.echo(line(M.APPLIED, count=n), err=True),
        )


@projections.command("verify")
@click.argument("names", nargs=-1, type=params.VIEW_NAME)
@global_options
@pass_session
def projections_verify(session: Session, names: tuple[str, ...]) -> None:
    """Compare views (all when none named) with a fresh replay of the store up to their
    positions; exit status 1 naming the table and first differing key of any that drifted."""
    results = session.office_as_is().verify_views(names)
    emit(
        session,
        results,
        lambda: "\n".join(
            line(M.VIEW_AGREES, view=r.view, position=r.position, checksum=r.checksum[:16])
            if r.ok
            else line(
                M.VIEW_DRIFTED,
                view=r.view,
                table=r.table,
                key=", ".join(map(str, r.key or [])),
                position=r.position,
            )
            for r in results
        ),
    )
    drifted = [r.view for r in results if not r.ok]
    if drifted:
        session.fail(VIEWS_DRIFTED, M.VIEWS_DRIFTED.format(names=", ".join(drifted)))
