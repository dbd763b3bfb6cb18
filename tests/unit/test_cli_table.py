"""The root's table of commands (:data:`aidflow.cli.COMMANDS`) and the commands themselves
agree, so that ``aidflow --help``, served from the table without importing a command
(issue 24 §6), lists what the commands would say of themselves, in either language."""

from __future__ import annotations

import importlib
import pkgutil

import click
import pytest

import aidflow.cli
from aidflow.cli import COMMANDS, main
from aidflow.cli.helptext import HelpCommand, paragraphs
from aidflow.cli.lazy import LazyGroup, load
from aidflow.i18n import LANGUAGES, using

NAMES = sorted(COMMANDS)


@pytest.mark.parametrize("name", NAMES)
def test_each_entry_names_a_command_whose_docstring_begins_with_its_summary(name: str) -> None:
    entry = COMMANDS[name]
    command = load(entry.where)
    assert command.name == name
    assert command.short_help is None, "a short_help= would be listed instead of the summary"
    first = paragraphs(command.help)[:1]
    assert first == [entry.summary], (
        f"aidflow.cli.COMMANDS[{name!r}] should be\n"
        f"    Entry({entry.where!r}, {first[0] if first else ''!r})"
    )


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", NAMES)
def test_the_short_help_served_from_the_table_is_the_commands_own(name: str, lang: str) -> None:
    command = load(COMMANDS[name].where)
    served = HelpCommand(name, help=COMMANDS[name].summary)
    with using(lang):
        for limit in (30, 45, 60, 67, 80, 200):
            assert served.get_short_help_str(limit) == command.get_short_help_str(limit)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_roots_list_of_commands_is_clicks_own_list_of_the_real_commands(lang: str) -> None:
    """What :meth:`LazyGroup.format_commands` writes from the table, and what click's own
    writes asking each command (which imports it), for a narrow and a wide terminal."""
    for width in (60, 80, 120):
        with using(lang), click.Context(main, info_name="aidflow", terminal_width=width) as ctx:
            served, clicks = ctx.make_formatter(), ctx.make_formatter()
            main.format_commands(ctx, served)
            click.Group.format_commands(main, ctx, clicks)
        assert served.getvalue() == clicks.getvalue()
        assert all(name in served.getvalue() for name in NAMES)


def test_every_top_level_command_of_the_cli_is_in_the_table() -> None:
    """A command declared in a module of ``aidflow.cli`` and no group's subcommand is one
    ``aidflow`` runs: it needs its row in the table (there is no other registration)."""
    declared: dict[str, click.Command] = {}
    for module in pkgutil.iter_modules(aidflow.cli.__path__):
        with using("en"):  # as lazy.load imports a command's module
            found = vars(importlib.import_module(f"aidflow.cli.{module.name}"))
        for attribute, value in found.items():
            if isinstance(value, click.Command) and value is not main:
                declared[f"aidflow.cli.{module.name}:{attribute}"] = value
    nested = {
        id(sub)
        for command in declared.values()
        if isinstance(command, click.Group)
        for sub in command.commands.values()
    }
    top = {where for where, command in declared.items() if id(command) not in nested}
    assert top == {entry.where for entry in COMMANDS.values()}


def test_an_unknown_command_is_matched_against_every_command_not_only_those_loaded() -> None:
    """click suggests among the group's loaded commands; the root suggests among its table
    (a root of its own here: this process may have loaded every command already)."""
    root = LazyGroup("aidflow", table=COMMANDS)
    with click.Context(root, info_name="aidflow") as ctx, pytest.raises(click.UsageError) as raised:
        root.resolve_command(ctx, ["fnud"])
    assert raised.value.format_message() == "No such command 'fnud'. Did you mean 'fund'?"
    assert root.commands == {}
