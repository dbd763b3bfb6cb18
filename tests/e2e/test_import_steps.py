"""Casework from the towns' spreadsheets (issue 24 §4): verifications, approvals and follow-ups
imported row by row through the same commands, rules and roles as one-by-one; every line
accounted for (recorded, recorded before, refused with its reason); a re-run records nothing
new; ``--dry-run`` records nothing; ``aidflow template`` writes the sheet they are read from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook

from tests.builders import national_id
from tests.e2e.conftest import Cli


def _applied(cli: Cli, n: int) -> str:
    return str(
        cli.json(
            "case", "apply", "--student-id", national_id(n), "--name", f"学生{n}",
            "--university", "GZU", "--category", "dibao", "--town", "Gaoping",
            "--account", f"62220202001122{n:05d}", actor="screening",
        )["case_id"]
    )  # fmt: skip


def _json(cli: Cli, *args: str, actor: str, code: int = 0) -> Any:
    return json.loads(cli(*args, "--json", actor=actor, code=code).stdout)


def _csv(path: Path, header: str, rows: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes(("\n".join([header, *rows]) + "\n").encode(encoding))
    return path


def test_verifications_from_a_gbk_sheet_every_row_accounted_for(
    cli: Cli, world: dict[str, str], tmp_path: Path
) -> None:
    first, second = _applied(cli, 2), _applied(cli, 3)
    sheet = _csv(
        tmp_path / "核实.csv",
        "案件编号,家庭年收入,学费,缺口,需求,备注",
        [
            f"{first[:8]},12000,6000,5000,学费、生活费,入户 电话13812345678",
            f"{second},8000,5000,4000,学费,",
            "ffffffff,1,1,1,学费,",  # no such case
            f"{second[:8]},1,1,1,飞机票,",  # not a need
        ],
        encoding="gbk",
    )
    head = cli.head()
    dry = _json(cli, "import", "verifications", str(sheet), "--dry-run", actor="visitor", code=1)
    assert [r["outcome"] for r in dry["rows"]] == [
        "would_record",
        "would_record",
        "refused",
        "refused",
    ]
    assert cli.head() == head  # a dry run records nothing

    done = cli("import", "verifications", str(sheet), actor="visitor", code=1)
    assert "4 row(s): 2 recorded, 0 recorded before, 2 refused" in done.stdout
    assert "line 4" in done.stdout and "line 5" in done.stdout
    assert cli.json("case", "show", first)["status"] == "verified"
    again = _json(cli, "import", "verifications", str(sheet), actor="visitor", code=1)
    assert [r["outcome"] for r in again["rows"]] == ["already", "already", "refused", "refused"]
    # the note's phone number was masked before it was recorded (issue 21 §7)
    history = cli.json("case", "history", first)
    assert "13812345678" not in str(history) and "1381***5678" in str(history)


def test_approvals_from_a_workbook_by_their_numbers_and_the_approvers_role(
    cli: Cli, world: dict[str, str], tmp_path: Path
) -> None:
    case = world["case"]
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["案件编号", "金额", "用途", "资金编号", "审批编号"])
    sheet.append([case[:8], 3000, "学费", world["gov"][:8], "SP-IMP-1"])
    sheet.append([case[:8], 9000, "学费", world["gov"][:8], "SP-IMP-2"])  # over the cap
    path = tmp_path / "审批表.xlsx"
    book.save(path)
    cli("staff", "add", "lin", "--role", "screening-clerk", actor="admin")
    refused = _json(cli, "import", "approvals", str(path), actor="lin", code=1)
    assert {r["outcome"] for r in refused["rows"]} == {"refused"}  # not an approver
    assert "approve" in refused["rows"][0]["reason"]
    done = _json(cli, "import", "approvals", str(path), actor="approver", code=1)
    assert [r["outcome"] for r in done["rows"]] == ["recorded", "refused"]
    assert "5,000" in done["rows"][1]["reason"]  # the cap, in its own words
    again = _json(cli, "import", "approvals", str(path), actor="approver", code=1)
    assert [r["outcome"] for r in again["rows"]] == ["already", "refused"]


def test_templates_are_read_back_as_they_are_written(cli: Cli, tmp_path: Path) -> None:
    for kind, first in (
        ("verifications", "案件编号"),
        ("approvals", "案件编号"),
        ("follow-ups", "案件编号"),
    ):
        path = tmp_path / f"{kind}.xlsx"
        cli("template", kind, "-o", str(path))
        sheet = load_workbook(path).active
        assert sheet is not None
        headers = [c.value for c in next(sheet.iter_rows(max_row=1))]
        assert headers[0] == first and all(headers)
        result = cli.json("import", kind, str(path), "--dry-run", actor="visitor")
        assert result["rows"] == []  # an empty sheet: nothing to do, nothing refused


def test_every_kind_the_command_line_names_has_its_columns() -> None:
    """The names live apart from the readers so that ``--help`` loads none of them."""
    from aidflow.imports.kinds import KINDS
    from aidflow.imports.steps import COLUMNS

    assert tuple(COLUMNS) == KINDS
