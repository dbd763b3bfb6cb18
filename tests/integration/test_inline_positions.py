"""The inline catch-up's fast path: remembered positions checked and moved in one statement.

Two processes (here: two flows, each with its own read side attached) write to one
store; each catches up after its own commands. Whenever the other has moved the
views meanwhile, the remembered positions are stale: the compare-and-set finds it,
the transaction is rolled back and the positions are read, so no event is applied
twice or skipped and no view stops. On PostgreSQL a command's catch-up locks the
positions first (or leaves the views to the process applying them now) and then
applies what it stored when that follows on them, else reads the store.
"""

from __future__ import annotations

import threading
from importlib import import_module
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa

from aidflow import AidFlow, Office
from aidflow import commands as cmd
from aidflow.projections import ReadModels, dossier, runner
from aidflow.projections.audit.tables import ledger_total_table
from aidflow.projections.base import create_view_engine
from aidflow.projections.runner import following
from aidflow.projections.source import read_page
from aidflow.projections.tracking import move_together
from tests.builders import followed_up, government_fund, paid, register_staff, verified
from tests.integration.test_projections import dump
from tests.integration.test_view_failures import rebuilt
from tests.pg import fresh_database, require_postgres


def test_two_writers_inline_views_never_apply_an_event_twice(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcomes: list[bool] = []

    def spy(*args: Any, **kwargs: Any) -> bool:
        moved = move_together(*args, **kwargs)
        outcomes.append(moved)
        return moved

    def spy_following(*args: Any) -> Any:  # does what a side stored follow on the positions
        records = following(*args)
        outcomes.append(bool(records))
        return records

    monkeypatch.setattr(runner, "move_together", spy)
    monkeypatch.setattr(runner, "following", spy_following)
    one = AidFlow.open(store_url)
    register_staff(one)
    two = AidFlow.open(store_url)
    views_one = ReadModels.attach(one, store_url)
    views_two = ReadModels.attach(two, store_url)
    fund = government_fund(one)
    cases = []
    for n in range(1, 7):  # alternate: each side's remembered positions are stale every time
        writer = one if n % 2 else two
        cases.append(paid(writer, fund, n=n) if n % 3 else verified(writer, n=n))
    for views, flow in ((views_one, one), (views_two, two)):
        assert [(s.behind, s.error, s.damage) for s in views.status(flow)] == [(0, None, None)] * 3
    assert dump(views_one) == dump(views_two) == rebuilt(one)
    assert {c.status for c in views_one.cases()} == {"paid", "verified"}
    # the fast path ran, and caught stale positions (PostgreSQL: then the positions are
    # locked and what each side stored follows on them, applied unread)
    assert True in outcomes and False in outcomes
    # and a side whose positions nobody moved takes the fast path again, and agrees
    paid(one, fund, n=20)
    assert dump(views_one) == rebuilt(one)
    views_one.close()
    views_two.close()
    one.close()
    two.close()


def test_two_writers_take_turns_across_ledger_checkpoints(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes take turns writing the views: the audit view of each finds the chain,
    the tree and the ledger's running totals where the other left them (read in one
    statement), and stores the checkpoints a rebuild stores, wherever the turns fall."""
    monkeypatch.setattr(import_module("aidflow.projections.audit.ledger"), "CHECKPOINT_ROWS", 3)
    failed: list[str] = []  # a failure the views contain, and another process heals, is a bug

    def record_failure(conn: Any, name: str, failure: Any) -> None:
        failed.append(f"{name}: {failure}")

    monkeypatch.setattr(runner, "record_failure", record_failure)
    one, two = AidFlow.open(store_url), AidFlow.open(store_url)
    register_staff(one)
    views_one, views_two = ReadModels.attach(one, store_url), ReadModels.attach(two, store_url)
    try:
        fund = government_fund(one)
        for n in range(1, 9):
            paid(one if n % 3 else two, fund, n=n)
        views_two.catch_up(two)
        assert failed == []
        assert dump(views_one) == rebuilt(one)
        with views_one.engine.connect() as conn:
            checkpoints = conn.execute(sa.select(sa.func.count()).select_from(ledger_total_table))
            assert checkpoints.scalar_one() > 0
    finally:
        views_one.close()
        views_two.close()
        one.close()
        two.close()


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int | None]:
    """Where each page the runner reads from the store starts (the position after which)."""
    after_each: list[int | None] = []

    def counted(source: Any, after: int | None, limit: int, stop: int | None) -> Any:
        after_each.append(after)
        return read_page(source, after, limit, stop)

    monkeypatch.setattr(runner, "read_page", counted)
    return after_each


def test_a_commands_catch_up_applies_what_it_stored_without_reading_it_back(
    store_url: str, reads: list[int | None]
) -> None:
    """After a command, the views take the records it stored (given to ``AidFlow.listeners``) and the
    dossier the headers it wrote: nothing is read back. When another process recorded in
    between, the records do not follow on the views, and the store is read as before."""
    headers: list[str] = []
    one = AidFlow.open(store_url)
    register_staff(one)
    views = ReadModels.attach(one, store_url)

    @sa.event.listens_for(views.engine, "before_cursor_execute")
    def seen(_c: Any, _cur: Any, statement: str, *_args: Any) -> None:
        if "FROM dossier_case" in statement:
            headers.append(statement)

    fund = government_fund(one)
    case = verified(one)
    reads.clear()
    headers.clear()
    approve(one, fund, case, "SP-1")
    one.disburse(cmd.Disburse(case_id=case, amount_fen=500_000, voucher="V-1", actor="cashier"))
    followed_up(one, case)
    assert reads == [] and headers == []  # three commands on one case: nothing read back
    assert dump(views) == rebuilt(one)

    two = AidFlow.open(store_url)  # another process, no views: its events are not applied yet
    followed_up(two, case, actor="village")
    assert views.status(one)[0].behind > 0
    followed_up(one, case)  # its records no longer follow on the views: the store is read
    assert reads and headers
    assert [s.behind for s in views.status(one)] == [0, 0, 0]
    assert dump(views) == rebuilt(one)
    assert len(views.dossier(str(case)).follow_ups) == 3
    views.close()
    one.close()
    two.close()


def test_a_funds_donors_are_kept_between_deposits_and_read_back_after_another_process(
    store_url: str,
) -> None:
    """Deposits by one process read no fund row back (the dossier keeps each fund's donors as
    it wrote them); once another process has written the view, the next deposit reads them
    again, and the donors of both processes are there in the order they first gave."""
    read_back: list[str] = []
    one, two = AidFlow.open(store_url), AidFlow.open(store_url)
    register_staff(one)
    views_one, views_two = ReadModels.attach(one, store_url), ReadModels.attach(two, store_url)

    @sa.event.listens_for(views_one.engine, "before_cursor_execute")
    def seen(_c: Any, _cur: Any, statement: str, *_args: Any) -> None:
        if "FROM dossier_fund" in statement:
            read_back.append(statement)

    def deposit(flow: AidFlow, source: str, n: int) -> None:
        flow.deposit(
            cmd.Deposit(
                fund_id=fund, amount_fen=100, source=source, receipt=f"R-{n}", actor="finance"
            )
        )

    try:
        fund = government_fund(one)
        read_back.clear()
        for n, source in enumerate(["a", "b", "a", "c"]):
            deposit(one, source, n)
        assert read_back == []
        deposit(two, "d", 10)  # the other process writes the view
        deposit(one, "e", 11)
        assert len(read_back) == 1
        views_two.catch_up(two)
        with views_one.engine.connect() as conn:
            donors = conn.execute(
                sa.select(dossier.fund_table.c.donors).where(
                    dossier.fund_table.c.fund_id == str(fund)
                )
            ).scalar_one()
        assert donors == ["district budget", "a", "b", "c", "d", "e"]
        assert dump(views_one) == rebuilt(one)
    finally:
        views_one.close()
        views_two.close()
        one.close()
        two.close()


def test_headers_kept_by_one_process_never_hide_another_process_changes(store_url: str) -> None:
    """Two processes with views attached take turns on the same case: each one's cached
    header is stale after the other wrote, and must be read back, not reused."""
    one, two = AidFlow.open(store_url), AidFlow.open(store_url)
    register_staff(one)
    views_one, views_two = ReadModels.attach(one, store_url), ReadModels.attach(two, store_url)
    fund = government_fund(one)
    case = verified(one)
    approve(two, fund, case, "SP-1")
    one.disburse(cmd.Disburse(case_id=case, amount_fen=500_000, voucher="V-1", actor="cashier"))
    followed_up(two, case)
    followed_up(one, case)
    for views, flow in ((views_one, one), (views_two, two)):
        views.catch_up(flow)
        dossier = views.dossier(str(case))
        assert (dossier.status, dossier.disbursed_fen, len(dossier.follow_ups)) == (
            "paid",
            500_000,
            2,
        )
        assert dump(views) == rebuilt(one)
    views_one.close()
    views_two.close()
    one.close()
    two.close()


def approve(flow: AidFlow, fund: UUID, case: UUID, ref: str) -> None:
    flow.approve(
        cmd.Approve(
            ref=ref,
            case_id=case,
            amount_fen=500_000,
            need="tuition",
            fund_id=fund,
            actor="approver",
        )
    )


def test_a_command_that_stored_more_than_a_page_is_read_in_pages(
    store_url: str, reads: list[int | None]
) -> None:
    """A batch larger than the runner's page (an import) is not applied in one piece."""
    flow = AidFlow.open(store_url)
    register_staff(flow)
    views = ReadModels(create_view_engine(store_url), page_size=2)
    flow.listeners.append(lambda recorded: views.catch_up(flow, recorded=recorded))
    views.catch_up(flow)
    fund = government_fund(flow)
    reads.clear()
    case = verified(flow)
    approve(flow, fund, case, "SP-1")  # the case, the fund's reservation, the reference: 3 > 2
    assert len(reads) >= 2  # read back in pages of two
    assert [s.behind for s in views.status(flow)] == [0, 0, 0]
    assert dump(views) == rebuilt(flow)
    views.close()
    flow.close()


@pytest.mark.postgres
def test_a_command_leaves_the_views_to_the_process_applying_them_now() -> None:
    """PostgreSQL, several writers with views inline (issue 25 §2): while another process
    holds the views' positions (it is applying them), a command's catch-up does not queue
    for them: the command answers at once, its events wait for the next catch-up, and the
    first question asked applies them before it answers."""
    require_postgres()  # SQLite has one writer at a time: its catch-up waits for the file
    with fresh_database() as store_url, Office.open(store_url) as office:
        flow, views = office.flow, office.views
        register_staff(flow)
        fund = government_fund(flow)
        case = verified(flow)
        holder = create_view_engine(store_url)
        with holder.connect() as other, other.begin():  # another process, mid-page
            other.execute(sa.text("SELECT * FROM aidflow_tracking FOR UPDATE"))
            done = threading.Event()
            worker = threading.Thread(
                target=lambda: (approve(flow, fund, case, "SP-9"), done.set())
            )
            worker.start()
            worker.join(timeout=20)
            assert done.is_set(), "the command queued behind the process applying the views"
            assert max(s.behind for s in views.status(flow)) > 0  # left to the next catch-up
        assert office.dossier(case).status == "approved"  # the question caught up first
        assert [s.behind for s in views.status(flow)] == [0, 0, 0]
        assert dump(views) == rebuilt(flow)
        holder.dispose()
