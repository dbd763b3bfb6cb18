"""The HTTP service, end to end: a real uvicorn server on loopback, called with httpx."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import uvicorn

from aidflow import AidFlow, Office
from aidflow import commands as cmd
from aidflow.http.app import create_app
from tests.builders import national_id


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(store_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    """The service on a free port, and a token per staff member (admin, visitor, approver)."""
    flow = AidFlow.open(store_url)
    # The office's first admin also screens cases and keeps the funds (roles at bootstrap).
    flow.add_staff(
        cmd.AddStaff(
            name="admin",
            roles=["admin", "screening-clerk", "cashier", "donations-officer"],
            actor="admin",
        )
    )
    for name, roles in (
        ("visitor", ["verifier", "approver"]),  # may approve, but not what they verified
        ("approver", ["approver"]),
        ("cashier", ["cashier"]),
    ):
        flow.add_staff(cmd.AddStaff(name=name, roles=roles, actor="admin"))
    flow.close()
    with Office.open(store_url) as office:
        issued = {
            n: office.issue_token(n, actor=n).token  # each their own: no one acts as two
            for n in ("admin", "visitor", "approver", "cashier")
        }
    port = _free_port()
    config = uvicorn.Config(
        create_app(store_url, docs=True), host="127.0.0.1", port=port, log_level="error"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(base + "/health").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    try:
        yield base, issued
    finally:
        srv.should_exit = True
        thread.join(10)


def _client(base: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _post(c: httpx.Client, name: str, body: dict[str, Any], status: int = 200) -> Any:
    r = c.post(f"/commands/{name}", json=body)
    assert r.status_code == status, r.text
    return r.json()


def test_the_whole_lifecycle_over_http(server: tuple[str, dict[str, str]]) -> None:
    base, tokens = server
    assert httpx.get(base + "/ready").json()["status"] == "ready"
    assert httpx.get(base + "/cases").status_code == 401
    assert httpx.get(base + "/docs").status_code == 200
    assert "/commands/approve" in httpx.get(base + "/openapi.json").json()["paths"]
    admin, visitor = _client(base, tokens["admin"]), _client(base, tokens["visitor"])
    approver, cashier = _client(base, tokens["approver"]), _client(base, tokens["cashier"])
    fund = _post(admin, "open-fund", {"name": "Temporary assistance", "kind": "government"})[
        "fund_id"
    ]
    _post(
        admin,
        "deposit",
        {"fund_id": fund, "amount_fen": 1_000_000, "source": "budget", "receipt": "B-1"},
    )
    case = _post(
        admin,
        "apply",
        {
            "student_id": national_id(1),
            "name": "王芳",
            "university": "贵州大学",
            "family_category": "dibao",
            "town": "高坪",
            "year": 2026,
            "account": "6222020200112233445",
        },
    )["case_id"]
    _post(
        visitor,
        "verify",
        {
            "case_id": case,
            "income_fen": 1_200_000,
            "tuition_fen": 500_000,
            "gap_fen": 400_000,
            "needs": ["tuition"],
        },
    )
    # The body may not name another actor; the token says who acts.
    refused = _post(
        approver,
        "approve",
        {
            "case_id": case,
            "amount_fen": 300_000,
            "need": "tuition",
            "fund_id": fund,
            "ref": "MZ-1",
            "actor": "someone-else",
        },
        422,
    )
    assert refused["error"]["code"] == "actor_mismatch"
    # Segregation of duties: the verifier may not approve (409, the CLI's code).
    same = _post(
        visitor,
        "approve",
        {"case_id": case, "amount_fen": 300_000, "need": "tuition", "fund_id": fund, "ref": "MZ-1"},
        409,
    )
    assert same["error"]["code"] == "segregation_of_duties"
    _post(
        approver,
        "approve",
        {"case_id": case, "amount_fen": 300_000, "need": "tuition", "fund_id": fund, "ref": "MZ-1"},
    )
    _post(cashier, "disburse", {"case_id": case, "amount_fen": 300_000, "voucher": "V-1"})
    bad = _post(
        admin, "deposit", {"fund_id": fund, "amount_fen": -5, "source": "x", "receipt": "B-2"}, 422
    )
    assert bad["error"]["code"] == "invalid_input"
    dossier = admin.get(f"/cases/{case[:8]}").json()
    assert dossier["status"] == "paid" and dossier["approvals"][0]["actor"] == "approver"
    assert "*" in dossier["student_id_masked"]
    assert admin.get("/cases/ffffffff").status_code == 404
    assert admin.get("/cases/ffffffff").json()["error"]["code"] == "case_not_found"
    assert [c["case_id"] for c in admin.get("/cases/find", params={"q": "王芳"}).json()] == [case]
    assert admin.get(f"/funds/{fund}").json()["balance_fen"] == 700_000
    assert admin.get("/audit/check").json()["ok"] is True
    assert "<svg" in admin.get("/audit/report", params={"lang": "zh"}).text
    events = admin.get("/events", params={"after": 0, "limit": 1000}).json()["events"]
    names = [e["name"] for e in events]
    assert "case.disbursed" in names and "fund.deposited" in names
    applied = next(e for e in events if e["name"] == "case.applied")
    assert applied["data"]["student_id"] != national_id(1) and applied["actor"] == "admin"
    assert next(e for e in events if e["name"] == "case.grant_approved")["actor"] == "approver"


def test_the_feed_long_polls_for_the_next_event(server: tuple[str, dict[str, str]]) -> None:
    base, tokens = server
    admin = _client(base, tokens["admin"])
    head = admin.get("/ready").json()["position"]
    timer = threading.Timer(
        0.5, lambda: _post(admin, "open-fund", {"name": "Later", "kind": "donation"})
    )
    timer.start()
    started = time.monotonic()
    got = admin.get("/events", params={"after": head, "wait": 10}).json()
    timer.join()
    assert [e["name"] for e in got["events"]] == ["fund.opened"]
    assert time.monotonic() - started < 9
    assert got["next_after"] == got["events"][-1]["position"]


@pytest.mark.parametrize(
    "store_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_concurrent_approvals_against_one_fund(server: tuple[str, dict[str, str]]) -> None:
    """Twelve callers approve at once against a fund that holds ten grants: exactly ten win."""
    base, tokens = server
    admin, visitor = _client(base, tokens["admin"]), _client(base, tokens["visitor"])
    fund = _post(admin, "open-fund", {"name": "Small fund", "kind": "government"})["fund_id"]
    _post(
        admin,
        "deposit",
        {"fund_id": fund, "amount_fen": 10 * 100_000, "source": "budget", "receipt": "B-9"},
    )
    cases = []
    for n in range(12):
        case = _post(
            admin,
            "apply",
            {
                "student_id": national_id(100 + n),
                "name": f"S{n}",
                "university": "U",
                "family_category": "dibao",
                "town": "T",
                "year": 2026,
            },
        )["case_id"]
        _post(
            visitor,
            "verify",
            {
                "case_id": case,
                "income_fen": 1,
                "tuition_fen": 500_000,
                "gap_fen": 400_000,
                "needs": ["tuition"],
            },
        )
        cases.append(case)

    def approve(i: int) -> int:
        with _client(base, tokens["approver"]) as c:
            return c.post(
                "/commands/approve",
                json={
                    "case_id": cases[i],
                    "amount_fen": 100_000,
                    "need": "tuition",
                    "fund_id": fund,
                    "ref": f"MZ-C-{i}",
                },
            ).status_code

    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(approve, range(12)))
    assert sorted(statuses) == [200] * 10 + [409] * 2
    assert admin.get(f"/funds/{fund}").json()["balance_fen"] == 0


def test_sixteen_callers_on_one_fund_get_only_their_own_answers(
    server: tuple[str, dict[str, str]],
) -> None:
    """Issue 25 §1: sixteen callers depositing into one fund at once: every answer is the
    command's own (recorded), none a 503, and the balance counts each deposit once."""
    base, tokens = server
    admin = _client(base, tokens["admin"])
    fund = _post(admin, "open-fund", {"name": "Hot fund", "kind": "government"})["fund_id"]

    def deposits(i: int) -> list[int]:
        with _client(base, tokens["admin"]) as c:
            return [
                c.post(
                    "/commands/deposit",
                    json={
                        "fund_id": fund,
                        "amount_fen": 100,
                        "source": "b",
                        "receipt": f"H-{i}-{n}",
                    },
                ).status_code
                for n in range(8)
            ]

    with ThreadPoolExecutor(16) as pool:
        statuses = [s for batch in pool.map(deposits, range(16)) for s in batch]
    assert statuses == [200] * 128
    assert admin.get(f"/funds/{fund}").json()["balance_fen"] == 128 * 100


