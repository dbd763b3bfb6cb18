"""No oracle (issue 21 §6): finding a case by national ID or name says who is a student,
so it is for the roles that may reveal, every search is recorded (who, by what, a keyed
hash of the query, the hits; never the ID or the name), a service caller is held to a
few searches a minute, and a masked name keeps only its first character.

The attack this answers: with an auditor's token, ``/cases/find`` confirmed 20 of 20
guessed national IDs in 17 s and 10 of 10 names, and nothing was recorded.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from aidflow import AidFlow, Office
from aidflow import commands as cmd
from aidflow.auditing import run_checks
from aidflow.domain import Policy
from aidflow.domain.errors import InvalidInput, NotAuthorised, TooManySearches, UnknownStaff
from aidflow.domain.searches import Search
from aidflow.http import app as http_app
from aidflow.http.guards import Searches
from aidflow.i18n import using
from tests.builders import national_id, register_staff
from tests.unit.test_audit_checks import T0, Journal

STUDENT = national_id(41)
NAME = "王芳芳"


@pytest.fixture
def office(tmp_path: Path) -> Office:
    url = f"sqlite:///{tmp_path / 'office.db'}"
    flow = AidFlow.open(url)
    register_staff(flow)
    flow.add_staff(cmd.AddStaff(name="inspector", roles=["auditor"], actor="admin"))
    flow.add_staff(cmd.AddStaff(name="bureau-approver", roles=["approver"], actor="admin"))
    flow.close()
    office = Office.open(url)
    office.handle(
        cmd.Apply(
            student_id=STUDENT, name=NAME, university="贵州大学", family_category="dibao",
            town="高坪", year=2026, actor="clerk",
        )
    )  # fmt: skip
    return office


def _searches(office: Office) -> list[Search]:
    found = []
    for line in office.journal():
        if line.event_type == "search.recorded":
            search = office.flow.records.get(UUID(line.aggregate_id))
            assert isinstance(search, Search)
            found.append(search)
    return found


def test_a_search_is_recorded_with_its_hits_and_never_the_query(office: Office) -> None:
    case = office.cases()[0].case_id
    spaced = " ".join([STUDENT[:6], STUDENT[6:14], STUDENT[14:]])  # as printed on a form
    assert [c.case_id for c in office.find(spaced, actor="cashier")] == [case]
    assert [c.case_id for c in office.find("王芳芳", actor="verifier")] == [case]
    assert office.find(national_id(42), actor="cashier") == []  # a miss is recorded too
    first, by_name, miss = _searches(office)
    assert (first.by, first.hits, first.actor) == ("student_id", [case], "cashier")
    assert (by_name.by, by_name.hits, by_name.actor) == ("name", [case], "verifier")
    assert (miss.by, miss.hits) == ("student_id", [])
    assert len({first.query, by_name.query, miss.query}) == 3
    for search in (first, by_name, miss):
        assert len(search.query) == 32 and STUDENT[6:14] not in search.query
    office.find(STUDENT, actor="cashier")
    assert _searches(office)[-1].query == first.query  # one ID, one hash: repeats are seen
    with using("en"):  # summaries are in the reader's language; another test may have chosen zh
        lines = [line for line in office.journal() if line.event_type == "search.recorded"]
    assert lines[0].summary == "search by student_id: 1 case(s) found"
    assert lines[2].summary == "search by student_id: 0 case(s) found"
    assert STUDENT not in str(office.journal()) and NAME not in str(office.journal())
    assert office.check().ok


@pytest.mark.parametrize("who", ["inspector", "bureau-approver", "admin", "nobody"])
def test_a_role_that_may_not_reveal_finds_nothing_and_writes_nothing(
    office: Office, who: str
) -> None:
    head = office.head()
    refused = UnknownStaff if who == "nobody" else NotAuthorised
    with pytest.raises(refused, match="may not find" if who != "nobody" else "not registered"):
        office.find(STUDENT, actor=who)
    assert office.head() == head


def test_an_over_long_query_is_refused(office: Office) -> None:
    with pytest.raises(InvalidInput, match="text"):
        office.find("王" * 10_000, actor="cashier")


def test_the_names_views_keep_say_neither_the_given_name_nor_its_length(office: Office) -> None:
    summary = office.cases()[0]
    assert summary.name == "王**"
    assert office.dossier(UUID(summary.case_id)).name == "王**"


def test_a_search_recorded_by_someone_without_the_role_is_a_finding() -> None:
    """A forged search (a writer login inserting one) is held to the same rule."""
    j = Journal()
    j.staff("member_added", name="li", roles=["admin"], department="", town="")
    p = j.add("search.recorded", "s1", "li", by="student_id", query="q" * 32, hits=[])
    found = run_checks(iter(j.rows), {}, Policy(), T0 + timedelta(days=3)).violations
    assert [(v.rule, v.positions, v.message) for v in found] == [
        (
            "unauthorised_actor",
            [p],
            "li recorded 1 find event(s) without holding a role for it at the time "
            "(or not registered staff)",
        )
    ]


def test_a_service_caller_is_held_to_a_few_searches_a_minute(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http_app, "Searches", lambda: Searches(per_minute=2))
    http = TestClient(http_app.create_app(office.url))
    token = office.issue_token("cashier", actor="admin").token
    auth = {"Authorization": f"Bearer {token}"}
    for _ in range(2):
        assert http.get("/cases/find", params={"q": STUDENT}, headers=auth).status_code == 200
    head = office.head()
    r = http.get("/cases/find", params={"q": STUDENT}, headers=auth)
    assert (r.status_code, r.json()["error"]["code"]) == (429, "too_many_searches")
    assert office.head() == head  # refused before it searched: nothing recorded


def test_the_search_budget_is_per_member_and_frees_after_a_minute() -> None:
    now = [0.0]
    searches = Searches(per_minute=2, clock=lambda: now[0])
    searches.take("li")
    searches.take("li")
    searches.take("wang")
    with pytest.raises(TooManySearches, match=r"^2 searches by ID or name in a minute"):
        searches.take("li")
    now[0] = 59.9
    with pytest.raises(TooManySearches):
        searches.take("li")
    now[0] = 60.0
    searches.take("li")
