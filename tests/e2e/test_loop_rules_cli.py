"""Issue 12 through the CLI: the rules' refusals, policy settings beyond whole numbers, a policy
file, deadlines (``aidflow due``, the queue's due column) and one person's cases across years."""

from __future__ import annotations

from pathlib import Path

from tests.builders import national_id
from tests.e2e.conftest import Cli


def _grant(cli: Cli, case: str, gov: str, yuan: str, need: str = "tuition", code: int = 0) -> str:
    return cli(
        "case",
        "approve",
        case,
        "--amount",
        yuan,
        "--need",
        need,
        "--fund",
        gov,
        "--ref",
        f"SP-{case[:6]}-{yuan}-{need}",
        actor="approver",
        code=code,
    ).stderr


def test_grants_beyond_the_gap_or_for_a_need_not_found_are_refused(
    cli: Cli, world: dict[str, str]
) -> None:
    gov = world["gov"]
    case = cli.json(
        "case",
        "apply",
        "--student-id",
        national_id(5),
        "--name",
        "Li Na",
        "--university",
        "Zunyi Medical University",
        "--category",
        "tekun",
        "--town",
        "Dalian",
        "--year",
        "2026",
    )["case_id"]
    cli(
        "case",
        "verify",
        case,
        "--income",
        "9000",
        "--tuition",
        "4500",
        "--gap",
        "3500",
        "--need",
        "living",
        "--need",
        "supplies",
        actor="visitor",
    )

    def approve(yuan: str, need: str, ref: str) -> tuple[str, ...]:
        return (
            "case",
            "approve",
            case,
            "--amount",
            yuan,
            "--need",
            need,
            "--fund",
            gov,
            "--ref",
            ref,
        )

    cli.refused(
        *approve("4000", "living", "SP-X1"),
        actor="approver",
        says="above the verified gap of 3,500.00 yuan",
    )
    cli.refused(
        *approve("1000", "tuition", "SP-X2"), actor="approver", says="found only living, supplies"
    )
    refusal = cli(*approve("5000", "living", "SP-X3"), "--json", actor="approver", code=1)
    assert '"gap_exceeded"' in refusal.stderr + refusal.stdout
    cli(*approve("3500", "living", "SP-X4"), actor="approver")
    assert cli.json("case", "show", case)["approved_fen"] == 350_000


def test_policy_settings_switches_tiers_departments_and_a_file(
    cli: Cli, world: dict[str, str], tmp_path: Path
) -> None:
    cli("policy", "set", "gap-bound", "off", actor="admin")
    cli("policy", "set", "approval-tiers", "approver=3000,county-approver=5000", actor="admin")
    shown = cli("policy", "show").stdout
    assert "approver=3,000.00, county-approver=5,000.00" in shown
    assert "gap_bound" in shown and "off" in shown
    policy = cli.json("policy", "show")
    assert (policy["gap_bound"], policy["version"]) == (False, 2)
    cli.refused(
        "case",
        "approve",
        world["case"],
        "--amount",
        "3500",
        "--need",
        "tuition",
        "--fund",
        world["gov"],
        "--ref",
        "SP-T1",
        actor="approver",
        says="approves a case up to 3,000.00 yuan",
    )
    path = tmp_path / "policy.json"
    path.write_text(
        '{"approval-tiers": "none", "departments": ["education", "health", "police"],'
        ' "strict-close": true}',
        encoding="utf-8",
    )
    loaded = cli.json("policy", "load", str(path), actor="admin")
    assert loaded["departments"] == ["education", "health", "police"]
    # strict-close was already on: a file's value already in force is not recorded again
    assert loaded["approval_tiers"] == [] and loaded["version"] == 4
    _grant(cli, world["case"], world["gov"], "3500")
    before = cli.json("policy", "show", "--as-of", "2000-01-01T00:00:00+00:00")
    assert before["version"] == 0 and before["gap_bound"] is True


