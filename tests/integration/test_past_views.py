"""Views as of a past position answer by query, and agree with a scratch rebuild up to it.

The rows of the views carry the position at which they took effect, so the
ledger, the journal, the rule checks and a dossier as of position P are the
live queries bounded by P. The scratch rebuild (``ReadModels.rebuilt_as_of``)
is the cross-check: at random positions of a demo store, both must answer the
same, and a moment must resolve to a position that splits no command.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aidflow import AidFlow
from aidflow.office.demo import run_demo
from aidflow.projections import ReadModels
from tests.properties import examples


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AidFlow, ReadModels]]:
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('past')) / 'demo.db'}"
    flow = AidFlow.open(url)
    views = ReadModels.attach(flow, url)
    run_demo(flow, seed=11)
    views.catch_up(flow)
    yield flow, views
    views.close()
    flow.close()


def _same_answers(flow: AidFlow, views: ReadModels, position: int) -> None:
    by_query = views.as_of(position=position)
    rebuilt = ReadModels.rebuilt_as_of(flow, position=position)
    try:
        assert by_query.ledger(entries=True) == rebuilt.ledger(entries=True)
        assert by_query.journal() == rebuilt.journal()
        moment = rebuilt.journal()[-1].recorded_at if position else None
        if moment is not None:
            policy = flow.current_policy()
            later = moment + timedelta(days=45)
            assert by_query.check_report(policy, now=later) == rebuilt.check_report(
                policy, now=later
            )
        for case in rebuilt.cases():
            assert by_query.dossier(case.case_id) == rebuilt.dossier(case.case_id)
    finally:
        rebuilt.close()


@settings(max_examples=examples(12))
@given(fraction=st.floats(min_value=0.0, max_value=1.0))
def test_as_of_by_query_equals_as_of_by_rebuild(
    demo: tuple[AidFlow, ReadModels], fraction: float
) -> None:
    flow, views = demo
    head = flow.recorder.max_notification_id() or 0
    _same_answers(flow, views, round(head * fraction))


def test_as_of_at_both_ends_and_the_head(demo: tuple[AidFlow, ReadModels]) -> None:
    flow, views = demo
    head = flow.recorder.max_notification_id() or 0
    for position in (1, 2, head):
        _same_answers(flow, views, position)
    assert views.as_of(position=head).ledger() == views.ledger()


def test_a_moment_resolves_once_and_splits_no_command(demo: tuple[AidFlow, ReadModels]) -> None:
    """Events of one command share a timestamp: as of that moment all are in, or none."""
    _, views = demo
    lines = views.journal()
    stamps: dict[object, list[int]] = {}
    for line in lines:
        stamps.setdefault(line.recorded_at, []).append(line.position)
    shared = [p for p in stamps.values() if len(p) > 1]
    assert shared, "the demo has commands of several events"
    for positions in shared[:20]:
        moment = next(line.recorded_at for line in lines if line.position == positions[0])
        past = views.as_of(at=moment)
        assert past.upto == max(positions)
        just_before = views.as_of(at=moment - timedelta(microseconds=1))
        assert just_before.upto is not None and just_before.upto < min(positions)
        assert [j.position for j in past.journal()][-len(positions) :] == positions


def test_the_journal_pages_by_position_without_missing_or_repeating(
    demo: tuple[AidFlow, ReadModels],
) -> None:
    _, views = demo
    everything = views.journal()
    seen = []
    after = None
    while True:
        page = views.journal(after=after, limit=7)
        if not page:
            break
        seen += page
        after = page[-1].position
    assert seen == everything
