"""Witnessed digests (issue 22 §4): a second party co-signs the tree digest with its own key;
the statement is recorded in the store and kept by the witness; `audit check-witness` verifies a
chain of statements offline, each extending the one before by an RFC 9162 consistency proof, so
a history rewritten after a witness signed is caught by anyone holding the older statement."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aidflow import AidFlow
from aidflow.cli import main
from tests.builders import government_fund, register_staff
from tests.e2e.conftest import Cli


def _key(path: Path) -> tuple[Path, Path]:
    key = Ed25519PrivateKey.generate()
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = path.with_suffix(".pub")
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path, public


def _check(*paths: Path, trust: Path | None = None) -> tuple[int, Any]:
    args = ["--json", "audit", "check-witness", *map(str, paths)]
    if trust is not None:
        args += ["--trust", str(trust)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout or "[]")


def test_a_chain_of_witnessed_digests_checks_offline(cli: Cli, tmp_path: Path) -> None:
    key, public = _key(tmp_path / "finance-bureau.pem")
    first = tmp_path / "s1.json"
    cli(
        "audit",
        "witness",
        "--key",
        str(key),
        "--witness",
        "区财政局",
        "-o",
        str(first),
        actor="admin",
    )
    cli("fund", "open", "--name", "Temporary assistance", "--kind", "government")
    second = tmp_path / "s2.json"
    cli(
        "audit",
        "witness",
        "--key",
        str(key),
        "--witness",
        "区财政局",
        "-o",
        str(second),
        actor="admin",
    )
    s1, s2 = (json.loads(p.read_text()) for p in (first, second))
    assert s2["previous"] == s1["digest"] and s2["consistency"]
    code, checked = _check(second, first, trust=public)  # any order: sorted by tree size
    assert code == 0 and [c["ok"] for c in checked] == [True, True]
    journal = cli.json("audit", "journal", "--limit", "100")
    witnessed = [e for e in journal if e["event_type"] == "witness.witnessed"]
    assert [s1["digest"] in witnessed[0]["summary"], s2["digest"] in witnessed[1]["summary"]] == [
        True,
        True,
    ]
    assert cli("audit", "check").exit_code == 0


def test_history_rewritten_after_a_witness_is_caught(
    cli: Cli, tmp_path: Path, store_url: str
) -> None:
    """The office keeps s1's store aside and starts another history; the witness, shown the new
    store, signs its digest: s2' does not extend s1 and the older statement exposes it."""
    key, public = _key(tmp_path / "audit-bureau.pem")
    first = tmp_path / "s1.json"
    cli(
        "audit",
        "witness",
        "--key",
        str(key),
        "--witness",
        "审计局",
        "-o",
        str(first),
        actor="admin",
    )
    other = f"sqlite:///{tmp_path / 'rewritten.db'}"
    flow = AidFlow.open(other)
    register_staff(flow)
    government_fund(flow, 1)
    flow.close()
    rewritten = tmp_path / "s2.json"
    CliRunner().invoke(
        main,
        ["--db", other, "--actor", "admin", "audit", "witness", "--key", str(key),
         "--witness", "审计局", "-o", str(rewritten)],
        catch_exceptions=False,
    )  # fmt: skip
    code, checked = _check(first, rewritten, trust=public)
    assert code == 1 and checked[0]["ok"] and not checked[1]["ok"]


def test_an_altered_or_foreign_statement_fails(cli: Cli, tmp_path: Path) -> None:
    key, _public = _key(tmp_path / "w.pem")
    _other, stranger = _key(tmp_path / "x.pem")
    statement = tmp_path / "s.json"
    cli(
        "audit", "witness", "--key", str(key), "--witness", "W", "-o", str(statement), actor="admin"
    )
    assert _check(statement)[0] == 0
    assert _check(statement, trust=stranger)[0] == 1  # not a witness we accept
    doc = json.loads(statement.read_text())
    size, root = doc["digest"].split(":")[1:]
    doc["digest"] = f"tree:{int(size) + 1}:{root}"
    statement.write_text(json.dumps(doc))
    code, checked = _check(statement)
    assert code == 1 and "signature" in checked[0]["problem"]


def test_only_an_auditor_or_admin_records_a_witness(cli: Cli, tmp_path: Path) -> None:
    key, _public = _key(tmp_path / "w.pem")
    out = tmp_path / "s.json"
    cli.refused(
        "audit", "witness", "--key", str(key), "--witness", "W", "-o", str(out),
        says="may not witness", actor="clerk",
    )  # fmt: skip
    assert not out.exists()


def test_the_last_events_dropped_and_a_new_digest_witnessed_is_caught(
    cli: Cli, tmp_path: Path, store_url: str
) -> None:
    """Issue 22 §8: the office deletes its last events (a payment it regrets), rebuilds its
    views and has the new, shorter history witnessed. The new digest verifies against the
    store; the older statement does not extend into it, and ``audit verify`` with the older
    digest names the store as short of it."""
    if not store_url.startswith("sqlite"):
        pytest.skip("the events are deleted from the SQLite file; PostgreSQL refuses by trigger")
    key, public = _key(tmp_path / "finance-bureau.pem")
    cli("fund", "open", "--name", "Temporary assistance", "--kind", "government", actor="finance")
    first = tmp_path / "s1.json"
    cli(
        "audit",
        "witness",
        "--key",
        str(key),
        "--witness",
        "区财政局",
        "-o",
        str(first),
        actor="admin",
    )
    before = json.loads(first.read_text())["digest"]
    path = store_url.removeprefix("sqlite:///")
    witnessed = int(before.split(":")[1])  # the tree's size: its last event is the fund's
    with sqlite3.connect(path) as db:  # that event and everything after it gone
        db.execute("DELETE FROM stored_events WHERE rowid >= ?", (witnessed,))
    cli("projections", "rebuild", actor="admin")
    cli("fund", "open", "--name", "Winter aid", "--kind", "government", actor="finance")
    second = tmp_path / "s2.json"
    cli(
        "audit",
        "witness",
        "--key",
        str(key),
        "--witness",
        "区财政局",
        "-o",
        str(second),
        actor="admin",
    )
    after = json.loads(second.read_text())["digest"]
    assert cli("audit", "verify", after).exit_code == 0  # the new history is self-consistent
    code, checked = _check(first, second, trust=public)
    assert code == 1 and checked[0]["ok"] and not checked[1]["ok"]
    shown = cli("audit", "verify", before, code=1)
    assert f"position {witnessed}" in shown.stdout + shown.stderr
