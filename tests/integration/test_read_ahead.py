"""A command's reads in one round trip (issue 25 §2): what the recorder reads ahead answers a
query only where it holds the whole answer, exactly as the store would; and records read
ahead together are read at one moment, so a voucher seen implies its payment in the case.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.postgres import PostgresAggregateRecorder
from hypothesis import example, given, settings
from hypothesis import strategies as st

from aidflow import AidFlow
from aidflow import commands as cmd
from aidflow.application.records import Records
from aidflow.domain.staff import REGISTRY_ID
from aidflow.store import Ahead, SerialisedDDLApplicationRecorder
from tests.builders import approved, government_fund, register_staff
from tests.properties import examples

pytestmark = pytest.mark.postgres

DEPOSITS = 130  # past the hundred events read ahead of a record


def _deposit(fund: UUID, n: int) -> cmd.Deposit:
    return cmd.Deposit(fund_id=fund, amount_fen=1, source="s", receipt=f"R-{n}", actor="finance")


def _as_stored(events: Any) -> list[tuple[UUID, int, str, bytes]]:
    return [(e.originator_id, e.originator_version, e.topic, e.state) for e in events]


def _count_store_reads(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The records asked of the store itself from now on (not answered from a read ahead)."""
    asked: list[Any] = []
    real = PostgresAggregateRecorder.select_events

    def counted(self: Any, originator_id: Any, **kwargs: Any) -> Any:
        asked.append(originator_id)
        return real(self, originator_id, **kwargs)

    monkeypatch.setattr(PostgresAggregateRecorder, "select_events", counted)
    return asked


def test_what_is_read_ahead_answers_a_query_as_the_store_does_or_not_at_all(
    reused_database: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow = AidFlow.open(reused_database.empty_store())
    try:
        register_staff(flow)
        fund = government_fund(flow)
        for n in range(DEPOSITS):
            flow.deposit(_deposit(fund, n))
        case = approved(flow, fund)
        recorder = flow.recorder
        assert isinstance(recorder, SerialisedDDLApplicationRecorder)
        records = [fund, case, REGISTRY_ID, uuid4()]  # a long history, a short one, none
        asked = _count_store_reads(monkeypatch)
        answered_ahead = drawn = 0

        last = len(recorder.select_events(fund))  # its versions run 1..last
        newest_ten = {"record": fund, "after": 0, "most": 10, "lte": None}

        @settings(max_examples=examples(400))
        # at the window's edges: the ten newest read, one more asked (the store must answer)
        @example(**newest_ten, gt=None, desc=True, limit=10)
        @example(**newest_ten, gt=None, desc=True, limit=11)
        @example(**newest_ten, gt=last - 10, desc=False, limit=None)
        @example(**newest_ten, gt=last - 11, desc=False, limit=None)
        @example(**newest_ten, gt=last - 11, desc=True, limit=10)
        @example(**newest_ten, gt=last - 11, desc=True, limit=11)
        @given(
            record=st.sampled_from(records),
            after=st.integers(0, DEPOSITS + 5),
            most=st.integers(1, DEPOSITS + 10),
            gt=st.none() | st.integers(0, DEPOSITS + 5),
            lte=st.none() | st.integers(0, DEPOSITS + 5),
            desc=st.booleans(),
            limit=st.none() | st.integers(0, DEPOSITS + 10),
        )
        def same_answer(
            record: UUID,
            after: int,
            most: int,
            gt: int | None,
            lte: int | None,
            desc: bool,
            limit: int | None,
        ) -> None:
            nonlocal answered_ahead, drawn
            drawn += 1
            query = {"gt": gt, "lte": lte, "desc": desc, "limit": limit}
            expected = _as_stored(recorder.select_events(record, **query))
            with recorder.reading_ahead({record: Ahead(after=after, most=most)}):
                asked.clear()
                got = _as_stored(recorder.select_events(record, **query))
                answered_ahead += not asked
            assert got == expected, (after, most, query)

        same_answer()
        assert answered_ahead > 0, drawn  # not every answer passed on to the store
        # what was read whole answers every query itself, not by asking the store again
        whole = {r: Ahead(most=DEPOSITS + 10) for r in records}
        queries = [{}, {"gt": 3}, {"lte": 5}, {"desc": True, "limit": 1}, {"gt": 2, "lte": 9}]
        for query in queries:
            expected = [_as_stored(recorder.select_events(r, **query)) for r in records]
            with recorder.reading_ahead(whole):
                asked.clear()
                got = [_as_stored(recorder.select_events(r, **query)) for r in records]
                assert asked == [], query
            assert got == expected, query
        with recorder.reading_ahead({fund: Ahead(most=10)}):  # up to the window's own edge
            asked.clear()
            assert len(recorder.select_events(fund, gt=last - 10)) == 10
            assert asked == []
    finally:
        flow.close()


def test_a_commands_reads_of_the_records_it_names_are_one_statement(
    reused_database: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each of them was a statement of its own: the voucher key, the case, its programme
    year (this year's, read ahead with last year's), the registry's and the policy's
    versions."""
    flow = AidFlow.open(reused_database.empty_store())
    try:
        register_staff(flow)
        fund = government_fund(flow)
        case = approved(flow, fund)
        asked = _count_store_reads(monkeypatch)
        flow.disburse(
            cmd.Disburse(case_id=case, amount_fen=500_000, voucher="V-1", actor="cashier")
        )
        assert asked == []
    finally:
        flow.close()


def test_what_one_store_read_ahead_is_never_another_stores_answer(
    reused_database: Any,
) -> None:
    """Two offices on one database in one thread (a service embedding two): while one reads
    ahead, the other's reads of the same record ask the store and see what it holds now."""
    url = reused_database.empty_store()
    flow, other = AidFlow.open(url), AidFlow.open(url)
    try:
        register_staff(flow)
        fund = government_fund(flow)
        held = flow.fund(fund).version  # this office keeps the fund warm at this version
        with flow.records.reading_ahead([fund]):  # the events after it: none yet
            other.deposit(_deposit(fund, 1))
            assert flow.recorder.select_events(fund, gt=held) == []  # as read ahead
            assert len(other.recorder.select_events(fund, gt=held)) == 1  # made meanwhile
        assert len(flow.recorder.select_events(fund, gt=held)) == 1
    finally:
        other.close()
        flow.close()


def test_a_payment_made_meanwhile_by_another_writer_is_seen_whole_as_a_retry(
    reused_database: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another counter pays the same voucher while this one is deciding: the voucher key and
    the case are read at one moment, so the voucher is never seen without its payment (read
    apart, the case read ahead lacked the payment the voucher read after it implied, and the
    command failed on an assertion instead of answering "already paid")."""
    url = reused_database.empty_store()
    flow, other = AidFlow.open(url), AidFlow.open(url)
    try:
        register_staff(flow)
        fund = government_fund(flow)
        case = approved(flow, fund)
        payment = cmd.Disburse(case_id=case, amount_fen=500_000, voucher="V-9", actor="cashier")
        reading_ahead = Records.reading_ahead
        raced: list[Any] = []

        @contextmanager
        def racing(self: Records, *args: Any, **kwargs: Any) -> Iterator[None]:
            with reading_ahead(self, *args, **kwargs):
                if self is flow.records and not raced:  # the other counter commits now
                    raced.append(other.disburse(payment))
                yield

        monkeypatch.setattr(Records, "reading_ahead", racing)
        answer = flow.disburse(payment)
        assert raced[0].recorded
        assert not answer.recorded and answer.voucher == "V-9"
        assert flow.case(case).disbursed_fen == 500_000  # paid once
    finally:
        other.close()
        flow.close()
