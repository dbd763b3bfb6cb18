"""One PostgreSQL schema per district: events, views and tracking all in it; and read-only views.

``postgresql://…/city?schema=district_a`` puts everything of district A in
schema ``district_a``: two districts on one server share no table. A SQLite
store opened with ``?mode=ro`` is queried as it stands and never written.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg
import pytest

from aidflow import AidFlow
from aidflow.domain.errors import StoreError
from aidflow.projections import ReadModels
from tests.builders import government_fund, paid, register_staff
from tests.pg import fresh_database, require_postgres


def _tables(url: str) -> dict[str, set[str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
    found: dict[str, set[str]] = {}
    for schema, table in rows:
        found.setdefault(schema, set()).add(table)
    return found


@pytest.mark.postgres
def test_two_districts_on_one_server_are_fully_separate() -> None:
    require_postgres()
    with fresh_database() as url:
        stores = {}
        for district, students in (("district_a", 2), ("district_b", 1)):
            district_url = f"{url}?schema={district}"
            flow = AidFlow.open(district_url)
            register_staff(flow)
            views = ReadModels.attach(flow, district_url)
            gov = government_fund(flow)
            for n in range(students):
                paid(flow, gov, n + 1)
            stores[district] = (flow, views)

        tables = _tables(url)
        assert "public" not in tables, tables["public"]  # nothing of either district in public
        assert tables["district_a"] == tables["district_b"]
        assert {"aidflow_tracking", "aidflow_view", "audit_journal", "dossier_case"} <= tables[
            "district_a"
        ]
        (flow_a, views_a), (flow_b, views_b) = stores["district_a"], stores["district_b"]
        assert len(views_a.cases()) == 2 and len(views_b.cases()) == 1
        head_a = flow_a.recorder.max_notification_id()
        head_b = flow_b.recorder.max_notification_id()
        assert head_a != head_b
        assert {s.position for s in views_a.status(flow_a)} == {head_a}
        assert {s.position for s in views_b.status(flow_b)} == {head_b}
        with psycopg.connect(url) as conn:
            for district, head in (("district_a", head_a), ("district_b", head_b)):
                positions = conn.execute(
                    f"SELECT DISTINCT notification_id FROM {district}.aidflow_tracking"
                ).fetchall()
                assert positions == [(head,)]
        # Rebuilding one district touches nothing of the other.
        before_b = views_b.ledger()
        views_a.rebuild(flow_a)
        assert views_b.ledger() == before_b
        assert len(views_a.cases()) == 2
        for flow, views in stores.values():
            views.close()
            flow.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_read_only_sqlite_store_is_queried_but_never_written(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    url = f"sqlite:///{db}"
    flow = AidFlow.open(url)
    register_staff(flow)
    views = ReadModels.attach(flow, url)
    paid(flow, government_fund(flow), 1)
    ledger = views.ledger()
    views.close()
    flow.close()
    # Checkpoint the WAL into the file so that its bytes are the whole store.
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = _digest(db)

    reader_flow = AidFlow.open(url + "?mode=ro")
    reader = ReadModels.attach(reader_flow, url + "?mode=ro")
    assert reader.runner.read_only
    assert reader.ledger() == ledger
    assert reader.catch_up(reader_flow) == 0
    assert len(reader.cases()) == 1
    assert reader.as_of(position=3).ledger().position == 3
    with pytest.raises(StoreError, match="read-only"):
        reader.rebuild(reader_flow)
    reader.close()
    reader_flow.close()
    assert _digest(db) == before
