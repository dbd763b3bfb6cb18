"""Views rebuilt in processes of their own (``aidflow projections rebuild --jobs N``).

Each view is rebuilt by a fresh interpreter (``spawn``: no connection of this process is
carried into it) that opens the store, builds that one view aside in a scratch of its own
and switches it in (:mod:`aidflow.projections.bluegreen`), then catches it up: its rows,
its tracking position and its failure record are the same as a rebuild in one process
writes. The processes share the store's reads; on SQLite they take turns for each switch,
on PostgreSQL each moves its own tables. The heaviest view starts first, and there are never
more processes than cores (issue 25 §3).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed

from aidflow.application import AidFlow
from aidflow.projections import ReadModels
from aidflow.projections.base import create_view_engine

Progress = Callable[[int], None]


def rebuild_apart(
    url: str, names: Sequence[str], jobs: int, *, progress: Progress | None = None
) -> int:
    """Rebuild each of ``names`` in a process of its own, heaviest first, ``jobs`` at a time
    but never more than the cores this process may run on (a third rebuild on two cores only
    slows the heaviest, which decides when all are done); returns the events read (each
    process reads the whole store: the most any of them read). ``progress`` is told each
    view's share of the events as that view is done."""
    context = multiprocessing.get_context("spawn")
    heaviest_first = sorted(names, key=lambda name: -ReadModels.VIEWS[name].rebuild_weight)
    workers = max(1, min(jobs, len(names), cores()))
    read = 0
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending = [pool.submit(rebuild_one, url, name) for name in heaviest_first]
        for done in as_completed(pending):
            count = done.result()
            read = max(read, count)
            if progress is not None:
                progress(count // len(names))
    return read


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def rebuild_one(url: str, name: str) -> int:
    """Rebuild the view ``name`` of the store at ``url`` (in the calling process)."""
    flow = AidFlow.open(url, create=False)
    try:
        views = ReadModels(create_view_engine(url), [name])
        try:
            return views.rebuild(flow, [name])
        finally:
            views.close()
    finally:
        flow.close()
