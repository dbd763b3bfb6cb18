"""A sample anyone can redraw (issue 22 §6): cases drawn by a seed derived from the digest alone.

The algorithm (``aidflow-sample/1``), so that any installation, or a few lines of any
language, draws the same cases from the same digest:

1. The population: the ids of every case opened within the tree the digest names (its
   ``case.applied`` event's leaf index below the tree's size), as lower-case text, sorted.
2. ``seed = SHA-256("aidflow-sample/1|" + digest)`` (the digest as published, ``tree:SIZE:ROOT``).
3. For ``k = 0, 1, …`` until ``size`` cases are drawn (or none remain):
   ``h = SHA-256(seed ‖ k as 8 bytes big-endian)``; take the remaining case at index
   ``int(h) mod (number remaining)`` and remove it from the remaining list.

Nobody chooses the cases: the office cannot pick which to show, and an auditor who redraws
from the published digest gets the same ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

ALGORITHM = "aidflow-sample/1"


def draw(digest: str, population: Sequence[str], size: int) -> list[str]:
    """The cases ``ALGORITHM`` draws from ``population`` for ``digest`` (in drawing order)."""
    remaining = sorted(population)
    seed = hashlib.sha256(f"{ALGORITHM}|{digest}".encode()).digest()
    drawn: list[str] = []
    k = 0
    while remaining and len(drawn) < size:
        h = hashlib.sha256(seed + k.to_bytes(8, "big")).digest()
        drawn.append(remaining.pop(int.from_bytes(h, "big") % len(remaining)))
        k += 1
    return drawn
