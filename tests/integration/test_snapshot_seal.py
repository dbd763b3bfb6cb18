"""Issue 21 §4: a command never decides on a snapshot that disagrees with its events.

The attack reproduced: a fund's stored snapshot edited in the database to a 9.95M
balance (re-encoded as an insider would) let 15 approvals of 5,000 through and the fund
ended below zero. Every snapshot is now sealed with a keyed MAC over its aggregate id,
version, topic and stored state; one whose seal does not verify, or that has none, is
never used: the aggregate is replayed from its events, and ``verify_snapshots`` names
the forged one. Each forgery below is tried against the seal itself too: another fund's
snapshot, an older snapshot moved to a newer version, another store's key.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from aidflow import AidFlow, Office
from aidflow.cli import main
from aidflow.domain.errors import InsufficientFunds, StoreDamaged
from aidflow.domain.fund import Fund
from aidflow.privacy import SealState, SnapshotMapper, new_master, parse_master
from aidflow.projections.base import create_view_engine
from tests.builders import approved, government_fund, register_staff

FORGED_FEN = 9_950_000 * 100
"""The balance the insider wrote into the snapshot: 9.95M yuan."""


def busy_fund(flow: AidFlow, yuan: int = 10_000, events: int = 100) -> UUID:
    """A government fund of ``yuan`` with ``events`` events (a snapshot every 100)."""
    gov = government_fund(flow, yuan=yuan)  # versions 1 and 2
    fund = flow.load_fund(gov)
    for n in range(events - 2):
        fund.deposit(
            amount_fen=1, source="interest", receipt=f"PAD-{n}", value_date=None, actor="finance"
        )
    flow.save(fund)
    return gov


class Table:
    """The snapshot table as a database login sees it: rows edited with plain SQL."""

    def __init__(self, flow: AidFlow, url: str) -> None:
        assert flow.snapshots is not None
        self.name = flow.snapshots.recorder.events_table_name  # type: ignore[attr-defined]
        self.sqlite = url.startswith("sqlite")
        self.engine = create_view_engine(url)

    def key(self, aggregate_id: UUID) -> Any:
        return aggregate_id.hex if self.sqlite else aggregate_id

    def state(self, aggregate_id: UUID, version: int) -> bytes:
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.text(
                    f"SELECT state FROM {self.name}"
                    " WHERE originator_id = :i AND originator_version = :v"
                ),
                {"i": self.key(aggregate_id), "v": version},
            ).one()
        return bytes(row[0])

    def versions(self, aggregate_id: UUID) -> list[int]:
        with self.engine.begin() as conn:
            rows = conn.execute(
                sa.text(
                    f"SELECT originator_version FROM {self.name}"
                    " WHERE originator_id = :i ORDER BY originator_version"
                ),
                {"i": self.key(aggregate_id)},
            ).all()
        return [int(r[0]) for r in rows]

    def write(self, aggregate_id: UUID, version: int, state: bytes) -> None:
        with self.engine.begin() as conn:
            changed = conn.execute(
                sa.text(
                    f"UPDATE {self.name} SET state = :s"
                    " WHERE originator_id = :i AND originator_version = :v"
                ),
                {"s": state, "i": self.key(aggregate_id), "v": version},
            ).rowcount
        assert changed == 1

    def edit(
        self, aggregate_id: UUID, version: int, change: Callable[[dict[str, Any]], None]
    ) -> None:
        """Decode the row's JSON, change it, and encode it back the way the library does."""
        data = json.loads(self.state(aggregate_id, version))
        change(data)
        body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        self.write(aggregate_id, version, body)

    def close(self) -> None:
        self.engine.dispose()


@pytest.fixture
def table(flow: AidFlow, store_url: str) -> Iterator[Table]:
    t = Table(flow, store_url)
    yield t
    t.close()


def richer(data: dict[str, Any]) -> None:
    """The insider's edit: a fund holding 9.95M, its seal (if any) left as it was."""
    data["state"]["deposited_fen"] = FORGED_FEN


def richer_unsealed(data: dict[str, Any]) -> None:
    """The same edit with the seal taken off: a snapshot as an older release wrote it."""
    richer(data)
    del data["seal"]


def replayed(flow: AidFlow, aggregate_id: UUID, version: int | None = None) -> Any:
    """The aggregate from its events alone, no snapshot."""
    state: Any = None
    for event in flow.events.get(aggregate_id, lte=version):
        state = event.mutate(state)  # type: ignore[attr-defined]
    return state


