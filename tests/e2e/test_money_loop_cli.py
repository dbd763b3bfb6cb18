"""Issue 12's full cycle through the CLI, on SQLite and PostgreSQL: screening, verification,
approval, the payment list, a statement with one paid, one returned and one unknown line,
the account corrected by two people, the re-issue on the next list, its confirmation,
secondary aid through the same path, follow-up and close."""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import load_workbook

from tests.builders import national_id
from tests.e2e.conftest import Cli
from tests.e2e.test_help_zh import english

OLD = "6222020200112233445"
OTHER = "6222020200998877665"
NEW = "6217000011112222333"


def _statement(
    path: Path, rows: list[tuple[str, str, str, str, str]], encoding: str = "utf-8"
) -> Path:
    with path.open("w", encoding=encoding, newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["date", "account", "amount", "reference", "status"])
        writer.writerows(rows)
    return path


def _list(path: Path) -> list[dict[str, str]]:
    if path.suffix == ".xlsx":
        sheet = load_workbook(path).active
        assert sheet is not None
        rows = [
            [str(c) if c is not None else "" for c in r] for r in sheet.iter_rows(values_only=True)
        ]
    else:
        with path.open(encoding="utf-8-sig") as f:
            rows = [
                [c[2:-1] if c.startswith('="') else c for c in r]  # Excel keeps long digits
                for r in csv.reader(f)
            ]
    assert rows[0][:8] == [
        "no.", "name", "national ID", "bank account", "bank", "amount", "summary", "voucher no.",
    ]  # a bank's 代发 template first  # fmt: skip
    assert path.stat().st_mode & 0o777 == 0o600  # full accounts: the cashier's eyes only
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_the_full_money_loop(cli: Cli, tmp_path: Path) -> None:
    # screening
    admissions = tmp_path / "admissions.csv"
    admissions.write_text(
        "national_id,name,university,account\n"
        f"{national_id(1)},Wang Fang,Guizhou University,{OLD}\n"
        f"{national_id(2)},Li Wei,Zunyi Medical University,{OTHER}\n",
        encoding="utf-8",
    )
    registry = tmp_path / "registry.csv"
    registry.write_text(
        f"national_id,category,town\n{national_id(1)},dibao,Dalian\n{national_id(2)},tekun,Gaoping\n",
        encoding="utf-8",
    )
    cli(
        "screen",
        "--admissions",
        str(admissions),
        "--registry",
        str(registry),
        "--year",
        "2026",
        actor="screening",
    )
    (one,) = [c["case_id"] for c in cli.json("case", "find", national_id(1))]
    (two,) = [c["case_id"] for c in cli.json("case", "find", national_id(2))]
    gov = cli.json(
        "fund", "open", "--name", "Temporary assistance", "--kind", "government", actor="finance"
    )["fund_id"]
    don = cli.json("fund", "open", "--name", "Chamber", "--kind", "donation", actor="finance")[
        "fund_id"
    ]
    cli(
        "fund",
        "deposit",
        gov,
        "--amount",
        "20000",
        "--source",
        "budget",
        "--receipt",
        "B-1",
        actor="finance",
    )
    cli(
        "fund",
        "deposit",
        don,
        "--amount",
        "20000",
        "--source",
        "Chamber of commerce",
        "--receipt",
        "D-1",
        actor="finance",
    )
    # verification and approval
    for case, gap in ((one, "5000"), (two, "3000")):
        cli(
            "case",
            "verify",
            case,
            "--income",
            "9000",
            "--tuition",
            "5000",
            "--gap",
            gap,
            "--need",
            "tuition",
            actor="visitor",
        )
    cli(
        "case",
        "approve",
        one,
        "--amount",
        "5000",
        "--need",
        "tuition",
        "--fund",
        gov,
        "--ref",
        "MZ-1",
        actor="approver",
    )
    cli(
        "case",
        "approve",
        two,
        "--amount",
        "3000",
        "--need",
        "tuition",
        "--fund",
        gov,
        "--ref",
        "MZ-2",
        actor="approver",
    )

    # the payment list: only a cashier; full accounts in the file, masked on screen
    first = tmp_path / "list1.csv"
    cli.refused(
        "pay",
        "list",
        "--fund",
        gov,
        "--date",
        "2026-08-12",
        "-o",
        str(first),
        says="cashier",
        actor="admin",
    )
    shown = cli(
        "pay", "list", "--fund", gov, "--date", "2026-08-12", "-o", str(first), actor="cashier"
    ).stdout
    assert "2 line(s), 8,000.00 yuan, 2 new voucher(s)" in shown and OLD not in shown
    lines = {row["bank account"]: row for row in _list(first)}
    assert set(lines) == {OLD, OTHER}
    paid, bounced = lines[OLD]["voucher no."], lines[OTHER]["voucher no."]
    assert [lines[OLD]["no."], lines[OLD]["amount"]] in (["1", "5000.00"], ["2", "5000.00"])
    as_json = cli.json(
        "pay",
        "list",
        "--fund",
        gov,
        "--date",
        "2026-08-13",
        "-o",
        str(tmp_path / "again.csv"),
        actor="cashier",
    )
    assert as_json["new_vouchers"] == 0 and OLD not in str(as_json)  # same vouchers again
    assert all(x["name"].endswith("**") and "*" in x["student_id"] for x in as_json["lines"])

    # the statement: one paid, one returned, one line with no voucher
    st1 = _statement(
        tmp_path / "statement1.csv",
        [
            ("2026-08-14", OLD, "5,000.00", paid, "paid"),
            ("2026-08-14", OTHER, "3000", bounced, "returned"),
            ("2026-08-14", NEW, "100", "UNKNOWN-7", "paid"),
        ],
    )
    out = cli("pay", "reconcile", str(st1), actor="cashier").stdout
    assert "1 confirmed paid, 1 returned" in out and "UNKNOWN-7" in out and NEW not in out
    head = cli.head()
    again = cli("pay", "reconcile", str(st1), actor="cashier").stdout
    assert "imported before" in again and cli.head() == head
    check = cli("audit", "check", code=1)
    assert "statement_no_voucher" in check.stdout

    # the returned payment waits for a corrected account, changed by two people
    held = cli(
        "pay", "list", "--fund", gov, "-o", str(tmp_path / "held.csv"), actor="cashier"
    ).stdout
    assert "set-account" in held
    held_zh = cli(
        "--lang", "zh", "pay", "list", "--fund", gov, "-o", str(tmp_path / "held.csv"),
        actor="cashier",
    ).stdout  # fmt: skip
    assert "银行退回" in held_zh and english(held_zh) == []  # why it is held, in Chinese
    held_json = cli.json(
        "--lang", "zh", "pay", "list", "--fund", gov, "-o", str(tmp_path / "held.csv"),
        actor="cashier",
    )  # fmt: skip
    assert held_json["held"][0]["reason"].startswith("the bank returned")  # JSON: English
    cli(
        "case",
        "set-account",
        two,
        "--account",
        NEW,
        "--bank",
        "ICBC Zunyi",
        "--reason",
        "card closed",
        actor="clerk",
    )
    cli.refused("case", "confirm-account", two, says="different person", actor="clerk")
    cli.refused(
        "case",
        "confirm-account",
        two,
        "--account",
        OLD,
        says="not the one proposed",
        actor="approver",
    )
    cli("case", "confirm-account", two, "--account", NEW, actor="approver")
    second = tmp_path / "list2.xlsx"
    cli("pay", "list", "--fund", gov, "--date", "2026-08-20", "-o", str(second), actor="cashier")
    [reissued] = _list(second)
    assert reissued["bank account"] == NEW and reissued["voucher no."] not in (paid, bounced)
    assert reissued["amount"] == "3000"  # a number in the workbook (yuan), not text
    amount = load_workbook(second).active.cell(row=2, column=6)  # type: ignore[union-attr]
    assert (amount.value, amount.number_format) == (3000, "#,##0.00")
    # the next statement: GBK, with the bank's own headers mapped
    st2 = tmp_path / "statement2.csv"
    st2.write_text(
        "入账日期,收款账号,金额,交易附言,处理结果\n"
        f"2026-08-22,{NEW},3000.00,{reissued['voucher no.']},成功\n",
        encoding="gbk",
    )
    out = cli(
        "pay", "reconcile", str(st2), "--column", "reference=交易附言", actor="cashier"
    ).stdout
    assert "1 confirmed paid" in out

    # secondary aid: proposed by one, approved by another, paid through the list
    cli(
        "case",
        "secondary-aid",
        one,
        "--fund",
        don,
        "--amount",
        "6000",
        "--ref",
        "GSL-1",
        actor="federation",
    )
    cli.refused(
        "case",
        "approve-secondary-aid",
        one,
        "--ref",
        "GSL-1",
        says="different person",
        actor="federation",
    )
    cli("case", "approve-secondary-aid", one, "--ref", "GSL-1", actor="approver")
    cli.refused(
        "case",
        "secondary-aid",
        one,
        "--fund",
        don,
        "--amount",
        "6000",
        "--ref",
        "GSL-2",
        says="over the cap",
        actor="federation",
    )
    third = tmp_path / "list3.csv"
    cli("pay", "list", "--fund", don, "--date", "2026-09-05", "-o", str(third), actor="cashier")
    [aid] = _list(third)
    st3 = _statement(
        tmp_path / "statement3.csv", [("2026-09-06", OLD, "6000", aid["voucher no."], "paid")]
    )
    cli("pay", "reconcile", str(st3), actor="cashier")
    trace = cli.json("fund", "trace", don)
    assert [(t["source"], t["case_id"], t["amount_fen"]) for t in trace] == [
        ("Chamber of commerce", one, 600_000)
    ]

    # follow-up and close
    cli(
        "case",
        "follow-up",
        one,
        "--study",
        "passing",
        "--living",
        "stable",
        "--hardship",
        "improved",
        actor="visitor",
    )
    cli("case", "close", one, "--reason", "graduated support ends", actor="approver")
    ledger = cli.json("audit", "ledger")
    assert ledger["government_disbursed_fen"] == 800_000
    assert ledger["secondary_aid_fen"] == 600_000
    assert (ledger["confirmed_fen"], ledger["unconfirmed_fen"]) == (1_400_000, 0)
    shown = cli("case", "show", two).stdout
    assert NEW not in shown and "2333" in shown
    findings = cli("audit", "check", code=1).stdout
    assert findings.count("statement_") == 1  # only the line with no voucher


