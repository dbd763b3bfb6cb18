"""A verifier's visit list and towns (issue 24 §5): ``aidflow visits -o 走访清单.xlsx`` lists the
households awaiting a visit in the verifier's towns with names and IDs in full, the reveal
recorded on every case in one save; a verifier registered for a town acts only there.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from uuid import UUID

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped, unused-ignore]

from aidflow import Office
from aidflow import commands as cmd
from aidflow.domain.errors import NotAwaitingVisit, OutOfTown
from tests.builders import national_id
from tests.e2e.conftest import Cli

VERIFY = ["--income", "1000", "--tuition", "5000", "--gap", "4000", "--need", "tuition"]


def _apply(cli: Cli, n: int, name: str, town: str) -> str:
    return str(
        cli.json(
            "case",
            "apply",
            "--student-id",
            national_id(800 + n),
            "--name",
            name,
            "--university",
            "贵州大学",
            "--category",
            "dibao",
            "--town",
            town,
            "--year",
            "2026",
            actor="screening",
        )["case_id"]
    )


@pytest.fixture
def towns(cli: Cli) -> dict[str, str]:
    """Verifier 林 registered for 高坪; two households awaiting a visit there (one visited
    already by the office's unrestricted verifier) and one in 大连."""
    cli("staff", "add", "lin", "--role", "verifier", "--town", "高坪", actor="admin")
    cases = {
        "waiting": _apply(cli, 1, "张三", "高坪"),
        "visited": _apply(cli, 2, "李四", "高坪"),
        "elsewhere": _apply(cli, 3, "王五", "大连"),
    }
    cli("case", "verify", cases["visited"], *VERIFY, actor="visitor")
    return cases


def _reveals(cli: Cli, case: str) -> list[tuple[str, str]]:
    history = cli.json("case", "history", case)
    return [
        (e["actor"], e["data"]["reason"])
        for e in history
        if e["type"] == "case.personal_data_revealed"
    ]


def test_the_visit_list_holds_the_verifiers_households_in_full_each_reveal_recorded(
    cli: Cli, towns: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "走访清单.xlsx"
    shown = cli.json("visits", "-o", str(out), actor="lin")
    assert (shown["households"], shown["cases"]) == (1, [towns["waiting"]])
    assert "张三" not in json.dumps(shown)  # names go to the file only
    assert os.stat(out).st_mode & 0o777 == 0o600
    rows = [tuple(r) for r in load_workbook(out).active.iter_rows(values_only=True)]
    assert rows[0][:3] == ("no.", "name", "national ID")
    assert rows[1][:5] == (1, "张三", national_id(801), "贵州大学", "高坪")
    assert len(rows) == 2
    assert _reveals(cli, towns["waiting"]) == [("lin", "household visit list")]
    [revealed] = [
        e["data"]["fields"]
        for e in cli.json("case", "history", towns["waiting"])
        if e["type"] == "case.personal_data_revealed"
    ]
    assert revealed == ["student_id", "name"]  # what the list shows; not the account
    assert _reveals(cli, towns["elsewhere"]) == [] and _reveals(cli, towns["visited"]) == []


def test_a_verifier_acts_only_in_their_towns(
    cli: Cli, towns: dict[str, str], tmp_path: Path
) -> None:
    cli.refused(
        "visits", "--town", "大连", "-o", str(tmp_path / "v.xlsx"), says="大连", actor="lin"
    )
    assert not (tmp_path / "v.xlsx").exists()
    # a look-alike spelling of the town (a zero-width space) is the same town
    listed = cli.json("visits", "--town", "高\u200b坪", "-o", str(tmp_path / "v.xlsx"), actor="lin")
    assert listed["cases"] == [towns["waiting"]]
    cli.refused("case", "verify", towns["elsewhere"], *VERIFY, says="高坪", actor="lin")
    cli("case", "verify", towns["waiting"], *VERIFY, actor="lin")  # in 高坪: recorded
    # the office's verifier registered for no town visits every town
    cli("case", "verify", towns["elsewhere"], *VERIFY, actor="visitor")


def test_the_list_is_refused_whole_for_a_case_not_awaiting_a_visit_or_out_of_town(
    cli: Cli, towns: dict[str, str]
) -> None:
    """Asked directly (HTTP's route takes case ids), a list naming a visited case or another
    town's is refused whole: nothing is revealed, nothing recorded."""
    with Office.open(cli.url) as office:
        head = office.head()
        for ids, error in (
            ([towns["waiting"], towns["visited"]], NotAwaitingVisit),
            ([towns["waiting"], towns["elsewhere"]], OutOfTown),
        ):
            with pytest.raises(error):
                office.handle(cmd.RevealVisitList(case_ids=[UUID(i) for i in ids], actor="lin"))
        assert office.head() == head


def test_a_household_verified_out_of_town_past_the_command_is_a_finding(
    cli: Cli, towns: dict[str, str]
) -> None:
    """A verifier's login appending through the database gate is checked for its role, not
    its towns: the audit re-derives the towns from the staff events and names the act."""
    with Office.open(cli.url) as office:
        case = office.flow.records.case(UUID(towns["elsewhere"]))
        case.verify(
            income_fen=1,
            tuition_fen=1,
            gap_fen=1,
            needs=["tuition"],
            visited_on=None,
            note="",
            actor="lin",
        )
        office.flow.save(case)  # past the slice, as a raw append would be
        office.catch_up_views()
        found = [v for v in office.check().violations if v.rule == "verified_out_of_town"]
    assert [v.message for v in found] == [
        "lin verified 1 household(s) outside the towns they are registered for"
    ]


def test_the_reason_recorded_by_default_is_in_the_clerks_language(
    cli: Cli, towns: dict[str, str], tmp_path: Path
) -> None:
    cli("visits", "-o", str(tmp_path / "走访清单.xlsx"), "--lang", "zh", actor="lin")
    assert _reveals(cli, towns["waiting"]) == [("lin", "入户走访清单")]
