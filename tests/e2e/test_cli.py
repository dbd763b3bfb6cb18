"""Every CLI command through click's CliRunner: the happy path, and a bad input for each
that shows its message, exits non-zero and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from aidflow import AidFlow
from aidflow.cli import main
from tests.builders import national_id, register_staff
from tests.e2e.conftest import Cli
from tests.e2e.test_help_zh import english


def test_full_lifecycle_from_the_command_line(cli: Cli, world: dict[str, str]) -> None:
    case, gov, don = world["case"], world["gov"], world["don"]
    cli(
        "case",
        "approve",
        "--ref",
        "AP-001",
        case[:8],
        "--amount",
        "5000",
        "--need",
        "tuition",
        "--fund",
        gov[:8],
        actor="approver",
    )
    paid = cli.json(
        "case",
        "disburse",
        case,
        "--amount",
        "5000",
        "--voucher",
        "HC-1",
        "--value-date",
        "2026-08-29",
        actor="cashier",
    )
    assert paid["recorded"] is True and paid["amount_fen"] == 500_000
    again = cli("case", "disburse", case, "--amount", "5000", "--voucher", "HC-1", actor="cashier")
    assert "nothing new written" in again.stdout
    cli(
        "case",
        "secondary-aid",
        "--ref",
        "SA-007",
        case,
        "--fund",
        don,
        "--amount",
        "3000",
        "--reason",
        "living costs",
        actor="federation",
    )
    cli("case", "approve-secondary-aid", case, "--ref", "SA-007", actor="approver")
    cli("case", "disburse", case, "--amount", "3000", "--voucher", "SA-007-PAY", actor="cashier")
    cli(
        "case",
        "report-hardship",
        case,
        "--kind",
        "illness",
        "--detail",
        "mother hospitalised",
        "--severity",
        "critical",
    )
    queue = cli.json("queue")
    assert [x["case_id"] for x in queue["awaiting_consultation"]] == [case]
    actions = cli(
        "case",
        "convene-review",
        case,
        "--department",
        "health",
        "--department",
        "education",
        "--action",
        "health=medical assistance",
        "--action",
        "education=tuition reduction",
    ).stdout.split()
    assert actions == ["A1", "A2"]
    assert [
        a["action_id"] for a in cli.json("queue", "--department", "education")["open_actions"]
    ] == ["A2"]
    cli("case", "complete-action", case, "A1", "--note", "covered", actor="health")
    cli(
        "case",
        "follow-up",
        case,
        "--study",
        "passing",
        "--living",
        "stable",
        "--hardship",
        "improved",
    )
    shown = cli.json("case", "show", case)
    assert (
        shown["case_id"],
        shown["status"],
        shown["approved_fen"],
        shown["disbursed_fen"],
        shown["secondary_aid_fen"],
    ) == (case, "reopened", 500_000, 500_000, 300_000)
    assert len(shown["timeline"]) == 11  # secondary aid proposed, approved by a second, paid
    assert national_id(1) not in json.dumps(shown)
    text = cli("case", "show", case).stdout
    assert "5203**********" in text and "action A2 [education] tuition reduction: OPEN" in text
    assert cli.json("case", "show", case, "--version", "2")["status"] == "verified"
    history = cli.json("case", "history", case)
    assert [h["type"] for h in history][:4] == [
        "case.applied",
        "case.verified",
        "case.grant_approved",
        "case.disbursed",
    ]
    assert history[0]["data"]["student_id"].startswith("5203*")
    ledger = cli.json("audit", "ledger")
    assert ledger["government_disbursed_fen"] == 500_000 and ledger["secondary_aid_fen"] == 300_000
    assert ledger["donations_received_fen"] == 800_050 and ledger["total_disbursed_fen"] == 800_000
    assert ledger["students_assisted"] == 1
    funds = cli.json("fund", "list")
    assert {f["kind"]: f["balance_fen"] for f in funds} == {
        "government": 1_500_000,
        "donation": 500_050,
    }
    assert cli.json("fund", "show", gov)["balance_fen"] == 1_500_000
    # the loop closes first: the household is visited again and the last action is done
    cli.refused("case", "close", case, "--reason", "graduated", says="not verified again")
    cli(
        "case",
        "verify",
        case,
        "--income",
        "9000",
        "--tuition",
        "5000",
        "--gap",
        "0",
        "--need",
        "living",
        actor="visitor2",
    )
    cli.refused("case", "close", case, "--reason", "graduated", says="A2 open")
    cli("case", "complete-action", case, "A2", "--note", "fees halved", actor="education")
    cli("case", "close", case, "--reason", "graduated")
    assert [
        c["case_id"]
        for c in cli.json(
            "case",
            "list",
            "--status",
            "closed",
            "--town",
            "Gaoping",
            "--category",
            "dibao",
            "--year",
            "2026",
        )
    ] == [case]
    journal = cli.json("audit", "journal", "--case", case)
    assert journal[-1]["summary"] == "case closed: graduated"
    check = cli.json("audit", "check")
    assert (check["ok"], check["violations"]) == (True, [])
    assert check["position"] == cli.head() and sum(check["checked"].values()) == cli.head()


def test_return_then_repay(cli: Cli, world: dict[str, str]) -> None:
    case, gov = world["case"], world["gov"]
    cli(
        "case",
        "approve",
        "--ref",
        "AP-002",
        case,
        "--amount",
        "3000",
        "--need",
        "tuition",
        "--fund",
        gov,
        actor="approver",
    )
    cli("case", "disburse", case, "--amount", "3000", "--voucher", "V1", actor="cashier")
    cli(
        "case",
        "return",
        case,
        "--voucher",
        "V1",
        "--reason",
        "card closed",
        "--value-date",
        "2026-09-01",
        actor="bank",
    )
    assert cli.json("case", "show", case)["status"] == "approved"
    cli.refused(
        "case", "return", case, "--voucher", "V1", "--reason", "again", says="already returned"
    )


def test_reject(cli: Cli, world: dict[str, str]) -> None:
    cli("case", "reject", world["case"], "--reason", "income above the line")
    assert cli.json("case", "show", world["case"])["status"] == "rejected"
    cli.refused(
        "case",
        "approve",
        "--ref",
        "AP-003",
        world["case"],
        "--amount",
        "1",
        "--need",
        "tuition",
        "--fund",
        world["gov"],
        says="was rejected",
        actor="approver",
    )


# -- bad input for each command: a clear message, a non-zero status, nothing written ----


def test_writes_need_an_actor(cli: Cli, world: dict[str, str]) -> None:
    cli.refused(
        "case", "reject", world["case"], "--reason", "x", actor=None, code=2, says="--actor"
    )
    cli.refused(
        "fund",
        "open",
        "--name",
        "x",
        "--kind",
        "donation",
        actor=None,
        code=2,
        says="AIDFLOW_ACTOR",
    )


@pytest.mark.parametrize(
    ("args", "says", "code"),
    [
        (("fund", "open", "--name", "x", "--kind", "charity"), "unknown fund kind 'charity'", 2),
        (
            ("fund", "deposit", "{gov}", "--amount", "1.001", "--source", "s", "--receipt", "B-1"),
            "more than two decimals",
            2,
        ),
        (
            ("fund", "deposit", "{gov}", "--amount", "1", "--source", "s", "--receipt", "B-1"),
            "receipt B-1 is already recorded",
            1,
        ),
        (("fund", "show", "ffffffff"), "no fund id starts with ffffffff", 1),
        (
            (
                "case",
                "apply",
                "--student-id",
                "520302200703150012",
                "--name",
                "n",
                "--university",
                "u",
                "--category",
                "dibao",
                "--town",
                "t",
            ),
            "check digit",
            2,
        ),
        (
            (
                "case",
                "apply",
                "--student-id",
                "{student}",
                "--name",
                "n",
                "--university",
                "u",
                "--category",
                "dibao",
                "--town",
                "t",
                "--year",
                "2026",
            ),
            "already has case",
            1,
        ),
        (
            (
                "case",
                "verify",
                "{case}",
                "--income",
                "1",
                "--tuition",
                "1",
                "--gap",
                "1",
                "--need",
                "tuition",
            ),
            "already verified",
            1,
        ),
        (
            (
                "case",
                "approve",
                "--ref",
                "AP-004",
                "{case}",
                "--amount",
                "5001",
                "--need",
                "tuition",
                "--fund",
                "{gov}",
            ),
            "over the cap",
            1,
        ),
        (
            (
                "case",
                "approve",
                "--ref",
                "AP-005",
                "{case}",
                "--amount",
                "100",
                "--need",
                "tuition",
                "--fund",
                "{don}",
            ),
            "must come from a government fund",
            1,
        ),
        (
            ("case", "disburse", "{case}", "--amount", "100", "--voucher", "V9"),
            "exceed what is approved",
            1,
        ),
        (("case", "disburse", "{case}", "--amount", "0", "--voucher", "V9"), "amount_fen", 2),
        (
            ("case", "return", "{case}", "--voucher", "NOPE", "--reason", "r"),
            "was not paid with voucher NOPE",
            1,
        ),
        (
            (
                "case",
                "secondary-aid",
                "--ref",
                "SA-008",
                "{case}",
                "--fund",
                "{don}",
                "--amount",
                "100",
            ),
            "not been paid temporary assistance",
            1,
        ),
        (
            ("case", "report-hardship", "{case}", "--kind", "flood", "--detail", "d"),
            "unknown hardship kind 'flood'",
            2,
        ),
        (("case", "convene-review", "{case}", "--department", "health"), "no reported hardship", 1),
        (
            (
                "case",
                "convene-review",
                "{case}",
                "--department",
                "health",
                "--action",
                "police: arrest",  # no '=': the policy's departments are checked later
            ),
            "DEPARTMENT=TEXT",
            2,
        ),
        (("case", "complete-action", "{case}", "A1", "--note", "n"), "has no action A1", 1),
        (
            (
                "case",
                "follow-up",
                "{case}",
                "--study",
                "s",
                "--living",
                "l",
                "--hardship",
                "better",
            ),
            "unknown hardship trend 'better'",
            2,
        ),
        (("case", "close", "{case}", "--reason", " "), "reason", 2),
        (("case", "reject", "not-a-case", "--reason", "r"), "is not a case id", 1),
        (("case", "show", "{case}", "--version", "9"), "has no version 9", 1),
        (("case", "show", "{case}", "--as-of", "yesterday"), "is not a time", 2),
        (("case", "history", "00000000-0000-0000-0000-000000000000"), "nothing recorded", 1),
        (("case", "list", "--status", "lost"), "unknown case status 'lost'", 2),
        (("queue", "--department", "police"), "no department police in the policy", 2),
        (("audit", "journal", "--since", "soon"), "is not a time", 2),
        (("audit", "ledger", "--as-of", "2026-13-01"), "is not a time", 2),
        (("audit", "report", "--format", "pdf"), "'pdf' is not one of", 2),
        (("audit", "verify", "12:abc"), "POSITION:SHA256HEX", 2),
        (("projections", "rebuild", "everything"), "'everything' is not one of", 2),
        (
            ("screen", "--admissions", "missing.csv", "--registry", "missing.csv"),
            "does not exist",
            2,
        ),
        (("demo",), "already holds", 1),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(
    cli: Cli, world: dict[str, str], args: tuple[str, ...], says: str, code: int
) -> None:
    filled = [a.format(student=national_id(1), **world) for a in args]
    actor = "health" if "complete-action" in args else "approver"  # a liaison's step
    cli.refused(*filled, says=says, code=code, actor=actor)


def test_audit_commands(cli: Cli, world: dict[str, str], tmp_path: Path) -> None:
    case, gov = world["case"], world["gov"]
    cli(
        "case",
        "approve",
        "--ref",
        "AP-006",
        case,
        "--amount",
        "5000",
        "--need",
        "tuition",
        "--fund",
        gov,
        actor="approver",
    )
    shown = cli.json("audit", "digest")
    tree, digest = shown["digest"], shown["chain"]  # the tree head, and the v0.1 chain head
    assert cli("audit", "digest").stdout.splitlines()[0] == tree
    assert shown["position"] == int(digest.split(":")[0])
    assert "matches the digest" in cli("audit", "verify", tree).stdout
    assert "matches the digest" in cli("audit", "verify", digest).stdout
    cli.refused(
        "audit", "verify", digest.split(":")[0] + ":" + "0" * 64, says="does not match", code=1
    )
    for fmt in ("text", "json", "html"):
        out = tmp_path / f"report.{fmt}"
        cli("audit", "report", "--format", fmt, "-o", str(out))
        body = out.read_text(encoding="utf-8")
        assert "5,000.00" in body or "500000" in body
    assert "Audit report" in (tmp_path / "report.html").read_text()
    reported = json.loads((tmp_path / "report.json").read_text())
    assert (reported["digest"], reported["chain"]) == (tree, digest)  # "digest": the tree's
    lines = cli.json("audit", "journal", "--since", "2000-01-01", "--limit", "3")
    assert [x["position"] for x in lines] == [1, 2, 3]


def test_audit_check_fails_with_status_one_on_a_violation(cli: Cli, world: dict[str, str]) -> None:
    flow = AidFlow.open(cli.url)
    register_staff(flow)
    from uuid import UUID

    raw = flow.load_case(UUID(world["case"]))
    raw._grant_approved(
        amount_fen=100,
        need="tuition",
        fund_id=UUID(world["gov"]),
        actor="visitor",
        ref="",
        policy_version=0,
    )
    flow.save(raw)
    flow.close()
    result = cli("audit", "check", code=1)
    assert "verifier_approved" in result.stdout and result.stderr.startswith("error:")


def test_projections_commands(cli: Cli, world: dict[str, str]) -> None:
    status = cli.json("projections", "status")
    assert {s["name"] for s in status} == {"dossier", "queue", "audit"}
    assert all(s["behind"] == 0 for s in status)
    rebuilt = cli.json("projections", "rebuild", "dossier")
    assert rebuilt["rebuilt"] == ["dossier"] and rebuilt["events"] == cli.head()
    assert cli.json("case", "show", world["case"])["status"] == "verified"


SAMPLES = Path(__file__).resolve().parents[2] / "aidflow" / "samples"


def test_screen_with_the_sample_files(cli: Cli) -> None:
    before = cli.head()
    dry = cli.json(
        "screen",
        "--admissions",
        str(SAMPLES / "admissions.csv"),
        "--registry",
        str(SAMPLES / "registry.csv"),
        "--year",
        "2026",
        "--dry-run",
    )
    assert cli.head() == before
    report = cli.json(
        "screen",
        "--admissions",
        str(SAMPLES / "admissions.csv"),
        "--registry",
        str(SAMPLES / "registry.csv"),
        "--year",
        "2026",
    )
    assert len(report["opened"]) == len(dry["opened"]) == report["matched"] > 0
    assert {p["line"] for p in report["rejected"] if p["file"] == "admissions.csv"}
    again = cli.json(
        "screen",
        "--admissions",
        str(SAMPLES / "admissions.csv"),
        "--registry",
        str(SAMPLES / "registry.csv"),
        "--year",
        "2026",
    )
    assert again["opened"] == [] and len(again["already_open"]) == report["matched"]
    assert len(cli.json("case", "list", "--year", "2026")) == report["matched"]


def test_screenings_refused_rows_read_in_chinese_and_stay_english_in_json(
    cli: Cli, tmp_path: Path
) -> None:
    """Why a row was refused (issue 24 §1): the reader's language on screen, English in JSON
    (as errors are), for a reader's refusal (an Excel number, a short line) and a value's."""
    admissions = tmp_path / "admissions.csv"
    admissions.write_text(
        "national_id,name,university,account\n"
        "123,Li,Guizhou University,\n"
        "5.20302E+17,Zhao,Guizhou University,\n"
        "520302200703150011,Wang,Guizhou University\n",
        "utf-8",
    )
    args = ("screen", "--admissions", str(admissions), "--registry", str(SAMPLES / "registry.csv"))
    shown = cli("--lang", "zh", *args, "--year", "2026", "--dry-run").stdout
    refused = [line for line in shown.splitlines() if "被拒 " in line]
    assert len(refused) == 3 and english("\n".join(refused)) == [], refused
    reasons = [p["reason"] for p in cli.json(*args, "--year", "2026", "--dry-run")["rejected"]]
    assert len(reasons) == 3 and all(r.isascii() for r in reasons), reasons


def test_demo_on_a_fresh_database_then_no_violation(tmp_path: Path) -> None:
    cli = Cli(f"sqlite:///{tmp_path}/demo.db")
    out = cli.json("demo", "--seed", "7", actor=None)
    ledger = out["ledger"]
    assert ledger["government_disbursed_fen"] == 89_800_000
    assert ledger["secondary_aid_fen"] == 18_200_000
    assert ledger["donations_received_fen"] == 18_560_000
    assert ledger["total_disbursed_fen"] == 108_000_000
    assert ledger["students_assisted"] == 206 and ledger["students_with_secondary_aid"] == 28
    # all paid through the bank's lists and confirmed by its statements (three re-issued)
    assert (ledger["confirmed_fen"], ledger["unconfirmed_fen"]) == (108_000_000, 0)
    kinds = [e["event_type"] for e in cli.json("audit", "journal")]
    assert kinds.count("payments.statement_imported") == 3
    assert kinds.count("case.account_confirmed") == 3 and kinds.count("case.account_set") == 3
    assert len(cli.json("case", "list", "--status", "rejected")) == 25
    check = cli.json("audit", "check")
    assert (check["ok"], check["violations"]) == (True, [])
    assert check["position"] == cli.head() and sum(check["checked"].values()) == cli.head()
    text = Cli(f"sqlite:///{tmp_path}/demo2.db")("demo", "--seed", "7", actor=None).stdout
    assert "1,080,000.00" in text and "aidflow" in text and "audit check" in text


def test_version_and_help() -> None:
    runner = CliRunner()
    assert "aidflow, version" in runner.invoke(main, ["--version"]).output
    assert "screen" in runner.invoke(main, ["--help"]).output
