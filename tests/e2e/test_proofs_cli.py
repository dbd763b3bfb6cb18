"""Issue 14 on the command line: the demo's consultation case explained, what-if, proofs off-store."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from aidflow.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_demo_explain_what_if_proofs_and_bundles(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    code, _ = run("--db", db, "demo")
    assert code == 0
    from aidflow.application import AidFlow

    flow = AidFlow.open(db)
    from aidflow.projections import ReadModels

    views = ReadModels.attach(flow, db)
    consulted = next(
        x.aggregate_id for x in views.journal() if x.event_type == "case.review_convened"
    )
    explained = json.loads(run("--db", db, "--json", "case", "explain", consulted)[1])
    assert explained["agrees"]
    by_field = {f["field"]: f for f in explained["figures"]}
    history = flow.history(__import__("uuid").UUID(consulted))
    for name in ("approved_fen", "disbursed_fen", "secondary_aid_fen"):
        events = {
            "approved_fen": {"case.grant_approved", "case.closed"},
            "disbursed_fen": {"case.disbursed", "case.disbursement_returned"},
            "secondary_aid_fen": {"case.secondary_aid_allocated", "case.secondary_aid_approved"},
        }[name]
        behind = [r.version for r in history if r.type in events]
        assert sorted(c["version"] for c in by_field[name]["causes"]) == behind
        assert sum(c["change_fen"] for c in by_field[name]["causes"]) == by_field[name]["value"]
    approvals = [c for c in by_field["approved_fen"]["causes"] if c["command"] == "approve"]
    assert approvals and all("policy version" in c["allowed_by"] for c in approvals)
    assert by_field["status"]["causes"][0]["event_type"] == "case.applied"
    text = run("--db", db, "case", "explain", consulted, "--field", "status")[1]
    assert text.startswith("status: ")

    whatif = json.loads(run("--db", db, "--json", "audit", "what-if", "--cap", "3000")[1])
    above = [
        (str(r.originator_id), r.version)
        for c in views.cases()
        for r in flow.history(__import__("uuid").UUID(str(c.case_id)))
        if r.type == "case.grant_approved" and r.data["amount_fen"] > 300000
    ]
    assert sorted((d["case_id"], d["version"]) for d in whatif["refused"]) == sorted(above)
    assert all(d["now"] == "cap_exceeded" for d in whatif["refused"])
    chinese = json.loads(
        run("--db", db, "--lang", "zh", "--json", "audit", "what-if", "--cap", "3000")[1]
    )
    assert [d["now"] for d in chinese["refused"]] == [d["now"] for d in whatif["refused"]]
    assert all(re.search("[\u4e00-\u9fff]", d["reason"]) for d in chinese["refused"])
    assert not any(re.search("[\u4e00-\u9fff]", d["reason"]) for d in whatif["refused"])
    assert flow.recorder.max_notification_id() == views.digest().position  # nothing written

    digest = json.loads(run("--db", db, "--json", "audit", "digest")[1])["digest"]
    assert run("--db", db, "audit", "verify", digest)[0] == 0
    proof = tmp_path / "p.json"
    assert run("--db", db, "audit", "prove", "1234", "--digest", digest, "-o", str(proof))[0] == 0
    keys = tmp_path / "keys"
    code, out = run("--db", db, "keys", "init-signing", "--dir", str(keys))
    assert code == 0 and out.splitlines()[0].endswith("signing.pub")
    bundle = tmp_path / "b.zip"
    code, out = run(
        "--db", db, "audit", "export", "--case", consulted, "--keys", str(keys), "-o", str(bundle)
    )
    assert code == 0, out
    views.close()
    flow.close()
    (tmp_path / "demo.db").rename(tmp_path / "gone.db")  # "another machine": no store at all

    code, out = run("audit", "check-proof", str(proof), "--digest", digest)
    assert code == 0 and "position 1234" in out
    other = "tree:" + digest.split(":")[1] + ":" + "ab" * 32
    assert run("audit", "check-proof", str(proof), "--digest", other)[0] == 1
    code, out = run(
        "audit", "verify-bundle", str(bundle), "--public-key", str(keys / "signing.pub")
    )
    assert code == 0 and "intact" in out
    script = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "verify_proof.py"), str(proof), digest],
        capture_output=True,
        text=True,
        check=False,
    )
    assert script.returncode == 0 and script.stdout.startswith("OK")
    assert not (tmp_path / "demo.db").exists()
