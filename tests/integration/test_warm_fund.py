"""A fund kept warm in the process (issue 25 §2): every approval, deposit and secondary aid
loads its fund, so the fund read last is kept and brought up to date with the events after
its version instead of replayed from its snapshot each time. It must give exactly what a
fresh load gives: what another writer recorded since, never what a refused command did to
its copy, and a record that cannot be read is still damage."""

from __future__ import annotations

import sqlalchemy as sa

from aidflow import AidFlow
from aidflow import commands as cmd
from aidflow.domain.errors import InsufficientFunds, StoreDamaged
from aidflow.projections.base import create_view_engine
from tests.builders import government_fund, new_ref, register_staff, verified


def _approve(flow: AidFlow, fund: object, case: object, amount: int) -> None:
    flow.approve(
        cmd.Approve(
            ref=new_ref(),
            case_id=case,
            amount_fen=amount,
            need="tuition",
            fund_id=fund,
            actor="approver",
        )
    )


def test_what_another_writer_recorded_is_seen_by_the_next_read_and_command(
    store_url: str,
) -> None:
    first, second = AidFlow.open(store_url), AidFlow.open(store_url)
    register_staff(first)
    fund = government_fund(first, yuan=1_000)
    _approve(first, fund, verified(first, 1), 60_000)
    assert first.fund(fund).balance_fen == 40_000  # warm in the first process now
    _approve(second, fund, verified(second, 2), 30_000)
    assert first.fund(fund).balance_fen == 10_000  # not the 40,000 it kept
    try:
        _approve(first, fund, verified(first, 3), 20_000)
    except InsufficientFunds:
        pass
    else:
        raise AssertionError("the warm fund spent money another writer had reserved")
    assert second.fund(fund).balance_fen == first.fund(fund).balance_fen == 10_000


def test_each_command_gets_its_own_copy_of_the_warm_fund(flow: AidFlow) -> None:
    fund = government_fund(flow, yuan=1_000)
    copy = flow.records.fund(fund)
    copy.allocate(case_id=fund, amount_fen=70_000, use="grant", actor="approver")
    assert copy.balance_fen == 30_000 and copy.pending_events
    again = flow.records.fund(fund)  # as a refused command leaves it: nothing was saved
    assert again.balance_fen == 100_000 and not again.pending_events
    assert again is not copy


def test_an_unreadable_event_after_the_warm_version_is_damage(store_url: str) -> None:
    flow = AidFlow.open(store_url)
    register_staff(flow)
    fund = government_fund(flow, yuan=1_000)
    assert flow.fund(fund).balance_fen == 100_000  # warm
    flow.deposit(
        cmd.Deposit(fund_id=fund, amount_fen=5, source="budget", receipt="R-2", actor="finance")
    )
    table = "stored_events" if store_url.startswith("sqlite") else "aidflow_events"
    raw = create_view_engine(store_url)
    with raw.begin() as conn:  # a login rewrites the newest event of the fund in place
        conn.execute(
            sa.text(
                f"UPDATE {table} SET state = :s WHERE originator_id = :o"
                f" AND originator_version = (SELECT max(originator_version) FROM {table}"
                " WHERE originator_id = :o)"
            ),
            {"s": b"{not json", "o": fund.hex if store_url.startswith("sqlite") else fund},
        )
    raw.dispose()
    try:
        flow.fund(fund)
    except StoreDamaged as damaged:
        assert damaged.ids == {"aggregate_id": str(fund)}
    else:
        raise AssertionError("the warm fund passed over an event that cannot be read")
