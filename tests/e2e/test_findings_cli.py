"""Findings explained through the CLI and HTTP (issue 23 §2): `audit check` names each
finding by id and fails while one is open; `audit dispose` explains it (someone else than
the person whose act raised it); the check then passes and lists it apart, in Chinese too."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from aidflow import Office
from aidflow.http.app import create_app
from tests.e2e.conftest import Cli


def test_a_finding_explained_on_the_cli_and_over_http(
    cli: Cli, store_url: str, tmp_path: Path
) -> None:
    statement = tmp_path / "回单.csv"
    statement.write_text(
        "日期,账号,金额,摘要,状态\n2026-08-14,,8800.00,工资-8月,成功\n"
        "2026-08-14,,120.00,手续费,成功\n",
        encoding="utf-8",
    )
    cli("pay", "reconcile", str(statement), actor="cashier")
    failed = cli("audit", "check", "--json", actor="approver", code=1)
    found = json.loads(failed.stdout)["violations"]
    assert [v["rule"] for v in found] == ["statement_no_voucher", "statement_no_voucher"]
    ids = [v["id"] for v in found]
    assert len(set(ids)) == 2 and all(i.startswith("F-") for i in ids)
    text = cli("audit", "check", actor="approver", code=1).stdout
    assert all(i in text for i in ids)
    cli.refused("audit", "dispose", ids[0], "--reason", "工资", says="own act", actor="cashier")
    out = cli(
        "audit", "dispose", ids[0], "--reason", "银行代发工资，与本项目无关", "--lang", "zh",
        actor="approver",
    ).stdout  # fmt: skip
    assert "已说明" in out
    # one still open: the check still fails; explained over HTTP, it passes
    cli("audit", "check", actor="approver", code=1)
    with Office.open(store_url) as office:
        token = office.issue_token("boss", actor="admin").token
    client = TestClient(create_app(store_url))
    headers = {"Authorization": f"Bearer {token}"}
    answer = client.post(
        "/commands/dispose-finding",
        json={"finding": ids[1], "reason": "bank fee"},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"finding": ids[1], "rule": "statement_no_voucher", "disposed": True}
    passed = cli("audit", "check", "--lang", "zh", actor="approver").stdout
    assert "已说明（2 项" in passed and "银行代发工资" in passed
    over_http = client.get("/audit/check", headers=headers).json()
    assert over_http["ok"] is True and over_http["violations"] == []
    assert sorted(d["violation"]["id"] for d in over_http["disposed"]) == sorted(ids)
    as_cli = json.loads(cli("audit", "check", "--json", actor="approver").stdout)
    assert as_cli["disposed"] == over_http["disposed"]
