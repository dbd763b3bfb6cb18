"""Many writers on one hot fund (issue 25 §1): every answer is the command's own.

Threads of one process (a service) take turns on the records their commands name, so they
never lose work to each other: no retry at all, no ``ConcurrencyConflict``. Writer
processes take turns in the store on records that conflicted lately (an advisory lock on
PostgreSQL, a byte-range lock beside a SQLite file), so after each process's first collision
they queue instead of deciding twice; the store's check and retries until ``conflict_wait``
answer the rest. Money is exact throughout, and a writer killed while holding a turn frees
it. The figures at larger sizes, and over HTTP, are ``scripts/bench.py contention``.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import UUID

import pytest

from aidflow import AidFlow
from aidflow import commands as cmd
from aidflow.config import parse_url
from aidflow.domain.errors import AidflowError, ConcurrencyConflict
from scripts.benchlib.contention import run_processes
from tests.builders import government_fund, new_ref, register_staff, verified

THREADS = 16


def _deposit(fund: UUID, receipt: str) -> cmd.Deposit:
    return cmd.Deposit(
        fund_id=fund, amount_fen=100, source="budget", receipt=receipt, actor="finance"
    )


def test_threads_on_one_fund_never_conflict_and_money_is_exact(flow: AidFlow) -> None:
    register_staff(flow)
    fund = government_fund(flow, yuan=10)  # 1,000 fen: room for 10 grants of 100
    cases = [verified(flow, n) for n in range(THREADS)]
    before = flow.fund(fund).balance_fen
    errors: list[AidflowError] = []

    def work(i: int) -> tuple[int, int]:
        deposits = approvals = 0
        for n in range(6):
            try:
                flow.deposit(_deposit(fund, f"R-{i}-{n}"))
                deposits += 1
                if n == 0:
                    flow.approve(
                        cmd.Approve(
                            ref=new_ref(),
                            case_id=cases[i],
                            amount_fen=100,
                            need="tuition",
                            fund_id=fund,
                            actor="approver",
                        )
                    )
                    approvals += 1
            except AidflowError as exc:
                errors.append(exc)
        return deposits, approvals

    retried = flow.conflicts_retried
    with ThreadPoolExecutor(THREADS) as pool:
        done = list(pool.map(work, range(THREADS)))
    assert errors == []
    assert flow.conflicts_retried == retried  # threads took turns: no save ever conflicted
    deposits, approvals = sum(d for d, _ in done), sum(a for _, a in done)
    assert (deposits, approvals) == (THREADS * 6, THREADS)
    f = flow.fund(fund)
    assert f.balance_fen == before + deposits * 100 - approvals * 100
    assert f.allocated_fen == approvals * 100
    assert flow.pipeline.locks.in_use() == 0  # no lock left behind


def test_writer_processes_on_one_fund_get_only_their_own_answers(store_url: str) -> None:
    """Four processes depositing on one fund as fast as they can: they collide, then queue
    in the store (a handful of retries, not one per command), and every command is answered
    as recorded, the balance exact."""
    r = run_processes(store_url, processes=4, seconds=3)
    assert r["other"] == 0, r["others"]
    assert r["recorded"] > 0 and r["exact"]
    assert r["retried"] > 0, "the processes never collided, so this run proved nothing"
    # without turns most commands were decided twice (194 retries for 246 recorded, measured)
    assert r["retried"] * 5 < r["recorded"], (r["retried"], r["recorded"])


def test_a_turn_that_never_comes_is_a_named_conflict_and_writes_nothing(flow: AidFlow) -> None:
    """Inside a process a command waits for its records' locks until ``conflict_wait``; past
    it, ``ConcurrencyConflict`` with nothing written (and its turn comes after)."""
    register_staff(flow)
    fund = government_fund(flow)
    head = flow.recorder.max_notification_id()
    flow.pipeline.conflict_wait = 0.3
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:  # another thread's command holding the fund's turn, as if stuck
        with flow.pipeline.locks.holding([fund], until=time.monotonic() + 5, wait=5):
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        holding.wait(5)
        with pytest.raises(ConcurrencyConflict) as refused:
            flow.deposit(_deposit(fund, "R-late"))
        assert str(refused.value) == (
            "other writers kept changing the records this command writes for 0.3 s; "
            "nothing was written, try again"
        )
        assert flow.recorder.max_notification_id() == head
    finally:
        release.set()
        holder.join(10)
    assert flow.deposit(_deposit(fund, "R-late")).recorded  # its turn came: recorded
    assert flow.pipeline.locks.in_use() == 0


HOLDER = """
import sys, time
from uuid import UUID
from aidflow.application.locks import store_turns
from aidflow.config import parse_url
turns = store_turns(parse_url(sys.argv[1]))
with turns.holding([UUID(sys.argv[2])], until=time.monotonic() + 60) as taken:
    print("held" if taken else "not taken", flush=True)
    time.sleep(120)
