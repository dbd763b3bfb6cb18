"""A public notice that is provable (issue 22 §5): the de-identified list the bureau posts,
with totals that recompute from its rows, the digest it was drawn from, and per row a reference
a student checks offline against that digest; drawing it is recorded."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.e2e.conftest import Cli


def test_a_notice_posts_masked_rows_with_totals_and_a_proof_per_row(
    cli: Cli, world: dict[str, str], tmp_path: Path
) -> None:
    case = world["case"]
    cli(
        "case", "approve", case, "--amount", "3000", "--need", "tuition", "--fund", world["gov"],
        "--ref", "MZ-N-1", actor="approver",
    )  # fmt: skip
    cli("case", "disburse", case, "--amount", "2000", "--voucher", "V-N-1", actor="cashier")
    out = tmp_path / "公示.csv"
    shown = cli.json(
        "audit", "notice", "--period", "2020-01-01..2100-12-31", "-o", str(out), actor="approver"
    )
    [row] = shown["rows"]
    assert (row["grant_fen"], row["name"], row["town"]) == (200_000, "W**", "Gaoping")
    assert "5203" in row["student_id_masked"] and "*" in row["student_id_masked"]
    with out.open(encoding="utf-8-sig") as f:
        lines = list(csv.reader(f))
    assert "Wang" not in out.read_text(encoding="utf-8-sig")  # nothing unmasked posted
    body, totals = lines[1:-1], lines[-1]
    assert sum(float(r[5].replace(",", "")) for r in body) == float(totals[5].replace(",", ""))
    # a student checks their row offline, with nothing but the digest and the proofs file
    proofs = out.with_name(out.name + ".proofs.json")
    checked = cli.json(
        "audit", "check-proof", str(proofs), "--ref", row["ref"], "--digest", shown["digest"]
    )
    assert checked["ok"]
    # a row whose proof was changed no longer checks
    doc = json.loads(proofs.read_text())
    doc["proofs"][row["ref"]]["leaf"] = doc["proofs"][row["ref"]]["leaf"].replace(
        "200000", "900000"
    )
    proofs.write_text(json.dumps(doc))
    cli(
        "audit", "check-proof", str(proofs), "--ref", row["ref"], "--digest", shown["digest"],
        code=1,
    )  # fmt: skip
    journal = cli.json("audit", "journal", "--limit", "100")
    assert [e["actor"] for e in journal if e["event_type"] == "payments.notice_posted"] == [
        "approver"
    ]
