"""Blue/green rebuilds: built aside, switched in at once; readers and crashes never see half a view."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from aidflow import AidFlow, Office
from aidflow.projections import ReadModels, bluegreen
from aidflow.projections.base import create_view_engine
from scripts.benchlib.history import build_history
from tests.builders import register_staff
from tests.integration.test_projections import dump
from tests.pg import fresh_database

ROOT = Path(__file__).resolve().parents[2]


def _history(url: str, events: int) -> AidFlow:
    flow = AidFlow.open(url)
    register_staff(flow)
    build_history(flow, events, batch_cases=20)
    return flow


def test_rebuild_equals_incremental_and_readers_see_the_old_views_until_the_switch(
    store_url: str,
) -> None:
    flow = _history(store_url, 1500)
    views = ReadModels.attach(flow, store_url)  # incremental: caught up page by page
    before = dump(views)
    with views.engine.connect() as conn:
        conn.exec_driver_sql(
            "UPDATE audit_ledger SET actor = 'old'"
            " WHERE position = (SELECT min(position) FROM audit_ledger)"
        )
        conn.commit()
    reader = ReadModels.open(store_url)
    seen: list[tuple[int, int, int]] = []

    def during(_read: int) -> None:  # a reader in another connection, mid-rebuild
        table = dump(reader)
        old = sum(1 for row in table["audit_ledger"] if "old" in row)
        seen.append((len(table["audit_journal"]), len(table["dossier_case"]), old))

    views.rebuild(flow, progress=during)
    assert seen and set(seen) == {(len(before["audit_journal"]), len(before["dossier_case"]), 1)}
    after = dump(views)
    assert after == before  # the edited row is gone: the rebuild came from the events
    assert dump(reader) == before
    assert [s.behind for s in views.status(flow)] == [0, 0, 0]
    if store_url.startswith("sqlite"):
        assert not Path(store_url.removeprefix("sqlite:///") + ".aidflow_rebuild").exists()
    else:
        with views.engine.connect() as conn:
            schemas = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_namespace WHERE nspname LIKE '%%aidflow_rebuild'"
            )
            assert schemas.scalar_one() == 0
            # the switched-in tables come with statistics: the planner needs them at once
            unanalysed = conn.exec_driver_sql(
                "SELECT relname FROM pg_stat_user_tables WHERE relname LIKE 'audit_%%'"
                " AND last_analyze IS NULL AND last_autoanalyze IS NULL"
            )
            assert unanalysed.scalars().all() == []
    # the indexes the views declare are there after the switch, and used again by a rebuild
    with views.engine.connect() as conn:
        names = {i["name"] for i in sa.inspect(conn).get_indexes("dossier_entry")}
    assert any("case_id" in str(n) for n in names)
    views.rebuild(flow, ["dossier"])
    assert dump(views) == before
    reader.close()
    views.close()
    flow.close()


CHILD = """
import sys, time
from aidflow import AidFlow, Office
from aidflow.projections import ReadModels, bluegreen
url, flag = sys.argv[1], sys.argv[2]
flow = AidFlow.open(url)
views = ReadModels.open(url)
views.runner.page_size = 100
def tick(n):
    open(flag, "w").close()
    time.sleep(0.2)
