"""The statements a command sends to PostgreSQL (issue 25 §2): each is a round trip, and on a
shared server each costs both sides CPU. Counted, not timed: the number is the design, and a
change that adds one per command fails here, whatever the machine.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import psycopg
import pytest
import sqlalchemy as sa

from aidflow import AidFlow
from aidflow import commands as cmd
from aidflow.config import parse_url
from aidflow.domain.errors import StoreBusy
from aidflow.gate import APPEND, EVENTS_TABLE
from aidflow.projections import ReadModels, base
from aidflow.projections.base import (
    bulk,
    create_view_engine,
    execute_once,
    held_writes,
    insert_row,
    reading,
    sends_held_first,
    writing,
)
from aidflow.projections.containment import ViewFailed, page_writes
from tests.builders import (
    application,
    approval,
    government_fund,
    register_staff,
    verification,
    verified,
)
from tests.pg import ADMIN_URL, fresh_database

pytestmark = pytest.mark.postgres

STATEMENTS = {"apply": 6, "verify": 2, "approve": 2, "disburse": 2}
"""At most, on a store with no policy set: one read of what the command names and every
command reads (the registry's and the policy register's versions, the request key, the
case, the fund from where this process left it, a payment's voucher key, this year's and
last year's programme years: read ahead together, where each was a statement of its own),
a new student's key (is there one; write it with its owners; was ours the one
stored), and the append (the store's function, its lock wait set in the same statement).
Before the reads ahead: 6, 3, 7 and 5."""


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every statement any psycopg connection of this process sends, from now on."""
    log: list[str] = []
    execute, executemany = psycopg.Cursor.execute, psycopg.Cursor.executemany

    def counted(real: Callable[..., Any]) -> Callable[..., Any]:
        def run(self: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
            log.append(query if isinstance(query, str) else repr(query))
            return real(self, query, *args, **kwargs)

        return run

    monkeypatch.setattr(psycopg.Cursor, "execute", counted(execute))
    monkeypatch.setattr(psycopg.Cursor, "executemany", counted(executemany))
    yield log


def four_steps(flow: AidFlow, fund: UUID, count: Callable[[str, Callable[[], Any]], Any]) -> UUID:
    """A new student's case applied, verified, approved and paid, each step under ``count``."""
    case: UUID = count("apply", lambda: flow.apply(application(2)))
    count("verify", lambda: flow.verify(verification(case)))
    count("approve", lambda: flow.approve(approval(case, fund)))
    payment = cmd.Disburse(case_id=case, amount_fen=500_000, voucher="V-2", actor="cashier")
    count("disburse", lambda: flow.disburse(payment))
    return case


def test_each_command_sends_no_more_statements_than_its_design(
    reused_database: Any, sent: list[str]
) -> None:
    flow = AidFlow.open(reused_database.empty_store())
    try:
        register_staff(flow)
        fund = government_fund(flow)
        verified(flow, 1)  # the registry, the fund and a first student read once
        counts: dict[str, int] = {}

        def count(step: str, call: Callable[[], Any]) -> Any:
            sent.clear()
            answer = call()
            counts[step] = len(sent)
            return answer

        four_steps(flow, fund, count)
    finally:
        flow.close()
    assert counts == {step: min(counts[step], most) for step, most in STATEMENTS.items()}, counts


@pytest.mark.parametrize("idle", [True, False], ids=["idle", "in-use-a-moment-ago"])
def test_a_pooled_view_connection_is_pinged_only_after_it_was_idle(
    reused_database: Any, monkeypatch: pytest.MonkeyPatch, idle: bool
) -> None:
    """A connection the server dropped (a restart, a DBA's kill) is replaced before a query when
    it sat idle past ``PING_AFTER_IDLE_S``; one given back a moment ago is not pinged (no round
    trip), so a server gone within that moment fails the statement, and the pool starts over."""
    url = reused_database.empty_store()
    engine = create_view_engine(url)
    try:
        with reading(engine) as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with parse_url(url).connect() as other:  # the server drops the pooled connection
            other.execute("SELECT pg_terminate_backend(%s)", (pid,))
        monkeypatch.setattr(base, "PING_AFTER_IDLE_S", 0.0 if idle else 3600.0)
        if idle:
            with reading(engine) as conn:
                assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() != pid
        else:
            with pytest.raises(sa.exc.OperationalError), reading(engine) as conn:
                conn.exec_driver_sql("SELECT 1").scalar_one()
            with reading(engine) as conn:  # the pool started over
                assert conn.exec_driver_sql("SELECT 1").scalar_one() == 1
    finally:
        engine.dispose()


def test_a_query_with_nothing_new_to_catch_up_reads_one_page_and_its_rows(
    reused_database: Any, sent: list[str]
) -> None:
    """The catch-up before a question starts at the record the views stand on: found, the
    store's head is not asked for; then the view's failures and the dossier's four reads."""
    from aidflow import Office

    url = reused_database.empty_store()
    flow = AidFlow.open(url)
    register_staff(flow)
    case = verified(flow, 1)
    flow.close()
    with Office.open(url) as office:
        office.dossier(case)  # the views caught up, the pool holds its connection
        sent.clear()
        office.dossier(case)
    assert not any("max(" in statement.lower() for statement in sent), sent
    assert len(sent) <= 6, sent


def test_an_append_that_waited_out_its_lock_is_refused_after_one_wait(
    reused_database: Any, sent: list[str]
) -> None:
    """Another session holds the events table: the append waits ``busy_timeout`` once and the
    command is refused ``store_busy``. The event library retries an append that failed on
    the connection ten times; a lock wait that ran out is not such a failure (ten waits, then
    a raw driver error, before), and is sent once."""
    url = reused_database.empty_store() + "?busy_timeout=1"
    flow = AidFlow.open(url)
    try:
        register_staff(flow)
        with parse_url(url).connect() as holder, holder.transaction(force_rollback=True):
            holder.execute(f"LOCK TABLE {EVENTS_TABLE} IN EXCLUSIVE MODE")
            sent.clear()
            with pytest.raises(StoreBusy):
                flow.apply(application(1))
        assert sum(APPEND in statement for statement in sent) == 1, sent
        assert flow.apply(application(1))  # the lock gone, the same command records
    finally:
        flow.close()


VIEW_TABLES = ("dossier_", "queue_", "audit_", "aidflow_tracking")


def test_a_commands_views_send_their_writes_together(
    reused_database: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the views kept inside every command, a command's views cost one round trip: the
    transaction's BEGIN, the statement that checks, locks and moves the positions (and fails
    on the server if they had moved), every view's rows and the COMMIT, in one pipeline
    (psycopg's pipeline mode). A view that reads
    mid-page (the audit view the Merkle tree's leaves at the end of a level, the dossier a
    fund's donors on a deposit) takes what is held along with its read: one more. Counted
    on the views' connection: every pipeline, every statement sent on its own, and every
    BEGIN, COMMIT or ROLLBACK the driver sends itself. Before: one a statement (6.9 a
    command in `bench.py writers`' lifecycles), then four (BEGIN, the positions, the rows,
    COMMIT), then two (the positions' answer waited for before the rows)."""
    trips: Counter[int] = Counter()  # round trips, by connection
    views_conns: set[int] = set()  # the connections that wrote views
    reads: list[str] = []  # a view reading mid-page
    positions: list[str] = []
    execute, executemany, pipeline = (
        psycopg.Cursor.execute,
        psycopg.Cursor.executemany,
        psycopg.Connection.pipeline,
    )
    exec_command = psycopg.Connection._exec_command

    def counted(real: Callable[..., Any]) -> Callable[..., Any]:
        def run(self: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
            text = query if isinstance(query, str) else repr(query)
            conn = self.connection
            if any(table in text for table in VIEW_TABLES):
                views_conns.add(id(conn))
                if "aidflow_tracking" in text:
                    positions.append(text)
                elif text.startswith("SELECT"):
                    reads.append(text)
            trips[id(conn)] += conn._pipeline is None
            return real(self, query, *args, **kwargs)

        return run

    def pipelined(self: psycopg.Connection[Any]) -> Any:
        trips[id(self)] += self._pipeline is None
        return pipeline(self)

    def commanded(self: psycopg.Connection[Any], command: Any, *args: Any, **kwargs: Any) -> Any:
        trips[id(self)] += 1  # psycopg's own BEGIN, COMMIT, ROLLBACK: one round trip each
        return exec_command(self, command, *args, **kwargs)

    url = reused_database.empty_store()
    flow = AidFlow.open(url)
    views = ReadModels.attach(flow, url)
    try:
        register_staff(flow)
        fund = government_fund(flow)
        verified(flow, 1)
        monkeypatch.setattr(psycopg.Cursor, "execute", counted(execute))
        monkeypatch.setattr(psycopg.Cursor, "executemany", counted(executemany))
        monkeypatch.setattr(psycopg.Connection, "pipeline", pipelined)
        monkeypatch.setattr(psycopg.Connection, "_exec_command", commanded)
        counts: dict[str, tuple[int, int]] = {}

        def count(step: str, call: Callable[[], Any]) -> Any:
            trips.clear()
            views_conns.clear()
            reads.clear()
            positions.clear()
            answer = call()
            counts[step] = (sum(trips[c] for c in views_conns), len(reads))
            assert len(positions) == 1, positions
            assert "FOR UPDATE NOWAIT" in positions[0], positions
            return answer

        case = four_steps(flow, fund, count)
        assert views.dossier(str(case)).disbursed_fen == 500_000
    finally:
        views.close()
        flow.close()
    assert {step: trips for step, (trips, _) in counts.items()} == {
        step: 1 + read for step, (_, read) in counts.items()
    }, counts
    assert any(read == 0 for _, read in counts.values()), counts  # one, where none reads


def test_only_the_views_commit_without_waiting_for_the_disk() -> None:
    """The views' transactions commit asynchronously (they are derived, and each view's rows
    commit with its position); the events, the keys and aidflow's own connections keep the
    database's durable commit. On a database of the server's defaults (the suite's own
    commit asynchronously, :func:`tests.pg.create_database`): a views engine made durable,
    or a store made asynchronous, fails here."""
    with fresh_database() as url:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{parse_url(url).database}" RESET synchronous_commit')
        flow = AidFlow.open(url)
        engine = create_view_engine(url)
        try:
            with reading(engine) as conn:
                views = conn.exec_driver_sql("SHOW synchronous_commit").scalar()
            with flow.recorder.datastore.get_connection() as conn:  # type: ignore[attr-defined]
                events = conn.execute("SHOW synchronous_commit").fetchone()
            with parse_url(url).connect() as conn:  # the key vault's, the probes', the roles'
                own = conn.execute("SHOW synchronous_commit").fetchone()
        finally:
            engine.dispose()
            flow.close()
    assert views == "off"
    assert events == {"synchronous_commit": "on"}
    assert own == ("on",)


def test_a_views_transaction_sent_held_commits_all_or_nothing(reused_database: Any) -> None:
    """A transaction begun ``held`` sends BEGIN with its first statement and COMMIT with its
    last writes; what it still holds at the end is sent, never left behind; and a failure
    among the held writes leaves none of them (the driver is in autocommit meanwhile, so a
    BEGIN that did not go first would commit each write alone)."""
    url = reused_database.empty_store()
    engine = create_view_engine(url)
    table = sa.Table("held_probe", sa.MetaData(), sa.Column("n", sa.Integer, primary_key=True))
    count = sa.select(sa.func.count()).select_from(table)
    try:
        table.create(engine)
        with writing(engine, held=True) as conn:
            bulk(conn, "probe.insert", insert_row(table), [{"n": 1}])
            assert execute_once(conn, "probe.count", count, {}).rows == [(1,)]
            bulk(conn, "probe.insert", insert_row(table), [{"n": 2}])  # sent on leaving
        with pytest.raises(sa.exc.IntegrityError), writing(engine, held=True) as conn:
            bulk(conn, "probe.insert", insert_row(table), [{"n": 3}])
            execute_once(conn, "probe.count", count, {})  # 3 sent (a pipeline, then its sync)
            bulk(conn, "probe.insert", insert_row(table), [{"n": 1}])  # taken: all of it fails
        with pytest.raises(sa.exc.IntegrityError), writing(engine, held=True) as conn:
            conn.execute(
                table.insert().values(n=4)
            )  # a SQLAlchemy statement first: BEGIN goes before it
            bulk(conn, "probe.insert", insert_row(table), [{"n": 1}])  # taken: 4 goes too
        with reading(engine) as conn:
            assert sorted(conn.execute(sa.select(table.c.n)).scalars()) == [1, 2]
            assert conn.connection.dbapi_connection.autocommit is False  # type: ignore[union-attr]
    finally:
        table.drop(engine)
        engine.dispose()


def test_held_writes_go_before_any_statement_that_reads_and_fail_where_sent(
    reused_database: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a view wrote a moment ago is what it reads, by SQLAlchemy or on the driver, on
    any engine made to hold them (a rebuild writes on a scratch engine of its own: it had
    no listener at first, and every page failed and was written again); a held write's
    error is raised when they are sent, and the transaction writes nothing. An engine not
    made to hold them sends each write at once."""
    url = parse_url(reused_database.empty_store()).sqlalchemy_url()
    probe = sa.Table("held_probe", sa.MetaData(), sa.Column("n", sa.Integer, primary_key=True))
    count = sa.select(sa.func.count()).select_from(probe)
    pipelines: list[int] = []
    pipeline = psycopg.Connection.pipeline

    def counted(self: psycopg.Connection[Any]) -> Any:
        pipelines.append(1)
        return pipeline(self)

    monkeypatch.setattr(psycopg.Connection, "pipeline", counted)
    plain, holding = sa.create_engine(url), sa.create_engine(url)
    sends_held_first(holding)
    try:
        probe.create(holding)
        for engine, held in ((plain, False), (holding, True)):
            pipelines.clear()
            with writing(engine) as conn, held_writes(conn):
                conn.execute(probe.delete())
                bulk(conn, "probe.insert", insert_row(probe), [{"n": 1}, {"n": 2}])
                assert conn.execute(count).scalar_one() == 2
                bulk(conn, "probe.insert", insert_row(probe), [{"n": 3}])
                assert execute_once(conn, "probe.count", count, {}).rows == [(3,)]
            assert len(pipelines) == (2 if held else 0)
        with (
            pytest.raises(sa.exc.IntegrityError),
            writing(holding) as conn,
            held_writes(conn),
        ):
            bulk(conn, "probe.insert", insert_row(probe), [{"n": 4}])
            bulk(conn, "probe.insert", insert_row(probe), [{"n": 1}])  # taken
            bulk(conn, "probe.insert", insert_row(probe), [{"n": 5}])
        with reading(holding) as conn:
            assert conn.execute(count).scalar_one() == 3
    finally:
        plain.dispose()
        holding.dispose()


def test_a_held_write_that_fails_sends_the_page_down_the_careful_path_wherever_it_is_sent(
    reused_database: Any,
) -> None:
    """A held write's error comes with the next statement that reads: inside a view (which
    raises ``ViewFailed``) or outside any (the runner clearing a view's old failure), where it
    was raised as the database error itself and the catch-up failed instead of writing the
    page again with a savepoint a view."""
    engine = create_view_engine(reused_database.empty_store())
    probe = sa.Table("held_page", sa.MetaData(), sa.Column("n", sa.Integer, primary_key=True))
    try:
        probe.create(engine)
        for sent_by in ("a read", "the end of the page"):
            with (
                pytest.raises(ViewFailed),
                writing(engine) as conn,
                page_writes(conn, careful=False),
            ):
                bulk(conn, "page.insert", insert_row(probe), [{"n": 1}, {"n": 1}])
                if sent_by == "a read":
                    conn.execute(sa.select(probe.c.n)).all()
        with (  # careful: each write sent at once, its error raised there
            pytest.raises(sa.exc.IntegrityError),
            writing(engine) as conn,
            page_writes(conn, careful=True),
        ):
            bulk(conn, "page.insert", insert_row(probe), [{"n": 1}, {"n": 1}])
    finally:
        engine.dispose()


def test_a_page_from_positions_another_process_moved_is_refused_by_the_server(
    reused_database: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check of the positions travels with the page's rows, unanswered until the COMMIT:
    when another process applied the same records first, the server refuses the page (none
    of it is stored), this process reads the positions again and finds nothing left to do.
    No view records a failure, no row is written twice, and the careful path (a savepoint a
    view) is never taken."""
    from aidflow.projections import containment
    from aidflow.projections.runner import Runner

    url = reused_database.empty_store()
    flow = AidFlow.open(url)
    views = ReadModels.attach(flow, url)
    writer, follower = AidFlow.open(url), ReadModels.open(url)  # two other processes
    try:
        register_staff(flow)
        government_fund(flow)
        head = flow.recorder.max_notification_id()
        assert {s.position for s in views.status(flow)} == {head}  # and remembered
        writer.apply(application(2))
        assert follower.catch_up(writer) > 0  # the follower applies them first
        stored = list(flow.recorder.select_notifications(start=head + 1, limit=100))
        journal = follower.journal()
        refused: list[BaseException] = []
        ways: list[bool] = []
        moved, apply_in = containment.moved_meanwhile, Runner._apply_page_in

        def seen(error: BaseException) -> bool:
            if moved(error):
                refused.append(error)
            return moved(error)

        def way(self: Runner, *args: Any, careful: bool, **kwargs: Any) -> Any:
            ways.append(careful)
            return apply_in(self, *args, careful=careful, **kwargs)

        monkeypatch.setattr(containment, "moved_meanwhile", seen)
        monkeypatch.setattr(Runner, "_apply_page_in", way)
        # as if this process had just stored them: they follow the positions it remembers
        assert views.runner.catch_up(flow, recorded=stored) == 0
        assert len(refused) == 1, refused
        assert ways == [False, False]  # refused, then the positions locked: nothing missing
        assert all(s.error is None and s.behind == 0 for s in views.status(flow))
        assert views.journal() == journal
    finally:
        follower.close()
        writer.close()
        views.close()
        flow.close()


def test_only_the_checks_own_refusal_reads_as_positions_moved(reused_database: Any) -> None:
    """The server's words decide, not the statements SQLAlchemy's message lists: a held write
    refused for another text that is not an integer, sent with the check's statement, is a
    view's failure (``ViewFailed``); the check's refusal is ``PositionsMoved``."""
    from aidflow.projections.tracking import MOVED_MEANWHILE, PositionsMoved

    engine = create_view_engine(reused_database.empty_store())
    marker = sa.literal_column(f"'{MOVED_MEANWHILE}'")
    other = sa.select(sa.cast(sa.bindparam("text"), sa.Integer))
    try:
        for refused, expected in (("not a number", ViewFailed), (MOVED_MEANWHILE, PositionsMoved)):
            with (
                pytest.raises(expected),
                writing(engine, held=True) as conn,
                page_writes(conn, careful=False, commit=True),
            ):
                bulk(conn, "probe.marker", sa.select(marker), [{}])
                bulk(conn, "probe.cast", other, [{"text": refused}])
    finally:
        engine.dispose()
