"""A fund kept warm in the process (issue 25 §2): every approval, deposit and secondary aid
loads its fund, so the fund read last is kept and brought up to date with the events after
its version instead of replayed from its snapshot each time. It must give exactly what a
fresh load gives: what another writer recorded since, never what a refused command did to
its copy, and a record that cannot be read is still damage."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from eventsourcing.persistence import RecordConflictError

from aidflow import AidFlow
from aidflow import commands as cmd
from aidflow.domain.errors import InsufficientFunds, StoreDamaged
from aidflow.domain.fund import Fund
from aidflow.privacy import Vault, revealing
from aidflow.projections.base import create_view_engine
from tests.builders import application, approved, government_fund, national_id, register_staff


def test_what_another_writer_recorded_is_seen_by_the_next_read_and_command(
    store_url: str,
) -> None:
    first, second = AidFlow.open(store_url), AidFlow.open(store_url)
    register_staff(first)
    fund = government_fund(first, yuan=1_000)
    approved(first, fund, 1, yuan=600)
    assert first.fund(fund).balance_fen == 40_000  # warm in the first process now
    approved(second, fund, 2, yuan=300)
    assert first.fund(fund).balance_fen == 10_000  # not the 40,000 it kept
    try:
        approved(first, fund, 3, yuan=200)
    except InsufficientFunds:
        pass
    else:
        raise AssertionError("the warm fund spent money another writer had reserved")
    assert second.fund(fund).balance_fen == first.fund(fund).balance_fen == 10_000


def test_a_fund_lent_to_a_command_is_never_lent_to_another_until_given_back(flow: AidFlow) -> None:
    fund = government_fund(flow, yuan=1_000)
    lent = flow.records.fund(fund)
    lent.allocate(case_id=fund, amount_fen=70_000, use="grant", actor="approver")
    assert lent.balance_fen == 30_000 and lent.pending_events
    again = flow.records.fund(fund)  # as a refused command leaves it: nothing was saved
    assert again.balance_fen == 100_000 and not again.pending_events
    assert again is not lent
    flow.records.give_back([lent, again])  # the changed one, its events not saved, is dropped
    assert flow.records.fund(fund) is again


def _cold_loads(flow: AidFlow, monkeypatch: pytest.MonkeyPatch) -> list[UUID]:
    """The funds loaded from the store (snapshot and events) rather than lent warm."""
    loads: list[UUID] = []
    real = flow.records.load

    def load(cls: Any, aggregate_id: UUID, *args: Any) -> Any:
        if cls is Fund:
            loads.append(aggregate_id)
        return real(cls, aggregate_id, *args)

    monkeypatch.setattr(flow.records, "load", load)
    return loads


def test_commands_that_commit_or_are_refused_give_their_fund_back(
    flow: AidFlow, monkeypatch: pytest.MonkeyPatch
) -> None:
    fund = government_fund(flow, yuan=1_000)
    loads = _cold_loads(flow, monkeypatch)
    for n in range(3):
        flow.deposit(cmd.Deposit(fund_id=fund, amount_fen=1, source="s", receipt=f"R-{n}",
                                 actor="finance"))  # fmt: skip
    approved(flow, fund, 1, yuan=900)
    with pytest.raises(InsufficientFunds):
        approved(flow, fund, 2, yuan=900)  # refused before the fund changed
    approved(flow, fund, 3, yuan=50)
    assert loads == []
    assert flow.load_fund(fund).balance_fen == 100_003 - 95_000


def test_a_save_that_failed_gives_no_fund_back(
    flow: AidFlow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failed attempt's fund holds the deposit that was not stored: lent again, the retry
    would take that deposit for a retry of itself and store nothing."""
    fund = government_fund(flow, yuan=1_000)
    loads = _cold_loads(flow, monkeypatch)
    real, failed = flow.recorder.insert_events, []

    def insert_events(*args: Any, **kwargs: Any) -> Any:
        if not failed:
            failed.append(True)
            raise RecordConflictError("another writer got there first")
        return real(*args, **kwargs)

    monkeypatch.setattr(flow.recorder, "insert_events", insert_events)
    flow.deposit(
        cmd.Deposit(fund_id=fund, amount_fen=7, source="s", receipt="R-1", actor="finance")
    )
    retried = list(loads)
    assert failed and flow.load_fund(fund).balance_fen == 100_007
    assert retried == [fund]  # the retry loaded the fund from the store


