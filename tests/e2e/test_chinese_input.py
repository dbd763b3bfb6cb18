"""Enumerated values typed in Chinese (issue 24 §2): needs, categories, departments,
statuses, kinds, severities, trends, roles, through the CLI, HTTP and the library alike;
what is recorded is always the domain's value, so a store written in Chinese reads the
same as one written in English. Unknown words are refused with the words that would do,
in the reader's language, and nothing is written."""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from aidflow import Office
from aidflow import commands as cmd
from aidflow.domain import values
from aidflow.domain.errors import InvalidInput, render
from aidflow.domain.staff import Role
from aidflow.http.app import create_app
from aidflow.i18n import LANGUAGES, catalogue, tr, using, words
from aidflow.i18n import messages as M
from tests.builders import national_id
from tests.e2e.conftest import Cli

ENUMS: list[type[StrEnum]] = [
    e
    for e in vars(values).values()
    if isinstance(e, type) and issubclass(e, StrEnum) and e is not StrEnum
] + [Role]


@pytest.mark.parametrize("enum", ENUMS, ids=lambda e: e.__name__)
def test_every_word_a_catalogue_shows_or_lists_names_its_value(enum: type[StrEnum]) -> None:
    """No word names two values of one set, and each value is reached by its English value,
    its shown word and every other spelling the catalogues list (full-width and case aside)."""
    for member in enum:
        typed = [member.value, member.value.upper(), f" {member.value} "]
        for lang in LANGUAGES[1:]:
            typed.append(catalogue(lang).pgettext("value", member.value))
            typed.extend(catalogue(lang).pgettext(words.INPUT, member.value).split("|"))
        for text in typed:
            assert words.parse_enum(enum, text, what="x") is member, text


def test_the_catalogue_spells_the_needs_as_the_bureau_writes_them() -> None:
    need = values.NeedCategory
    spelled = {"学费": need.TUITION, "生活费": need.LIVING, "路费": need.TRAVEL}
    assert {t: words.parse_enum(need, t, what="x") for t in spelled} == spelled
    assert (
        words.parse_enum(values.FamilyCategory, "低保户", what="x") is values.FamilyCategory.DIBAO
    )
    assert words.known(values.Department, "卫健") == "health"
    assert (
        words.known(values.Department, "ＲＵＲＡＬ-dev") == "ＲＵＲＡＬ-dev"
    )  # not ours: as typed


def test_an_unknown_word_is_refused_with_the_words_that_would_do() -> None:
    with pytest.raises(InvalidInput) as refused:
        words.parse_enum(values.NeedCategory, "学费太贵", what=M.WORD_NEED)
    message = refused.value.args[0]
    assert str(message) == (
        "unknown need '学费太贵'; write one of tuition, travel, living, supplies"
    )
    with using("zh"):
        assert render(message, tr) == (
            "未知的困难类别 '学费太贵'；可填：学费难筹 (tuition), 路费不够 (travel), "
            "生活拮据 (living), 学习用品不全 (supplies)"
        )


def test_the_command_models_take_chinese_and_hold_the_domains_values() -> None:
    case = UUID(int=1)
    chinese = cmd.Verify(
        case_id=case, income_fen=1, tuition_fen=1, gap_fen=1, needs=["学费", "路费"], actor="v"
    )
    english = cmd.Verify(
        case_id=case, income_fen=1, tuition_fen=1, gap_fen=1, needs=["tuition", "travel"], actor="v"
    )
    assert chinese == english and chinese.needs == [values.NeedCategory.TUITION, "travel"]
    assert cmd.AddStaff(name="li", roles=["核实员", "审批"], actor="a").roles == [
        Role.VERIFIER,
        Role.APPROVER,
    ]
    review = cmd.ConveneReview(case_id=case, departments=["卫健", "教育局"], actor="c")
    assert review.departments == ["health", "education"]
    with pytest.raises(InvalidInput, match="unknown hardship kind '头疼'"):
        cmd.ReportHardship(case_id=case, kind="头疼", detail="d", actor="c")


