"""A parameter of the wrong type or range is the caller's mistake, told as one (issue 21 §8):
a 4xx in the service's error shape, with no exception text, SQL or traceback, and nothing
written. A year of 10**30 was a 500 (SQLite cannot bind it), a year of -1 an empty 200, an
unknown report language an English report, a 5,000-digit amount the framework's own shape."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from aidflow import AidFlow, Office
from aidflow.http.app import create_app
from tests.builders import register_staff

CASE = "00000000-0000-0000-0000-000000000001"
HUGE = 10**30
LEAKS = ("Traceback", "Error", "sqlite", "SELECT", 'File "', "OverflowError")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The service over a store with the test office, and a cashier's token."""
    url = f"sqlite:///{tmp_path_factory.mktemp('http') / 'office.db'}"
    flow = AidFlow.open(url)
    register_staff(flow)
    flow.close()
    office = Office.open(url)
    token = office.issue_token("cashier", actor="admin").token
    office.close()
    yield TestClient(create_app(url)), {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("path", "says"),
    [
        (f"/cases?year={HUGE}", "query.year: Input should be less than or equal to 9999"),
        ("/cases?year=-1", "query.year: Input should be greater than or equal to 1"),
        ("/cases?year=abc", "query.year: Input should be a valid integer"),
        (f"/cases/{CASE}?version={HUGE}", "query.version: Input should be less than or equal to 9223372036854775807"),
        (f"/cases/{CASE}?as_of=notadate", "'notadate' is not a time like 2026-08-29"),
        (f"/audit/journal?after={HUGE}", "query.after: Input should be less than or equal to 9223372036854775807"),
        (f"/events?after={HUGE}", "query.after: Input should be less than or equal to 9223372036854775807"),
        ("/events?wait=nan", "query.wait: Input should be less than or equal to 30"),
        ("/audit/report?lang=xx", "lang must be one of en, zh"),
        ("/audit/report?format=pdf", "format must be one of text, json, html"),
        ("/years/abc", "path.year: Input should be a valid integer"),
        ("/due?within=-1", "query.within: Input should be greater than or equal to 0"),
        ("/staff?as_of=99999-01-01", "'99999-01-01' is not a time like 2026-08-29"),
        ("/audit/ledger?entries=maybe", "query.entries: Input should be a valid boolean"),
    ],
)  # fmt: skip
def test_a_bad_query_parameter_is_a_clean_422(
    served: tuple[TestClient, dict[str, str]], path: str, says: str
) -> None:
    http, auth = served
    r = http.get(path, headers=auth)
    assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_input"), r.text
    assert says in r.json()["error"]["message"]
    assert not any(leak in r.text for leak in LEAKS)


@pytest.mark.parametrize(
    ("command", "body", "status", "says"),
    [
        (
            "reconcile",
            f'{{"lines": [{{"line": {HUGE}, "amount_fen": 100, "reference": "V1", "status": "paid"}}]}}',
            422,
            "lines.0: line: Input should be less than or equal to 9223372036854775807",
        ),
        (
            "deposit",
            f'{{"fund_id": "{CASE}", "amount_fen": 1{"0" * 5000}, "source": "s", "receipt": "r"}}',
            400,
            "the request body cannot be read as JSON",
        ),
        (
            "deposit",
            f'{{"fund_id": "{CASE}", "amount_fen": 1e400, "source": "s", "receipt": "r"}}',
            422,
            "amount_fen: Input should be a valid integer",
        ),
    ],
)
def test_a_huge_number_in_a_body_is_a_clean_4xx_and_records_nothing(
    served: tuple[TestClient, dict[str, str]], command: str, body: str, status: int, says: str
) -> None:
    """A statement line numbered 10**30 was recorded (200); a number of 5,000 digits, which
    Python's JSON reader refuses, came back as an ``http_error`` quoting the framework."""
    http, auth = served
    before = http.get("/audit/digest", headers=auth).json()
    r = http.post(
        f"/commands/{command}", content=body, headers={**auth, "Content-Type": "application/json"}
    )
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == "invalid_input"
    assert says in r.json()["error"]["message"]
    assert not any(leak in r.text for leak in LEAKS)
    assert http.get("/audit/digest", headers=auth).json() == before
