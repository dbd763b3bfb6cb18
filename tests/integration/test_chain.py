"""Tamper evidence: a store altered on purpose is caught at the first position that changed.

The verifier is security-critical, so each way of tampering is tried on each
backend: a record's bytes changed, a record removed, two records reordered, a
record inserted, and the chain table rewritten to match an altered store.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from aidflow import AidFlow
from aidflow.projections import ReadModels
from aidflow.projections.base import create_view_engine
from aidflow.projections.models import Digest
from tests.builders import OFFICE_EVENTS, donation_fund, government_fund, paid, register_staff


def sql(flow: AidFlow, statement: str) -> sa.TextClause:
    """A statement on the store's own events table, whatever the backend calls it."""
    table = flow.recorder.events_table_name  # type: ignore[attr-defined]
    position = "rowid" if "sqlite" in type(flow.recorder).__module__ else "notification_id"
    return sa.text(statement.replace("stored_events", table).replace("notification_id", position))


def at(n: int) -> int:
    """The position of the ``n``-th event after the test office was registered."""
    return OFFICE_EVENTS + n


@pytest.fixture
def history(store_url: str) -> Iterator[tuple[AidFlow, ReadModels, Digest, sa.Engine]]:
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


def test_untouched_store_verifies(history: tuple[AidFlow, ReadModels, Digest, sa.Engine]) -> None:
    flow, views, digest, _ = history
    assert digest.position == flow.recorder.max_notification_id()
    result = views.verify(flow, Digest.parse(str(digest)))
    assert result.ok and result.first_mismatch is None and result.checked == digest.position


def test_altered_record_is_located(history: tuple[AidFlow, ReadModels, Digest, sa.Engine]) -> None:
    flow, views, digest, raw = history
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
    result = views.verify(flow, digest)
    assert not result.ok and result.first_mismatch == at(9)


def test_removed_record_is_located(history: tuple[AidFlow, ReadModels, Digest, sa.Engine]) -> None:
    flow, views, digest, raw = history
    with raw.begin() as conn:
        conn.execute(sql(flow, f"DELETE FROM stored_events WHERE notification_id = {at(7)}"))
    result = views.verify(flow, digest)
    assert not result.ok and result.first_mismatch == at(7) and "missing" in result.message


def test_removed_last_record_fails_against_digest(
    history: tuple[AidFlow, ReadModels, Digest, sa.Engine],
) -> None:
    flow, views, digest, raw = history
    with raw.begin() as conn:
        conn.execute(
            sql(flow, "DELETE FROM stored_events WHERE notification_id = :n"),
            {"n": digest.position},
        )
    result = views.verify(flow, digest)
    assert not result.ok and result.first_mismatch == digest.position


def test_reordered_records_are_located(
    history: tuple[AidFlow, ReadModels, Digest, sa.Engine],
) -> None:
    flow, views, digest, raw = history
    with raw.begin() as conn:
        conn.execute(
            sql(
                flow,
                f"UPDATE stored_events SET notification_id = -1 WHERE notification_id = {at(5)}",
            )
        )
        conn.execute(
            sql(
                flow,
                f"UPDATE stored_events SET notification_id = {at(5)} WHERE notification_id = {at(6)}",
            )
        )
        conn.execute(
            sql(
                flow,
                f"UPDATE stored_events SET notification_id = {at(6)} WHERE notification_id = -1",
            )
        )
    result = views.verify(flow, digest)
    assert not result.ok and result.first_mismatch == at(5)


def test_rewritten_chain_still_fails_against_the_digest(
    history: tuple[AidFlow, ReadModels, Digest, sa.Engine],
) -> None:
    """Someone alters the store and rebuilds the audit view to match: the exported digest still catches it."""
    flow, views, digest, raw = history
    with raw.begin() as conn:
        state = conn.execute(
            sql(flow, f"SELECT state FROM stored_events WHERE notification_id = {at(9)}")
        ).scalar_one()
        conn.execute(
            sql(flow, f"UPDATE stored_events SET state = :s WHERE notification_id = {at(9)}"),
            {"s": bytes(state).replace(b"500000", b"900000")},
        )
    views.rebuild(flow, ["audit"])
    result = views.verify(flow, digest)
    assert not result.ok and result.first_mismatch is None
    assert f"at or before position {digest.position}" in result.message


def test_digest_text_round_trips_and_rejects_garbage() -> None:
    d = Digest(position=12, hash="a" * 64)
    assert Digest.parse(str(d)) == d
    for bad in ("12", "x:" + "a" * 64, "12:" + "a" * 63, "12:" + "g" * 64):
        with pytest.raises(ValueError):
            Digest.parse(bad)
