"""Store URLs mean one thing (issue 8 §5, §6): parsed once, every option honoured or refused,
and every failure to open is one line naming why."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from aidflow import AidFlow
from aidflow import commands as cmd
from aidflow.config import check_sqlite_file, parse_url
from aidflow.domain.errors import InvalidInput, ReadOnlyStore, StoreUnavailable
from tests.builders import register_staff
from tests.pg import fresh_database, require_postgres


def test_issue8_5_mode_ro_opens_the_named_file_read_only(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    flow = AidFlow.open(f"sqlite:///{db}")
    register_staff(flow)
    fund = flow.open_fund(cmd.OpenFund(name="Budget", kind="government", actor="finance"))
    flow.close()
    reader = AidFlow.open(f"sqlite:///{db}?mode=ro")
    assert reader.fund(fund).name == "Budget"
    before = reader.recorder.max_notification_id()
    with pytest.raises(ReadOnlyStore):
        reader.open_fund(cmd.OpenFund(name="Other", kind="government", actor="finance"))
    assert reader.recorder.max_notification_id() == before
    reader.close()
    assert not any("?" in name for name in os.listdir(tmp_path)), os.listdir(tmp_path)


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///q.db?mode=xx",
        "sqlite:///q.db?unknown=1",
        "sqlite:///q.db?mode=ro&mode=rw",
        "sqlite://host/q.db",
        "sqlite:///",
        "postgresql://u@127.0.0.1:abc/db",
        "postgresql://u@127.0.0.1:99999999999999999999/db",
        "postgresql://u@127.0.0.1/db?schema=Bad-Name",
        "postgresql://u@127.0.0.1/db?search_path=x",
        "postgresql://u@127.0.0.1/",
        "mysql://u@host/db",
        "sqlite:///q\x00.db",
    ],
)
def test_issue8_5_urls_with_no_certain_meaning_are_refused(url: str) -> None:
    with pytest.raises(InvalidInput):
        parse_url(url)


def test_issue8_6_paths_that_are_not_databases_are_one_line(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all")
    for url, says in (
        (f"sqlite:///{tmp_path}", "directory"),
        (f"sqlite:///{junk}", "not a SQLite database"),
        ("sqlite:////proc/self/status", "not a SQLite database"),
        (f"sqlite:///{tmp_path}/missing.db?mode=ro", "does not exist"),
    ):
        with pytest.raises(StoreUnavailable, match=says):
            AidFlow.open(url)
    assert junk.read_bytes() == b"not a database at all"


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("path", "says"),
    [("127.0.0.1:5432/aidflow_no_such_db", "does not exist"), ("127.0.0.1:1/test", "refused")],
)
def test_issue8_6_postgres_failures_answer_fast_in_one_line(path: str, says: str) -> None:
    require_postgres()
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=says) as refused:
        AidFlow.open(f"postgresql://postgres@{path}")
    assert time.monotonic() - started < 10  # the connect timeout, not the pool's 30 s
    assert "\n" not in str(refused.value)


@pytest.mark.postgres
def test_issue8_5_schema_puts_the_events_in_that_schema() -> None:
    require_postgres()
    with fresh_database() as url:
        flow = AidFlow.open(url + "?schema=district_a")
        register_staff(flow)
        flow.open_fund(cmd.OpenFund(name="Budget", kind="government", actor="finance"))
        flow.close()
        other = AidFlow.open(url + "?schema=district_b")
        assert other.recorder.max_notification_id() in (None, 0)
        other.close()
        with psycopg.connect(url) as conn:
            tables = conn.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_name LIKE 'aidflow%%events' ORDER BY 1"
            ).fetchall()
        assert tables == [("district_a", "aidflow_events"), ("district_b", "aidflow_events")]


def test_opening_a_store_this_process_holds_keeps_the_locks_of_its_connections(
    tmp_path: Path,
) -> None:
    """Closing any descriptor of a file drops every POSIX lock the process holds on it. The
    store's header was read with open() at every open, so a second open in a process whose
    connection held a lock let another process take the file (a view rebuilt beside others
    came out malformed). A rollback-journal lock is on the file itself, so it shows here."""
    path = tmp_path / "held.db"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("CREATE TABLE t (x)")
        conn.execute("BEGIN IMMEDIATE")  # a RESERVED lock on the file
        check_sqlite_file(parse_url(f"sqlite:///{path}"))
        other = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sqlite3, sys\n"
                "c = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)\n"
                "c.execute('BEGIN IMMEDIATE')\n"
                "print('took it')",
                str(path),
            ],
            capture_output=True,
            text=True,
        )
        assert "database is locked" in other.stderr and "took it" not in other.stdout
    finally:
        conn.execute("ROLLBACK")
        conn.close()
