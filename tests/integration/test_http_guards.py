"""One caller cannot take the service from the others (issue 21 §8): a body over the limit
is refused before it is read whole (413, declared or streamed), and long-polls waiting at
once are bounded per member and in all (429). Nothing is written by a refused request."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aidflow import AidFlow, Office
from aidflow import commands as cmd
from aidflow.domain.errors import NotAuthorised, TooManyWaits
from aidflow.http import app as http_app
from aidflow.http.guards import Waits
from tests.builders import application, register_staff

OPEN_FUND = {"name": "Temporary assistance", "kind": "government"}


@pytest.fixture
def served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, dict[str, str], Office]]:
    """The service with a 1,000-byte body limit, over a store with the test office."""
    monkeypatch.setattr(http_app, "MAX_BODY_BYTES", 1_000)
    url = f"sqlite:///{tmp_path / 'office.db'}"
    flow = AidFlow.open(url)
    register_staff(flow)
    flow.close()
    office = Office.open(url)
    token = office.issue_token("cashier", actor="admin").token
    try:
        yield TestClient(http_app.create_app(url)), {"Authorization": f"Bearer {token}"}, office
    finally:
        office.close()


def test_a_declared_body_over_the_limit_is_refused_before_it_is_read(
    served: tuple[TestClient, dict[str, str], Office],
) -> None:
    http, auth, office = served
    before = office.head()
    padded = {**OPEN_FUND, "purpose": "x" * 2_000}
    r = http.post("/commands/open-fund", json=padded, headers=auth)
    assert r.status_code == 413
    assert r.json() == {
        "error": {
            "code": "body_too_large",
            "message": "the request body is larger than 1,000 bytes; send less at once",
            "ids": {},
        }
    }
    assert office.head() == before
    assert http.post("/commands/open-fund", json=OPEN_FUND, headers=auth).status_code == 200


def test_a_streamed_body_is_counted_as_it_arrives(
    served: tuple[TestClient, dict[str, str], Office],
) -> None:
    http, auth, office = served
    before = office.head()

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        yield b'{"name": "x", "kind": "government", "purpose": "'
        for _ in range(100):
            yield b"y" * 100
        yield b'"}'

    r = http.post(
        "/commands/open-fund",
        content=chunks(),
        headers={**auth, "Content-Type": "application/json"},
    )
    assert (r.status_code, r.json()["error"]["code"]) == (413, "body_too_large")
    assert office.head() == before


def test_a_content_length_that_is_not_a_number_is_refused(
    served: tuple[TestClient, dict[str, str], Office],
) -> None:
    http, auth, _office = served
    r = http.post("/commands/open-fund", content=b"{}", headers={**auth, "Content-Length": "-5"})
    assert r.status_code in (400, 413)  # the server may reject the header itself


def test_long_polls_beyond_the_cap_are_429(
    served: tuple[TestClient, dict[str, str], Office], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http_app, "Waits", lambda: Waits(per_member=0, in_all=16))
    http = TestClient(http_app.create_app(served[2].url))
    auth = served[1]
    r = http.get("/events", params={"wait": 1}, headers=auth)
    assert (r.status_code, r.json()["error"]["code"]) == (429, "too_many_waits")
    assert http.get("/events", params={"wait": 0}, headers=auth).status_code == 200


def test_the_waits_are_bounded_per_member_and_in_all_and_freed_after() -> None:
    waits = Waits(per_member=2, in_all=3)
    with waits.slot("li"), waits.slot("li"):
        with pytest.raises(TooManyWaits, match=r"\(2 per member, 3 in all\)"), waits.slot("li"):
            pass
        with waits.slot("wang"), pytest.raises(TooManyWaits), waits.slot("zhao"):
            pass
    with waits.slot("li"), waits.slot("li"), waits.slot("wang"):
        assert waits.waiting.total() == 3
    assert waits.waiting.total() == 0


def test_the_waits_hold_under_threads() -> None:
    waits = Waits(per_member=4, in_all=16)
    inside = threading.Barrier(4)
    refused: list[str] = []

    def poll(name: str) -> None:
        try:
            with waits.slot(name):
                inside.wait(5)
        except TooManyWaits:
            refused.append(name)
        except threading.BrokenBarrierError:
            pass

    threads = [threading.Thread(target=poll, args=("li",)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert refused == [] and waits.waiting.total() == 0


def test_a_token_outlives_no_post(served: tuple[TestClient, dict[str, str], Office]) -> None:
    """A member whose roles were all revoked used to keep reading every case, the feed, the
    journal and the report with their token: now every request is refused (401) at once."""
    http, auth, office = served
    assert http.get("/cases", headers=auth).status_code == 200
    held = next(m.roles for m in office.staff() if m.name == "cashier")
    for role in held[:-1]:
        office.handle(cmd.RevokeRole(name="cashier", role=role, actor="admin"))
    assert http.get("/cases", headers=auth).status_code == 200  # one role left: still staff
    office.handle(cmd.RevokeRole(name="cashier", role=held[-1], actor="admin"))
    for path in ("/cases", "/events", "/audit/journal", "/funds"):
        assert http.get(path, headers=auth).status_code == 401, path
    office.handle(cmd.GrantRole(name="cashier", role="auditor", actor="admin"))
    assert http.get("/cases", headers=auth).status_code == 200  # a post again: the token holds


def test_the_openapi_pages_are_served_only_when_switched_on(
    served: tuple[TestClient, dict[str, str], Office],
) -> None:
    """They map every route and field for anyone who can reach the port, token or not."""
    http, auth, office = served
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert http.get(path).status_code == 404, path
        assert http.get(path, headers=auth).status_code == 404, path
    with_docs = TestClient(http_app.create_app(office.url, docs=True))
    assert "/commands/approve" in with_docs.get("/openapi.json").json()["paths"]


def test_a_token_is_issued_through_the_door_of_every_command(
    served: tuple[TestClient, dict[str, str], Office],
) -> None:
    _http, _auth, office = served
    with pytest.raises(
        NotAuthorised, match=r"^only an admin manages staff and policy; cashier is not one$"
    ):
        office.issue_token("admin", actor="cashier")
    assert office.issue_token("cashier", actor="cashier").name == "cashier"  # one's own
    assert office.issue_token("cashier", actor="admin").name == "cashier"


def test_a_request_reads_the_staff_registry_once(
    served: tuple[TestClient, dict[str, str], Office], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its token's holder, what it may read and its command's authorisation come from one
    reading of the registry (one question at one moment); the next request reads it again,
    so a role revoked in between holds at once (``test_a_token_outlives_no_post``)."""
    from aidflow.domain.staff import REGISTRY_ID

    http, auth, office = served
    service: Office = http.app.state.office  # type: ignore[attr-defined]
    reads: list[object] = []
    real = service.flow.recorder.select_events

    def select_events(*args: Any, **kwargs: Any) -> Any:
        if (args[0] if args else kwargs["originator_id"]) == REGISTRY_ID:
            reads.append(REGISTRY_ID)
        return real(*args, **kwargs)

    monkeypatch.setattr(service.flow.recorder, "select_events", select_events)
    assert http.get("/cases", headers=auth).status_code == 200  # the service has read it once
    reads.clear()
    assert http.post("/commands/open-fund", json=OPEN_FUND, headers=auth).status_code == 200
    assert len(reads) == 1
    assert http.get("/cases", headers=auth).status_code == 200
    assert len(reads) == 2
    for role in next(m.roles for m in office.staff() if m.name == "cashier"):
        office.handle(cmd.RevokeRole(name="cashier", role=role, actor="admin"))
    assert http.post("/commands/open-fund", json=OPEN_FUND, headers=auth).status_code == 401
    assert len(reads) > 2  # read again (its version moved: the new registry read whole)