def events_read_after(flow: AidFlow, monkeypatch: pytest.MonkeyPatch) -> list[int | None]:
    """Spy on the repository's event reads: the ``gt`` each load asked for (the version of
    the snapshot it started from, or None for a full replay)."""
    seen: list[int | None] = []
    real = flow.events.get

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("gt"))
        return real(*args, **kwargs)

    monkeypatch.setattr(flow.events, "get", spy)
    return seen


def warns_if(seal_broken: bool) -> AbstractContextManager[object]:
    """The warning a snapshot whose seal does not verify gives when it is read."""
    return pytest.warns(UserWarning, match="seal does not verify") if seal_broken else nullcontext()


def approve_fifteen(flow: AidFlow, fund: UUID) -> int:
    """The attack's 15 approvals of 5,000 yuan; how many were refused for want of money."""
    refused = 0
    for n in range(1, 16):
        try:
            approved(flow, fund, n, yuan=5000)
        except InsufficientFunds:
            refused += 1
    return refused


# -- the attack ------------------------------------------------------------------------------


@pytest.mark.parametrize("edit", [richer, richer_unsealed], ids=["seal-kept", "seal-stripped"])
@pytest.mark.parametrize("process", ["started-after", "fund-warm"])
def test_a_forged_fund_snapshot_cannot_pay_out_money_the_fund_does_not_have(
    flow: AidFlow,
    table: Table,
    store_url: str,
    edit: Callable[[dict[str, Any]], None],
    process: str,
) -> None:
    """Whether the process spending is started after the forgery (it loads the fund from the
    snapshot store, and passes the forged one over) or was running with the fund warm (it
    brings the fund up from its events and never reads the snapshot)."""
    gov = busy_fund(flow)  # 10,000 yuan and 98 fen of padding
    assert table.versions(gov) == [100]
    table.edit(gov, 100, edit)
    assert json.loads(table.state(gov, 100))["state"]["deposited_fen"] == FORGED_FEN

    spender = AidFlow.open(store_url) if process == "started-after" else flow
    with warns_if(edit is richer and spender is not flow):
        assert approve_fifteen(spender, gov) == 13  # two grants fit in 10,000 yuan; no more
    with warns_if(edit is richer):  # loaded as stored: the snapshot is read, and passed over
        fund = spender.load_fund(gov)
    assert fund.balance_fen == 98 and fund.allocated_fen == 2 * 500_000
    assert fund.__dict__ == replayed(flow, gov).__dict__

    result = flow.verify_snapshots()
    assert not result.ok
    assert [(f.aggregate_id, f.version) for f in result.findings] == [(str(gov), 100)]
    problem = result.findings[0].problem
    if edit is richer:
        assert "seal does not verify" in problem
    else:
        assert "state differs from a replay" in problem and "deposited_fen" in problem
    assert f"snapshot of {gov} at version 100" in result.message


def test_a_forged_snapshot_fails_audit_verify(store_url: str) -> None:
    with Office.open(store_url) as office:
        register_staff(office.flow)
        gov = busy_fund(office.flow)
        assert office.verify(office.digest().digest).ok
        table = Table(office.flow, store_url)
        try:
            table.edit(gov, 100, richer)
        finally:
            table.close()
        digest = office.digest().digest
        report = office.verify(digest)
        assert not report.ok and not report.snapshots.ok
        assert "seal does not verify" in report.snapshots.message
    result = CliRunner().invoke(main, ["--db", store_url, "audit", "verify", digest])
    assert result.exit_code == 1, result.output
    assert f"snapshot of {gov} at version 100" in result.output
    # and the damage is a finding of `audit check` too, on every face
    with Office.open(store_url) as office:
        check = office.check()
        damaged = [v for v in check.violations if v.rule == "snapshot_damaged"]
        assert not check.ok and [(v.fund_id, v.subject) for v in damaged] == [(str(gov), "100")]
        assert "seal does not verify" in damaged[0].message
    checked = CliRunner().invoke(main, ["--db", store_url, "audit", "check"])
    assert checked.exit_code == 1 and "snapshot_damaged" in checked.output


def test_the_mapper_refuses_to_decode_a_snapshot_whose_seal_does_not_verify(
    flow: AidFlow, table: Table
) -> None:
    gov = busy_fund(flow)
    table.edit(gov, 100, richer)
    assert flow.snapshots is not None
    (stored,) = flow.snapshots.recorder.select_events(gov)
    with pytest.raises(StoreDamaged, match="seal"):
        flow.snapshots.mapper.to_domain_event(stored)
    with pytest.warns(UserWarning, match="seal does not verify"):
        assert list(flow.snapshots.get(gov)) == []  # the store gives verified snapshots only


