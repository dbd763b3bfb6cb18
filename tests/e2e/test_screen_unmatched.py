"""``screen --unmatched -o FILE`` (issue 24 §4): every admitted student no case was opened
for, and why, for the clerk to follow up; the names and IDs are the clerk's own input and
go only to a file readable by its owner, never to ``--json``."""

from __future__ import annotations

import json
import os
from pathlib import Path

from openpyxl import load_workbook  # type: ignore[import-untyped, unused-ignore]

from tests.builders import national_id
from tests.e2e.conftest import Cli

ELIGIBLE, VETERAN, UNLISTED = national_id(701), national_id(702), national_id(703)


def _files(folder: Path) -> tuple[Path, Path]:
    registry = folder / "registry.csv"
    registry.write_text(
        f"身份证号,类别,乡镇\n{ELIGIBLE},低保,Gaoping\n{VETERAN},优抚,Gaoping\n", encoding="utf-8"
    )
    admissions = folder / "admissions.csv"
    admissions.write_text(
        "身份证号,姓名,录取院校\n"
        f"{ELIGIBLE},张三,贵州大学\n{VETERAN},李四,遵义医科大学\n{UNLISTED},王五,贵州师范大学\n",
        encoding="utf-8",
    )
    return admissions, registry


def test_the_unmatched_students_are_listed_with_why_for_the_clerk_alone(
    cli: Cli, tmp_path: Path
) -> None:
    admissions, registry = _files(tmp_path)
    out = tmp_path / "未匹配.xlsx"
    report = cli.json(
        "screen",
        "--admissions",
        str(admissions),
        "--registry",
        str(registry),
        "--year",
        "2026",
        "--unmatched",
        "-o",
        str(out),
        actor="screening",
    )
    assert len(report["opened"]) == 1 and report["not_in_registry"] == 2
    # --json says which lines and why, never who
    assert report["unmatched"] == [
        {"line": 3, "reason": "not_eligible", "category": "other"},
        {"line": 4, "reason": "not_in_registry", "category": ""},
    ]
    assert VETERAN not in json.dumps(report) and "李四" not in json.dumps(report)
    assert os.stat(out).st_mode & 0o777 == 0o600
    rows = [tuple(r) for r in load_workbook(out).active.iter_rows(values_only=True)]
    assert rows[0] == ("line", "national ID", "name", "university", "why", "registry category")
    assert rows[1:] == [
        (
            3,
            VETERAN,
            "李四",
            "遵义医科大学",
            "in the registry under a category this programme does not assist",
            "other",
        ),
        (4, UNLISTED, "王五", "贵州师范大学", "not in the assistance registry", None),
    ]


def test_in_chinese_and_on_a_dry_run_too(cli: Cli, tmp_path: Path) -> None:
    admissions, registry = _files(tmp_path)
    out = tmp_path / "unmatched.csv"
    before = cli.head()
    shown = cli(
        "screen",
        "--admissions",
        str(admissions),
        "--registry",
        str(registry),
        "--year",
        "2026",
        "--dry-run",
        "--unmatched",
        "-o",
        str(out),
        "--lang",
        "zh",
        actor="screening",
    ).stdout
    assert cli.head() == before  # a dry run writes nothing to the store
    assert f"{out}" in shown
    text = out.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("行,身份证号,姓名,录取院校,原因,登记类别")
    assert "不在救助登记名单中" in text and UNLISTED in text


def test_unmatched_and_its_file_come_together(cli: Cli, tmp_path: Path) -> None:
    admissions, registry = _files(tmp_path)
    base = ["screen", "--admissions", str(admissions), "--registry", str(registry)]
    cli.refused(*base, "--unmatched", says="-o FILE", code=2, actor="screening")
    cli.refused(
        *base, "-o", str(tmp_path / "u.xlsx"), says="--unmatched", code=2, actor="screening"
    )
    cli.refused(
        *base,
        "--unmatched",
        "-o",
        str(tmp_path / "u.txt"),
        says=".txt",
        code=2,
        actor="screening",
    )
    # a folder that is not there: refused before any case is opened (refused() checks that
    # nothing was written)
    missing = str(tmp_path / "no" / "u.xlsx")
    cli.refused(*base, "--unmatched", "-o", missing, says="no folder", code=2, actor="screening")
