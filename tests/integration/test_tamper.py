"""Tamper evidence for every part of a stored record, on SQLite and PostgreSQL.

Each test changes one thing in the store behind the application's back (a record's
topic, its aggregate id, its version, its position; a record inserted, removed, two
swapped; the audit view's recorded chain) and asserts that ``audit verify`` fails and
names the position where the store stops matching. ``test_chain.py`` covers changed
bytes, a removed last record and a chain rebuilt to match an altered store.

Snapshots sit outside the chain (it hashes the events table only): they are sealed with a
key derived from the master key and checked against a replay; their attacks are in
tests/integration/test_snapshot_seal.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest
import sqlalchemy as sa

from aidflow import AidFlow
from aidflow.projections import ReadModels
from aidflow.projections.audit.tables import journal_table
from aidflow.projections.base import create_view_engine
from aidflow.projections.models import Digest, Verification
from tests.builders import OFFICE_EVENTS, donation_fund, government_fund, paid, register_staff

History = tuple[AidFlow, ReadModels, Digest, sa.Engine]
TARGET = OFFICE_EVENTS + 9  # a fund allocation, past the test office's registration
"""A record in the middle of the history (a fund's allocation for the first grant)."""


def sql(flow: AidFlow, statement: str) -> sa.TextClause:
    """A statement on the store's own events table, whatever the backend calls it."""
    table = flow.recorder.events_table_name  # type: ignore[attr-defined]
    position = "rowid" if is_sqlite(flow) else "notification_id"
    return sa.text(statement.replace("stored_events", table).replace("notification_id", position))


def is_sqlite(flow: AidFlow) -> bool:
    return "sqlite" in type(flow.recorder).__module__


@pytest.fixture
def history(store_url: str) -> Iterator[History]:
    flow = AidFlow.open(store_url)
    register_staff(flow)
    views = ReadModels.attach(flow, store_url)
    gov = government_fund(flow)
    donation_fund(flow)
    for n in range(1, 4):
        paid(flow, gov, n)
    digest = views.digest()
    raw = create_view_engine(store_url)
    try:
        yield flow, views, digest, raw
    finally:
        raw.dispose()
        views.close()
        flow.close()


def record(flow: AidFlow, raw: sa.Engine, position: int) -> sa.Row[tuple[object, ...]]:
    with raw.connect() as conn:
        return conn.execute(
            sql(
                flow,
                "SELECT originator_id, originator_version, topic, state FROM stored_events "
                "WHERE notification_id = :n",
            ),
            {"n": position},
        ).one()


def assert_named(result: Verification, position: int) -> None:
    assert not result.ok
    assert result.first_mismatch == position
    assert f"from position {position}" in result.message


def test_untouched_store_verifies_and_names_what_it_checked(history: History) -> None:
    flow, views, digest, _ = history
    result = views.verify(flow, digest)
    assert result.ok and result.first_mismatch is None
    assert result.checked == digest.position == flow.recorder.max_notification_id()
    assert f"{digest.position} events up to position {digest.position}" in result.message


def test_changed_topic_is_named(history: History) -> None:
    flow, views, digest, raw = history
    assert record(flow, raw, TARGET).topic == "aidflow:Fund.Allocated"
    with raw.begin() as conn:
        conn.execute(
            sql(flow, "UPDATE stored_events SET topic = :t WHERE notification_id = :n"),
            {"t": "aidflow:Fund.Released", "n": TARGET},
        )
    assert_named(views.verify(flow, digest), TARGET)


def test_changed_originator_id_is_named(history: History) -> None:
    flow, views, digest, raw = history
    before = record(flow, raw, TARGET).originator_id
    forged: object = UUID(int=UUID(str(before)).int ^ 1)
    if isinstance(before, str):
        forged = str(forged) if "-" in before else UUID(str(forged)).hex
    with raw.begin() as conn:
        conn.execute(
            sql(flow, "UPDATE stored_events SET originator_id = :o WHERE notification_id = :n"),
            {"o": forged, "n": TARGET},
        )
    assert record(flow, raw, TARGET).originator_id != before
    assert_named(views.verify(flow, digest), TARGET)


def test_changed_version_is_named(history: History) -> None:
    flow, views, digest, raw = history
    with raw.begin() as conn:
        conn.execute(
            sql(
                flow,
                "UPDATE stored_events SET originator_version = originator_version + 1000 "
                "WHERE notification_id = :n",
            ),
            {"n": TARGET},
        )
    assert_named(views.verify(flow, digest), TARGET)


def test_record_moved_to_another_position_is_named(history: History) -> None:
    flow, views, digest, raw = history
    with raw.begin() as conn:
        conn.execute(
            sql(flow, "UPDATE stored_events SET notification_id = :to WHERE notification_id = :n"),
            {"to": digest.position + 100, "n": TARGET},
        )
    result = views.verify(flow, digest)
    assert_named(result, TARGET)
    assert "missing" in result.message


def _shift_from(flow: AidFlow, raw: sa.Engine, position: int, by: int) -> None:
    """Renumber every record from ``position`` on by ``by`` (through negatives: no collisions)."""
    with raw.begin() as conn:
        conn.execute(
            sql(
                flow,
                "UPDATE stored_events SET notification_id = -(notification_id + :by) "
                "WHERE notification_id >= :n",
            ),
            {"by": by, "n": position},
        )
        conn.execute(
            sql(
                flow,
                "UPDATE stored_events SET notification_id = -notification_id "
                "WHERE notification_id < 0",
            )
        )


def test_inserted_record_is_named(history: History) -> None:
    """A forged record slipped in before the target: the target's position no longer matches."""
    flow, views, digest, raw = history
    original = record(flow, raw, TARGET)
    _shift_from(flow, raw, TARGET, 1)
    with raw.begin() as conn:
        conn.execute(
            sql(
                flow,
                "INSERT INTO stored_events "
                "(notification_id, originator_id, originator_version, topic, state) "
                "VALUES (:n, :o, :v, :t, :s)",
            ),
            {
                "n": TARGET,
                "o": original.originator_id,
                "v": int(str(original.originator_version)) + 1000,
                "t": original.topic,
                "s": original.state,
            },
        )
    assert_named(views.verify(flow, digest), TARGET)


def test_removed_record_is_named(history: History) -> None:
    flow, views, digest, raw = history
    with raw.begin() as conn:
        conn.execute(sql(flow, "DELETE FROM stored_events WHERE notification_id = :n"), {"n": 1})
    result = views.verify(flow, digest)
    assert_named(result, 1)
    assert "missing" in result.message


def test_swapped_records_are_named(history: History) -> None:
    flow, views, digest, raw = history
    last = digest.position
    with raw.begin() as conn:
        for frm, to in ((TARGET, -1), (last, TARGET), (-1, last)):
            conn.execute(
                sql(
                    flow,
                    "UPDATE stored_events SET notification_id = :to WHERE notification_id = :n",
                ),
                {"to": to, "n": frm},
            )
    assert_named(views.verify(flow, digest), TARGET)


def test_altered_chain_table_is_named(history: History) -> None:
    flow, views, digest, raw = history
    j = journal_table
    with raw.begin() as conn:
        conn.execute(sa.update(j).where(j.c.position == TARGET).values(hash="f" * 64))
    assert_named(views.verify(flow, digest), TARGET)


def test_removed_chain_link_is_named(history: History) -> None:
    flow, views, digest, raw = history
    j = journal_table
    with raw.begin() as conn:
        conn.execute(sa.delete(j).where(j.c.position == TARGET))
    assert_named(views.verify(flow, digest), TARGET)


def test_digest_from_another_store_fails(history: History) -> None:
    flow, views, digest, _ = history
    result = views.verify(flow, Digest(position=digest.position - 1, hash=digest.hash))
    assert not result.ok
