"""The root group's commands, imported when one is asked for (issue 24 §6: a cold
``aidflow --help`` imports none of them).

A :class:`LazyGroup` holds a table, command name -> :class:`Entry`: where the command is
(``"module:attribute"``) and its summary, the first paragraph of its docstring. The summary
is the English of the short help in the group's list and, as it is, the catalogue's msgid
of that paragraph (msgctxt ``help``), so ``--help`` lists every command in either language
from the table alone; a test holds that each entry names a command of that name whose
docstring begins with the summary. Running a command, its own ``--help``, or anything that
walks the tree (:func:`aidflow.cli.helptext.walk`) imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from typing import Any, NamedTuple

import click

from aidflow.cli.helptext import HelpCommand, HelpGroup, say
from aidflow.i18n import using


class Entry(NamedTuple):
    """One command of a :class:`LazyGroup`'s table."""

    where: str
    """``"module:attribute"``: the command object."""
    summary: str
    """The first paragraph of the command's docstring, on one line: its short help."""


def load(where: str) -> click.Command:
    """The command at ``"module:attribute"``, its module imported in English whatever the
    run's language: click translates a few words as a command is declared (a path option's
    "file"), through :mod:`aidflow.i18n.click_i18n` once installed, and they stay the msgids
    they were when every command was imported before it was."""
    module, _, attribute = where.partition(":")
    with using("en"):
        found = getattr(import_module(module), attribute)
    if not isinstance(found, click.Command):
        raise TypeError(f"{where} is not a click command")
    return found


class LazyGroup(HelpGroup):
    """A group listing its commands from a table and importing each on first use (the
    "LazyGroup" of click's documentation); its help lists them from the table."""

    def __init__(self, *args: Any, table: Mapping[str, Entry] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.table: dict[str, Entry] = dict(table or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.table})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = self.table.get(cmd_name)
        if entry is not None and cmd_name not in self.commands:
            self.add_command(load(entry.where), cmd_name)
        return super().get_command(ctx, cmd_name)

    def load_all(self) -> None:
        """Import every command of the table now (a warm process, before its first fork)."""
        ctx = click.Context(self)
        for name in self.table:
            self.get_command(ctx, name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """click's, its "Did you mean" chosen among every command, not the loaded ones."""
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            name = getattr(exc, "command_name", None)  # a NoSuchCommand (click 8.4 on)
            if name is None:
                raise
            from click.exceptions import NoSuchCommand

            raise NoSuchCommand(name, possibilities=self.list_commands(ctx), ctx=ctx) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's list of commands, each entry of the table summarised from the table (a
        command with that help, never imported): the same words as the command's own."""
        shown: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            entry = self.table.get(name)
            command = (
                HelpCommand(name, help=entry.summary) if entry else self.get_command(ctx, name)
            )
            if command is not None and not command.hidden:
                shown.append((name, command))
        if not shown:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in shown)
        rows = [(name, command.get_short_help_str(limit)) for name, command in shown]
        with formatter.section(say("Commands")):
            formatter.write_dl(rows)


__all__ = ["Entry", "LazyGroup", "load"]