def test_a_policy_value_that_does_not_parse_is_refused(cli: Cli, tmp_path: Path) -> None:
    cli.refused("policy", "set", "gap-bound", "maybe", actor="admin", says="on or off", code=2)
    cli.refused(
        "policy", "set", "approval-tiers", "approver", actor="admin", says="ROLE=YUAN", code=2
    )
    cli.refused(
        "policy",
        "set",
        "departments",
        "civil\u202eaffairs",
        actor="admin",
        says="invisible or control character",
        code=2,
    )
    bad = tmp_path / "bad.toml"
    bad.write_text("cap = [", encoding="utf-8")
    cli.refused("policy", "load", str(bad), actor="admin", says="cannot read policy file", code=2)
    cli.refused("policy", "set", "gap-bound", "off", actor="approver", says="may not set policy")
    # a policy that does not hold together is refused in the reader's language
    cli.refused(
        "policy", "set", "retention-years", "500", actor="admin", says="must be 0 to 100", code=2
    )
    cli.refused(
        "--lang",
        "zh",
        "policy",
        "set",
        "retention-years",
        "500",
        actor="admin",
        says="必须在 0 到 100 之间",
        code=2,
    )
    cli.refused(
        "--lang",
        "zh",
        "policy",
        "set",
        "approval-tiers",
        "approver=999999",
        actor="admin",
        says="审批档位 approver 必须是不超过上限的正金额",
        code=2,
    )


def test_close_rules_and_due_dates_through_the_cli(cli: Cli, world: dict[str, str]) -> None:
    case, gov = world["case"], world["gov"]
    _grant(cli, case, gov, "3000")
    due = cli.json("due")
    assert [(d["kind"], d["case_id"], d["amount_fen"]) for d in due] == [("payment", case, 300_000)]
    cli("case", "disburse", case, "--amount", "3000", "--voucher", "V-1", actor="cashier")
    assert cli.json("due") == []
    cli.refused(
        "case",
        "close",
        case,
        "--reason",
        "year over",
        actor="approver",
        says="not followed up since",
    )
    cli("case", "report-hardship", case, "--kind", "illness", "--detail", "ill", actor="village")
    cli(
        "case",
        "convene-review",
        case,
        "--department",
        "health",
        "--department",
        "community",
        "--action",
        "health=medical assistance",
        "--action",
        "community=visits",
        "--due",
        "2026-12-01",
        actor="chair",
    )
    cli.refused(
        "case",
        "convene-review",
        case,
        "--department",
        "police",
        actor="chair",
        says="no department police in the policy",
        code=2,
    )
    owed = cli.json("queue")["open_actions"]
    assert [(a["action_id"], a["due"]) for a in owed] == [
        ("A1", "2026-12-01"),
        ("A2", "2026-12-01"),
    ]
    assert "2026-12-01" in cli("queue").stdout
    actions = cli.json("due", "--department", "community")
    assert [(d["kind"], d["action_id"], d["due"]) for d in actions] == [
        ("action", "A2", "2026-12-01")
    ]
    assert "community" in cli("due").stdout
    cli.refused("case", "close", case, "--reason", "r", actor="approver", says="not verified again")


def test_one_persons_cases_across_years(cli: Cli, world: dict[str, str]) -> None:
    def apply(year: str, n: int = 1) -> str:
        return str(
            cli.json(
                "case",
                "apply",
                "--student-id",
                national_id(n),
                "--name",
                "Wang Fang",
                "--university",
                "Guizhou University",
                "--category",
                "dibao",
                "--town",
                "Gaoping",
                "--year",
                year,
            )["case_id"]
        )

    later = apply("2027")
    apply("2027", n=2)
    listed = cli.json("case", "list", "--student", national_id(1))
    assert [(c["case_id"], c["year"]) for c in listed] == [
        (world["case"], 2026),
        (later, 2027),
    ]
    full_width = national_id(1).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert len(cli.json("case", "list", "--student", full_width)) == 2
    assert f"earlier year: {world['case']}" in cli("case", "show", later).stdout
    cli.refused("case", "list", "--student", "520302200703150019", says="check digit", code=2)
    assert "several_open_cases" in cli("audit", "check", code=1).stdout
