"""The read side's queries the CLI needs instead of SQL, and the audit check's account of what it read."""

from __future__ import annotations

from collections import Counter
from uuid import UUID

import pytest
import sqlalchemy as sa

from aidflow import AidFlow
from aidflow.domain.errors import CaseNotFound, FundNotFound, InvalidInput
from aidflow.domain.events import event_name
from aidflow.office.demo import run_demo
from aidflow.projections import ReadModels
from aidflow.projections.dossier import case_table
from tests.builders import government_fund, paid, register_staff, verified


def test_the_audit_check_reads_and_counts_every_event_of_a_demo_store(store_url: str) -> None:
    flow = AidFlow.open(store_url)
    run_demo(flow, seed=7)  # the demo registers its own office on the empty store
    views = ReadModels.attach(flow, store_url)
    head = flow.recorder.max_notification_id()
    stored = Counter(
        event_name(type(flow.mapper.to_domain_event(record)))
        for record in flow.recorder.select_notifications(start=1, limit=head + 1)
    )
    result = views.check_report(flow.policy)
    assert result.checked == dict(stored)
    assert result.events == head and result.position == head
    assert len(stored) >= 15  # the demo exercises nearly the whole catalogue
    assert result.violations == views.check(flow.policy)
    views.close()
    flow.close()


def test_resolve_case_and_fund_by_prefix(store_url: str) -> None:
    flow = AidFlow.open(store_url)
    register_staff(flow)
    views = ReadModels.attach(flow, store_url)
    gov = government_fund(flow)
    case = paid(flow, gov, 1)
    assert views.resolve_case(str(case)) == case
    assert views.resolve_case(str(case)[:6].upper()) == case
    assert views.resolve_fund(str(gov)[:8]) == gov
    with pytest.raises(CaseNotFound, match="no case id starts with"):
        views.resolve_case(str(gov)[:8])  # a fund's id names no case
    assert views.resolve_fund(str(case)) == case  # a whole id passes: the library judges it
    with pytest.raises(FundNotFound, match="is not a fund"):
        flow.fund(views.resolve_fund(str(case)))
    with pytest.raises(CaseNotFound, match="at least its first 6"):
        views.resolve_case(str(case)[:5])
    with pytest.raises(CaseNotFound, match="is not a case id"):
        views.resolve_case("not-an-id")

    differs = "1" if str(case)[9] == "0" else "0"  # the twin parts from the case at character 10
    twin = str(case)[:8] + f"-{differs}000-4000-8000-000000000000"
    with views.engine.begin() as conn:  # a second case sharing the first 8 characters
        row = conn.execute(sa.select(case_table).where(case_table.c.case_id == str(case))).one()
        conn.execute(sa.insert(case_table).values({**row._asdict(), "case_id": twin}))
    with pytest.raises(InvalidInput, match="more than one case id") as refused:
        views.resolve_case(str(case)[:8])
    assert str(case) in str(refused.value) and twin in str(refused.value)
    assert views.resolve_case(str(case)[:10]) == case
    views.close()
    flow.close()


def test_position_of_version(store_url: str) -> None:
    flow = AidFlow.open(store_url)
    register_staff(flow)
    views = ReadModels.attach(flow, store_url)
    case = verified(flow, 1)
    positions = {line.version: line.position for line in views.journal(aggregate_id=str(case))}
    assert set(positions) == {1, 2}
    assert views.position_of_version(case, 2) == positions[2]
    assert views.position_of_version(case, 3) is None
    assert views.position_of_version(UUID(int=1), 1) is None
    views.close()
    flow.close()