def test_an_unreadable_event_after_the_warm_version_is_damage(store_url: str) -> None:
    flow = AidFlow.open(store_url)
    register_staff(flow)
    fund = government_fund(flow, yuan=1_000)
    assert flow.fund(fund).balance_fen == 100_000  # warm
    flow.deposit(
        cmd.Deposit(fund_id=fund, amount_fen=5, source="budget", receipt="R-2", actor="finance")
    )
    table = "stored_events" if store_url.startswith("sqlite") else "aidflow_events"
    raw = create_view_engine(store_url)
    with raw.begin() as conn:  # a login rewrites the newest event of the fund in place
        conn.execute(
            sa.text(
                f"UPDATE {table} SET state = :s WHERE originator_id = :o"
                f" AND originator_version = (SELECT max(originator_version) FROM {table}"
                " WHERE originator_id = :o)"
            ),
            {"s": b"{not json", "o": fund.hex if store_url.startswith("sqlite") else fund},
        )
    raw.dispose()
    try:
        flow.fund(fund)
    except StoreDamaged as damaged:
        assert damaged.ids == {"aggregate_id": str(fund)}
    else:
        raise AssertionError("the warm fund passed over an event that cannot be read")


def test_a_student_key_another_process_wrote_first_is_the_one_that_holds(store_url: str) -> None:
    """A data key made for a save is not looked for again while that save seals its other
    fields (issue 25 §2: each sealed field of an application read the key table once
    more). Another process writing the same student's key first makes the save conflict:
    it is decided again with the stored key, and both years' cases open with it."""
    first, second = AidFlow.open(store_url), AidFlow.open(store_url)
    register_staff(first)
    student = national_id(77)
    key_id = second.vault.key_id(student)
    made_here = second.vault.data_key(key_id, create=True)  # second is sealing with it
    assert second.vault.data_key(key_id, create=True) == made_here  # again: no second read
    one = first.apply(application(77, 2025))  # first writes the student's key
    with pytest.raises(RecordConflictError):
        second.vault.flush()  # second's save: the key is not the stored one
    stored = first.vault.data_key(key_id, create=False)
    assert stored is not None and stored != made_here
    two = second.apply(application(77, 2026))  # decided again with the stored key
    assert second.vault.data_key(key_id, create=False) == stored
    with revealing():
        fresh = AidFlow.open(store_url)
        assert {fresh.load_case(c).student_id for c in (one, two)} == {student}


def test_a_key_whose_write_failed_never_seals_a_later_save(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key table's write fails (a lock timeout, a full disk): the save fails, and the key
    made for it is forgotten, so the next command does not seal with a key no table holds."""
    flow = AidFlow.open(store_url)
    register_staff(flow)
    student = national_id(78)
    real = Vault._insert_all

    def failing(self: Vault, rows: Sequence[tuple[str, Any, Any]]) -> None:
        if any(table == "aidflow_data_keys" for table, *_ in rows):
            raise OSError("disk full")
        real(self, rows)

    monkeypatch.setattr(Vault, "_insert_all", failing)
    with pytest.raises(OSError, match="disk full"):
        flow.apply(application(78, 2026))
    monkeypatch.setattr(Vault, "_insert_all", real)
    case = flow.apply(application(78, 2026))
    with revealing():
        assert AidFlow.open(store_url).load_case(case).student_id == student