def test_reveal_over_http_is_recorded_and_the_feed_masks_the_name(
    server: tuple[str, dict[str, str]],
) -> None:
    """Issue 11: the cashier's reveal answers in full after recording it; others are refused."""
    base, tokens = server
    admin, cashier = _client(base, tokens["admin"]), _client(base, tokens["cashier"])
    approver = _client(base, tokens["approver"])
    case = _post(
        admin,
        "apply",
        {
            "student_id": national_id(2),
            "name": "王芳",
            "university": "贵州大学",
            "family_category": "dibao",
            "town": "高坪",
            "year": 2026,
            "account": "6222020200112233445",
        },
    )["case_id"]
    refused = _post(approver, "reveal", {"case_id": case, "reason": "curious"}, status=403)
    assert refused["error"]["code"] == "not_authorised"
    shown = _post(cashier, "reveal", {"case_id": case, "reason": "payment list"})
    assert (shown["name"], shown["student_id"]) == ("王芳", national_id(2))
    history = admin.get(f"/cases/{case}/history").json()
    assert [h["actor"] for h in history if h["type"] == "case.personal_data_revealed"] == [
        "cashier"
    ]
    events = admin.get("/events", params={"after": 0, "limit": 1000}).json()["events"]
    applied = [e for e in events if e["name"] == "case.applied"]
    assert applied and all(e["data"]["name"] == "王**" for e in applied)
    assert "王芳" not in admin.get("/events", params={"after": 0, "limit": 1000}).text


