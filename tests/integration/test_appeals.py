"""Appeals (复核, issue 23 §4): a rejected student appeals within ``appeal-days``; someone
other than the one who rejected decides; an overturned rejection goes back to household
verification; an appeal decided late, or by the rejecter, is a finding."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import pytest

from aidflow import Office
from aidflow import commands as cmd
from aidflow.domain.clock import OFFICE_ZONE, fixed, office_day, using_clock
from aidflow.domain.errors import (
    AppealTooLate,
    InvalidInput,
    InvalidTransition,
    NoAppealPending,
    NotAuthorised,
    SegregationOfDuties,
)
from aidflow.domain.staff import Role
from tests.builders import applied, register_staff

T0 = datetime(2026, 9, 1, 9, tzinfo=UTC)
NOW = [T0]
"""The office's clock, moved by each step (commands are stamped by the store's clock)."""


@pytest.fixture
def office(store_url: str) -> Iterator[Office]:
    NOW[0] = T0
    office = Office.open(store_url, clock=lambda: NOW[0])
    register_staff(office.flow)
    office.catch_up()
    yield office
    office.close()


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    NOW[0] = moment
    with using_clock(fixed(moment)):
        yield


def rejected(office: Office) -> UUID:
    with at(T0):
        case = applied(office.flow, 1)
        office.handle(cmd.Reject(case_id=case, reason="income above the line", actor="approver"))
    return case


def appeal(office: Office, case: UUID, when: datetime, actor: str = "clerk") -> None:
    with at(when):
        office.handle(cmd.LodgeAppeal(case_id=case, reason="income misread", actor=actor))


def decide(office: Office, case: UUID, when: datetime, outcome: str, actor: str = "boss") -> None:
    with at(when):
        office.handle(cmd.DecideAppeal(case_id=case, outcome=outcome, reason="r", actor=actor))


def test_an_overturned_rejection_goes_back_to_verification(office: Office) -> None:
    case = rejected(office)
    appeal(office, case, T0 + timedelta(days=30))  # the last day
    head = office.head()
    with pytest.raises(SegregationOfDuties, match="different person decides"):
        decide(office, case, T0 + timedelta(days=31), "overturned", actor="approver")
    with pytest.raises(InvalidInput):
        decide(office, case, T0 + timedelta(days=31), "maybe")
    assert office.head() == head
    decide(office, case, T0 + timedelta(days=31), "撤销")  # typed in Chinese
    assert office.flow.case(case).status == "applied"
    assert office.dossier(case).status == "applied"
    with at(T0 + timedelta(days=32)):
        office.handle(
            cmd.Verify(
                case_id=case, income_fen=0, tuition_fen=500_000, gap_fen=500_000,
                needs=["tuition"], actor="visitor",
            )
        )  # fmt: skip
    with pytest.raises(NoAppealPending):
        decide(office, case, T0 + timedelta(days=33), "upheld")
    assert [v.rule for v in office.check(as_of=T0 + timedelta(days=33)).violations] == []


def test_an_appeal_is_lodged_in_time_once_and_only_against_a_rejection(office: Office) -> None:
    case = rejected(office)
    head = office.head()
    with pytest.raises(AppealTooLate, match=r"within 30 days \(by 2026-10-01\)"):
        appeal(office, case, T0 + timedelta(days=30, seconds=1))
    assert office.head() == head
    appeal(office, case, T0 + timedelta(days=1))
    with pytest.raises(InvalidTransition, match="already has an appeal"):
        appeal(office, case, T0 + timedelta(days=2))
    decide(office, case, T0 + timedelta(days=3), "upheld")
    assert office.flow.case(case).status == "rejected"
    with at(T0):
        other = applied(office.flow, 2)
    with pytest.raises(InvalidTransition, match="not rejected"):
        appeal(office, other, T0 + timedelta(days=1))


def test_only_approvers_decide(office: Office) -> None:
    case = rejected(office)
    appeal(office, case, T0 + timedelta(days=1))
    office.flow.add_staff(cmd.AddStaff(name="teller", roles=[Role.CASHIER], actor="admin"))
    with pytest.raises(NotAuthorised):
        decide(office, case, T0 + timedelta(days=2), "upheld", actor="teller")


def test_an_appeal_decided_late_or_undecided_is_a_finding(office: Office) -> None:
    case = rejected(office)
    appeal(office, case, T0 + timedelta(days=1))
    assert office.check(as_of=T0 + timedelta(days=31)).violations == []
    late = office.check(as_of=T0 + timedelta(days=32)).violations
    assert [(v.rule, v.case_id) for v in late] == [("appeal_decided_late", str(case))]
    decide(office, case, T0 + timedelta(days=40), "upheld")
    after = office.check(as_of=T0 + timedelta(days=41)).violations
    assert [v.rule for v in after] == ["appeal_decided_late"]
    assert "decided 39 days after" in after[0].message


def test_an_appeal_decided_by_the_rejecter_written_around_the_rule_is_a_finding(
    office: Office,
) -> None:
    case = rejected(office)
    appeal(office, case, T0 + timedelta(days=1))
    aggregate = office.flow.load_case(case)
    with at(T0 + timedelta(days=2)):
        aggregate._appeal_decided(outcome="upheld", reason="mine", actor="approver")
        office.flow.save(aggregate)
    office.catch_up()
    rules = [v.rule for v in office.check(as_of=T0 + timedelta(days=3)).violations]
    assert rules == ["appeal_decided_by_rejecter"]


def test_an_open_appeal_is_due_in_aidflow_due_until_decided(office: Office) -> None:
    case = rejected(office)
    appeal(office, case, T0 + timedelta(days=2))
    office.catch_up()
    due = [i for i in office.due() if i.kind == "appeal"]  # days counted from today's date
    today = office_day(datetime.now(UTC), OFFICE_ZONE)  # the office's day: UTC+8
    assert [(i.case_id, i.due.isoformat(), i.days_left) for i in due] == [
        (str(case), "2026-10-03", (date(2026, 10, 3) - today).days)
    ]
    assert [i for i in office.due(department="health") if i.kind == "appeal"] == []
    decide(office, case, T0 + timedelta(days=11), "upheld")
    office.catch_up()
    assert [i for i in office.due() if i.kind == "appeal"] == []
