"""The rebuild's baselines (scripts/benchlib/minipipe.py) write exactly the views' tables.

Each independent minimal pipeline is held to aidflow's rebuild of its view, table by table
and row by row, on a history of full lifecycles (issue 25 §3): a ratio against a pipeline
that writes other rows would measure nothing.
"""

from __future__ import annotations

import sqlite3
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest

from aidflow import AidFlow
from aidflow.config import parse_url
from aidflow.privacy import Vault
from aidflow.projections import ReadModels
from aidflow.projections.base import create_view_engine
from scripts.benchlib import minipipe
from scripts.benchlib.history import build_history
from tests.builders import register_staff

ledger_module = import_module("aidflow.projections.audit.ledger")

AUDIT_TABLES = {
    "audit_journal": "position",
    "audit_tree": "level, idx",
    "audit_ledger": "position",
    "audit_case": "case_id",
    "audit_fund": "fund_id",
    "audit_ledger_total": "position, part, grouping",
    "audit_account": "position",
}

QUEUE_TABLES = {
    "queue_case": "case_id",
    "queue_hardship": "position",
    "queue_action": "case_id, action_id",
    "queue_money": "position",
    "queue_appeal": "position",
}
DOSSIER_TABLES = {
    "dossier_case": "case_id",
    "dossier_entry": "position",
    "dossier_action": "case_id, action_id",
    "dossier_fund": "fund_id",
    "dossier_donor": "fund_id, source",
}


def _rows(path: Path, tables: dict[str, str]) -> dict[str, list[tuple[object, ...]]]:
    db = sqlite3.connect(path)
    try:
        return {
            t: db.execute(f"SELECT * FROM {t} ORDER BY {key}").fetchall()
            for t, key in tables.items()
        }
    finally:
        db.close()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("minipipe") / "aidflow.db"
    flow = AidFlow.open(f"sqlite:///{path}")
    register_staff(flow)
    build_history(flow, 2500, batch_cases=25)
    flow.close()
    return path


def _rebuilt(store: Path, view: str) -> None:
    flow = AidFlow.open(f"sqlite:///{store}")
    views = ReadModels(create_view_engine(f"sqlite:///{store}"), [view])
    views.rebuild(flow)
    views.close()
    flow.close()


def test_the_audit_pipeline_writes_the_audit_views_tables(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ledger_module, "CHECKPOINT_ROWS", 50)
    _rebuilt(store, "audit")
    vault = Vault(parse_url(f"sqlite:///{store}"))
    out = tmp_path / "mini.db"
    read = minipipe.audit(
        str(store),
        str(out),
        minipipe.account_opener(vault),
        checkpoint_rows=50,
        ahead=minipipe.keys_ahead(vault),
    )
    ours, mini = _rows(store, AUDIT_TABLES), _rows(out, AUDIT_TABLES)
    assert read == len(ours["audit_journal"]) > 2500
    assert len(ours["audit_ledger_total"]) > 0 and len(ours["audit_tree"]) > 0
    for name, rows in ours.items():
        assert mini[name] == rows, name


@pytest.mark.parametrize(
    ("view", "tables", "pipeline"),
    [("queue", QUEUE_TABLES, minipipe.queue), ("dossier", DOSSIER_TABLES, minipipe.dossier)],
)
def test_the_queue_and_dossier_pipelines_write_their_views_tables(
    store: Path, tmp_path: Path, view: str, tables: dict[str, str], pipeline: Any
) -> None:
    _rebuilt(store, view)
    vault = Vault(parse_url(f"sqlite:///{store}"))
    out = tmp_path / "mini.db"
    read = pipeline(str(store), str(out), minipipe.field_opener(vault), minipipe.keys_ahead(vault))
    ours, mini = _rows(store, tables), _rows(out, tables)
    assert read > 2500
    assert all(rows for name, rows in ours.items() if name != "queue_appeal")  # no appeals
    for name, rows in ours.items():
        assert mini[name] == rows, name