def test_a_staff_request_goes_to_a_worker_thread_once(
    served: tuple[TestClient, dict[str, str], Office], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token's check and the endpoint run in one trip to a worker thread (the check
    reads the store, so it may not run on the event loop): as a dependency of its own it was
    a second trip at every request (about 0.15 ms of server CPU, docs/performance.md)."""
    import anyio.to_thread

    http, auth, office = served
    case = office.handle(application())
    trips: list[str] = []
    real = anyio.to_thread.run_sync

    async def run_sync(func: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(getattr(func, "__name__", repr(func)))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", run_sync)
    for method, path, body in (
        ("GET", f"/cases/{case}", None),
        ("GET", "/funds", None),
        ("POST", "/commands/open-fund", OPEN_FUND),
    ):
        trips.clear()
        r = http.request(method, path, json=body, headers=auth)
        assert r.status_code == 200, r.text
        assert len(trips) == 1, (path, trips)


def test_a_caller_without_a_good_token_learns_nothing_of_what_a_route_takes(
    served: tuple[TestClient, dict[str, str], Office],
) -> None:
    """A request its parameters or body refuse is answered 401 first when its token is
    missing, of another scheme or not in force; with a good one, 422 and the problems."""
    http, auth, office = served
    case = office.handle(application())
    bad_body = {"name": "", "kind": "not-a-kind", "extra": 1}
    for headers in ({}, {"Authorization": "Basic eDp5"}, {"Authorization": "Bearer nope"}):
        for method, path, body in (
            ("POST", "/commands/open-fund", bad_body),
            ("GET", f"/cases/{case}?version=abc", None),
            ("GET", "/events?limit=0", None),
        ):
            r = http.request(method, path, json=body, headers=headers)
            assert r.status_code == 401, (headers, path, r.text)
            assert r.json()["error"]["code"] == "unauthorised"
            assert r.headers["WWW-Authenticate"] == "Bearer"
    assert http.post("/commands/open-fund", json=bad_body, headers=auth).status_code == 422
    assert http.get(f"/cases/{case}?version=abc", headers=auth).status_code == 422
    lower = {"Authorization": auth["Authorization"].replace("Bearer", "bearer")}
    assert http.get(f"/cases/{case}", headers=lower).status_code == 200  # as HTTPBearer read it
    # the actor is the token's holder and nothing else a request carries
    assert http.get("/funds", params={"actor": "admin"}).status_code == 401
    assert http.get("/funds", headers={"actor": "admin", "x-actor": "admin"}).status_code == 401
    as_admin = http.post("/commands/grant-role", params={"actor": "admin"}, headers=auth,
                         json={"name": "cashier", "role": "admin"})  # fmt: skip
    assert as_admin.status_code == 403, as_admin.text  # the cashier's, refused: not an admin


def test_the_openapi_description_names_the_bearer_scheme_of_the_staff_routes(
    served: tuple[TestClient, dict[str, str], Office],
) -> None:
    _http, _auth, office = served
    spec = TestClient(http_app.create_app(office.url, docs=True)).get("/openapi.json").json()
    assert spec["components"]["securitySchemes"] == {
        http_app.BEARER_SCHEME: {"type": "http", "scheme": "bearer"}
    }
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            names = {p["name"].lower() for p in operation.get("parameters", [])}
            assert "authorization" not in names, (method, path)  # the scheme says it
            wanted = [] if path in ("/health", "/ready") else [{http_app.BEARER_SCHEME: []}]
            assert operation.get("security", []) == wanted, (method, path)


def test_no_staff_route_answers_a_token_never_issued(
    served: tuple[TestClient, dict[str, str], Office],
) -> None:
    """Every route for staff, whatever it takes, answers 401 to a token never issued and to
    none: the check is the route's own, not each endpoint's to remember."""
    http, _auth, _office = served
    routes = [r for r in http.app.routes if getattr(r, "for_members", False)]  # type: ignore[attr-defined]
    others = {r.path for r in http.app.routes if r not in routes}  # type: ignore[attr-defined]
    assert others == {"/health", "/ready"}
    assert {r.path for r in routes} >= {f"/commands/{name}" for name in http_app.COMMANDS}
    for route in routes:
        path = route.path.replace("{", "").replace("}", "")  # a placeholder for each part
        for method in route.methods:
            for headers in ({"Authorization": "Bearer never-issued"}, {}):
                body = {} if method == "POST" else None
                r = http.request(method, path, json=body, headers=headers)
                assert r.status_code == 401, (method, route.path, r.status_code, r.text)
