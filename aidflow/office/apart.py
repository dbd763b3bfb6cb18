"""Views rebuilt in processes of their own (``aidflow projections rebuild --jobs N``).

The heaviest view is rebuilt by this process, each of the others by a fresh interpreter
(``spawn``: no connection of this process is carried into it). Each opens the store, builds
its one view aside in a scratch of its own and switches it in
(:mod:`aidflow.projections.bluegreen`), then catches it up: its rows, its tracking position
and its failure record are the same as a rebuild in one process writes. They share the
store's reads; on SQLite they take turns for each switch, on PostgreSQL each moves its own
tables. The heaviest view starts first, and there are never more processes at work than
cores (issue 25 §3).
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
    """Rebuild each of ``names`` apart, ``jobs`` at a time but never more than the cores this
    process may run on (a third rebuild on two cores only slows the heaviest, which decides
    when all are done); returns the events read (each rebuild reads the whole store: the
    most any of them read). ``progress`` is told each view's share of the events as that
    view is done.

    The heaviest view is rebuilt here, in this process, while the others are rebuilt in
    fresh interpreters, heaviest first: a fresh interpreter spends most of a second on its
    imports before it reads an event, and here that second is off the heaviest view's path
    (on two cores: 1.23x the heaviest alone when all of them went to new processes)."""
    heaviest_first = sorted(names, key=lambda name: -ReadModels.VIEWS[name].rebuild_weight)
    at_once = at_work(jobs, len(names))
    here, rest = heaviest_first[0], heaviest_first[1:]
    counts: list[int] = []

    def done(count: int) -> None:
        counts.append(count)
        if progress is not None:
            progress(count // len(names))

    if at_once == 1 or not rest:
        for name in heaviest_first:
            done(rebuild_one(url, name))
        return max(counts)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(at_once - 1, len(rest)), mp_context=context) as pool:
        pending = [pool.submit(rebuild_one, url, name) for name in rest]
        done(rebuild_one(url, here))
        for finished in as_completed(pending):
            done(finished.result())
    return max(counts)


def at_work(jobs: int, views: int) -> int:
    """How many rebuilds run at once for ``jobs`` asked and ``views`` to rebuild: no more
    than either, nor than the cores this process may run on, and at least one."""
    return max(1, min(jobs, views, cores()))


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
