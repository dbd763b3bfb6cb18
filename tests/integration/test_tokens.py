"""Bearer tokens are events (issue 21 §3): issued (by the holder, or an admin for them, on
record), in force until they expire, replaced or revoked; the record holds a hash, never the
token; `audit check` flags the cases where an admin who issued someone's token and that
someone both acted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from aidflow import Office
from aidflow import commands as cmd
from aidflow.domain.clock import fixed, now, using_clock
from aidflow.domain.errors import InvalidInput, NotAuthorised
from aidflow.domain.staff import REGISTRY_ID, Role, StaffRegistry, token_hash
from aidflow.http.app import create_app
from tests.builders import government_fund, new_ref, register_staff, verified


@pytest.fixture
def office(store_url: str) -> Iterator[Office]:
    office = Office.open(store_url)
    register_staff(office.flow)
    office.flow.add_staff(
        cmd.AddStaff(name="chief", roles=[Role.ADMIN, Role.VERIFIER], actor="admin")
    )
    office.catch_up()
    yield office
    office.close()


def rules(office: Office) -> list[tuple[str, str | None]]:
    office.catch_up()
    return sorted((v.rule, v.case_id) for v in office.check().violations)


def test_a_token_is_recorded_by_its_hash_and_works_until_it_expires(office: Office) -> None:
    issued = office.issue_token("cashier", actor="cashier", days=7)
    assert issued.token.startswith("afw_") and office.token_holder(issued.token) == "cashier"
    registry = office.flow.records.find(StaffRegistry, REGISTRY_ID)
    assert registry is not None
    last = list(office.flow.events.get(REGISTRY_ID))[-1]
    assert type(last).__name__ == "TokenIssued" and last.token == token_hash(issued.token)
    assert issued.expires_at - now() <= timedelta(days=7)
    stored = [r.state for r in office.flow.recorder.select_notifications(start=1, limit=10_000)]
    assert not any(issued.token.encode() in s for s in stored), "the token itself is never stored"
    with using_clock(fixed(issued.expires_at + timedelta(seconds=1))):
        assert office.token_holder(issued.token) is None  # expired
    assert office.token_holder(issued.token + "x") is None


def test_a_new_token_replaces_the_old_and_a_revoked_one_opens_nothing(office: Office) -> None:
    first = office.issue_token("cashier", actor="cashier")
    second = office.issue_token("cashier", actor="admin")
    assert office.token_holder(first.token) is None
    assert office.token_holder(second.token) == "cashier"
    office.revoke_token("cashier", actor="cashier", reason="phone lost")
    assert office.token_holder(second.token) is None
    with pytest.raises(InvalidInput, match="holds no token"):
        office.revoke_token("cashier", actor="admin")
    names = [type(e).__name__ for e in office.flow.events.get(REGISTRY_ID)][-3:]
    assert names == ["TokenIssued", "TokenIssued", "TokenRevoked"]


def test_only_an_admin_issues_or_revokes_another_members_token(office: Office) -> None:
    head = office.head()
    with pytest.raises(NotAuthorised, match="only an admin"):
        office.issue_token("approver", actor="cashier")
    office.issue_token("approver", actor="approver")
    with pytest.raises(NotAuthorised, match="only an admin"):
        office.revoke_token("approver", actor="cashier")
    with pytest.raises(InvalidInput):
        office.issue_token("approver", actor="approver", days=0)
    with pytest.raises(InvalidInput):
        office.issue_token("approver", actor="approver", days=367)
    assert office.head() == head + 1


def test_over_http_an_expired_or_revoked_token_is_refused(office: Office, store_url: str) -> None:
    client = TestClient(create_app(store_url))
    issued = office.issue_token("cashier", actor="cashier", days=1)
    headers = {"Authorization": f"Bearer {issued.token}"}
    assert client.get("/funds", headers=headers).status_code == 200
    with using_clock(fixed(issued.expires_at + timedelta(minutes=1))):
        assert client.get("/funds", headers=headers).status_code == 401
    answer = client.post("/commands/revoke-token", json={"name": "cashier"}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert client.get("/funds", headers=headers).status_code == 401
    assert client.post("/commands/issue-token", json={"name": "cashier"}).status_code == 404


def _approve(office: Office, case: UUID, fund: UUID, actor: str) -> None:
    office.handle(
        cmd.Approve(
            case_id=case, amount_fen=100_000, need="tuition", fund_id=fund, ref=new_ref(),
            actor=actor,
        )
    )  # fmt: skip


def test_an_admin_who_issued_someones_token_and_acted_on_their_case_is_a_finding(
    office: Office,
) -> None:
    fund = government_fund(office.flow)
    office.issue_token("approver", actor="chief")  # on record: chief holds approver's token
    mine = verified(office.flow, 1, verifier="chief")
    theirs = verified(office.flow, 2, verifier="visitor")
    _approve(office, mine, fund, "approver")  # chief verified; "approver" approved
    _approve(office, theirs, fund, "approver")
    assert rules(office) == [("token_for_another_crosses_duties", str(mine))]
    (found,) = office.check().violations
    assert "chief issued approver's token" in found.message


def test_ones_own_token_or_a_revoked_one_crosses_nothing(office: Office) -> None:
    fund = government_fund(office.flow)
    office.issue_token("approver", actor="chief")
    office.revoke_token("approver", actor="approver")
    office.issue_token("approver", actor="approver")
    case = verified(office.flow, 1, verifier="chief")
    _approve(office, case, fund, "approver")
    assert rules(office) == []


def test_a_token_for_another_written_around_the_rule_is_a_finding(office: Office) -> None:
    registry = office.flow.records.find(StaffRegistry, REGISTRY_ID)
    assert registry is not None
    registry._token_issued(
        name="approver", token="0" * 64, expires_at=now() + timedelta(days=1), actor="cashier"
    )
    office.flow.save(registry)
    found = [v.message for v in office.check().violations if v.rule == "unauthorised_actor"]
    assert found == [
        "cashier recorded 1 issue token event(s) without holding a role for it at the time "
        "(or not registered staff)"
    ]
