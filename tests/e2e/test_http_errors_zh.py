"""HTTP error answers in the language of ``Accept-Language`` (issue 24 §1): a refused command,
a request the models refuse (422), no token (401), a question the post may not ask (403), not
found and no such route (404), a body
too large (413), too many searches (429). The ``code`` stays English (it is for machines);
without the header, or with English preferred, every message is the English one as before."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from aidflow import Office
from aidflow.domain.staff import READS
from aidflow.http.app import create_app
from aidflow.http.guards import MAX_BODY_BYTES, SEARCHES_PER_MINUTE
from tests.e2e.conftest import Cli
from tests.e2e.test_help_zh import english

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
EN = {"Accept-Language": "en-GB,zh;q=0.5"}
FIELDS = ("case_id", "amount_fen", "fund_id", "need", "ref", "kind", "name", "input")
"""Field names a 422 names: the API's own words, as a client sends them."""


@pytest.fixture
def client(cli: Cli) -> TestClient:
    return TestClient(create_app(cli.url))


@pytest.fixture
def token(cli: Cli) -> str:
    with Office.open(cli.url) as office:
        return office.issue_token("clerk", actor="clerk").token


def _error(answer: Any, status: int, code: str) -> str:
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code
    return str(error["message"])


def _both(
    client: TestClient, status: int, code: str, method: str, path: str, **kw: Any
) -> tuple[str, str]:
    """(English, Chinese) message of one request, asked without and with Accept-Language zh;
    the English one is the same when English is preferred."""
    headers = kw.pop("headers", {})
    plain = _error(client.request(method, path, headers=headers, **kw), status, code)
    assert _error(client.request(method, path, headers={**headers, **EN}, **kw), status, code) == (
        plain
    )
    chinese = _error(client.request(method, path, headers={**headers, **ZH}, **kw), status, code)
    return plain, chinese


def _chinese(message: str) -> None:
    assert english(message, FIELDS) == [], message
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message


def test_no_token_and_no_such_route(client: TestClient, token: str) -> None:
    plain, chinese = _both(client, 401, "unauthorised", "GET", "/cases")
    assert plain == "give a staff bearer token (aidflow staff token NAME)"
    _chinese(chinese)
    auth = {"Authorization": f"Bearer {token}"}
    plain, chinese = _both(client, 404, "no_such_route", "GET", "/no/such/route", headers=auth)
    assert plain == "no route GET /no/such/route"
    _chinese(chinese)
    plain, chinese = _both(client, 405, "method_not_allowed", "DELETE", "/cases", headers=auth)
    _chinese(chinese)


def test_not_found_and_refused_commands(
    cli: Cli, client: TestClient, token: str, world: dict[str, str]
) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    plain, chinese = _both(client, 404, "case_not_found", "GET", "/cases/abcdef12", headers=auth)
    assert plain == "no case id starts with abcdef12"
    assert chinese == "没有以 abcdef12 开头的案件编号"
    body = {
        "case_id": world["case"],
        "amount_fen": 900_000,
        "need": "tuition",
        "fund_id": world["gov"],
        "ref": "MZ-1",
    }
    plain, chinese = _both(
        client, 409, "cap_exceeded", "POST", "/commands/approve", headers=auth, json=body
    )
    assert plain.startswith("approving 9,000.00 yuan would bring case")
    _chinese(chinese)
    with Office.open(cli.url) as office:
        admin = {"Authorization": f"Bearer {office.issue_token('admin', actor='admin').token}"}
    plain, chinese = _both(
        client, 403, "not_authorised", "GET", f"/cases/{world['case']}", headers=admin
    )
    assert plain == "admin may not read cases: it needs the role " + " or ".join(
        r.value for r in READS["read_cases"]
    )
    assert chinese.startswith("admin 无权查阅案件：需要角色 ")
    _chinese(chinese)
    plain, chinese = _both(
        client,
        422,
        "actor_mismatch",
        "POST",
        "/commands/approve",
        headers=auth,
        json={**body, "actor": "someone-else"},
    )
    assert plain.startswith("the actor is the token's staff member (clerk)")
    _chinese(chinese)


def test_a_request_the_models_refuse(client: TestClient, token: str) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    body = {"case_id": "x", "amount_fen": "abc", "need": "tuition", "fund_id": "y", "ref": "r"}
    plain, chinese = _both(
        client, 422, "invalid_input", "POST", "/commands/approve", headers=auth, json=body
    )
    assert "amount_fen: Input should be a valid integer" in plain  # pydantic's own, as before
    assert "amount_fen：应为整数" in chinese
    _chinese(chinese)
    plain, chinese = _both(
        client,
        422,
        "invalid_input",
        "POST",
        "/commands/open-fund",
        headers=auth,
        json={"name": "x", "kind": "govt"},
    )
    assert "unknown fund kind 'govt'" in plain  # our own validator's sentence
    _chinese(chinese.replace("(government)", "").replace("(donation)", ""))
    _plain, chinese = _both(
        client,
        422,
        "invalid_input",
        "POST",
        "/commands/open-fund",
        headers={**auth, "Content-Type": "application/json"},
        content=b"{not json",
    )
    _chinese(chinese)


def test_a_body_too_large_and_too_many_searches(client: TestClient, token: str) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    big = {**auth, "Content-Length": str(MAX_BODY_BYTES + 1)}
    plain, chinese = _both(
        client, 413, "body_too_large", "POST", "/commands/open-fund", headers=big, content=b"{}"
    )
    assert plain.startswith("the request body is larger than")
    _chinese(chinese)
    for _ in range(SEARCHES_PER_MINUTE):
        assert client.get("/cases/find?q=王芳", headers=auth).status_code == 200
    answer = client.get("/cases/find?q=王芳", headers={**auth, **ZH})
    _chinese(_error(answer, 429, "too_many_searches"))
    answer = client.get("/cases/find?q=王芳", headers=auth)
    assert _error(answer, 429, "too_many_searches").startswith(f"{SEARCHES_PER_MINUTE} searches")
