"""Every command of the CLI reference speaks Chinese in ``--lang zh`` (issue 24 §1): its
``--help`` (the command list, the long help, every option's help), and what a handful of
real commands print on a small store. English stays click's own layout (docs/cli.md).

"An English sentence" is two or more words of Latin letters in a row on one line, once
code spans, option names, placeholders, ids, paths and the record's own data are set aside.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable

import click
import pytest
from click.testing import CliRunner

from aidflow.cli import main
from aidflow.cli.helptext import (
    HELP,
    HelpCommand,
    HelpGroup,
    WideFormatter,
    say,
    terminal_columns,
    texts,
    walk,
)
from aidflow.cli.wrapping import columns, wrap
from aidflow.i18n import catalogue, using
from tests.e2e.conftest import Cli

CODE = re.compile(r"``.*?``|`[^`]*`", re.S)
"""Code spans, which a long help may wrap over two lines."""
ASIDE = re.compile(
    r"(?<![\w-])--?[A-Za-z][\w-]*(?:=\S*)?"  # option names (--json, -o, --as-of=...)
    r"|\S*[/\\@$]\S*"  # paths, URLs, $VARIABLES
    r"|\S*[\d_.:=|\[\]{}]\S*"  # ids, numbers, file names, digests, choices, fields
    r"|\b[A-Z][A-Z]+\b"  # placeholders and acronyms (CASE, YUAN, FILE, CSV)
)
SENTENCE = re.compile(r"[A-Za-z]+(?:[ ,]+[A-Za-z]+){1,}")
PATHS = [path for path, _command in walk(main)]
DATA = (
    "Temporary assistance",
    "Chamber",
    "secondary aid",
    "district budget",
    "Huichuan chamber",
    "Wang Fang",
    "Guizhou University",
    "Gaoping",
)
"""What the ``world`` fixture typed into the record: data, never translated."""


def english(text: str, data: Iterable[str] = ()) -> list[str]:
    """The lines of ``text`` holding an English sentence."""
    found = []
    text = CODE.sub(lambda span: re.sub(r"[^\n]", " ", span.group()), text)
    for line in text.splitlines():
        kept = line
        for typed in data:
            kept = kept.replace(typed, " ")
        if SENTENCE.search(ASIDE.sub(" ", kept)):
            found.append(line)
    return found


def helped(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), prog_name="aidflow", catch_exceptions=False)
    assert result.exit_code == 0, (args, result.output)
    return result.stdout


def test_every_command_and_group_renders_its_help_through_the_catalogue() -> None:
    others = [
        " ".join(path) or "aidflow"
        for path, command in walk(main)
        if not isinstance(command, HelpCommand | HelpGroup)
    ]
    assert others == []


@pytest.mark.parametrize("path", PATHS, ids=[" ".join(p) or "aidflow" for p in PATHS])
def test_every_commands_help_is_chinese_in_zh(path: tuple[str, ...]) -> None:
    usage = [" ".join(("aidflow", *path))]  # command names are typed as they are
    chinese = helped("--lang", "zh", *path, "--help")
    assert english(chinese, usage) == [], chinese
    # the check would see the English: it is strict enough to fail on the old behaviour
    assert english(helped("--lang", "en", *path, "--help"), usage) != []


def test_the_language_given_after_help_still_chooses_it() -> None:
    assert helped("fund", "list", "--help", "--lang", "zh") == helped(
        "--lang", "zh", "fund", "list", "--help"
    )
    assert english(helped("--help", "--lang", "zh"), ["aidflow"]) == []
    assert "Usage:" in helped("--lang", "zh", "fund", "--help", "--lang", "en")


def test_english_help_is_clicks_own_and_stays_so_after_chinese() -> None:
    """The help option and every text are looked up when shown: Chinese shown once leaves
    nothing behind in a later English help (click caches its --help option)."""
    before = helped("--lang", "en", "case", "approve", "--help")
    helped("--lang", "zh", "case", "approve", "--help")
    assert helped("--lang", "en", "case", "approve", "--help") == before
    assert "Show this message and exit." in before


@pytest.mark.parametrize("given", [None, "40", "60", "77", "100", "200", "0", "-3", "wide"])
def test_the_help_is_as_wide_as_click_would_make_it(
    given: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The width is asked without ``shutil`` (a cold ``--help`` does not import it), and is
    what ``shutil`` and click make of ``COLUMNS`` and the terminal."""
    if given is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", given)
    monkeypatch.setattr(click.formatting, "FORCED_WIDTH", None)  # as outside CliRunner
    assert terminal_columns() == shutil.get_terminal_size().columns
    for max_width in (None, 60, 80, 120):
        mine = WideFormatter(max_width=max_width)
        assert mine.width == click.HelpFormatter(max_width=max_width).width
    monkeypatch.setattr(click.formatting, "FORCED_WIDTH", 33)
    assert WideFormatter().width == 33


