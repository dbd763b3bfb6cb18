"""Where event timestamps come from.

Events are stamped with the current UTC time. A simulation (the demo, tests of
timeliness rules) may run a whole programme year in seconds by installing its
own clock for the duration of a command; the store still orders by position.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]

CLOCK_TOLERANCE = timedelta(minutes=5)
"""How far behind a record's last event a new one may be stamped and still be a concurrent
writer's, not a clock that went back: a command takes its moment when it starts and may read
a record another writer added to a moment later (it is then stamped at that event's time)."""

_clock: ContextVar[Clock | None] = ContextVar("aidflow_clock", default=None)


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    clock = _clock.get()
    moment = clock() if clock is not None else datetime.now(tz=UTC)
    if moment.tzinfo is None:
        raise ValueError("aidflow clocks must return timezone-aware datetimes")
    return moment.astimezone(UTC)


def fixed(moment: datetime) -> Clock:
    """A clock that always says ``moment``: one command, one timestamp."""
    return lambda: moment


@contextmanager
def using_clock(clock: Clock | None) -> Iterator[None]:
    """Stamp events created inside the block with ``clock()``."""
    token = _clock.set(clock)
    try:
        yield
    finally:
        _clock.reset(token)
