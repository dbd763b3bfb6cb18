"""Where event timestamps come from, and which day a moment falls on for the office.

Events are stamped with the current UTC time. A simulation (the demo, tests of
timeliness rules) may run a whole programme year in seconds by installing its
own clock for the duration of a command; the store still orders by position.

Stored times stay UTC. Days are the office's (issue 23 §7): the policy's ``timezone``
(``Asia/Shanghai`` unless set) decides the day a moment falls on (due dates, a payment
list's date, report days, a notice's period), what ``--as-of 2026-08-29`` means (the end of
that day in the office) and how times are shown. :func:`office_day`, :func:`local` and
:func:`day_end` are the only places that turn one into the other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

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


OFFICE_ZONE = "Asia/Shanghai"
"""The office's time zone unless its policy names another (``policy set timezone``)."""


@cache
def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (checked when the policy is set)."""
    return ZoneInfo(name)


def office_day(moment: datetime, zone_name: str) -> date:
    """The office's calendar day at ``moment`` (an act at 07:30 in Guizhou is that day)."""
    return moment.astimezone(zone(zone_name)).date()


def office_time(moment: datetime, zone_name: str) -> datetime:
    """``moment`` on the office's clock, for showing to people."""
    return moment.astimezone(zone(zone_name))


def local(moment: datetime, zone_name: str) -> datetime:
    """A moment as UTC: one without a zone is a time on the office's clock."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(zone_name))
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01 or 9999-12-31 on a clock ahead of or behind UTC
        from aidflow.domain.errors import InvalidInput, said

        raise InvalidInput(
            said(
                "{value!r} is outside the times aidflow can represent in UTC",
                value=moment.replace(tzinfo=None).isoformat(),
            )
        ) from None


def day_start(day: date, zone_name: str) -> datetime:
    """The first instant of the office's ``day``, in UTC."""
    return datetime.combine(day, time.min, tzinfo=zone(zone_name)).astimezone(UTC)


def day_end(day: date, zone_name: str) -> datetime:
    """The last instant of the office's ``day``, in UTC (``--as-of DAY`` means this)."""
    return day_start(day + timedelta(days=1), zone_name) - timedelta(microseconds=1)
