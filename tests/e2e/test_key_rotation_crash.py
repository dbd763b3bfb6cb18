"""Keys that survive a crash (issue 21 §5): ``keys rotate`` killed at any point leaves a
store that opens with the old key or the new one, never neither, and running it again
finishes the job. It used to be that a kill between the commit and the key file's rename
left the store refusing the old key, and a second ``keys rotate`` deleted the new one:
every student's personal data lost.

The two kill points are made by hand: the store's keys re-wrapped with the staged key
left unrenamed (after the commit), and a staged key that never wrapped anything (before).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from aidflow.cli import main
from aidflow.config import parse_url
from aidflow.privacy import Vault, new_master, parse_master, write_key_file
from tests.conftest import TEST_MASTER_KEY
from tests.e2e.conftest import Cli


def _run(*args: str, env: dict[str, str | None], code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == code, (args, result.output, result.stderr)
    return result.stdout + result.stderr


@pytest.fixture
def keyed(cli: Cli, world: dict[str, str]) -> tuple[Cli, dict[str, str | None], Path]:
    if not cli.url.startswith("sqlite"):
        pytest.skip("the key file sits beside a SQLite database; the vault is tested on both")
    key = Path(parse_url(cli.url).path + ".key")
    key.write_text(TEST_MASTER_KEY + "\n")
    return cli, {"AIDFLOW_DB": cli.url, "AIDFLOW_KEY": None, "AIDFLOW_ACTOR": "admin"}, key


def _revealed(cli: Cli, env: dict[str, str | None], case: str) -> str:
    return _run(
        "case", "show", case, "--reveal", "--reason", "check",
        env={**env, "AIDFLOW_ACTOR": "visitor"},
    )  # fmt: skip


def test_killed_after_the_commit_the_store_opens_and_a_retry_finishes(
    keyed: tuple[Cli, dict[str, str | None], Path], world: dict[str, str]
) -> None:
    cli, env, key = keyed
    staged = key.with_name(key.name + ".new")
    text = new_master()
    write_key_file(staged, text)
    vault = Vault(parse_url(cli.url))
    vault.use_master(parse_master(TEST_MASTER_KEY, "test"))
    assert vault.rotate(parse_master(text, "staged")) >= 1  # committed; then killed
    vault.db.close()
    assert key.read_text().strip() == TEST_MASTER_KEY  # the old key file, still in place

    assert "Wang Fang" in _revealed(cli, env, world["case"])  # opens with the staged key
    _run("keys", "rotate", env=env)  # finishes the rename, then rotates afresh
    assert not staged.exists()
    assert key.read_text().strip() not in (TEST_MASTER_KEY, text)
    assert "Wang Fang" in _revealed(cli, env, world["case"])


def test_killed_before_the_commit_the_stale_staged_key_is_dropped(
    keyed: tuple[Cli, dict[str, str | None], Path], world: dict[str, str]
) -> None:
    cli, env, key = keyed
    staged = key.with_name(key.name + ".new")
    write_key_file(staged)  # written, never used: the kill came before the re-wrap
    assert "Wang Fang" in _revealed(cli, env, world["case"])
    _run("keys", "rotate", env=env)
    assert not staged.exists() and key.read_text().strip() != TEST_MASTER_KEY
    assert "Wang Fang" in _revealed(cli, env, world["case"])


def test_when_neither_key_opens_the_store_nothing_is_deleted(
    keyed: tuple[Cli, dict[str, str | None], Path],
) -> None:
    _cli, env, key = keyed
    staged = key.with_name(key.name + ".new")
    write_key_file(staged)
    key.write_text(new_master() + "\n")  # someone's other key
    before = (key.read_text(), staged.read_text())
    out = _run("keys", "rotate", env=env, code=2)
    assert "nor" in out and "nothing was changed" in out
    assert (key.read_text(), staged.read_text()) == before
