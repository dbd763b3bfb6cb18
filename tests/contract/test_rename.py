"""Issue 9, done when: renaming an event class or moving a domain module leaves `audit check`
and every view's figures unchanged on the same store.

A rename keeps the class's ``TOPIC`` (the stored contract) and changes its Python name and
module, which is what a maintainer's refactoring does. The read side must not notice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from aidflow import AidFlow
from aidflow.domain.events import CATALOGUE
from aidflow.office.demo import run_demo
from aidflow.projections import ReadModels


def _figures(url: str) -> dict[str, Any]:
    flow = AidFlow.open(url)
    views = ReadModels.attach(flow, url)
    views.rebuild(flow)
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with views.engine.connect() as conn:
        for view in views.views.values():
            for table in view.metadata.sorted_tables:
                order = list(table.primary_key.columns)
                tables[table.name] = [
                    tuple(r) for r in conn.execute(sa.select(table).order_by(*order))
                ]
    result = views.check_report(flow.current_policy())
    figures = {
        "tables": tables,
        "ledger": views.ledger().model_dump(),
        "violations": [v.model_dump() for v in result.violations],
        "checked": result.checked,
        "history": [e.type for e in flow.history(flow.staff_registry().id)],  # type: ignore[union-attr]
    }
    views.close()
    flow.close()
    return figures


def test_figures_match_with_and_without_the_rename(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/store.db"
    flow = AidFlow.open(url)
    run_demo(flow, seed=3)
    flow.close()
    plain = _figures(url)
    saved = [(cls, cls.__qualname__, cls.__module__, cls.__name__) for cls in CATALOGUE]
    try:
        for cls in CATALOGUE:
            cls.__qualname__ = "Renamed" + cls.__qualname__.replace(".", "_")
            cls.__name__ = "Renamed" + cls.__name__
            cls.__module__ = "aidflow.somewhere_else"
        renamed_figures = _figures(url)
    finally:
        for cls, qualname, module, name in saved:
            cls.__qualname__, cls.__module__, cls.__name__ = qualname, module, name
    assert plain["violations"] == [] and sum(plain["checked"].values()) > 1000
    assert renamed_figures == plain
