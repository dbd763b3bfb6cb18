"""The personal-data commands (issue 11): keys init/rotate, case show --reveal, case erase."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from aidflow.cli import main
from tests.e2e.conftest import Cli


def run(*args: str, env: dict[str, str | None], code: int = 0) -> tuple[str, str]:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == code, (args, result.output, result.stderr)
    return result.stdout, result.stderr


def test_keys_init_makes_an_owner_only_key_file_once_beside_the_database(tmp_path: Path) -> None:
    env: dict[str, str | None] = {
        "AIDFLOW_DB": f"sqlite:///{tmp_path / 'office.db'}",
        "AIDFLOW_KEY": None,
        "AIDFLOW_KEY_FILE": None,
    }
    out, err = run("keys", "init", env=env)
    key = tmp_path / "office.db.key"
    assert str(key) in out and "apart from the database" in err
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    first = key.read_text()
    out, _ = run("keys", "init", env=env)
    assert "it was kept" in out and key.read_text() == first
    _, err = run("keys", "init", env={**env, "AIDFLOW_KEY": "x"}, code=2)
    assert "AIDFLOW_KEY" in err


def test_reveal_is_recorded_and_needs_a_reason_and_a_role(cli: Cli, world: dict[str, str]) -> None:
    case = world["case"]
    masked = cli("case", "show", case).stdout
    assert "Wang Fang" not in masked and "W**" in masked and "6222***" in masked
    cli.refused("case", "show", case, "--reveal", says="--reason", code=2, actor="visitor")
    cli("staff", "add", "reader", "--role", "auditor", actor="admin")
    cli.refused(
        "case", "show", case, "--reveal", "--reason", "curious", says="may not", actor="reader"
    )
    shown = cli("case", "show", case, "--reveal", "--reason", "home visit", actor="visitor")
    assert "Wang Fang" in shown.stdout and "6222020200112233445" in shown.stdout
    data = cli.json("case", "show", case, "--reveal", "--reason", "pay", actor="cashier")
    assert data["personal_data"]["name"] == "Wang Fang"
    history = cli.json("case", "history", case)
    reveals = [r for r in history if r["type"] == "case.personal_data_revealed"]
    assert [(r["actor"], r["data"]["reason"]) for r in reveals] == [
        ("visitor", "home visit"),
        ("cashier", "pay"),
    ]
    assert "Wang Fang" not in json.dumps(history)


def test_erase_keeps_the_old_digest_and_shows_the_person_as_erased(
    cli: Cli, world: dict[str, str]
) -> None:
    case = world["case"]
    cli("case", "close", case, "--reason", "moved away", actor="approver")
    cli.refused("case", "erase", case, "--reason", "done", says="retention", actor="admin")
    cli("policy", "set", "retention-years", "0", actor="admin")
    digest = cli.json("audit", "digest")["digest"]
    cli.refused("case", "erase", case, "--reason", "done", says="may not", actor="approver")
    erased = cli.json("case", "erase", case, "--reason", "retention over", actor="admin")
    assert erased["erased_cases"] == [case]
    cli("audit", "verify", digest)
    cli("audit", "check")
    shown = cli("case", "show", case).stdout
    assert shown.startswith("[erased]  [erased]") and "account [erased]" in shown
    assert "Wang Fang" not in cli("case", "list").stdout
    assert "name=[已删除]" in cli("--lang", "zh", "case", "history", case).stdout
    assert cli("--lang", "zh", "case", "show", case).stdout.startswith("[已删除]")
    cli.refused(
        "case", "show", case, "--reveal", "--reason", "x", says="was erased", actor="visitor"
    )


def test_a_missing_or_wrong_key_is_one_line_with_exit_two(
    cli: Cli, world: dict[str, str], tmp_path: Path
) -> None:
    env: dict[str, str | None] = {
        "AIDFLOW_DB": cli.url,
        "AIDFLOW_ACTOR": "visitor",
        "AIDFLOW_KEY": None,
        "AIDFLOW_KEY_FILE": str(tmp_path / "none.key"),
    }
    args = ("case", "show", world["case"], "--reveal", "--reason", "visit")
    _, err = run(*args, env=env, code=2)
    assert err.startswith("error:") and err.count("\n") == 1 and "AIDFLOW_KEY" in err
    env["AIDFLOW_KEY"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    _, err = run(*args, env=env, code=2)
    assert "does not open this store's keys" in err and "Traceback" not in err
    _, err = run("--json", *args, env=env, code=2)
    assert json.loads(err)["error"]["code"] == "master_key_wrong"


def test_keys_rotate_rewraps_and_replaces_the_key_file(cli: Cli, world: dict[str, str]) -> None:
    from tests.conftest import TEST_MASTER_KEY

    if not cli.url.startswith("sqlite"):
        pytest.skip("the key file sits beside a SQLite database; rotation itself is tested on both")
    db = Path(cli.url.removeprefix("sqlite:///"))
    key = db.with_name(db.name + ".key")
    key.write_text(TEST_MASTER_KEY + "\n")
    env: dict[str, str | None] = {"AIDFLOW_DB": cli.url, "AIDFLOW_KEY": None}
    _, err = run("keys", "rotate", env={**env, "AIDFLOW_ACTOR": "visitor"}, code=1)
    assert "may not rotate keys" in err and key.read_text().strip() == TEST_MASTER_KEY
    out, _ = run("keys", "rotate", env={**env, "AIDFLOW_ACTOR": "admin"})
    assert "re-wrapped" in out and key.read_text().strip() != TEST_MASTER_KEY
    journal = json.loads(run("audit", "journal", "--json", env=env)[0])
    rotated = [e for e in journal if e["event_type"] == "staff.keys_rotated"]
    assert len(rotated) == 1 and rotated[0]["actor"] == "admin"  # on record, by whom
    assert not key.with_name(key.name + ".new").exists()
    out, _ = run(
        "case", "show", world["case"], "--reveal", "--reason", "r",
        env={**env, "AIDFLOW_ACTOR": "visitor"},
    )  # fmt: skip
    assert "Wang Fang" in out
    _, err = run(
        "keys", "rotate", env={**env, "AIDFLOW_KEY": TEST_MASTER_KEY, "AIDFLOW_ACTOR": "admin"},
        code=2,
    )  # fmt: skip
    assert "--to" in err
