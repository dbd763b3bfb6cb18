"""Every command's ``--help`` in the reader's language.

The English written in the code (a command's docstring, an option's ``help=``) stays the
source: each paragraph of a docstring and each option's help is a msgid of msgctxt
``help``, looked up when click formats the help, never when the command is declared (the
language is chosen by ``--lang`` after the commands exist). Every command and group of the
CLI is a :class:`HelpCommand` or a :class:`HelpGroup` (a group's subcommands become one by
themselves; a test fails on a command that is not); ``scripts/i18n.py update`` collects
:func:`texts` of every command in the tree into the catalogue.

In English nothing changes: click formats the help itself, so ``docs/cli.md`` is click's
own layout. In another language, lines are wrapped by display columns (a Chinese character
takes two: :mod:`aidflow.cli.wrapping`, imported then), and a command's short help in its
group's list is the translated first paragraph up to its first full stop, shortened to the
room left.
"""

from __future__ import annotations

import inspect
import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import click

from aidflow.i18n import LANGUAGES, catalogue, current, set_language, tr
from aidflow.i18n.click_i18n import CLICK

HELP = "help"
"""msgctxt of the help texts."""
NO_REWRAP = "\b"
"""click's marker of a paragraph kept as written."""
_SENTENCE_END = re.compile(r"(?<=[。！？])")


def _parts(text: str | None) -> list[tuple[bool, str]]:
    """(kept as written, msgid) of each paragraph of a docstring up to click's ``\\f``."""
    if not text:
        return []
    found = []
    for part in inspect.cleandoc(text).partition("\f")[0].split("\n\n"):
        if part.startswith(NO_REWRAP):
            found.append((True, part.removeprefix(NO_REWRAP).strip("\n")))
        elif part.strip():
            found.append((False, " ".join(part.split())))
    return found


def paragraphs(text: str | None) -> list[str]:
    """The msgids of a docstring: its paragraphs, each on one line (click rewraps them; a
    paragraph under ``\\b`` keeps its lines, without the marker)."""
    return [msgid for _kept, msgid in _parts(text)]


def texts(command: click.Command) -> Iterator[str]:
    """Every msgid of one command's help: its short help, its paragraphs, its options'
    help (hidden ones too: the root's options are the same again, hidden) and the defaults
    they show in words."""
    if command.short_help:
        yield command.short_help
    yield from paragraphs(command.help)
    for param in command.params:
        help_text = getattr(param, "help", None)
        if help_text:
            yield help_text
        if isinstance(getattr(param, "show_default", None), str):
            yield param.show_default  # type: ignore[attr-defined]  # "this year"


def say(text: str) -> str:
    """A help text in the current language: its ``help`` translation, else click's own
    (``Show this message and exit.``), else as written."""
    lang = current()
    if lang == "en" or not text:
        return text
    found = catalogue(lang)
    for context in (HELP, CLICK):
        translated = found.pgettext(context, text)
        if translated != text:
            return translated
    return text


def terminal_columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size()`` tells click: ``COLUMNS``, else
    the width of the terminal on stdout, else 80. Asked here, not of ``shutil``: importing it
    (and the compression modules it imports) was ~2 ms of a cold ``aidflow --help``."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        stdout = sys.__stdout__
        try:
            columns = os.get_terminal_size(stdout.fileno()).columns if stdout else 0
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class WideFormatter(click.HelpFormatter):
    """click's formatter, wrapping by display columns outside English."""

    def __init__(
        self, indent_increment: int = 2, width: int | None = None, max_width: int | None = None
    ) -> None:
        if width is None and click.formatting.FORCED_WIDTH is None:  # click's own rule
            width = max(min(terminal_columns(), max_width or 80) - 2, 50)
        super().__init__(indent_increment, width, max_width)

    def write_heading(self, heading: str) -> None:
        if current() == "en":
            super().write_heading(heading)
            return
        from aidflow.i18n import messages as M  # not for English: --help imports none

        self.write(f"{'':>{self.current_indent}}{heading}{tr(M.LABEL_COLON)}\n")

    def write_text(self, text: str) -> None:
        if current() == "en":
            super().write_text(text)
            return
        indent = " " * self.current_indent
        for i, paragraph in enumerate(text.split("\n\n")):
            if i:
                self.write("\n")
            for line in self._paragraph(paragraph, indent):
                self.write(f"{line}\n")

    def _paragraph(self, paragraph: str, indent: str) -> list[str]:
        if paragraph.startswith(NO_REWRAP):
            return [indent + line for line in paragraph.splitlines()[1:]]
        from aidflow.cli.wrapping import wrap

        return wrap(" ".join(paragraph.split()), self.width, indent)

    def write_dl(
        self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2
    ) -> None:
        if current() == "en":
            super().write_dl(rows, col_max, col_spacing)
            return
        from aidflow.cli.wrapping import columns, wrap

        rows = list(rows)
        first_col = min(max((columns(term) for term, _ in rows), default=0), col_max)
        first_col += col_spacing
        indent = " " * (first_col + self.current_indent)
        for term, text in rows:
            head = " " * self.current_indent + term
            if not text:
                self.write(f"{head}\n")
                continue
            if columns(term) > first_col - col_spacing:
                self.write(f"{head}\n")
                head = indent
            else:
                head += " " * (first_col - columns(term))
            lines = wrap(text, self.width, indent, first=head)
            self.write("\n".join(lines) + "\n")


