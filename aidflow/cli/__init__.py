"""The aidflow command line: a package of thin click commands over :class:`aidflow.AidFlow`.

Each command parses its options, builds a command model, calls the library and renders the
result as text or, with ``--json``, as JSON (money in fields ending ``_fen``). No SQL and no
rule lives here: lookups are the read models', rules the domain's.

``session`` opens the store and holds the global options, ``failures`` maps errors to exit
statuses, ``render`` prints, ``params`` parses, ``messages`` holds the words; one module per
command group does the rest. The root lists its commands from :data:`COMMANDS` and imports a
command's module only when that command is asked for (``aidflow/cli/lazy.py``), so that
``aidflow --help`` imports none of them.
"""

from __future__ import annotations

import functools

import click

from aidflow import __version__
from aidflow.cli.lazy import Entry
from aidflow.cli.session import AidflowGroup, Session, global_options
from aidflow.i18n import click_i18n, using

COMMANDS: dict[str, Entry] = {
    "admin": Entry(
        "aidflow.cli.staff:admin",
        "Database administration for a shared PostgreSQL store.",
    ),
    "audit": Entry(
        "aidflow.cli.audit:audit",
        "The auditor's views: journal, money ledger, rule checks, tamper-evident digest.",
    ),
    "case": Entry(
        "aidflow.cli.cases:case_group",
        "Student cases: every step of the closed loop.",
    ),
    "demo": Entry(
        "aidflow.cli.admin:demo_command",
        "Build the article's programme year into a fresh database, then show the ledger.",
    ),
    "due": Entry(
        "aidflow.cli.cases:due_command",
        "Payments approved and unpaid, consultation actions owed and appeals awaiting a "
        "decision, by due date (overdue first).",
    ),
    "events": Entry(
        "aidflow.cli.events:events_command",
        "Integration events after a position: stable names, schema version, masked personal data.",
    ),
    "fund": Entry(
        "aidflow.cli.funds:fund",
        "Funds: the government budget line and the donation pool.",
    ),
    "import": Entry(
        "aidflow.cli.steps:import_group",
        "Casework from spreadsheets: one command per row, the same rules and roles.",
    ),
    "keys": Entry(
        "aidflow.cli.keys:keys_group",
        "The master key of personal data (init, rotate) and the export bundles' signing key.",
    ),
    "pay": Entry(
        "aidflow.cli.pay:pay",
        "Payments through the bank: the payment list out, the statement back.",
    ),
    "policy": Entry(
        "aidflow.cli.staff:policy",
        "The policy in force (cap, deadlines, retention), changed by an admin as events.",
    ),
    "projections": Entry(
        "aidflow.cli.views:projections",
        "The read models: how current they are, rebuilding them, following the store.",
    ),
    "queue": Entry(
        "aidflow.cli.cases:queue_command",
        "Hardship awaiting consultation, and consultation actions still owed (most serious, "
        "oldest first).",
    ),
    "screen": Entry(
        "aidflow.cli.admin:screen_command",
        "Screening (信息筛查): open a case for each admitted student from an eligible household.",
    ),
    "serve": Entry(
        "aidflow.cli.serve:serve_command",
        "Serve every command (POST) and query (GET) over HTTP (OpenAPI at /docs with --docs).",
    ),
    "staff": Entry(
        "aidflow.cli.staff:staff",
        "Staff and their roles (人员与岗位): every command is authorised against them.",
    ),
    "template": Entry(
        "aidflow.cli.steps:template_command",
        "An empty sheet of KIND for the towns to fill in, with the headers `aidflow import` reads.",
    ),
    "visits": Entry(
        "aidflow.cli.steps:visits_command",
        "A verifier's visit list (走访清单): the households awaiting a visit in their towns, "
        "names and IDs in full; each case's reveal is recorded.",
    ),
    "warm": Entry(
        "aidflow.cli.warm:warm_group",
        "A warm process: your commands answer at once (the first typed at a terminal starts it).",
    ),
    "year": Entry(
        "aidflow.cli.years:year_group",
        "Programme years: closing one (an admin proposes, a second person confirms).",
    ),
}
"""Every command of ``aidflow`` (the one registration): where it is, and its summary, the
first paragraph of its docstring as one line, which ``aidflow --help`` lists, in either
language, without importing the command (``tests/unit/test_cli_table.py`` holds the two
equal, and prints the entry to write when they are not)."""


click_i18n.install()

with using("en"):  # declared in the source language, as every command is (lazy.load)

    @click.group(cls=AidflowGroup, table=COMMANDS)
    @functools.partial(global_options, root=True)
    @click.version_option(__version__, prog_name="aidflow")
    @click.pass_context
    def main(ctx: click.Context) -> None:
        """aidflow: closed-loop aid for new university students (申请-救助-帮扶-反馈).

        Every change is an event; every view can be rebuilt and asked about any past moment.
        """
        ctx.ensure_object(Session)


__all__ = ["COMMANDS", "main"]
