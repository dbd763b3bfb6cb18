"""``aidflow events``: the integration-event feed, from a position, optionally followed."""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING

import click

from aidflow.cli import params
from aidflow.cli.helptext import HelpCommand
from aidflow.cli.session import Session, global_options, pass_session
from aidflow.domain.values import INT64_MAX
from aidflow.i18n import event
from aidflow.i18n import messages as M
from aidflow.render import line, when

if TYPE_CHECKING:
    from aidflow.office.results import IntegrationEvent


@click.command("events", cls=HelpCommand)
@click.option(
    "--after",
    type=click.IntRange(0, INT64_MAX),
    default=0,
    show_default=True,
    help="Start after this position (the last one you processed).",
)
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--follow", is_flag=True, help="Keep printing new events until interrupted.")
@click.option("--poll", type=params.SECONDS, default=0.5, show_default=True)
@global_options
@pass_session
def events_command(session: Session, after: int, limit: int, follow: bool, poll: float) -> None:
    """Integration events after a position: stable names, schema version, masked personal data.

    With --json, one JSON object per line (JSON Lines), ready for another service.
    """

    def show(item: IntegrationEvent) -> None:
        if session.json:
            click.echo(json.dumps(item.model_dump(mode="json"), ensure_ascii=False))
            return
        brief = ", ".join(
            f"{k}={v}" for k, v in item.data.items() if k != "actor" and v not in ("", None, [], {})
        )
        click.echo(
            line(
                M.EVENT_LINE,
                e=item,
                when=when(item.recorded_at),
                name=event(item.name),
                brief=brief,
            )
        )

    if not follow:
        for item in session.office.events(after=after, limit=limit):
            show(item)
        return
    click.echo(line(M.FOLLOWING_EVENTS, position=after), err=True)
    with contextlib.suppress(KeyboardInterrupt):
        for item in session.office.follow_events(after=after, poll_seconds=poll, page=limit):
            show(item)
