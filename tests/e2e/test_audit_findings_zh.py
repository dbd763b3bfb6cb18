"""Audit findings in the reader's language on every face (issue 24 §1): `audit check` (text and
`--json`), the report, and over HTTP by Accept-Language; English, and every finding's id,
as before."""

from __future__ import annotations

import json
import re
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from aidflow import AidFlow, Office
from aidflow.http.app import create_app
from tests.builders import register_staff
from tests.e2e.conftest import Cli

VERIFIER = "visitor"
"""The one name in the findings below: the person who verified the case and approved it."""
ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")
VERIFIER_APPROVED_EN = "visitor verified this case and approved its grant"
VERIFIER_APPROVED_ZH = "visitor 既核实了本案件，又审批了其救助"


def _english(message: str) -> list[str]:
    return ENGLISH_WORD.findall(message.replace(VERIFIER, ""))


@pytest.fixture
def flagged(cli: Cli, world: dict[str, str]) -> dict[str, str]:
    """The world, with a grant approved by its verifier written around the rules: a
    ``verifier_approved`` finding."""
    flow = AidFlow.open(cli.url)
    register_staff(flow)
    raw = flow.load_case(UUID(world["case"]))
    raw._grant_approved(
        amount_fen=100,
        need="tuition",
        fund_id=UUID(world["gov"]),
        actor=VERIFIER,
        ref="",
        policy_version=0,
    )
    flow.save(raw)
    flow.close()
    return world


def test_audit_check_speaks_chinese_in_text_and_json(cli: Cli, flagged: dict[str, str]) -> None:
    english = json.loads(cli("audit", "check", "--json", code=1).stdout)["violations"]
    assert [(v["rule"], v["message"]) for v in english] == [
        ("verifier_approved", VERIFIER_APPROVED_EN)
    ]

    text = cli("--lang", "zh", "audit", "check", code=1).stdout
    assert VERIFIER_APPROVED_ZH in text
    finding_lines = [row for row in text.splitlines() if row.startswith("F-")]
    assert len(finding_lines) == 1
    for row in finding_lines:
        message = row.split("：", 1)[1].rsplit("（案件", 1)[0]
        assert _english(message) == [], row

    chinese = json.loads(cli("--lang", "zh", "audit", "check", "--json", code=1).stdout)
    assert [v["id"] for v in chinese["violations"]] == [v["id"] for v in english]
    assert all(_english(v["message"]) == [] for v in chinese["violations"])
    assert VERIFIER_APPROVED_ZH in [v["message"] for v in chinese["violations"]]
    # and English again: nothing of the Chinese rendering stays behind
    again = json.loads(cli("--lang", "en", "audit", "check", "--json", code=1).stdout)
    assert again["violations"] == english


def test_the_report_shows_findings_in_its_language(cli: Cli, flagged: dict[str, str]) -> None:
    assert VERIFIER_APPROVED_ZH in cli("--lang", "zh", "audit", "report").stdout
    assert VERIFIER_APPROVED_ZH in cli("--lang", "zh", "audit", "report", "--format", "html").stdout
    assert VERIFIER_APPROVED_EN in cli("--lang", "en", "audit", "report").stdout


def test_http_findings_follow_accept_language(
    cli: Cli, flagged: dict[str, str], store_url: str
) -> None:
    with Office.open(store_url) as office:
        token = office.issue_token("boss", actor="admin").token
    client = TestClient(create_app(store_url))
    auth = {"Authorization": f"Bearer {token}"}

    def messages(path: str, key: str, **headers: str) -> list[str]:
        answer = client.get(path, headers={**auth, **headers})
        assert answer.status_code == 200, answer.text
        return [v["message"] for v in answer.json()[key]]

    assert VERIFIER_APPROVED_EN in messages("/audit/check", "violations")
    chinese = messages(
        "/audit/check", "violations", **{"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
    )
    assert VERIFIER_APPROVED_ZH in chinese and all(_english(m) == [] for m in chinese)
    assert VERIFIER_APPROVED_EN in messages(
        "/audit/check", "violations", **{"Accept-Language": "en-GB,zh;q=0.5"}
    )
    explained = messages(
        f"/cases/{flagged['case']}/explain", "findings", **{"Accept-Language": "zh"}
    )
    assert VERIFIER_APPROVED_ZH in explained
    report = client.get("/audit/report?format=text", headers={**auth, "Accept-Language": "zh"})
    assert VERIFIER_APPROVED_ZH in report.text
