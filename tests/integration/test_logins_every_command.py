"""Every command of the CLI as a person's real PostgreSQL login (a clerk's and an auditor's),
on the demo's programme year, with the master key set in the environment: each answers,
refuses by name or reports a usage error; none is an internal error. An auditor's login
holds none of the store's keys, so with the key set it answers as without it (it met the
database's refusal of the keyring as an internal error, and once past that, its replay
disagreed with the views: a false alarm of drift)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import click
import psycopg
import pytest
from click.testing import CliRunner, Result

from aidflow import AidFlow
from aidflow.cli import main
from aidflow.cli.helptext import walk
from aidflow.config import parse_url
from aidflow.gate import store_roles
from aidflow.roles import apply_roles
from tests.builders import national_id
from tests.integration.test_pg_logins import _as
from tests.pg import ADMIN_URL, fresh_database

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("pg-roles")]

LEFT_OUT = {("serve",), ("projections", "follow")}
"""Commands that run until stopped: held to their refusal in test_rebuild_rights.py. The
``warm`` group touches no store, and its default socket is this user's own warm process."""


def _aidflow(url: str, *args: str, actor: str | None = None) -> Result:
    chosen = ["--actor", actor] if actor else []
    return CliRunner().invoke(main, ["--db", url, *chosen, *args], env={"AIDFLOW_WARM": "0"})


@pytest.fixture(scope="module")
def year() -> Iterator[tuple[str, str, str, dict[str, str]]]:
    """The demo's year on PostgreSQL with roles applied; a clerk's, an auditor's, an admin's
    and an approver's own login."""
    suffix = uuid.uuid4().hex[:8]
    people = {  # login: (role, the store's role it is made in)
        f"zhou_{suffix}": ("screening-clerk", "writer"),
        f"shen_{suffix}": ("auditor", "auditor"),
        f"li_{suffix}": ("admin", "writer"),
        f"he_{suffix}": ("approver", "writer"),
    }
    clerk, auditor, admin_login, approver = people
    with fresh_database() as url:
        made = _aidflow(url, "--json", "demo")
        assert made.exit_code == 0, made.output
        demo = json.loads(made.output)
        staff = json.loads(_aidflow(url, "--json", "staff", "list").output)
        admin = next(s["name"] for s in staff if "admin" in s["roles"])
        for login, (role, _) in people.items():
            added = _aidflow(url, "staff", "add", login, "--role", role, actor=admin)
            assert added.exit_code == 0, added.output
        apply_roles(url)
        roles = store_roles(parse_url(url).database, parse_url(url).schema)
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            for login, (_, kind) in people.items():
                conn.execute(f"CREATE ROLE {login} LOGIN IN ROLE {getattr(roles, kind)}".encode())
        filled = {
            "case_ref": demo["consulted_case_id"],
            "fund_ref": demo["government_fund_id"],
            "names": "queue",
            "year": "2026",
            "text": "Wang",
            "position": "3",
            "admin": admin_login,
            "approver": approver,
        }
        try:
            yield url, clerk, auditor, filled
        finally:
            with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                name = parse_url(url).database
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
                for login in (*people, roles.service, roles.writer, roles.auditor):
                    conn.execute(f"DROP ROLE IF EXISTS {login}".encode())


def test_no_command_is_an_internal_error_to_a_persons_login(
    year: tuple[str, str, str, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, clerk, auditor, filled = year
    monkeypatch.chdir(tmp_path)  # what a command writes beside it (keys init-signing)
    ran = 0
    for path, command in walk(main):
        if not path or isinstance(command, click.Group) or path in LEFT_OUT or path[0] == "warm":
            continue
        arguments = [p.name for p in command.params if isinstance(p, click.Argument)]
        if not all(name in filled for name in arguments):
            continue  # a file, a voucher, a role...: its own tests give one
        for login in (clerk, auditor):
            result = _aidflow(_as(url, login), *path, *[filled[a] for a in arguments if a])
            said = result.output + repr(result.exception)
            assert "internal error" not in said, (login, path, said)
            assert isinstance(result.exception, SystemExit | None), (login, path, said)
            ran += 1
    assert ran > 100


@pytest.mark.parametrize("who", ["auditor", "approver", "admin"])
def test_a_persons_login_with_the_key_set_finds_no_false_drift(
    year: tuple[str, str, str, dict[str, str]], who: str
) -> None:
    """A person's login opens no value outside a reveal, so its replay compares as without
    the key. With the key set, an approver's and an admin's `audit check` reported "the audit
    view has drifted" and `projections verify` the dossier and the queue; an auditor's first
    met the keyring's refusal as an internal error."""
    url, _clerk, auditor, filled = year
    login = _as(url, {"auditor": auditor, **filled}[who])
    checked = _aidflow(login, "audit", "check")
    assert checked.exit_code == 0, checked.output
    assert "agrees with a fresh replay" in checked.output
    verified = _aidflow(login, "projections", "verify")
    assert verified.exit_code == 0, verified.output
    assert "DRIFTED" not in verified.output
    if who != "admin":  # an admin reads no case
        explained = _aidflow(login, "case", "explain", filled["case_ref"])
        assert explained.exit_code == 0, explained.output


def test_a_persons_login_acts_as_itself_without_naming_itself(
    year: tuple[str, str, str, dict[str, str]],
) -> None:
    url, clerk, _auditor, _filled = year
    student = {
        "--student-id": national_id(901),
        "--name": "Zhao Lei",
        "--university": "Guizhou University",
        "--category": "dibao",
        "--town": "Gaoping",
        "--year": "2026",
    }
    given = [part for option in student.items() for part in option]
    applied = _aidflow(_as(url, clerk), "--json", "case", "apply", *given)
    assert applied.exit_code == 0, applied.output  # no --actor: the login is the actor
    case_id = json.loads(applied.output)["case_id"]
    flow = AidFlow.open(url)
    try:
        assert flow.load_case(uuid.UUID(case_id)).opened_by == clerk
    finally:
        flow.close()
    as_another = _aidflow(_as(url, clerk), "--actor", "someone-else", "case", "close", case_id)
    assert as_another.exit_code != 0 and "internal error" not in as_another.output
    owner = _aidflow(url, "case", "close", case_id, "--reason", "x")  # the owner names who acts
    assert owner.exit_code == 2 and "--actor" in owner.output


def test_an_admins_own_login_rotating_the_keys_is_told_whose_act_it_is(
    year: tuple[str, str, str, dict[str, str]], tmp_path: Path
) -> None:
    """The key tables are re-wrapped by the owner's or the service's login; an admin's own
    login met the database's refusal. It is named, and no new key file is left behind."""
    url, _clerk, _auditor, filled = year
    target = tmp_path / "new.key"
    rotated = _aidflow(_as(url, filled["admin"]), "keys", "rotate", "--to", str(target))
    assert rotated.exit_code == 2, rotated.output
    assert "withholds the store's keys from this login" in rotated.output
    assert "internal error" not in rotated.output
    assert not list(tmp_path.iterdir())