class HelpContext(click.Context):
    formatter_class = WideFormatter


class _Help:
    """What :class:`HelpCommand` and :class:`HelpGroup` change in click's formatting."""

    context_class: type[click.Context] = HelpContext

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """A ``--lang`` anywhere on the line chooses the language before ``--help`` (an
        eager option, run in the order typed) prints anything."""
        asked = _asked_language(args)
        if asked is not None:
            set_language(asked)
        return super().parse_args(ctx, args)  # type: ignore[misc,no-any-return]

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        """click's ``--help``, its text kept in English (the msgid), shown in the language
        of the moment it is shown rather than of the moment click first made it."""
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = "Show this message and exit."
        return option  # type: ignore[no-any-return]

    def get_short_help_str(self, limit: int = 45) -> str:
        if current() == "en":
            return super().get_short_help_str(limit)  # type: ignore[misc,no-any-return]
        command: click.Command = self  # type: ignore[assignment]
        if command.short_help:
            text = say(command.short_help)
        else:
            first = paragraphs(command.help)[:1]
            text = _SENTENCE_END.split(say(first[0]), maxsplit=1)[0] if first else ""
        from aidflow.cli.wrapping import shorten

        return shorten(text.strip(), limit)

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        command: click.Command = self  # type: ignore[assignment]
        if current() == "en" or not command.help:
            super().format_help_text(ctx, formatter)  # type: ignore[misc]
            return
        shown = [
            (NO_REWRAP + "\n" if kept else "") + say(msgid) for kept, msgid in _parts(command.help)
        ]
        formatter.write_paragraph()
        with formatter.indentation():
            formatter.write_text("\n\n".join(shown))

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if current() == "en":
            super().format_options(ctx, formatter)  # type: ignore[misc]
            return
        command: click.Command = self  # type: ignore[assignment]
        records = [
            record
            for param in command.get_params(ctx)
            if isinstance(param, click.Option) and (record := _shown(param).get_help_record(ctx))
        ]
        if records:
            with formatter.section(say("Options")):
                formatter.write_dl(records)
        if isinstance(command, click.Group):
            command.format_commands(ctx, formatter)


def _asked_language(args: Sequence[str]) -> str | None:
    """The language a ``--lang X`` or ``--lang=X`` among ``args`` names (the last one)."""
    asked = None
    options = list(args)[: list(args).index("--")] if "--" in args else list(args)
    for i, arg in enumerate(options):
        if arg == "--lang" and i + 1 < len(options):
            asked = options[i + 1]
        elif arg.startswith("--lang="):
            asked = arg.removeprefix("--lang=")
    return asked if asked in LANGUAGES else None


def _shown(option: click.Option) -> click.Option:
    """A copy of ``option`` with its help in the current language (the option itself is
    shared by every run in the process)."""
    import copy  # here: an English --help has no use for it

    shown = copy.copy(option)
    shown.help = say(option.help) if option.help else option.help
    if isinstance(option.show_default, str):
        shown.show_default = say(option.show_default)
    return shown


class HelpCommand(_Help, click.Command):
    """A command whose help speaks the reader's language."""


class HelpGroup(_Help, click.Group):
    """A group whose help, and whose commands' help, speak the reader's language."""

    command_class = HelpCommand
    group_class = type  # a group made by this group's ``group()`` is one of its kind


def walk(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command under ``group`` with its path of names, the group's own first."""
    yield path, group
    ctx = click.Context(group)
    for name in sorted(group.list_commands(ctx)):  # a lazy group's too, each imported
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            yield from walk(command, (*path, name))
        else:
            yield (*path, name), command


__all__ = ["HELP", "HelpCommand", "HelpGroup", "paragraphs", "say", "texts", "walk"]
