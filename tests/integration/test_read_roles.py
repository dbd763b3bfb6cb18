"""Reads are checked per role (issue 21 §3): every question the service answers needs a role
that may ask it (``aidflow.domain.staff.READS``), checked by the Office for the token's
holder before anything is read. The table below is this test's own, written from the posts'
duties (not copied from the code), so a route wired to the wrong question fails here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from aidflow import AidFlow, Office
from aidflow import commands as cmd
from aidflow.domain.errors import NotAuthorised
from aidflow.domain.staff import Role
from aidflow.http.app import create_app
from tests.builders import applied, government_fund, register_staff

CASE, FUND = "{case}", "{fund}"

ROUTES: dict[str, tuple[str, str | None]] = {
    # path → (a post that may ask it, a post that may not; None: every post may)
    "/cases": ("verifier", "admin"),
    f"/cases/{CASE}": ("liaison", "admin"),
    f"/cases/{CASE}/history": ("auditor", "admin"),
    f"/cases/{CASE}/explain": ("approver", "admin"),
    "/queue": ("liaison", "admin"),
    "/due": ("cashier", "admin"),
    "/funds": ("cashier", "verifier"),
    f"/funds/{FUND}": ("donations-officer", "screening-clerk"),
    f"/funds/{FUND}/trace": ("auditor", "liaison"),
    "/years/2026": ("admin", "verifier"),
    "/audit/ledger": ("approver", "liaison"),
    "/audit/journal": ("auditor", "verifier"),
    "/audit/check": ("cashier", "screening-clerk"),
    "/audit/digest": ("admin", "liaison"),
    "/audit/report?format=json": ("auditor", "donations-officer"),
    "/events": ("auditor", "verifier"),
    "/staff": ("liaison", None),
    "/policy": ("screening-clerk", None),
    "/projections/status": ("verifier", None),
}
"""Every GET route but the health checks and the two whose door is a recorded command
(``/cases/find``: a search; ``/audit/verify``: needs a digest, asked below)."""

UNLISTED = {"/health", "/ready", "/cases/find", "/audit/verify"}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TestClient, Office, dict[str, str]]]:
    """A service over the test office, plus one member per post holding only that post."""
    url = f"sqlite:///{tmp_path / 'office.db'}"
    flow = AidFlow.open(url)
    register_staff(flow)
    fund = government_fund(flow)
    case = applied(flow)
    for role in Role:
        department = "health" if role is Role.LIAISON else ""
        flow.add_staff(
            cmd.AddStaff(
                name=f"only-{role.value}", roles=[role], department=department, actor="admin"
            )
        )
    flow.close()
    office = Office.open(url)
    ids = {"case": str(case), "fund": str(fund)}
    try:
        yield TestClient(create_app(url)), office, ids
    finally:
        office.close()


def _get(http: TestClient, office: Office, role: str, path: str) -> tuple[int, dict[str, object]]:
    name = f"only-{role}"
    token = office.issue_token(name, actor=name).token
    r = http.get(path, headers={"Authorization": f"Bearer {token}"})
    return r.status_code, (r.json() if "json" in r.headers["content-type"] else {})


def test_every_route_is_in_the_table(
    served: tuple[TestClient, Office, dict[str, str]],
) -> None:
    http, _office, _ids = served
    paths = {
        r.path.replace("{year}", "2026")
        for r in http.app.routes  # type: ignore[attr-defined]
        if isinstance(r, APIRoute) and "GET" in r.methods
    }
    assert paths - UNLISTED == {p.split("?")[0] for p in ROUTES}


@pytest.mark.parametrize("path", list(ROUTES))
def test_each_question_is_answered_only_to_the_posts_that_may_ask_it(
    served: tuple[TestClient, Office, dict[str, str]], path: str
) -> None:
    http, office, ids = served
    may, may_not = ROUTES[path]
    url = path.format(**ids)
    status, _body = _get(http, office, may, url)
    assert status == 200, (may, url, _body)
    if may_not is not None:
        status, body = _get(http, office, may_not, url)
        assert status == 403
        error = body["error"]
        assert isinstance(error, dict) and error["code"] == "not_authorised"
        assert f"only-{may_not}" in str(error["message"])


def test_a_refused_read_answers_nothing_of_the_case(
    served: tuple[TestClient, Office, dict[str, str]],
) -> None:
    """The refusal names the reader and the rule, nothing the question would have told."""
    http, office, ids = served
    status, body = _get(http, office, "admin", f"/cases/{ids['case']}")
    assert status == 403 and set(body) == {"error"}
    said = str(body)
    assert "applied" not in said and "Student" not in said and "dibao" not in said


def test_the_audit_verify_route_is_the_audits(
    served: tuple[TestClient, Office, dict[str, str]],
) -> None:
    http, office, _ids = served
    digest = office.digest().digest
    assert _get(http, office, "auditor", f"/audit/verify?digest={digest}")[0] == 200
    assert _get(http, office, "liaison", f"/audit/verify?digest={digest}")[0] == 403


def test_a_role_revoked_stops_the_next_read(
    served: tuple[TestClient, Office, dict[str, str]],
) -> None:
    http, office, _ids = served
    office.handle(cmd.GrantRole(name="only-verifier", role=Role.AUDITOR, actor="admin"))
    token = office.issue_token("only-verifier", actor="only-verifier").token
    auth = {"Authorization": f"Bearer {token}"}
    assert http.get("/audit/journal", headers=auth).status_code == 200
    office.handle(cmd.RevokeRole(name="only-verifier", role=Role.AUDITOR, actor="admin"))
    assert http.get("/audit/journal", headers=auth).status_code == 403
    assert http.get("/cases", headers=auth).status_code == 200  # still a verifier


def test_the_library_embedded_reads_as_the_stores_holder_and_checks_a_named_reader(
    served: tuple[TestClient, Office, dict[str, str]],
) -> None:
    """An embedding service holds the store: it reads everything; naming a reader checks them."""
    _http, office, _ids = served
    assert office.journal()  # the holder
    assert office.journal(reader="only-auditor")
    with pytest.raises(NotAuthorised, match="only-liaison"):
        office.journal(reader="only-liaison")
