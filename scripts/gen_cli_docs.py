"""Write docs/cli.md from the click command tree, so the reference cannot drift from the code.

python scripts/gen_cli_docs.py          # rewrite docs/cli.md
python scripts/gen_cli_docs.py --check  # exit 1 if docs/cli.md is out of date
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import click

from aidflow.cli import main
from aidflow.cli.helptext import walk
from aidflow.i18n import using

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"

INTRO = """# CLI reference

Generated from the code by `python scripts/gen_cli_docs.py`; a test fails when it is out of date.
It is the English help, the source text: `aidflow --lang zh COMMAND --help` (or `--lang zh` anywhere
on the line, or `AIDFLOW_LANG=zh`) shows the same help in Chinese, every paragraph and option help
translated in the catalogue (msgctxt `help`, collected from the command tree by
`python scripts/i18n.py update`; see `aidflow/cli/helptext.py`).

Global options come before the command: `--db URL` (env `AIDFLOW_DB`, default `sqlite:///aidflow.db`),
`--actor NAME` (env `AIDFLOW_ACTOR`; required by every command that writes). `--json` may come before
or after the command (`aidflow --json fund list` or `aidflow fund list --json`); JSON output gives money
as integer fen in fields ending `_fen`. Amounts are given in yuan (`3000`, `3000.50`). `CASE` and `FUND`
take an id or its first 6 or more characters. Times (`--as-of`, `--since`) are on the office's clock
(policy `timezone`, Asia/Shanghai unless set): `2026-08-29` means the end of that day (`--since`: its
start), `2026-08-29T17:00` that minute; `2026-08-29T09:00Z` or `…+08:00` names its own zone. Shown times
and days are the office's too; JSON keeps UTC with its offset.

Exit status: `0` done; `1` refused by a rule, not found, a failed check, or an internal error; `2` bad
usage or bad input. A refused command writes nothing. A failure is one line on stderr, `error: MESSAGE`;
with `--json` it is a JSON object on stderr, `{"error": {"code": ..., "message": ..., "ids": {...}}}`,
whose `code` is stable (table at the end). `AIDFLOW_DEBUG=1` adds the traceback of an internal error.
Text output escapes control, line-separator and bidi characters in every value (`\\n`, `\\x1b`,
`\\u202e`), so a value cannot forge a line; JSON output keeps values as they are.
"""


def commands(group: click.Group, prefix: list[str]) -> list[tuple[list[str], click.Command]]:
    """Every command that is not a group, with its path (the root's table each imported)."""
    return [
        ([*prefix, *path], command)
        for path, command in walk(group)
        if not isinstance(command, click.Group)
    ]


def error_codes() -> str:
    """The stable error codes: the library's error family, and the CLI's own."""
    from aidflow.cli.failures import CLI_ERRORS
    from aidflow.domain.errors import AidflowError, InvalidInput

    def family(cls: type[AidflowError]) -> list[type[AidflowError]]:
        return [cls] + [c for sub in cls.__subclasses__() for c in family(sub)]

    rows = [
        (e.code, 2 if issubclass(e, InvalidInput) else 1, (inspect.getdoc(e) or "").split("\n")[0])
        for e in family(AidflowError)
    ]
    rows += [(code, status, meaning) for code, (status, meaning) in CLI_ERRORS.items()]
    lines = ["## Error codes", "", "| code | exit | meaning |", "|---|---|---|"]
    lines += [f"| `{code}` | {status} | {meaning} |" for code, status, meaning in rows]
    return "\n".join(lines) + "\n"


def generate() -> str:
    """The reference, always in English: the process may have chosen another language.

    Click keeps each command's ``--help`` option once made, its help text translated in the
    language of that moment (a test that ran ``--lang zh`` before this one): those are set
    aside while the reference is written, and put back after."""
    everyone = [main, *(command for _path, command in commands(main, []))]
    kept = [command._help_option for command in everyone]
    with using("en"):
        try:
            for command in everyone:
                command._help_option = None
            return _generate()
        finally:
            for command, option in zip(everyone, kept, strict=True):
                command._help_option = option


def _generate() -> str:
    with click.Context(main, info_name="aidflow", terminal_width=80, max_content_width=80) as root:
        parts = [INTRO, f"## aidflow\n\n```\n{main.get_help(root)}\n```\n"]
    for path, command in commands(main, []):
        with click.Context(
            main, info_name="aidflow", terminal_width=80, max_content_width=80
        ) as root:
            ctx = root
            for name in path[:-1]:
                group = ctx.command.get_command(ctx, name)  # type: ignore[attr-defined]
                ctx = click.Context(group, parent=ctx, info_name=name)
            ctx = click.Context(command, parent=ctx, info_name=path[-1])
            help_text = command.get_help(ctx)
        parts.append(f"## aidflow {' '.join(path)}\n\n```\n{help_text}\n```\n")
    parts.append(error_codes())
    return "\n".join(parts)


if __name__ == "__main__":
    text = generate()
    if "--check" in sys.argv:
        if DOC.read_text(encoding="utf-8") != text:
            sys.exit("docs/cli.md is out of date: run python scripts/gen_cli_docs.py")
    else:
        DOC.write_text(text, encoding="utf-8")
        print(f"wrote {DOC}")
