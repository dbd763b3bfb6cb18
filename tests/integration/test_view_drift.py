"""Drift detection (issue 14 §2): a view edited behind the store's back, or an event edited
under the views, is caught by ``projections verify`` and by ``audit check``, naming the table
and the first differing key; an honest store passes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from aidflow import AidFlow
from aidflow.cli import main
from aidflow.projections import ReadModels
from tests.builders import government_fund, paid, register_staff


def _store(tmp_path: Path) -> tuple[str, Path]:
    db = tmp_path / "s.db"
    url = f"sqlite:///{db}"
    flow = AidFlow.open(url)
    register_staff(flow)
    views = ReadModels.attach(flow, url)
    gov = government_fund(flow)
    paid(flow, gov, 1)
    paid(flow, gov, 2, yuan=3000)
    views.close()
    flow.close()
    return url, db


def _verify(url: str) -> list[dict[str, object]]:
    flow = AidFlow.open(url)
    register_staff(flow)
    views = ReadModels.open(url)
    try:
        return [r.model_dump(mode="json") for r in views.verify_views(flow)]
    finally:
        views.close()
        flow.close()


def test_an_honest_store_agrees_with_its_replay(tmp_path: Path) -> None:
    url, _ = _store(tmp_path)
    results = _verify(url)
    assert [r["view"] for r in results] == ["dossier", "queue", "audit"]
    assert all(r["ok"] and r["checksum"] == r["replay_checksum"] for r in results), results
    out = CliRunner().invoke(main, ["--db", url, "projections", "verify"])
    assert out.exit_code == 0, out.output
    check = CliRunner().invoke(main, ["--db", url, "--json", "audit", "check"])
    assert json.loads(check.output)["audit_view"]["ok"] is True


def test_an_edited_view_row_is_caught_by_table_and_key(tmp_path: Path) -> None:
    url, db = _store(tmp_path)
    with sqlite3.connect(db) as conn:
        position = conn.execute(
            "SELECT position FROM audit_ledger WHERE entry = 'disbursement' ORDER BY position"
        ).fetchone()[0]
        conn.execute(
            "UPDATE audit_ledger SET amount_fen = amount_fen + 100 WHERE position = ?", (position,)
        )
    audit = {r["view"]: r for r in _verify(url)}["audit"]
    assert not audit["ok"]
    assert audit["table"] == "audit_ledger" and audit["key"] == [position]
    assert audit["checksum"] != audit["replay_checksum"]

    out = CliRunner().invoke(main, ["--db", url, "projections", "verify", "audit"])
    assert out.exit_code == 1
    assert f"audit_ledger key {position}" in out.output
    check = CliRunner().invoke(main, ["--db", url, "audit", "check"])
    assert check.exit_code == 1
    assert "drifted" in check.output and "audit_ledger" in check.output


def test_a_dossier_row_edited_or_deleted_is_caught(tmp_path: Path) -> None:
    url, db = _store(tmp_path)
    with sqlite3.connect(db) as conn:
        case_id = conn.execute("SELECT case_id FROM dossier_case ORDER BY case_id").fetchone()[0]
        conn.execute("UPDATE dossier_case SET name = 'Someone Else' WHERE case_id = ?", (case_id,))
        last = conn.execute("SELECT max(position) FROM dossier_entry").fetchone()[0]
        conn.execute("DELETE FROM dossier_entry WHERE position = ?", (last,))
    dossier = {r["view"]: r for r in _verify(url)}["dossier"]
    assert not dossier["ok"] and dossier["table"] == "dossier_case"
    assert dossier["key"] == [case_id]
    assert dossier["live"]["name"] == "Someone Else"


def test_an_edited_event_is_caught_before_any_rebuild(tmp_path: Path) -> None:
    url, db = _store(tmp_path)
    with sqlite3.connect(db) as conn:
        position, state = conn.execute(
            "SELECT rowid, state FROM stored_events WHERE topic LIKE '%Disbursed' ORDER BY rowid"
        ).fetchone()
        edited = state.replace(b"500000", b"900000")
        assert edited != state
        conn.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (edited, position))
    results = {r["view"]: r for r in _verify(url)}
    assert not results["audit"]["ok"]
    assert results["audit"]["table"] == "audit_journal"
    assert results["audit"]["key"] == [position]
    out = CliRunner().invoke(main, ["--db", url, "projections", "verify"])
    assert out.exit_code == 1 and "audit_journal" in out.output
