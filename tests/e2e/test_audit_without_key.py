"""An auditor needs nothing of the office's personal-data key (issue 22 §3): the whole toolkit
runs on a copy of the store with no master key anywhere (no AIDFLOW_KEY, no key file): the
checks, the chain and snapshot verification, the drift check of every view, the report, a
case explained, a what-if, the ledger and the digest. Only a reveal needs the key. The drift
check still finds an edited view; what it cannot compare without the key (a masked name, an
account's keyed pseudonym) it says it left out."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from aidflow.cli import main

NO_KEY = {"AIDFLOW_KEY": None, "AIDFLOW_KEY_FILE": None, "AIDFLOW_ACTOR": "auditor"}


def _run(url: str, *args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(main, ["--db", url, *args], env=NO_KEY, catch_exceptions=False)
    assert result.exit_code == code, (args, result.output, result.stderr)
    return result


def _json(url: str, *args: str, code: int = 0) -> Any:
    return json.loads(_run(url, *args, "--json", code=code).stdout)


def test_the_auditors_whole_toolkit_runs_with_no_key_anywhere(
    demo_store: str, tmp_path: Path
) -> None:
    url = demo_store
    assert not list(Path(url.removeprefix("sqlite:///")).parent.glob("*.key"))
    digest = _json(url, "audit", "digest")["digest"]
    verified = _run(url, "audit", "verify", digest).stdout
    assert "matches the digest" in verified and "seals not checked (no master key" in verified
    check = _json(url, "audit", "check")
    assert check["ok"] and check["checked"]
    assert check["audit_view"]["ok"] and "without the master key" in check["audit_view"]["message"]
    drift = _json(url, "projections", "verify")
    assert [d["ok"] for d in drift] == [True, True, True]
    case = _json(url, "case", "list")[0]["case_id"]
    explained = _json(url, "case", "explain", case)
    assert explained["figures"]
    what_if = _json(url, "audit", "what-if", "--set", "cap=3000")
    assert what_if["approvals"] > 0
    _run(url, "audit", "report", "--format", "html", "-o", str(tmp_path / "report.html"))
    assert "<svg" in (tmp_path / "report.html").read_text(encoding="utf-8")
    _json(url, "audit", "ledger")
    # only a reveal needs the key, and says so
    refused = _run(
        url, "--actor", "finance-cashier", "case", "show", case, "--reveal", "--reason", "r", code=2
    )
    assert "master key" in refused.stderr


def test_an_edited_view_is_found_without_the_key(demo_store: str) -> None:
    """What is compared without the key still catches a forged row: an amount in the dossier."""
    path = demo_store.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE dossier_case SET approved_fen = approved_fen + 100000 "
            "WHERE case_id = (SELECT min(case_id) FROM dossier_case)"
        )
    drift = _json(demo_store, "projections", "verify", code=1)
    dossier = next(d for d in drift if d["view"] == "dossier")
    assert not dossier["ok"] and dossier["table"] == "dossier_case"
