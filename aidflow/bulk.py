"""Work that makes many small objects at once: a page of views, a registry of 500,000 rows.

Python's cyclic garbage collector runs after every few hundred allocations and, as the heap
grows, scans every object the process holds again and again. Rows, records and events hold
no reference cycles, so scanning them finds nothing: reading a 500,000-row registry spent
over a third of its CPU there (issue 24 §6).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection inside the block; reference counting frees as before.

    A collector the host had turned off stays off. Garbage in a cycle made inside the block
    is collected at the next collection after it.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def held_unscanned() -> Iterator[Callable[[], None]]:
    """What the process holds when the block starts is left out of the collector's scans
    until it ends (:func:`gc.freeze`), and the collector runs only when the block calls the
    function it is given, between batches: a screening keeps its files' rows to the end while
    it saves 50,000 cases, and each full collection scanned them all again (36 of them, and
    4,500 young ones, 2.7 s of a 19 s screening; none found a cycle).

    Calling it collects the young generations: whatever cycle a batch made and dropped (an
    exception's traceback, say) is freed then, as the collector would have freed it; only a
    cycle dropped after it outlived a call waits for the block's end. Objects are freed by
    reference counting as before. A collector the host had turned off stays off (and the
    function does nothing). Blocks in two threads at once are safe: the first to end lets
    the collector scan everything again.
    """
    enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield _collect_young if enabled else _nothing
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()


def _collect_young() -> None:
    gc.collect(1)


def _nothing() -> None:
    return None
