"""The student confirms receipt (issue 23 §6): a follow-up records whether the money paid
since the last answer arrived; a "no" is a finding at once, linked to its vouchers; with
``receipt-days`` set, a payment nobody confirmed in time is a finding."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from aidflow import Office
from aidflow import commands as cmd
from aidflow.domain.clock import now
from aidflow.domain.errors import InvalidInput, InvalidTransition
from tests.builders import followed_up, government_fund, paid


def follow_up(office: Office, case: UUID, received: str | None) -> None:
    followed_up(office.flow, case, received=received)


def rules(office: Office, days: int = 0) -> list[str]:
    office.catch_up()
    moment = now() + timedelta(days=days)
    return sorted(v.rule for v in office.check(as_of=moment).violations)


def test_a_no_is_a_finding_at_once_linked_to_its_voucher(office: Office) -> None:
    fund = government_fund(office.flow)
    case = paid(office.flow, fund)
    follow_up(office, case, "未收到")  # typed in Chinese
    found = [v for v in office.check().violations if v.rule == "receipt_denied"]
    assert [(v.case_id, v.subject) for v in found] == [(str(case), "V-1")]
    last = list(office.flow.events.get(case))[-1]
    assert (last.received, list(last.vouchers)) == ("no", ["V-1"])


def test_a_yes_covers_the_payments_so_far_and_then_there_is_nothing_to_confirm(
    office: Office,
) -> None:
    fund = government_fund(office.flow)
    case = paid(office.flow, fund)
    follow_up(office, case, "yes")
    head = office.head()
    with pytest.raises(InvalidTransition, match="no payment awaiting"):
        follow_up(office, case, "yes")
    with pytest.raises(InvalidInput):
        follow_up(office, case, "maybe")
    assert office.head() == head
    follow_up(office, case, None)  # a follow-up without the question is still one


def test_unconfirmed_payments_are_findings_only_when_the_policy_asks(office: Office) -> None:
    fund = government_fund(office.flow)
    before = paid(office.flow, fund, n=1)  # paid while receipt-days was off
    office.handle(cmd.SetPolicy(key="receipt-days", value="30", actor="admin"))
    after = paid(office.flow, fund, n=2)
    assert "receipt_unconfirmed" not in rules(office, days=29)
    late = [v for v in office.check(as_of=now() + timedelta(days=31)).violations]
    assert [v.case_id for v in late if v.rule == "receipt_unconfirmed"] == [str(after)]
    assert str(before) not in [v.case_id for v in late if v.rule == "receipt_unconfirmed"]
    follow_up(office, after, "yes")
    assert "receipt_unconfirmed" not in rules(office, days=31)
    with pytest.raises(InvalidInput):
        office.handle(cmd.SetPolicy(key="receipt-days", value="400", actor="admin"))