def test_a_case_worked_in_chinese_from_the_command_line(cli: Cli) -> None:
    gov = cli.json("fund", "open", "--name", "临时救助", "--kind", "财政")["fund_id"]
    cli("fund", "deposit", gov, "--amount", "20000", "--source", "区财政", "--receipt", "B-1")
    case = cli.json(
        "case", "apply", "--student-id", national_id(7), "--name", "王芳",
        "--university", "贵州大学", "--category", "低保户", "--town", "高坪", "--year", "2026",
    )["case_id"]  # fmt: skip
    cli(
        "case", "verify", case, "--income", "12000", "--tuition", "5000", "--gap", "5000",
        "--need", "学费", "--need", "路费", actor="visitor",
    )  # fmt: skip
    cli(
        "case", "approve", case, "--ref", "AP-1", "--amount", "3000", "--need", "学费",
        "--fund", gov, actor="approver",
    )  # fmt: skip
    cli("case", "report-hardship", case, "--kind", "疾病", "--detail", "住院", "--severity", "危急")
    actions = cli(
        "case", "convene-review", case, "--department", "卫健", "--department", "教育局",
        "--action", "卫健＝医疗救助", "--action", "教育=减免学费",
    ).stdout.split()  # fmt: skip
    assert actions == ["A1", "A2"]
    queue = cli.json("queue", "--department", "卫健委")
    assert [(a["action_id"], a["department"]) for a in queue["open_actions"]] == [("A1", "health")]
    english = cli.json("queue", "--department", "health")
    assert {**english, "as_of": None} == {**queue, "as_of": None}
    cli("case", "follow-up", case, "--study", "良好", "--living", "稳定", "--hardship", "好转")

    data = [h["data"] for h in cli.json("case", "history", case)]
    assert data[0]["family_category"] == "dibao"
    assert data[1]["needs"] == ["travel", "tuition"]  # kept sorted
    assert data[2]["need"] == "tuition"
    assert (data[3]["kind"], data[3]["severity"]) == ("illness", "critical")
    assert data[4]["departments"] == ["health", "education"]
    assert data[-1]["hardship_trend"] == "improved"
    listed = cli.json("case", "list", "--status", "重新打开", "--category", "低保")
    assert [c["case_id"] for c in listed] == [case]
    assert cli.json("case", "list", "--status", "reopened", "--category", "dibao") == listed


def test_an_unknown_word_on_the_command_line_is_a_usage_error_in_chinese(cli: Cli) -> None:
    refused = cli.refused(
        "--lang",
        "zh",
        "fund",
        "open",
        "--name",
        "x",
        "--kind",
        "私人",
        says="未知的资金类型 '私人'",
        code=2,
    )
    assert "财政 (government), 捐赠 (donation)" in refused.stderr


def test_staff_roles_and_departments_in_chinese(cli: Cli) -> None:
    cli(
        "staff",
        "add",
        "李",
        "--role",
        "部门联络人",
        "--role",
        "核实员",
        "--department",
        "卫健",
        actor="admin",
    )
    cli("staff", "grant", "李", "审批", actor="admin")
    member = next(m for m in cli.json("staff", "list") if m["name"] == "李")
    assert (sorted(member["roles"]), member["department"]) == (
        ["approver", "liaison", "verifier"],
        "health",
    )


def _office_http(url: str) -> tuple[Office, TestClient, dict[str, str]]:
    office = Office.open(url)
    token = office.issue_token("clerk", actor="admin").token  # every operations role
    return office, TestClient(create_app(url)), {"Authorization": f"Bearer {token}"}


def test_http_takes_chinese_in_bodies_and_queries(cli: Cli) -> None:
    office, http, auth = _office_http(cli.url)
    try:

        def post(name: str, body: dict[str, Any], status: int = 200) -> Any:
            r = http.post(f"/commands/{name}", json=body, headers=auth)
            assert r.status_code == status, r.text
            return r.json()

        fund = post("open-fund", {"name": "社会捐赠", "kind": "捐赠"})["fund_id"]
        assert [(f.fund_id, f.kind) for f in office.funds()] == [(fund, "donation")]
        case = post(
            "apply",
            {
                "student_id": national_id(8), "name": "李雷", "university": "贵州大学",
                "family_category": "特困人员", "town": "高坪", "year": 2026,
            },
        )["case_id"]  # fmt: skip
        refused = post(
            "verify",
            {"case_id": case, "income_fen": 1, "tuition_fen": 1, "gap_fen": 1, "needs": ["钱"]},
            status=422,
        )
        assert refused["error"]["code"] == "invalid_input"
        assert "unknown need '钱'" in refused["error"]["message"]
        cases = http.get("/cases", params={"status": "已申请", "category": "特困"}, headers=auth)
        assert [c["case_id"] for c in cases.json()] == [case]
        assert cases.json() == [
            c.model_dump(mode="json") for c in office.cases(status="applied", category="tekun")
        ]
        queue = http.get("/queue", params={"department": "卫健"}, headers=auth)
        assert queue.status_code == 200, queue.text
    finally:
        office.close()