"""


def test_a_turn_held_by_a_hung_writer_slows_and_never_stops_and_dies_with_it(
    store_url: str,
) -> None:
    """Another process takes the fund's turn in the store and hangs (or a hostile login
    holds the advisory lock): a command on the hot fund waits ``turn_wait`` for it, then is
    decided and recorded without it, with a warning, and the fund goes without store turns
    for a while (one wait, not one per command). Killed with -9, the holder's turn is free
    at once."""
    flow = AidFlow.open(store_url)
    try:
        register_staff(flow)
        fund = government_fund(flow)
        flow.pipeline.heat({fund})  # as after a collision: the fund takes turns in the store
        flow.pipeline.turn_wait = 0.3
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, store_url, str(fund)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            turns = flow.pipeline.store_turns
            with turns.holding([fund], until=time.monotonic() + 0.2) as taken:
                assert taken is False  # held elsewhere: this process cannot have it
            with pytest.warns(UserWarning, match="was not given within 0.3 s"):
                assert flow.deposit(_deposit(fund, "R-held")).recorded  # went on without it
            assert holder.poll() is None  # the holder still held it all along
            assert flow.pipeline.hot_among({fund}) == set()  # no more waits for a minute
            assert flow.pipeline.hot_among({fund}, every=True) == set()  # retries neither
            assert flow.deposit(_deposit(fund, "R-held-2")).recorded
        finally:
            holder.send_signal(signal.SIGKILL)
            holder.wait(10)
        with turns.holding([fund], until=time.monotonic() + 5) as taken:
            assert taken is True  # the killed holder's turn died with it
        flow.pipeline.stalled.clear()
        assert flow.pipeline.hot_among({fund}) == {fund}
        assert flow.deposit(_deposit(fund, "R-after")).recorded
    finally:
        flow.close()


@pytest.mark.postgres
def test_a_turns_connection_the_server_dropped_never_fails_a_command() -> None:
    """The server ends the turns' idle connection (an idle timeout, a restart): the next
    command on the hot fund goes on without its turn, and the one after gets a new one."""
    import psycopg

    from tests.pg import ADMIN_URL, fresh_database

    with fresh_database() as url:
        flow = AidFlow.open(url)
        try:
            register_staff(flow)
            fund = government_fund(flow)
            flow.pipeline.heat({fund})
            assert flow.deposit(_deposit(fund, "R-1")).recorded  # a turn taken and given back
            with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
                ended = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid() AND state = 'idle'",
                    (parse_url(url).database,),
                ).fetchall()
            assert ended  # the turns' connection (and the store's idle ones) ended
            with pytest.warns(UserWarning, match="not given"):
                assert flow.deposit(_deposit(fund, "R-2")).recorded
            flow.pipeline.stalled.clear()
            assert flow.deposit(_deposit(fund, "R-3")).recorded
            assert flow.fund(fund).balance_fen == 10_000_000 + 300
        finally:
            flow.close()


def test_no_turns_file_to_be_had_is_no_stall(tmp_path: Path) -> None:
    """A SQLite store whose ``.turns`` cannot be made (here: a folder in its place) goes on
    without store turns, quietly: nothing to wait for is not a stall."""
    url = f"sqlite:///{tmp_path}/s.db"
    (tmp_path / "s.db.turns").mkdir()
    flow = AidFlow.open(url)
    try:
        register_staff(flow)
        fund = government_fund(flow)
        flow.pipeline.heat({fund})
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a stall warning would fail here
            assert flow.deposit(_deposit(fund, "R-1")).recorded
        assert flow.pipeline.stalled == {}
    finally:
        flow.close()
