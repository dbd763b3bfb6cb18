"""Issue 14: what an auditor can prove without trusting aidflow.

Tampering with a snapshot, with the order of two events, with the chain table and
with the stored tree is each caught and named; proofs verify from a digest alone
and fail against another store's digest or with one hash changed; a digest taken
before 1,000 more commands is proved a prefix of one taken after, and two
unrelated stores are not; signed bundles verify with the public key alone.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from aidflow import AidFlow
from aidflow.application.snapshots import verify_snapshots
from aidflow.domain.errors import ProofUnavailable
from aidflow.projections import ReadModels
from aidflow.projections.audit import bundles, proving
from aidflow.projections.audit.heads import recorded, tree_head, verify_tree
from aidflow.projections.base import create_view_engine, reading
from aidflow.proofs import bundle as B
from aidflow.proofs import keys as K
from aidflow.proofs import proof as P
from aidflow.proofs.leaves import canonical_json
from aidflow.proofs.models import TreeHead, TreeVerification
from tests.builders import OFFICE_EVENTS, donation_fund, government_fund, paid, register_staff
from tests.integration.test_chain import sql

History = tuple[AidFlow, ReadModels, TreeHead, sa.Engine]


def at(n: int) -> int:
    """The position of the ``n``-th event after the test office was registered."""
    return OFFICE_EVENTS + n


@pytest.fixture
def history(store_url: str) -> Iterator[History]:
    flow = AidFlow.open(store_url)
    register_staff(flow)
    views = ReadModels.attach(flow, store_url)
    gov = government_fund(flow)
    donation_fund(flow)
    for n in range(1, 4):
        paid(flow, gov, n)
    with reading(views.engine) as conn:
        head = tree_head(conn)
    raw = create_view_engine(store_url)
    try:
        yield flow, views, head, raw
    finally:
        raw.dispose()
        views.close()
        flow.close()


def verify(flow: AidFlow, views: ReadModels, head: TreeHead) -> TreeVerification:
    with reading(views.engine) as conn:
        leaves, nodes = recorded(conn, head.size)
    return verify_tree(flow, head, leaves, nodes, 100)


def test_an_honest_store_passes(history: History) -> None:
    flow, views, head, _ = history
    assert head.size == flow.recorder.max_notification_id() and head.position == head.size
    assert verify(flow, views, head).ok
    assert verify_snapshots(flow).ok


def test_a_tampered_snapshot_is_named(history: History) -> None:
    flow, views, _head, raw = history
    fund = UUID_OF(views, "fund.opened")
    flow.take_snapshot(fund)
    assert verify_snapshots(flow).ok and verify_snapshots(flow).checked >= 1
    table = flow.snapshots.recorder.events_table_name  # type: ignore[union-attr, attr-defined]
    with raw.begin() as conn:
        state, version = conn.execute(
            sa.text(f"SELECT state, originator_version FROM {table} WHERE originator_id = :i"),
            {"i": fund if "sqlite" not in store_kind(flow) else fund.hex},
        ).one()
        data = json.loads(bytes(state))
        data["state"]["deposited_fen"] += 100_000_00  # a richer fund than its deposits
        conn.execute(
            sa.text(f"UPDATE {table} SET state = :s WHERE originator_id = :i"),
            {
                "s": json.dumps(data).encode(),
                "i": fund if "sqlite" not in store_kind(flow) else fund.hex,
            },
        )
    result = verify_snapshots(flow)
    assert not result.ok
    assert [(f.aggregate_id, f.version) for f in result.findings] == [(str(fund), version)]
    assert f"snapshot of {fund} at version {version}" in result.message


def store_kind(flow: AidFlow) -> str:
    return type(flow.recorder).__module__


def UUID_OF(views: ReadModels, event_type: str):  # type: ignore[no-untyped-def]
    from uuid import UUID

    return UUID(next(x.aggregate_id for x in views.journal() if x.event_type == event_type))


def test_two_events_swapped_are_named(history: History) -> None:
    flow, views, head, raw = history
    with raw.begin() as conn:
        conn.execute(
            sql(flow, "UPDATE stored_events SET notification_id = -1 WHERE notification_id = 5")
        )
        conn.execute(
            sql(flow, "UPDATE stored_events SET notification_id = 5 WHERE notification_id = 6")
        )
        conn.execute(
            sql(flow, "UPDATE stored_events SET notification_id = 6 WHERE notification_id = -1")
        )
    result = verify(flow, views, head)
    assert not result.ok and result.first_mismatch == 5
    assert "position 5" in result.message


def test_an_altered_event_is_named_and_cannot_be_proved(history: History) -> None:
    flow, views, head, raw = history
    with raw.begin() as conn:
        state = conn.execute(
            sql(flow, f"SELECT state FROM stored_events WHERE notification_id = {at(9)}")
        ).scalar_one()
        forged = bytes(state).replace(b"500000", b"900000")
        assert forged != bytes(state)
        conn.execute(
            sql(flow, f"UPDATE stored_events SET state = :s WHERE notification_id = {at(9)}"),
            {"s": forged},
        )
    result = verify(flow, views, head)
    assert not result.ok and result.first_mismatch == at(9)
    with (
        reading(views.engine) as conn,
        pytest.raises(ProofUnavailable, match=f"position {at(9)}"),
    ):
        proving.inclusion(conn, flow, at(9), head)


def test_the_chain_table_and_the_tree_table_altered_are_named(history: History) -> None:
    flow, views, head, raw = history
    with raw.begin() as conn:
        conn.execute(
            sa.text("UPDATE audit_journal SET hash = :h WHERE position = 4"), {"h": "0" * 64}
        )
    chain = views.verify(flow, views.digest())
    assert not chain.ok and chain.first_mismatch == 4
    with raw.begin() as conn:
        conn.execute(
            sa.text("UPDATE audit_journal SET leaf = :h WHERE position = 7"), {"h": "1" * 64}
        )
    result = verify(flow, views, head)
    assert not result.ok and result.first_mismatch == 7
    # a rebuild restores the recorded tree; then alter a stored subtree
    views.rebuild(flow, ["audit"])
    with raw.begin() as conn:
        conn.execute(
            sa.text("UPDATE audit_tree SET hash = :h WHERE level = 4 AND idx = 0"), {"h": "2" * 64}
        )
    result = verify(flow, views, head)
    assert not result.ok and "subtree at level 4, number 0" in result.message


def test_a_proof_verifies_from_the_digest_alone(history: History, tmp_path: Path) -> None:
    flow, views, head, _ = history
    for position in range(1, head.size + 1):
        with reading(views.engine) as conn:
            made = proving.inclusion(conn, flow, position, head)
        text = json.dumps(made)
        assert P.check_proof(P.load(text), TreeHead.parse(str(head))).ok
        assert json.loads(made["leaf"])["position"] == position
        assert made["leaf"] == canonical_json(json.loads(made["leaf"]))
    # one hash changed: fails
    if made["path"]:
        bad = dict(made, path=["0" * 64, *made["path"][1:]])
        assert not P.check_proof(bad, head).ok
    # the event's content changed: fails
    forged = made["leaf"].replace('"actor":"', '"actor":"x')
    assert not P.check_proof(dict(made, leaf=forged), head).ok
    # another store's digest: fails
    other = TreeHead(size=head.size, root="ab" * 32)
    assert not P.check_proof(made, other).ok
    with reading(views.engine) as conn, pytest.raises(ProofUnavailable, match="not a head"):
        proving.inclusion(conn, flow, 1, other)


def test_consistency_across_1000_more_commands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'grow.db'}"
    flow = AidFlow.open(url)
    register_staff(flow)
    views = ReadModels.attach(flow, url)
    gov = government_fund(flow)
    paid(flow, gov, 1)
    with reading(views.engine) as conn:
        before = tree_head(conn)
    from aidflow import commands as cmd

    for n in range(1000):
        flow.deposit(
            cmd.Deposit(
                fund_id=gov, amount_fen=100, source="budget", receipt=f"R-{n}", actor="finance"
            )
        )
    with reading(views.engine) as conn:
        after = tree_head(conn)
        proof = proving.consistency(conn, before, after)
    assert after.size >= before.size + 1000
    assert P.check_proof(proof, after, before).ok
    assert verify(flow, views, after).ok

    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    other = AidFlow.open(other_url)
    register_staff(other)
    other_views = ReadModels.attach(other, other_url)
    government_fund(other)
    with reading(other_views.engine) as conn:
        unrelated = tree_head(conn)
    assert not P.check_proof(proof, after, unrelated).ok
    forged = dict(proof, old={"tree_size": unrelated.size, "root": unrelated.root})
    assert not P.check_proof(forged, after, unrelated).ok
    with reading(views.engine) as conn, pytest.raises(ProofUnavailable, match="older digest"):
        proving.consistency(conn, TreeHead(size=before.size, root=unrelated.root), after)
    for v in (views, other_views):
        v.close()
    flow.close()
    other.close()


def test_a_signed_bundle_verifies_with_the_public_key_alone(
    history: History, tmp_path: Path
) -> None:
    flow, views, head, _ = history
    private, public, created = K.init_signing(tmp_path / "keys")
    assert created and (private.stat().st_mode & 0o777) == 0o600
    case = next(c.case_id for c in views.cases())
    with reading(views.engine) as conn:
        rows = [x.position for x in views.journal(aggregate_id=str(case))]
        data = bundles.export(
            conn,
            flow,
            head,
            rows,
            {"case": str(case)},
            flow.current_policy(),
            K.load_private(tmp_path / "keys"),
        )
    bundle = tmp_path / "b.zip"
    bundle.write_bytes(data)
    result = B.verify_bundle(bundle, K.load_public(public), head)
    assert result.ok and result.events == len(rows), result.problems
    figures = json.loads(zipfile.ZipFile(bundle).read("figures.json"))
    assert figures["cases"][str(case)]["disbursed_fen"] == 500000

    # a figure changed (and the manifest re-hashed, but it cannot be re-signed): caught
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(forged, "w") as out:
        for name in src.namelist():
            body = src.read(name)
            if name == "figures.json":
                body = body.replace(b"500000", b"900000")
            out.writestr(name, body)
    bad = B.verify_bundle(forged, K.load_public(public))
    assert not bad.ok and not bad.intact and not bad.figures_follow
    # another key: not intact
    _, other_public, _ = K.init_signing(tmp_path / "other")
    assert not B.verify_bundle(bundle, K.load_public(other_public)).intact


def test_the_v0_1_0_store_verifies_against_its_recorded_digest(tmp_path: Path) -> None:
    """Old chain digests keep verifying; old snapshots (an older Fund class) are upcast, not flagged."""
    import shutil

    from click.testing import CliRunner

    from aidflow.cli import main

    fixtures = Path(__file__).resolve().parents[1] / "contract" / "fixtures" / "v0.1.0"
    copy = tmp_path / "v0.1.0.db"
    shutil.copyfile(fixtures / "v0.1.0.db", copy)
    recorded_digest = json.loads((fixtures / "digest.json").read_text())
    chain = f"{recorded_digest['position']}:{recorded_digest['hash']}"
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{copy}", "audit", "verify", chain])
    assert result.exit_code == 0, result.output
    assert "2 stored snapshots agree" in result.output
