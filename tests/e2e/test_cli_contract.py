"""The CLI's contract beyond each command's happy path: ``--json`` on either side of the
command, one error family with stable codes and exit statuses, bounded parameters, no
traceback for any input, and text output that no stored value can forge."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from aidflow import AidFlow
from aidflow.cli import main
from aidflow.render import clean, line, table
from tests.builders import national_id, register_staff
from tests.e2e.conftest import Cli
from tests.pg import fresh_database

QUERIES = [
    ("fund", "show", "{gov}"),
    ("fund", "list"),
    ("case", "show", "{case}"),
    ("case", "show", "{case}", "--version", "1"),
    ("case", "history", "{case}"),
    ("case", "list"),
    ("queue",),
    ("audit", "journal", "--limit", "2"),
    ("audit", "ledger", "--as-of", "2999-01-01"),
    ("audit", "check"),
    ("audit", "report"),
    ("audit", "digest"),
    ("audit", "verify", "{digest}"),
    ("projections", "status"),
]
MOMENTS = {"as_of"}  # answered "now": differ between two runs


def _steady(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _steady(v) for k, v in data.items() if k not in MOMENTS}
    if isinstance(data, list):
        return [_steady(v) for v in data]
    return data


@pytest.mark.parametrize("args", QUERIES, ids=lambda a: " ".join(a))
def test_json_before_or_after_the_command(
    cli: Cli, world: dict[str, str], args: tuple[str, ...]
) -> None:
    digest = cli("audit", "digest").stdout.splitlines()[0].strip()
    filled = [a.format(digest=digest, **world) for a in args]
    before = json.loads(cli("--json", *filled).stdout)
    after = json.loads(cli(*filled, "--json").stdout)
    assert _steady(before) == _steady(after)
    text = cli(*filled).stdout
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


def _one_line_error(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("audit", "journal", "--limit", "99999999999999999999"), "1<=x<=9223372036854775807"),
        (("audit", "journal", "--limit", "0"), "--limit"),
        (("case", "show", "{case}", "--version", "99999999999999999999"), "--version"),
        (("audit", "verify", "99999999999999999999:" + "a" * 64), "position"),
        (("audit", "ledger", "--as-of", "0001-01-01T00:00+05:00"), "outside the times"),
        (("audit", "check", "--as-of", "9999-12-31T23:00-05:00"), "outside the times"),
        (("audit", "journal", "--since", "0001-01-01T00:00+14:00"), "outside the times"),
        (
            (
                "fund",
                "deposit",
                "{gov}",
                "--amount",
                "1" + "0" * 20,
                "--source",
                "s",
                "--receipt",
                "R",
            ),
            "too large",
        ),
        (("case", "list", "--year", "99999999999999999999"), "--year"),
        (("demo", "--seed", "-1"), "--seed"),
        (("projections", "follow", "--poll", "nan"), "finite"),
        (("projections", "follow", "--poll", "inf"), "--poll"),
        (("fund", "show", "{gov}", "--bogus"), "No such option"),
        (("nosuch",), "No such command"),
        (("--bogus", "fund", "list"), "No such option"),
        (("case", "show", "{case}", "--as-of", "2026-01-01", "--version", "1"), "not both"),
        # click put each choice on a line of its own, shown as \n\t in the error line
        (("case", "approve", "{case}", "--amount", "1"), "choose from: tuition, travel"),
    ],
)
def test_bad_parameters_are_one_line_usage_errors(
    cli: Cli, world: dict[str, str], args: tuple[str, ...], says: str
) -> None:
    filled = [a.format(**world) for a in args]
    result = cli.refused(*filled, says=says, code=2)
    _one_line_error(result.stderr)


@pytest.mark.parametrize("where", ["before", "after"])
def test_errors_as_json_carry_a_stable_code_and_the_ids(
    cli: Cli, world: dict[str, str], where: str
) -> None:
    def run(*args: str, code: int) -> dict[str, Any]:
        argv = ["--json", *args] if where == "before" else [*args, "--json"]
        result = cli(*argv, code=code)
        assert result.stdout == ""
        error: dict[str, Any] = json.loads(result.stderr)["error"]
        assert set(error) == {"code", "message", "ids"}
        return error

    missing = run("fund", "show", "ffffffff", code=1)
    assert missing["code"] == "fund_not_found" and "ffffffff" in missing["message"]
    again = [
        "case", "apply", "--student-id", national_id(1), "--name", "n", "--university", "u",
        "--category", "dibao", "--town", "t", "--year", "2026",
    ]  # fmt: skip
    duplicate = run(*again, code=1)
    assert duplicate["code"] == "duplicate_application"
    assert duplicate["ids"] == {"case_id": world["case"]}
    malformed = run(*again[:3], "520302200703150012", *again[4:], code=2)
    assert malformed["code"] == "invalid_input" and "student_id" in malformed["message"]
    usage = run("audit", "journal", "--limit", "99999999999999999999", code=2)
    assert usage["code"] == "usage_error"
    refused = run("case", "close", world["case"], "--reason", " ", code=2)
    assert refused["code"] == "invalid_input" and refused["message"].startswith("reason:")


def test_validation_errors_name_the_field_on_one_line(cli: Cli, world: dict[str, str]) -> None:
    result = cli.refused(
        "case",
        "disburse",
        world["case"],
        "--amount",
        "0",
        "--voucher",
        "V",
        says="amount_fen",
        code=2,
    )
    message = _one_line_error(result.stderr)
    assert "Value error" not in message and "pydantic" not in message


def test_an_ambiguous_fund_prefix_names_the_candidates(
    cli: Cli, world: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlalchemy as sa

    from aidflow.projections import dossier

    twins = ["abcdef00-0000-4000-8000-000000000001", "abcdef00-0000-4000-8000-000000000002"]
    real = dossier.resolve_fund

    def with_twins(conn: sa.Connection, prefix: str) -> object:
        conn.execute(
            sa.insert(dossier.fund_table),
            [{"fund_id": t, "name": "twin", "kind": "donation", "donors": []} for t in twins],
        )
        return real(conn, prefix)

    monkeypatch.setattr(dossier, "resolve_fund", with_twins)
    result = cli.refused("fund", "show", "abcdef00", says=twins[1], code=2)
    assert twins[0] in result.stderr and "give more characters" in result.stderr


def test_a_too_short_fund_prefix_is_refused(cli: Cli, world: dict[str, str]) -> None:
    cli.refused("fund", "show", "abcde", says="at least its first 6 characters", code=1)


def test_an_unexpected_failure_is_one_line_and_the_traceback_only_on_request(
    cli: Cli, world: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from aidflow.projections import ReadModels

    def broken(self: ReadModels, **_: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(ReadModels, "ledger", broken)
    result = cli("audit", "ledger", code=1)
    assert _one_line_error(result.stderr) == "error: internal error: RuntimeError: disk on fire"
    as_json = json.loads(cli("--json", "audit", "ledger", code=1).stderr)
    assert as_json["error"]["code"] == "internal_error"
    debug = CliRunner().invoke(
        main,
        ["audit", "ledger"],
        env={"AIDFLOW_DB": cli.url, "AIDFLOW_DEBUG": "1"},
        catch_exceptions=False,
    )
    assert debug.exit_code == 1
    assert "Traceback" in debug.stderr and "disk on fire" in debug.stderr


# No NUL: PostgreSQL text refuses it, and the command models do not yet (reported).
FORGERY = "Tuanze\nerror: forged line\r\x1b[31mred\x1b[0m\t\u202egnp.exe\u2028\x85\x07"


def test_no_value_can_forge_a_line_of_text_output(cli: Cli, world: dict[str, str]) -> None:
    """Control characters are refused at the edge (nothing written); values that reached a
    store around the rules (an old store, a bug) are escaped wherever text is printed."""
    before = cli.head()
    for args in (
        ("fund", "open", "--name", FORGERY, "--kind", "donation"),
        ("case", "reject", world["case"], "--reason", FORGERY),
    ):
        refused = cli(*args, code=2)
        assert "control character" in refused.stderr and len(refused.stderr.splitlines()) == 1
    assert cli.head() == before

    from uuid import UUID

    flow = AidFlow.open(cli.url)
    register_staff(flow)
    fund = flow.load_fund(UUID(world["don"]))
    fund._deposited(amount_fen=100, source=FORGERY, receipt=FORGERY, value_date=None, actor="x")
    case = flow.load_case(UUID(world["case"]))
    case._rejected(reason=FORGERY, actor="x")
    flow.save(fund, case)
    flow.close()
    outputs = [
        cli("fund", "list").stdout,
        cli("fund", "show", world["don"]).stdout,
        cli("case", "show", world["case"]).stdout,
        cli("case", "history", world["case"]).stdout,
        cli("audit", "journal").stdout,
        cli("audit", "ledger", "--entries").stdout,
        cli("audit", "report").stdout,
        cli("case", "reject", world["case"], "--reason", "again", code=1).stderr,
    ]
    for out in outputs:
        assert not any(ch in out for ch in "\r\x1b\t\u202e\u2028\x85\x07"), out
        assert all(not row.startswith("error: forged") for row in out.splitlines()), out
    shown = cli("audit", "journal").stdout
    assert "Tuanze\\nerror: forged line\\r\\x1b[31mred" in shown and "\\u202egnp" in shown


def test_clean_escapes_every_line_breaking_or_reordering_character() -> None:
    unsafe = [chr(c) for c in range(0x20)] + [chr(c) for c in range(0x7F, 0xA0)]
    unsafe += ["\u2028", "\u2029", "\u200e", "\u200f", "\u061c"]
    unsafe += [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)]
    for char in unsafe:
        escaped = clean(f"a{char}b")
        assert escaped.startswith("a\\") and escaped.endswith("b") and char not in escaped
        assert len(escaped.splitlines()) == 1
    assert clean("申请-救助 3,000.50 O'Brien") == "申请-救助 3,000.50 O'Brien"
    assert clean(None) == ""
    assert line("{x:>5}|{y}", x="a\nb", y=None) == " a\\nb|"
    assert "\n" not in table([("a\nb", "c")], ["h1", "h2"]).splitlines()[2]


def test_every_command_has_help_that_loads_its_choices() -> None:
    from scripts.gen_cli_docs import commands

    runner = CliRunner()
    for path, _command in commands(main, []):
        result = runner.invoke(main, [*path, "--help"], prog_name="aidflow", catch_exceptions=False)
        assert result.exit_code == 0 and "Usage: aidflow " + " ".join(path) in result.stdout
    helped = runner.invoke(main, ["case", "apply", "--help"]).stdout
    assert "dibao|tekun|expenditure|other" in helped


def test_the_demo_refuses_a_store_with_events_and_says_why(cli: Cli, world: dict[str, str]) -> None:
    result = cli.refused("--json", "demo", says='"code": "rule_violation"', code=1)
    assert "fresh, empty database" in json.loads(result.stderr)["error"]["message"]


@pytest.mark.parametrize(
    "args",
    [
        ("audit", "check"),
        ("fund", "list"),
        ("case", "list"),
        ("projections", "status"),
        ("events",),
        ("fund", "open", "--name", "N", "--kind", "government"),
        ("staff", "add", "clerk", "--role", "verifier"),  # not a first admin: it made a store
    ],
)
def test_a_mistyped_store_is_an_error_and_nothing_is_made(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    """A read (or a write) on a store that is not there says so in one line and makes nothing:
    a typo must never answer "all rules hold over 0 events" from a new, empty file."""
    typo = tmp_path / "offfice.db"
    result = Cli(f"sqlite:///{typo}")(*args, code=2)
    assert "there is no store at" in result.stderr and str(typo) in result.stderr
    _one_line_error(result.stderr)
    assert not typo.exists() and list(tmp_path.iterdir()) == []
    error = json.loads(Cli(f"sqlite:///{typo}")(*args, "--json", code=2).stderr)["error"]
    assert error["code"] == "no_such_store" and not typo.exists()


def test_the_first_admin_and_the_demo_make_their_store(tmp_path: Path) -> None:
    first = tmp_path / "new.db"
    Cli(f"sqlite:///{first}")("staff", "add", "li", "--role", "admin", actor="li")
    assert first.exists()
    demo = tmp_path / "demo.db"
    Cli(f"sqlite:///{demo}")("demo", "--seed", "3", actor=None)
    assert demo.exists()


@pytest.mark.postgres
def test_a_database_without_a_store_is_refused_and_left_as_it_was() -> None:
    import psycopg

    with fresh_database() as url:
        result = Cli(url)("audit", "check", "--json", code=2)
        assert json.loads(result.stderr)["error"]["code"] == "no_such_store"
        schema = Cli(url + "?schema=district_x")("case", "list", code=2)
        assert "there is no store" in schema.stderr
        with psycopg.connect(url) as conn:
            made = conn.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', "
                "'information_schema')"
            ).fetchone()
            schemas = conn.execute(
                "SELECT count(*) FROM pg_namespace WHERE nspname = 'district_x'"
            ).fetchone()
        assert made == (0,) and schemas == (0,)
