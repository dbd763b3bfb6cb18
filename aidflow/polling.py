"""The one loop that waits for new events, for every reader that polls a store.

The feed's ``follow`` and ``wait_for`` and the views' follower on SQLite (whose
recorder cannot subscribe) all wait through :func:`poll`, so stopping, the
deadline and the pause between reads behave alike everywhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from threading import Event
from typing import TypeVar

T = TypeVar("T")


def poll(
    read: Callable[[], T],
    *,
    poll_seconds: float,
    stop: Event | None = None,
    deadline: float | None = None,
) -> T | None:
    """The first non-empty answer of ``read``, asked again every ``poll_seconds``.

    None when ``stop`` is set or the ``deadline`` (a :func:`time.monotonic` moment)
    passes before anything came: waiting on the event rather than sleeping lets a
    stop end the wait at once, and the last pause is cut short at the deadline.
    """
    stop = stop or Event()
    while not stop.is_set():
        batch = read()
        if batch:
            return batch
        pause = poll_seconds
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            pause = min(pause, left)
        if stop.wait(pause):
            return None
    return None
