"""The rebuild's baseline (scripts/benchlib/rawpipe.py) writes exactly the audit view's tables."""

from __future__ import annotations

import sqlite3
from importlib import import_module
from pathlib import Path

import pytest

from aidflow import AidFlow
from aidflow.projections import ReadModels
from aidflow.projections.audit.tables import metadata
from aidflow.projections.base import create_view_engine
from scripts.benchlib import rawpipe
from scripts.benchlib.history import build_history
from tests.builders import register_staff

ledger_module = import_module("aidflow.projections.audit.ledger")


def _tables(path: Path) -> dict[str, list[tuple[object, ...]]]:
    db = sqlite3.connect(path)
    try:
        return {
            t.name: db.execute(
                f"SELECT * FROM {t.name} ORDER BY {', '.join(c.name for c in t.primary_key)}"
            ).fetchall()
            for t in metadata.sorted_tables
        }
    finally:
        db.close()


def test_the_raw_pipeline_writes_the_audit_views_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ledger_module, "CHECKPOINT_ROWS", 50)
    store = tmp_path / "aidflow.db"
    flow = AidFlow.open(f"sqlite:///{store}")
    register_staff(flow)
    build_history(flow, 2500, batch_cases=25)
    views = ReadModels(create_view_engine(f"sqlite:///{store}"), ["audit"])
    views.rebuild(flow)
    views.close()
    flow.close()
    read = rawpipe.run(str(store), str(tmp_path / "raw.db"))
    ours, raw = _tables(store), _tables(tmp_path / "raw.db")
    assert read == len(ours["audit_journal"]) > 2500
    assert len(ours["audit_ledger_total"]) > 0 and len(ours["audit_tree"]) > 0
    for name, rows in ours.items():
        assert raw[name] == rows, name
