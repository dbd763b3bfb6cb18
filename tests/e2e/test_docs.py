"""Documentation that cannot drift: the CLI reference is generated from the code."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from aidflow.cli import main
from scripts.gen_cli_docs import DOC, commands, generate

ROOT = Path(__file__).resolve().parents[2]


def test_cli_reference_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == generate(), (
        "docs/cli.md is out of date: run python scripts/gen_cli_docs.py"
    )


def test_every_command_is_in_the_reference() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [
        " ".join(p) for p, _ in commands(main, []) if f"## aidflow {' '.join(p)}\n" not in text
    ]
    assert not missing, f"undocumented commands: {missing}"


def test_readme_commands_are_the_ones_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_command = (
        "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test,http]' && .venv/bin/pytest"
    )
    assert test_command in readme and test_command in ci
    assert "aidflow demo" in readme


def test_the_readme_library_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's Python, run as a new user would (in a fresh directory), answers as it says."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert blocks, "the README shows the library"
    monkeypatch.chdir(tmp_path)
    shown = io.StringIO()
    with contextlib.redirect_stdout(shown):
        for block in blocks:
            exec(compile(block, "README.md", "exec"), {"__name__": "readme"})
    assert shown.getvalue().split() == ["applied"]
    assert (tmp_path / "aidflow.db").exists()


def readme_command_lines() -> list[list[str]]:
    """Every ``aidflow …`` line of the README's shell blocks, as a shell would split it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"```sh\n(.*?)```", readme, flags=re.S):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            for part in line.split("&&"):
                words = shlex.split(part, comments=True)
                if words[:1] == ["aidflow"]:
                    found.append(words[1:])
    return found


@pytest.mark.parametrize("args", readme_command_lines(), ids=" ".join)
def test_every_readme_command_parses(args: list[str]) -> None:
    """Each command line the README shows names a command and options it has, in the order
    shown (global options after the command included): asked for its help, it answers it
    rather than a usage error."""
    result = CliRunner().invoke(main, [*args, "--help"], catch_exceptions=False)
    assert result.exit_code == 0, result.output + result.stderr
    assert "[OPTIONS]" in result.output  # its usage line, in the language asked for


def test_global_options_after_the_command_mean_what_they_mean_before(tmp_path: Path) -> None:
    """``--db``, ``--actor``, ``--lang`` and ``--json`` may follow the command (issue 24 §2)."""
    db = f"sqlite:///{tmp_path / 'office.db'}"
    runner = CliRunner()
    made = runner.invoke(
        main, ["staff", "add", "li", "--role", "admin", "--db", db, "--actor", "li"]
    )
    assert made.exit_code == 0, made.output + made.stderr
    before = runner.invoke(main, ["--db", db, "--lang", "zh", "--json", "staff", "list"])
    after = runner.invoke(main, ["staff", "list", "--db", db, "--lang", "zh", "--json"])
    assert before.exit_code == after.exit_code == 0, after.stderr
    assert before.output == after.output and '"li"' in after.output
    text = runner.invoke(main, ["staff", "list", "--lang", "zh", "--db", db])
    assert text.exit_code == 0 and "岗位" in text.output, text.output
    missing = tmp_path / "typo.db"
    refused = runner.invoke(main, ["fund", "list", "--db", f"sqlite:///{missing}"])
    assert refused.exit_code == 2 and not missing.exists()


@pytest.mark.parametrize("path", [p for p, _ in commands(main, [])], ids=" ".join)
def test_every_command_takes_the_global_options_after_it(path: list[str]) -> None:
    args = [*path, "--db", "sqlite:///x.db", "--actor", "li", "--lang", "en", "--help"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output + result.stderr


_ELSEWHERE = re.compile(r"performance\.md`?, \*([^*\n]+)\*")
_WITHIN = re.compile(r"see \*([^*\n]+)\*")


def test_every_section_of_the_performance_notes_referred_to_is_there() -> None:
    """The docs name a measurement by its section's title (``docs/performance.md, *Rebuilds
    apart*``; the summary's rows ``see *…*``). An edit once cut a thousand lines of
    docs/performance.md, sections the summary named among them, and every test stayed green."""
    performance = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    headings = [
        line.lstrip("#").strip() for line in performance.splitlines() if line.startswith("#")
    ]
    named = {("performance.md", title) for title in _WITHIN.findall(performance)}
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        named |= {(path.name, t) for t in _ELSEWHERE.findall(path.read_text(encoding="utf-8"))}
    assert len(named) >= 6  # the references this test was written for are found
    missing = sorted(
        (where, title) for where, title in named if not any(h.startswith(title) for h in headings)
    )
    assert missing == []