def _placeholders(command: click.Command) -> set[str]:
    """What a reader types as written: the command's argument and option metavars."""
    with click.Context(command, info_name="x") as ctx:
        spec = " ".join(command.collect_usage_pieces(ctx))
        spec += " ".join(
            record[0]
            for param in command.params
            if isinstance(param, click.Option)
            and (record := param.get_help_record(ctx)) is not None
        )
    return set(re.findall(r"\b[A-Z][A-Z_]+\b", spec))


def test_a_help_translation_keeps_option_names_code_and_placeholders() -> None:
    zh = catalogue("zh")
    problems = []
    for _path, command in walk(main):
        kept_words = _placeholders(command)
        for text in texts(command):
            translated = zh.pgettext(HELP, text)
            must = set(re.findall(r"``.*?``|`[^`]*`|(?<![\w-])--[a-z][\w-]*", text))
            must |= {w for w in re.findall(r"\b[A-Z][A-Z_]+\b", text) if w in kept_words}
            missing = [m for m in must if m not in translated]
            if missing:
                problems.append((text, missing))
    assert problems == []


def test_help_texts_fall_back_to_clicks_own_and_then_to_english() -> None:
    with using("zh"):
        assert say("Show this message and exit.") == "显示此帮助并退出。"
        assert say("not a message of ours") == "not a message of ours"
    with using("en"):
        assert say("Programme year.") == "Programme year."


COMMANDS = (
    ("fund", "list"),
    ("case", "list"),
    ("due",),
    ("queue",),
    ("audit", "ledger"),
    ("audit", "check"),
    ("audit", "digest"),
    ("audit", "journal"),
    ("staff", "list"),
    ("policy", "show"),
    ("projections", "status"),
    ("year", "show", "2026"),
)


def test_real_commands_print_chinese_in_zh(cli: Cli, world: dict[str, str]) -> None:
    runs = [
        *COMMANDS,
        ("fund", "show", world["gov"]),
        ("case", "show", world["case"]),
        ("case", "history", world["case"]),
        ("case", "explain", world["case"]),
    ]
    problems = {}
    for args in runs:
        result = cli("--lang", "zh", *args)
        found = english(result.stdout + result.stderr, DATA)
        if found:
            problems[" ".join(args)] = found
    refused = (
        ("case", "show", "nonexistent"),
        ("fund", "show", "abcdef12"),
        ("case", "reject", world["case"], "--reason", "x", "--actor", "admin"),  # no role
    )
    for args in refused:
        result = cli("--lang", "zh", *args, code=1)
        if english(result.stderr):
            problems[" ".join(args)] = english(result.stderr)
    assert problems == {}, "\n".join(f"{k}: {line}" for k, v in problems.items() for line in v)


def test_chinese_help_wraps_by_display_columns() -> None:
    """A Chinese character takes two columns; a line never starts with a closing mark nor
    ends with an opening one, and a word of letters is never split."""
    text = "只列出该部门应办的会商事项（须为政策中的部门之一）。另见 `aidflow audit check` 的说明 [必填]"
    for room in range(24, 70):
        lines = wrap(text, room, "  ")
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
        for row in lines:
            assert columns(row) <= room or "`" in row, (room, lines)
            assert row.strip()[0] not in "，。）】" and row[-1] not in "（[", (room, lines)
        assert all(word in " ".join(lines) for word in ("`aidflow", "audit", "check`", "[必填]"))
