"""The aidflow command line: a package of thin click commands over :class:`aidflow.AidFlow`.

Each command parses its options, builds a command model, calls the library and renders the
result as text or, with ``--json``, as JSON (money in fields ending ``_fen``). No SQL and no
rule lives here: lookups are the read models', rules the domain's.

``session`` opens the store and maps errors to exit statuses, ``render`` prints, ``params``
parses, ``messages`` holds the words; one module per command group does the rest.
"""

from __future__ import annotations

import functools

import click

from aidflow import __version__
from aidflow.cli.admin import demo_command, screen_command
from aidflow.cli.audit import audit
from aidflow.cli.cases import case_group, due_command, queue_command
from aidflow.cli.events import events_command
from aidflow.cli.funds import fund
from aidflow.cli.keys import keys_group
from aidflow.cli.pay import pay
from aidflow.cli.serve import serve_command
from aidflow.cli.session import AidflowGroup, Session, global_options
from aidflow.cli.staff import admin, policy, staff
from aidflow.cli.steps import import_group, template_command, visits_command
from aidflow.cli.views import projections
from aidflow.cli.warm import warm_group
from aidflow.cli.years import year_group
from aidflow.i18n import click_i18n


@click.group(cls=AidflowGroup)
@functools.partial(global_options, root=True)
@click.version_option(__version__, prog_name="aidflow")
@click.pass_context
def main(ctx: click.Context) -> None:
    """aidflow: closed-loop aid for new university students (申请-救助-帮扶-反馈).

    Every change is an event; every view can be rebuilt and asked about any past moment.
    """
    ctx.ensure_object(Session)


for command in (
    fund,
    case_group,
    queue_command,
    due_command,
    audit,
    projections,
    screen_command,
    demo_command,
    staff,
    policy,
    admin,
    events_command,
    serve_command,
    keys_group,
    pay,
    year_group,
    import_group,
    template_command,
    visits_command,
    warm_group,
):
    main.add_command(command)

click_i18n.install()

__all__ = ["main"]
