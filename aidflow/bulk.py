"""Work that makes many small objects at once: a page of views, a registry of 500,000 rows.

Python's cyclic garbage collector runs after every few hundred allocations and, as the heap
grows, scans every object the process holds again and again. Rows, records and events hold
no reference cycles, so scanning them finds nothing: reading a 500,000-row registry spent
over a third of its CPU there (issue 24 §6).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
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
def held_unscanned() -> Iterator[None]:
    """What the process holds when the block starts is left out of the collector's scans
    until it ends (:func:`gc.freeze`): a screening keeps its files' rows to the end while it
    saves 50,000 cases, and each full collection scanned them all again.

    Only scanning changes: objects are freed as before, and garbage cycles among the held
    objects are collected after the block. Blocks in two threads at once are safe: the first
    to end scans everything again.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
