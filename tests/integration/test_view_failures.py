"""A view that fails on a stored event is contained (issue 8 §3).

Commands keep being recorded, the other views keep going, ``verify`` still works,
``status`` says which view stopped where and why, queries on the stopped view
refuse to answer from stale rows, and the view resumes from its last good
position once the cause is gone. A view ahead of the store is damage, never a
negative lag.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from eventsourcing.domain import Aggregate, event

from aidflow import AidFlow
from aidflow.config import parse_url
from aidflow.domain.errors import StoreDamaged, StoreError, StoreUnavailable
from aidflow.projections import ReadModels, dossier
from aidflow.projections.base import create_view_engine
from aidflow.projections.catalogue import StudentCase
from aidflow.projections.models import ViewStatus
from aidflow.projections.tracking import view_table
from tests.builders import applied, government_fund, paid, register_staff, verified
from tests.integration.test_chain import sql
from tests.integration.test_projections import dump
from tests.pg import fresh_database


@pytest.fixture
def strict_flow(store_url: str) -> Iterator[AidFlow]:
    """A store whose commands fail if a read model complains (AidFlow turns that into a warning)."""
    flow = AidFlow.open(store_url)
    register_staff(flow)
    with warnings.catch_warnings():
        # Only the read side's complaint becomes an error: an unrelated ResourceWarning
        # (a connection another test leaked, collected now) must not fail this test.
        warnings.filterwarnings("error", message=".*a read model is behind")
        yield flow
    flow.close()


def by_name(statuses: list[ViewStatus]) -> dict[str, ViewStatus]:
    return {s.name: s for s in statuses}


def rebuilt(flow: AidFlow) -> dict[str, list[tuple[Any, ...]]]:
    scratch = ReadModels(create_view_engine("sqlite:///:memory:"))
    scratch.catch_up(flow)
    return dump(scratch)


def position_of(flow: AidFlow, case: UUID, event_class: type[Any]) -> int:
    for record in flow.recorder.select_notifications(start=1, limit=10_000):
        if record.originator_id == case and isinstance(
            flow.mapper.to_domain_event(record), event_class
        ):
            return record.id
    raise AssertionError(f"no {event_class.__qualname__} for {case}")


def test_a_failing_writer_stops_its_view_alone_and_resumes_after_the_fix(
    store_url: str, strict_flow: AidFlow, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow = strict_flow
    views = ReadModels.attach(flow, store_url)
    gov = government_fund(flow)
    first = paid(flow, gov, 1)

    def broken(case: dict[str, Any], event: Any, at: Any) -> None:
        raise ValueError("amount does not fit the column")

    monkeypatch.setitem(dossier._CHANGES, StudentCase.Disbursed, broken)
    second = paid(flow, gov, 2)  # recorded, though the dossier cannot take its payment
    third = verified(flow, 3)  # and later commands too
    failed_at = position_of(flow, second, StudentCase.Disbursed)
    head = flow.recorder.max_notification_id()

    status = by_name(views.status(flow))
    assert status["dossier"].failed_position == failed_at
    assert status["dossier"].position == failed_at - 1
    assert "ValueError: amount does not fit the column" in (status["dossier"].error or "")
    assert status["dossier"].behind == head - (failed_at - 1) and status["dossier"].damage is None
    for other in ("queue", "audit"):
        assert (status[other].position, status[other].error) == (head, None)

    with pytest.raises(StoreError, match=f"stopped at position {failed_at}.*rebuild dossier"):
        views.dossier(str(first))
    with pytest.raises(StoreError, match="rebuild dossier"):
        views.cases()
    assert [line.aggregate_id for line in views.journal()][-1] == str(third)  # audit goes on
    assert views.verify(flow, views.digest()).ok
    assert views.check(flow.policy) == []

    monkeypatch.undo()  # the fix; the same process does not retry the stopped view
    verified(flow, 4)
    assert by_name(views.status(flow))["dossier"].position == failed_at - 1
    again = ReadModels.attach(flow, store_url)  # a new process retries from where it stopped
    assert all((s.position, s.error) == (s.head, None) for s in again.status(flow))
    assert again.dossier(str(second)).status == "paid"
    assert dump(again) == rebuilt(flow)
    again.close()
    views.close()


def test_rebuild_clears_a_failure(
    store_url: str, strict_flow: AidFlow, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow = strict_flow
    views = ReadModels.attach(flow, store_url)
    monkeypatch.setitem(
        dossier._CHANGES,
        StudentCase.Verified,
        lambda case, event, at: (_ for _ in ()).throw(KeyError("gap_fen")),
    )
    verified(flow, 1)
    assert "KeyError" in (by_name(views.status(flow))["dossier"].error or "")
    monkeypatch.undo()
    views.rebuild(flow, ["dossier"])
    assert [s.error for s in views.status(flow)] == [None, None, None]
    assert dump(views) == rebuilt(flow)
    views.close()


class Stray(Aggregate):
    """An aggregate whose events are in no catalogue: what a newer release might write."""

    @event("Noticed")
    def notice(self, what: str) -> None:
        self.what = what


def test_an_event_outside_the_catalogue_stops_every_view_instead_of_being_skipped(
    store_url: str, strict_flow: AidFlow
) -> None:
    flow = strict_flow
    views = ReadModels.attach(flow, store_url)
    gov = government_fund(flow)
    digest = views.digest()
    stray = Stray()
    stray.notice("a new kind of event")
    flow.save(stray)
    stray_at = flow.recorder.max_notification_id()
    paid(flow, gov, 1)  # commands still work after it

    for s in views.status(flow):
        assert s.failed_position == stray_at - 1, s  # Stray's creation comes first
        assert "neither handles nor ignores" in (s.error or "") and "Stray" in (s.error or "")
    with pytest.raises(StoreError, match="neither handles nor ignores"):
        views.ledger()
    assert views.verify(flow, digest).ok
    views.close()


@pytest.mark.postgres
def test_a_view_with_a_value_its_column_cannot_hold_is_contained_on_postgres() -> None:
    """A real database error (a 70-character voucher in a 64-character column) stops the audit view."""
    with fresh_database() as url:
        flow = AidFlow.open(url)
        register_staff(flow)
        views = ReadModels.attach(flow, url)
        gov = government_fund(flow)
        digest = views.digest()
        case = flow.load_case(verified(flow, 1))
        case._grant_approved(
            amount_fen=100_000,
            need="tuition",
            fund_id=gov,
            actor="approver",
            ref="",
            policy_version=0,
        )
        case._disbursed(
            amount_fen=100_000,
            voucher="V" * 70,
            fund_id=gov,
            value_date=None,
            actor="cashier",
            account="",
            listed=False,
            use="grant",
        )
        flow.save(case)  # written around the commands, as an import might
        views.catch_up(flow)
        status = by_name(views.status(flow))
        assert "StringDataRightTruncation" in (status["audit"].error or "")
        assert status["audit"].failed_position == flow.recorder.max_notification_id()
        assert status["dossier"].error is None and status["queue"].error is None
        assert views.dossier(str(case.id)).disbursed_fen == 100_000
        assert views.verify(flow, digest).ok
        views.close()
        flow.close()


def test_a_view_ahead_of_the_store_is_damage_not_a_negative_lag(
    store_url: str, strict_flow: AidFlow
) -> None:
    flow = strict_flow
    views = ReadModels.attach(flow, store_url)
    gov = government_fund(flow)
    paid(flow, gov, 1)
    head = flow.recorder.max_notification_id()
    raw = create_view_engine(store_url)
    with raw.begin() as conn:  # the store loses its last events (a restored backup, say)
        conn.execute(
            sql(flow, "DELETE FROM stored_events WHERE notification_id > :n"), {"n": head - 3}
        )
    raw.dispose()

    for s in views.status(flow):
        assert s.position == head and s.head == head - 3
        assert s.behind == 0 and s.damage is not None and "ahead of the store" in s.damage
    views.catch_up(flow)  # records the damage, so it stays when the store grows past it
    with pytest.raises(StoreDamaged, match="rebuild audit"):
        views.ledger()
    views.rebuild(flow)
    assert all(
        (s.position, s.damage, s.error) == (head - 3, None, None) for s in views.status(flow)
    )
    assert dump(views) == rebuilt(flow)
    views.close()


def test_reads_are_guarded_but_status_and_verify_never_are(store_url: str) -> None:
    flow = AidFlow.open(store_url)
    register_staff(flow)
    views = ReadModels.attach(flow, store_url)
    paid(flow, government_fund(flow), 1)
    digest = views.digest()
    with views.engine.begin() as conn:  # as another process would record it
        conn.execute(
            sa.update(view_table)
            .where(view_table.c.view == "audit")
            .values(failed_position=1, error="RuntimeError: recorded by another process")
        )
    with pytest.raises(StoreError, match="recorded by another process"):
        views.digest()
    assert by_name(views.status(flow))["audit"].error == "RuntimeError: recorded by another process"
    assert views.verify(flow, digest).ok
    assert views.cases()  # the other views still answer
    views.close()
    flow.close()


def test_a_stored_record_that_cannot_be_decoded_stops_the_views_at_it(
    store_url: str, strict_flow: AidFlow
) -> None:
    flow = strict_flow
    gov = government_fund(flow)
    paid(flow, gov, 1)
    head = flow.recorder.max_notification_id()
    raw = create_view_engine(store_url)
    with raw.begin() as conn:
        conn.execute(
            sql(flow, "UPDATE stored_events SET state = :s WHERE notification_id = :n"),
            {"s": b"not an event", "n": head - 1},
        )
    raw.dispose()
    views = ReadModels.attach(flow, store_url)
    for s in views.status(flow):
        assert (s.position, s.failed_position) == (head - 2, head - 1), s
        assert "StoreDamaged" in (s.error or "") and "cannot be decoded" in (s.error or "")
    views.close()


def _drop_key_connection(flow: AidFlow, url: str) -> None:
    """The server ends the key vault's connection (a restart, a DBA's kill, a network cut)."""
    pid = flow.mapper.vault.db.conn().execute("SELECT pg_backend_pid()").fetchone()[0]
    with parse_url(url).connect() as other:
        other.execute("SELECT pg_terminate_backend(%s)", (pid,))


@pytest.mark.postgres
def test_a_lost_key_connection_stops_no_view_and_the_next_catch_up_applies(
    reused_database: Any,
) -> None:
    """Opening a name for the views needs the key tables. Their connection lost, the views
    recorded every view stopped on the record ("cannot be decoded: the connection is
    closed") and kept the dead connection, so nothing could be read again until the process
    ended. Now the catch-up is refused ``store_unavailable``, nothing is recorded against
    the record, and the next one connects again and applies it; so does the next command."""
    url = reused_database.empty_store()
    flow = AidFlow.open(url)
    register_staff(flow)
    applied(flow, 1)
    views = ReadModels.attach(flow, url)
    other = AidFlow.open(url)  # another process: a student this one holds no key of
    applied(other, 2)
    _drop_key_connection(flow, url)
    with pytest.raises(StoreUnavailable, match="lost the connection"):
        views.catch_up(flow)
    assert [(s.behind > 0, s.error, s.damage) for s in views.status(flow)] == [
        (True, None, None)
    ] * 3
    views.catch_up(flow)
    assert [(s.behind, s.error, s.damage) for s in views.status(flow)] == [(0, None, None)] * 3
    _drop_key_connection(flow, url)
    before = flow.recorder.max_notification_id()
    with pytest.raises(StoreUnavailable):
        applied(flow, 3)  # a new student's key is written first: nothing of it recorded
    assert flow.recorder.max_notification_id() == before
    applied(flow, 3)  # the same command again
    views.catch_up(flow)
    assert len(views.cases()) == 3
    views.close()
    other.close()
    flow.close()