def test_accounts_and_a_statement_over_http(server: tuple[str, dict[str, str]]) -> None:
    """Issue 12 over HTTP: an account change by two people, a statement as a JSON body of lines."""
    base, tokens = server
    admin, visitor = _client(base, tokens["admin"]), _client(base, tokens["visitor"])
    approver, cashier = _client(base, tokens["approver"]), _client(base, tokens["cashier"])
    fund = _post(admin, "open-fund", {"name": "TA", "kind": "government"})["fund_id"]
    _post(
        admin, "deposit", {"fund_id": fund, "amount_fen": 1_000_000, "source": "b", "receipt": "B"}
    )
    case = _post(
        admin,
        "apply",
        {
            "student_id": national_id(2),
            "name": "李伟",
            "university": "遵义医科大学",
            "family_category": "tekun",
            "town": "高坪",
            "year": 2026,
            "account": "6222020200112233445",
        },
    )["case_id"]
    _post(
        visitor,
        "verify",
        {
            "case_id": case,
            "income_fen": 0,
            "tuition_fen": 0,
            "gap_fen": 500_000,
            "needs": ["tuition"],
        },
    )
    _post(
        approver,
        "approve",
        {"case_id": case, "amount_fen": 200_000, "need": "tuition", "fund_id": fund, "ref": "MZ-9"},
    )
    _post(cashier, "disburse", {"case_id": case, "amount_fen": 200_000, "voucher": "V-9"})
    line = {"amount_fen": 200_000, "reference": "V-9", "status": "returned", "note": "closed"}
    first = _post(cashier, "reconcile", {"name": "st.csv", "lines": [line]})
    assert first["returned"] == ["V-9"] and first["recorded"] is True
    assert _post(cashier, "reconcile", {"name": "st.csv", "lines": [line]})["recorded"] is False
    refused = _post(approver, "reconcile", {"lines": [line]}, 403)
    assert refused["error"]["code"] == "not_authorised"
    proposed = _post(
        visitor,
        "set-account",
        {"case_id": case, "account": "6217000011112222333", "reason": "card closed"},
    )
    assert proposed["pending"] is True and "6217000011112222333" not in str(proposed)
    same = _post(visitor, "confirm-account", {"case_id": case}, 409)
    assert same["error"]["code"] == "segregation_of_duties"
    _post(approver, "confirm-account", {"case_id": case, "account": "6217000011112222333"})
    assert "/commands/pay-list" not in httpx.get(base + "/openapi.json").json()["paths"]
