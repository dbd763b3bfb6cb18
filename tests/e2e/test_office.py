"""Issue 13 through the CLI: Chinese output, the full dossier, fund movements, find, exports, events."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from openpyxl import load_workbook

from tests.builders import national_id
from tests.e2e.conftest import Cli


def _paid(cli: Cli, world: dict[str, str]) -> None:
    cli(
        "case",
        "approve",
        world["case"],
        "--amount",
        "3000",
        "--need",
        "tuition",
        "--fund",
        world["gov"],
        "--ref",
        "MZ-1",
        actor="approver",
    )
    cli(
        "case",
        "disburse",
        world["case"],
        "--amount",
        "3000",
        "--voucher",
        "V-1",
        "--value-date",
        "2026-08-12",
        actor="cashier",
    )


def test_chinese_dossier_queue_and_ledger(cli: Cli, world: dict[str, str]) -> None:
    _paid(cli, world)
    shown = cli("--lang", "zh", "case", "show", world["case"]).stdout
    for word in (
        "案件",
        "状态",
        "已发放",
        "低保",
        "核实人",
        "学费难筹",
        "审批：",
        "发放：",
        "时间线：",
    ):
        assert word in shown, shown
    assert "V-1" in shown and "2026-08-12" in shown  # voucher and value date
    assert "待会商" in cli("--lang", "zh", "queue").stdout
    ledger = cli("--lang", "zh", "audit", "ledger").stdout
    assert "台账" in ledger and "按家庭类别发放" in ledger


def test_lang_from_the_environment_and_errors_in_chinese(cli: Cli) -> None:
    result = cli.runner.invoke(
        __import__("aidflow.cli", fromlist=["main"]).main,
        ["case", "show", "abcdef"],
        env={"AIDFLOW_DB": cli.url, "AIDFLOW_LANG": "zh"},
    )
    assert result.exit_code == 1
    assert result.stderr == "错误：没有以 abcdef 开头的案件编号\n"


def test_every_dossier_section_in_text(cli: Cli, world: dict[str, str]) -> None:
    _paid(cli, world)
    cli(
        "case",
        "return",
        world["case"],
        "--voucher",
        "V-1",
        "--reason",
        "account closed",
        actor="cashier",
    )
    cli("case", "report-hardship", world["case"], "--kind", "illness", "--detail", "surgery")
    cli(
        "case",
        "convene-review",
        world["case"],
        "--department",
        "health",
        "--action",
        "health=medical assistance",
    )
    shown = cli("case", "show", world["case"]).stdout
    for section in (
        "Approvals:",
        "Payments:",
        "Returned by the bank:",
        "Hardship after enrolment:",
        "Consultations:",
        "Actions:",
        "account closed",
        "surgery",
        "medical assistance",
    ):
        assert section in shown, shown


def test_fund_show_lists_movements(cli: Cli, world: dict[str, str]) -> None:
    _paid(cli, world)
    shown = cli("fund", "show", world["gov"]).stdout
    assert "Movements:" in shown
    assert "B-1" in shown and "allocation" in shown
    data = cli.json("fund", "show", world["gov"])
    assert [m["entry"] for m in data["movements"]] == ["deposit", "allocation", "disbursement"]


def test_case_find_by_id_in_any_spelling_and_by_name(cli: Cli, world: dict[str, str]) -> None:
    spaced = " ".join([national_id(1)[:6], national_id(1)[6:14], national_id(1)[14:]])
    found = cli.json("case", "find", spaced)
    assert [c["case_id"] for c in found] == [world["case"]]
    assert [c["case_id"] for c in cli.json("case", "find", "wang  FANG")] == [world["case"]]
    # Names are kept masked (issue 11): a whole name finds its case, a part of one does not.
    assert cli.json("case", "find", "wang") == []
    assert cli.json("case", "find", national_id(2)) == []


def test_category_in_chinese(cli: Cli) -> None:
    case = cli.json(
        "case",
        "apply",
        "--student-id",
        national_id(7),
        "--name",
        "李雷",
        "--university",
        "贵州大学",
        "--category",
        "低保",
        "--town",
        "高坪",
        "--year",
        "2026",
    )["case_id"]
    assert cli.json("case", "show", case)["family_category"] == "dibao"
    assert len(cli.json("case", "list", "--category", "特困")) == 0
    cli(
        "case",
        "apply",
        "--student-id",
        national_id(8),
        "--name",
        "x",
        "--university",
        "y",
        "--category",
        "富裕",
        "--town",
        "z",
        code=2,
    )


def test_lists_export_to_csv_and_xlsx(cli: Cli, world: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "cases.csv"
    cli("--lang", "zh", "case", "list", "-o", str(out))
    rows = list(csv.reader(out.open(encoding="utf-8-sig")))
    assert rows[0][:3] == ["案件", "姓名", "身份证号"] and rows[1][1] == "W**"
    assert "Wang Fang" not in out.read_text(encoding="utf-8-sig")  # exports hold masked names
    book = tmp_path / "funds.xlsx"
    cli("fund", "list", "-o", str(book))
    sheet = load_workbook(book).active
    assert [c.value for c in sheet[1]][:2] == ["fund", "name"]
    assert sheet.max_row == 4 and sheet.freeze_panes == "A2"  # two funds, then their totals
    total = [c.value for c in sheet[4]]
    assert total[0] == "total" and total[3] == sum(c.value for c in sheet["D"][1:3])
    assert sheet["D2"].number_format == "#,##0.00" and isinstance(sheet["D2"].value, float)
    cli("case", "list", "-o", str(tmp_path / "cases.txt"), code=2)


def test_events_replay_as_json_lines(cli: Cli, world: dict[str, str]) -> None:
    lines = cli("events", "--after", "0", "--limit", "1000", "--json").stdout.splitlines()
    events = [json.loads(x) for x in lines]
    assert [e["position"] for e in events] == sorted({e["position"] for e in events})
    applied = next(e for e in events if e["name"] == "case.applied")
    assert applied["schema_version"] == 2 and "*" in applied["data"]["student_id"]
    assert "*" in applied["data"]["account"] and applied["data"]["name"] == "W**"
    later = cli("events", "--after", str(events[2]["position"]), "--json").stdout.splitlines()
    assert json.loads(later[0])["position"] == events[3]["position"]


def test_the_journal_reads_in_chinese_and_exports(
    cli: Cli, world: dict[str, str], tmp_path: Path
) -> None:
    _paid(cli, world)
    english = cli("audit", "journal", "--case", world["case"]).stdout
    chinese = cli("--lang", "zh", "audit", "journal", "--case", world["case"]).stdout
    assert "paid 3,000.00 yuan to the student's account, voucher V-1" in english
    assert "向学生本人账户发放 3,000.00 元，凭证 V-1" in chinese
    assert "为 [已加密] 建档（低保，Gaoping，2026 年）" in chinese
    assert "Wang Fang" not in english + chinese  # the name is sealed in the store
    assert "paid" not in chinese and "dibao" not in chinese
    book = tmp_path / "journal.xlsx"
    cli("--lang", "zh", "audit", "journal", "--case", world["case"], "-o", str(book))
    rows = list(load_workbook(book).active.iter_rows(values_only=True))
    assert rows[0] == ("位置", "记录时间", "操作人", "编号", "事件", "摘要")
    shown = cli.json("audit", "journal", "--case", world["case"])
    assert [r[0] for r in rows[1:]] == [x["position"] for x in shown]
    assert rows[-1][5] == "向学生本人账户发放 3,000.00 元，凭证 V-1"


def test_the_ledger_exports_every_money_movement(
    cli: Cli, world: dict[str, str], tmp_path: Path
) -> None:
    _paid(cli, world)
    out = tmp_path / "ledger.csv"
    cli("audit", "ledger", "-o", str(out))
    with out.open(encoding="utf-8-sig", newline="") as src:
        rows = list(csv.reader(src))
    entries = cli.json("audit", "ledger", "--entries")["entries"]
    assert rows[0] == ["pos", "date", "entry", "yuan", "case", "fund", "voucher/receipt"]
    assert [int(r[0]) for r in rows[1:]] == [e["position"] for e in entries]
    assert [rows[-1][3], rows[-1][6]] == ["3000.00", "V-1"]  # a number Excel reads as one


def test_click_says_what_was_mistyped_in_chinese(cli: Cli) -> None:
    missing = cli("--lang", "zh", "case", "show", code=2).stderr
    assert "缺少参数 'CASE'" in missing
    typo = cli("--lang", "zh", "case", "shw", code=2).stderr
    assert "没有命令 'shw'" in typo and "'show'" in typo
    choice = cli("--lang", "zh", "case", "list", "--status", "bogus", code=2).stderr
    assert "未知的案件状态 'bogus'" in choice
    assert "Missing argument" in cli("--lang", "en", "case", "show", code=2).stderr


def test_a_refused_command_says_why_in_chinese(cli: Cli, world: dict[str, str]) -> None:
    over_the_cap = (
        *("--lang", "zh", "case", "approve", world["case"], "--amount", "6000"),
        *("--need", "tuition", "--fund", world["gov"], "--ref", "MZ-9"),
    )
    before = cli.head()
    refused = cli(*over_the_cap, actor="approver", code=1)
    assert refused.stderr.startswith("错误：批准 6,000.00 元将使档案")
    assert "超过每个项目年度 5,000.00 元的上限" in refused.stderr
    assert cli.head() == before
    assert "yuan" not in refused.stderr and "cap" not in refused.stderr
    as_json = cli(*over_the_cap, "--json", actor="approver", code=1)
    error = json.loads(as_json.stderr)["error"]
    assert error["code"] == "cap_exceeded" and "over the cap of 5,000.00 yuan" in error["message"]
    bad_id = cli(
        "--lang",
        "zh",
        "case",
        "apply",
        "--student-id",
        "52010120070315001X",
        "--name",
        "Li",
        "--university",
        "U",
        "--category",
        "低保",
        "--town",
        "T",
        "--year",
        "2026",
        code=2,
    ).stderr
    assert "校验位不符" in bad_id