def test_a_payment_list_needs_a_file_it_can_write(
    cli: Cli, world: dict[str, str], tmp_path: Path
) -> None:
    for path, says in (
        (tmp_path / "list.txt", ".xlsx or .html"),
        (tmp_path / "missing" / "list.csv", "no folder"),
    ):
        cli.refused(
            "pay",
            "list",
            "--fund",
            world["gov"],
            "-o",
            str(path),
            says=says,
            code=2,
            actor="cashier",
        )
    cli.refused(
        "pay",
        "reconcile",
        str(tmp_path / "none.csv"),
        says="does not exist",
        code=2,
        actor="cashier",
    )
    empty = tmp_path / "empty.csv"
    empty.write_text("date,account,amount,reference,status\n", encoding="utf-8")
    cli.refused("pay", "reconcile", str(empty), says="no lines", code=2, actor="cashier")


def test_a_programme_year_closes_from_the_cli_in_two_steps(cli: Cli) -> None:
    """`aidflow year close` (an admin), `year confirm-close` (a second person), `year show`."""
    cli.refused("year", "confirm-close", "2026", says="has not been proposed", actor="approver")
    said = cli("year", "close", "2026", actor="admin").stdout
    assert "confirm-close 2026" in said
    cli.refused(
        "year", "confirm-close", "2026", says="a second admin or an approver", actor="admin"
    )
    shown = cli.json("year", "confirm-close", "2026", actor="approver")
    assert (shown["status"], shown["closed_by"], shown["proposed_by"]) == (
        "closed",
        "approver",
        "admin",
    )
    assert shown["digest"].startswith(f"tree:{shown['digest_size']}:")
    text = cli("year", "show", "2026", "--lang", "zh").stdout
    assert "2026 年度已由 approver 结账" in text
