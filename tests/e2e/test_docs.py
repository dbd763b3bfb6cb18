"""Documentation that cannot drift: the CLI reference is generated from the code."""

from __future__ import annotations

from pathlib import Path

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