views.rebuild(flow, progress=tick)
print("finished")
"""


def test_a_rebuild_killed_midway_leaves_the_old_views_intact(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'aidflow.db'}"
    flow = _history(url, 1500)
    views = ReadModels.attach(flow, url)
    before = dump(views)
    views.close()
    flag = tmp_path / "started"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url, str(flag)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not flag.exists() and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
    assert flag.exists(), "the rebuild never started"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.stdout is not None and b"finished" not in child.stdout.read()
    assert (tmp_path / "aidflow.db.aidflow_rebuild").exists()  # killed while building aside
    reader = ReadModels(create_view_engine(url))
    assert dump(reader) == before
    assert [s.behind for s in reader.status(flow)] == [0, 0, 0]
    assert reader.ledger().students_assisted > 0
    reader.rebuild(flow)  # a later rebuild discards the leftover scratch and succeeds
    assert dump(reader) == before
    assert not (tmp_path / "aidflow.db.aidflow_rebuild").exists()
    reader.close()
    flow.close()


@pytest.mark.postgres
def test_a_postgres_rebuild_keeps_what_was_granted_on_the_views() -> None:
    role = f"aidflow_test_reader_{os.getpid()}"
    with fresh_database() as url:
        flow = _history(url, 300)
        views = ReadModels.attach(flow, url)
        with views.engine.connect() as conn:
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
            conn.exec_driver_sql(f"CREATE ROLE {role} NOLOGIN")
            conn.exec_driver_sql(f"GRANT SELECT ON audit_ledger, dossier_case TO {role}")
            conn.exec_driver_sql(f"GRANT INSERT ON queue_case TO {role}")
            conn.commit()
        try:
            views.rebuild(flow)
            with views.engine.connect() as conn:
                held = {
                    (table, privilege): conn.exec_driver_sql(
                        "SELECT has_table_privilege(%s, %s, %s)", (role, table, privilege)
                    ).scalar_one()
                    for table, privilege in (
                        ("audit_ledger", "SELECT"),
                        ("dossier_case", "SELECT"),
                        ("queue_case", "INSERT"),
                        ("audit_journal", "SELECT"),
                    )
                }
            assert held == {
                ("audit_ledger", "SELECT"): True,
                ("dossier_case", "SELECT"): True,
                ("queue_case", "INSERT"): True,
                ("audit_journal", "SELECT"): False,  # never granted: not invented either
            }
        finally:
            views.close()
            flow.close()
            engine = create_view_engine(url)
            with engine.connect() as conn:
                conn.exec_driver_sql(f"DROP OWNED BY {role}")
                conn.exec_driver_sql(f"DROP ROLE {role}")
                conn.commit()
            engine.dispose()


def test_views_rebuilt_in_processes_of_their_own_equal_the_serial_rebuild(
    store_url: str,
) -> None:
    flow = _history(store_url, 1500)
    views = ReadModels.attach(flow, store_url)
    views.rebuild(flow)  # serial, in this process
    before = dump(views)
    positions = [(s.name, s.position, s.behind, s.error) for s in views.status(flow)]
    with views.engine.connect() as conn:
        conn.exec_driver_sql("DELETE FROM queue_money")  # gone, unless rebuilt from the events
        conn.commit()
    views.close()
    flow.close()
    office = Office.open(store_url, inline=False)
    read = office.rebuild(jobs=3)  # each view in a process of its own
    assert read == office.head()
    assert dump(office.views) == before
    assert [(s.name, s.position, s.behind, s.error) for s in office.views_status()] == positions
    assert {p for _, p, _, _ in positions} == {office.head()}
    office.close()
    if store_url.startswith("sqlite"):
        assert not list(Path(store_url.removeprefix("sqlite:///")).parent.glob("*aidflow_rebuild*"))
    else:
        with ReadModels.open(store_url).engine.connect() as conn:
            schemas = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_namespace WHERE nspname LIKE '%%aidflow_rebuild%%'"
            )
            assert schemas.scalar_one() == 0


def test_two_rebuilds_of_the_same_view_at_once_take_turns(store_url: str) -> None:
    """Two admins (two processes, here two threads with stores of their own) rebuilding the
    same view at once: the second waits for the first. It used to discard the first one's
    scratch under it (SQLite: the file unlinked and made again; PostgreSQL: the schema
    dropped), and the first one crashed."""
    flow = _history(store_url, 1500)
    views = ReadModels.attach(flow, store_url)
    before = dump(views)
    views.close()
    flow.close()
    start = threading.Barrier(2)
    read: list[int] = []
    failed: list[BaseException] = []

    def rebuild() -> None:
        mine = AidFlow.open(store_url)
        theirs = ReadModels(create_view_engine(store_url), ["queue", "audit"])
        try:
            start.wait()
            read.append(theirs.rebuild(mine, ["queue", "audit"]))
        except BaseException as exc:
            failed.append(exc)
        finally:
            theirs.close()
            mine.close()

    admins = [threading.Thread(target=rebuild) for _ in range(2)]
    for admin in admins:
        admin.start()
    for admin in admins:
        admin.join()
    assert failed == []
    assert len(read) == 2 and read[0] == read[1] > 0
    reader = ReadModels.open(store_url)
    assert dump(reader) == before
    reader.close()
    if store_url.startswith("sqlite"):
        assert not list(Path(store_url.removeprefix("sqlite:///")).parent.glob("*aidflow_rebuild*"))


def test_a_rebuild_waits_while_another_holds_its_scratch(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'aidflow.db'}"
    flow = _history(url, 300)
    views = ReadModels.attach(flow, url)
    before = dump(views)
    scratch = f"{tmp_path / 'aidflow.db'}.aidflow_rebuild"
    with bluegreen._held(scratch):  # another process's rebuild of every view, under way
        waiting = threading.Thread(target=views.rebuild, args=(flow,))
        waiting.start()
        waiting.join(timeout=1.0)
        assert waiting.is_alive()  # it did not discard the other one's scratch
    waiting.join()
    assert dump(views) == before
    assert not Path(scratch).exists()
    views.close()
    flow.close()


def test_a_postgres_rebuild_writes_its_pages_held_and_never_needs_the_careful_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A rebuild writes on a scratch engine of its own. Its views read back what they wrote
    earlier in the same page (a fund's donors, a case's header): the writes held for one
    round trip must be sent first there too. They were not at first, and each such page
    failed and was written again one view at a time: the same rows, much slower; a read
    that found an older row would have been wrong rows."""
    from aidflow.projections import runner

    careful: list[str] = []
    real = runner.write_contained
    pipelines: list[int] = []
    pipeline = psycopg.Connection.pipeline

    def piped(self: psycopg.Connection[object]) -> object:
        pipelines.append(1)
        return pipeline(self)

    def counted(conn: sa.Connection, view: object, *args: object) -> object:
        careful.append(getattr(view, "name", "?"))
        return real(conn, view, *args)  # type: ignore[arg-type]

    with fresh_database() as url:
        flow = _history(url, 1500)
        views = ReadModels.attach(flow, url)
        before = dump(views)
        monkeypatch.setattr(runner, "write_contained", counted)
        monkeypatch.setattr(psycopg.Connection, "pipeline", piped)
        views.rebuild(flow)
        assert careful == []
        assert pipelines  # its pages' rows were held and sent together
        assert dump(views) == before
        views.close()
        flow.close()
