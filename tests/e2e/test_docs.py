"""Documentation that cannot drift: the CLI reference is generated from the code."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

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