# -- sealed snapshots are used, unsealed ones are replayed around ------------------------------


def test_a_sealed_snapshot_is_used(
    flow: AidFlow, table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    gov = busy_fund(flow, events=130)
    assert flow.snapshots is not None
    (stored,) = flow.snapshots.recorder.select_events(gov)
    mapper = flow.snapshots.mapper
    assert isinstance(mapper, SnapshotMapper) and mapper.seal_of(stored) is SealState.SEALED
    reads = events_read_after(flow, monkeypatch)
    fund = flow.load_fund(gov)
    assert reads == [100]  # only the 30 events after the snapshot were read
    assert fund.__dict__ == replayed(flow, gov).__dict__
    verification = flow.verify_snapshots()
    assert verification.ok and verification.checked == 1 and verification.unsealed == 0


def test_a_forged_snapshot_is_replayed_around(
    flow: AidFlow, table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    gov = busy_fund(flow, events=130)
    table.edit(gov, 100, richer)
    reads = events_read_after(flow, monkeypatch)
    with pytest.warns(UserWarning, match="seal does not verify"):
        fund = flow.load_fund(gov)
    assert reads == [None]  # every event, from the first
    assert fund.__dict__ == replayed(flow, gov).__dict__


def test_an_old_unsealed_snapshot_still_loads_and_is_not_damage(
    flow: AidFlow, table: Table, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store written before snapshots were sealed: its snapshots agree with their events,
    are never used, and the next snapshot taken is sealed and used."""
    gov = busy_fund(flow, events=130)
    table.edit(gov, 100, lambda data: data.pop("seal"))  # as an older release wrote it
    assert flow.snapshots is not None
    (stored,) = flow.snapshots.recorder.select_events(gov)
    assert flow.snapshots.mapper.seal_of(stored) is SealState.UNSEALED  # type: ignore[attr-defined]

    again = AidFlow.open(store_url)
    try:
        expected = replayed(again, gov).__dict__
        reads = events_read_after(again, monkeypatch)
        assert again.load_fund(gov).__dict__ == expected
        assert reads == [None]  # replayed from the first event: the unsealed one is not used
        verification = again.verify_snapshots()
        assert verification.ok and verification.unsealed == 1 and not verification.findings
        assert "1 stored snapshots agree" in verification.message
        assert "1 unsealed" in verification.message

        fund = again.load_fund(gov)
        for n in range(70):  # past version 200: a new snapshot is taken, sealed
            fund.deposit(
                amount_fen=1, source="interest", receipt=f"MORE-{n}", value_date=None, actor="f"
            )
        again.save(fund)
        assert table.versions(gov) == [100, 200]
        expected = replayed(again, gov).__dict__
        reads.clear()
        assert again.load_fund(gov).__dict__ == expected
        assert reads == [200]
        verification = again.verify_snapshots()
        assert verification.ok and verification.checked == 2 and verification.unsealed == 1
    finally:
        again.close()


def test_loading_as_of_a_version_stays_exact(
    flow: AidFlow, table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    gov = busy_fund(flow, events=250)
    assert table.versions(gov) == [100, 200]
    reads = events_read_after(flow, monkeypatch)
    for version in (50, 100, 150, 200, 249):
        expected = replayed(flow, gov, version)
        reads.clear()
        fund = flow.fund(gov, version=version)
        assert (fund.version, fund.deposited_fen) == (version, expected.deposited_fen)
        assert reads == [None if version < 100 else 100 if version < 200 else 200]
    table.edit(gov, 200, richer)  # a forged latest snapshot: the one before it still holds
    expected = replayed(flow, gov, 249)
    reads.clear()
    with pytest.warns(UserWarning, match="seal does not verify"):
        fund = flow.fund(gov, version=249)
    assert reads == [100]
    assert fund.deposited_fen == expected.deposited_fen


# -- attacks on the seal itself ----------------------------------------------------------------


def test_another_funds_snapshot_does_not_verify(
    flow: AidFlow, table: Table, store_url: str
) -> None:
    poor, rich = busy_fund(flow, yuan=10_000), busy_fund(flow, yuan=9_950_000)
    table.write(poor, 100, table.state(rich, 100))  # same shape, a valid seal for `rich`
    assert flow.snapshots is not None
    (stored,) = flow.snapshots.recorder.select_events(poor)
    assert flow.snapshots.mapper.seal_of(stored) is SealState.BROKEN  # type: ignore[attr-defined]
    with pytest.warns(UserWarning, match="seal does not verify"):
        assert approve_fifteen(AidFlow.open(store_url), poor) == 13  # a process started after
        assert flow.load_fund(poor).balance_fen == 98
    result = flow.verify_snapshots()
    assert [(f.aggregate_id, f.version) for f in result.findings] == [(str(poor), 100)]
    assert "seal does not verify" in result.findings[0].problem


def test_an_older_snapshot_moved_to_a_newer_version_does_not_verify(
    flow: AidFlow, table: Table
) -> None:
    gov = busy_fund(flow, yuan=1_000_000, events=150)  # 148 fen of padding
    fund = flow.load_fund(gov)
    for n in range(50):  # versions 151-200: spent down after the snapshot at 100
        fund.allocate(case_id=UUID(int=n + 1), amount_fen=10_000_00, use="grant", actor="approver")
    flow.save(fund)
    assert table.versions(gov) == [100, 200]
    table.write(gov, 200, table.state(gov, 100))  # the richer, older snapshot as version 200
    assert flow.snapshots is not None
    rows = {s.originator_version: s for s in flow.snapshots.recorder.select_events(gov)}
    mapper = flow.snapshots.mapper
    assert isinstance(mapper, SnapshotMapper)
    assert mapper.seal_of(rows[100]) is SealState.SEALED
    assert mapper.seal_of(rows[200]) is SealState.BROKEN
    with pytest.warns(UserWarning, match="seal does not verify"):
        loaded = flow.load_fund(gov)
    assert loaded.__dict__ == replayed(flow, gov).__dict__
    assert loaded.balance_fen == 1_000_000_00 + 148 - 50 * 10_000_00
    assert [f.version for f in flow.verify_snapshots().findings] == [200]


def test_a_seal_made_with_another_stores_key_does_not_verify(
    flow: AidFlow, table: Table, tmp_path: Path, store_url: str
) -> None:
    """Same master key, another store: its snapshot key differs (it comes from each store's
    own secret), so a snapshot it sealed does not verify here. The store's own key does
    seal a forgery that verifies: whoever holds the master key can forge (docs/security.md),
    and only the replay in ``verify_snapshots`` catches that."""
    gov = busy_fund(flow)
    forged = Fund.Snapshot.take(flow.repository.get(gov, version=100))
    forged.state["deposited_fen"] = FORGED_FEN
    other = AidFlow.open(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        assert other.snapshots is not None
        table.write(gov, 100, other.snapshots.mapper.to_stored_event(forged).state)
    finally:
        other.close()
    assert flow.snapshots is not None
    mapper = flow.snapshots.mapper
    assert isinstance(mapper, SnapshotMapper)
    (stored,) = flow.snapshots.recorder.select_events(gov)
    assert mapper.seal_of(stored) is SealState.BROKEN
    with pytest.warns(UserWarning, match="seal does not verify"):
        assert approve_fifteen(AidFlow.open(store_url), gov) == 13  # a process started after
    assert "seal does not verify" in flow.verify_snapshots().findings[0].problem

    table.write(gov, 100, mapper.to_stored_event(forged).state)  # the key holder's forgery
    (stored,) = flow.snapshots.recorder.select_events(gov)
    assert mapper.seal_of(stored) is SealState.SEALED
    (finding,) = flow.verify_snapshots().findings
    assert "state differs from a replay" in finding.problem


def test_without_the_master_key_no_snapshot_is_taken_and_none_is_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A seal cannot be made or checked without the key: the fund is replayed, the command
    is not failed, and no unsealed snapshot is written in its place."""
    url = f"sqlite:///{tmp_path / 'keyless.db'}"
    monkeypatch.delenv("AIDFLOW_KEY", raising=False)
    monkeypatch.setenv("AIDFLOW_KEY_FILE", str(tmp_path / "absent.key"))
    flow = AidFlow.open(url)
    try:
        register_staff(flow)
        with pytest.warns(UserWarning, match="not taken"):
            gov = busy_fund(flow)
        assert flow.snapshots is not None
        assert flow.snapshots.recorder.select_events(gov) == []
        assert flow.load_fund(gov).version == 100
    finally:
        flow.close()


def test_a_v0_1_0_stores_unsealed_snapshots_are_not_damage_and_are_replayed_around(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The v0.1.0 fixture's fund snapshots (at 100 and 200, an older Fund class) have no
    seal: the audit counts them unsealed, loads replay the fund from its events, and the
    first snapshot taken now (at 300) is sealed and used."""
    fixture = Path(__file__).resolve().parents[1] / "contract" / "fixtures" / "v0.1.0"
    copy = tmp_path / "v0.1.0.db"
    shutil.copyfile(fixture / "v0.1.0.db", copy)
    fund_id = UUID("652586e0d4c74a019f386d94f1838501")
    flow = AidFlow.open(f"sqlite:///{copy}")
    try:
        verification = flow.verify_snapshots()
        assert verification.ok and verification.checked == 2 and verification.unsealed == 2
        expected = replayed(flow, fund_id).__dict__
        reads = events_read_after(flow, monkeypatch)
        fund = flow.load_fund(fund_id)
        assert fund.__dict__ == expected and reads == [None]

        for n in range(300 - fund.version):
            fund.deposit(
                amount_fen=1, source="interest", receipt=f"NEW-{n}", value_date=None, actor="f"
            )
        flow.save(fund)
        assert flow.snapshots is not None
        stored = flow.snapshots.recorder.select_events(fund_id)
        assert [s.originator_version for s in stored] == [100, 200, 300]
        mapper = flow.snapshots.mapper
        assert isinstance(mapper, SnapshotMapper)
        assert [mapper.seal_of(s) for s in stored] == [
            SealState.UNSEALED,
            SealState.UNSEALED,
            SealState.SEALED,
        ]
        expected = replayed(flow, fund_id).__dict__
        reads.clear()
        assert flow.load_fund(fund_id).__dict__ == expected and reads == [300]
        verification = flow.verify_snapshots()
        assert verification.ok and verification.checked == 3 and verification.unsealed == 2
    finally:
        flow.close()


def test_the_snapshot_store_gives_back_only_verified_snapshots(flow: AidFlow, table: Table) -> None:
    gov = busy_fund(flow, events=300)
    table.edit(gov, 200, richer)
    assert flow.snapshots is not None
    with pytest.warns(UserWarning, match="seal does not verify"):
        assert [s.originator_version for s in flow.snapshots.get(gov)] == [100, 300]
    with pytest.warns(UserWarning, match="seal does not verify"):
        newest = flow.snapshots.get(gov, desc=True, limit=2)
        assert [s.originator_version for s in newest] == [300, 100]
    with pytest.warns(UserWarning, match="seal does not verify"):
        (newest_below,) = flow.snapshots.get(gov, desc=True, limit=1, lte=299)
    assert newest_below.originator_version == 100
    assert list(flow.snapshots.get(gov, limit=0)) == []


def test_snapshots_stay_sealed_across_a_key_rotation(
    flow: AidFlow, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The snapshot key comes from the store's lookup secret, which rotation re-wraps and
    does not change: after ``keys rotate`` the snapshots still verify and are still used."""
    gov = busy_fund(flow, events=130)
    text = new_master()
    flow.vault.rotate(parse_master(text, "test"))
    monkeypatch.setenv("AIDFLOW_KEY", text)
    reopened = AidFlow.open(store_url)
    try:
        assert reopened.snapshots is not None
        (stored,) = reopened.snapshots.recorder.select_events(gov)
        assert reopened.snapshots.mapper.seal_of(stored) is SealState.SEALED  # type: ignore[attr-defined]
        reads = events_read_after(reopened, monkeypatch)
        reopened.load_fund(gov)
        assert reads == [100]
        verification = reopened.verify_snapshots()
        assert verification.ok and verification.unsealed == verification.unchecked == 0
    finally:
        reopened.close()


def test_without_the_key_a_sealed_snapshot_is_compared_but_not_trusted(
    flow: AidFlow, store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An auditor without the master key: the seal cannot be checked, so loads replay, and
    ``verify_snapshots`` still compares the state with a replay and says what it left."""
    gov = busy_fund(flow, events=130)
    monkeypatch.delenv("AIDFLOW_KEY", raising=False)
    monkeypatch.setenv("AIDFLOW_KEY_FILE", str(tmp_path / "absent.key"))
    keyless = AidFlow.open(store_url)
    try:
        reads = events_read_after(keyless, monkeypatch)
        assert keyless.load_fund(gov).version == 130
        assert reads == [None]
        verification = keyless.verify_snapshots()
        assert verification.ok and verification.unchecked == 1
        assert (
            "1 seals not checked (no master key given, or this login holds no key)"
            in verification.message
        )
    finally:
        keyless.close()
