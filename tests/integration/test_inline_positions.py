"""The inline catch-up's fast path: remembered positions checked and moved in one statement.

Two processes (here: two flows, each with its own read side attached) write to one
store; each catches up after its own commands. Whenever the other has moved the
views meanwhile, the remembered positions are stale: the compare-and-set finds it,
the transaction is rolled back and the positions are read, so no event is applied
twice or skipped and no view stops.
"""

from __future__ import annotations

from typing import Any

import pytest

from aidflow import AidFlow
from aidflow.projections import ReadModels, runner
from aidflow.projections.tracking import move_together
from tests.builders import government_fund, paid, register_staff, verified
from tests.integration.test_projections import dump
from tests.integration.test_view_failures import rebuilt


def test_two_writers_inline_views_never_apply_an_event_twice(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcomes: list[bool] = []

    def spy(*args: Any) -> bool:
        moved = move_together(*args)
        outcomes.append(moved)
        return moved

    monkeypatch.setattr(runner, "move_together", spy)
    one = AidFlow.open(store_url)
    register_staff(one)
    two = AidFlow.open(store_url)
    views_one = ReadModels.attach(one, store_url)
    views_two = ReadModels.attach(two, store_url)
    fund = government_fund(one)
    cases = []
    for n in range(1, 7):  # alternate: each side's remembered positions are stale every time
        writer = one if n % 2 else two
        cases.append(paid(writer, fund, n=n) if n % 3 else verified(writer, n=n))
    for views, flow in ((views_one, one), (views_two, two)):
        assert [(s.behind, s.error, s.damage) for s in views.status(flow)] == [(0, None, None)] * 3
    assert dump(views_one) == dump(views_two) == rebuilt(one)
    assert {c.status for c in views_one.cases()} == {"paid", "verified"}
    assert True in outcomes and False in outcomes  # the fast path ran, and caught stale positions
    # and a side whose positions nobody moved takes the fast path again, and agrees
    paid(one, fund, n=20)
    assert dump(views_one) == rebuilt(one)
    views_one.close()
    views_two.close()
    one.close()
    two.close()
