"""A view's times as the driver stores them: the same text or value whatever zone a time
carries, and the shortcut for UTC (how stored events' times are read) equal to the long way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from aidflow.projections.base import db_time

_ZONES = st.sampled_from(
    [
        UTC,
        timezone(timedelta(hours=8)),
        timezone(timedelta(hours=-5, minutes=-30)),
        timezone(timedelta(0), "Z0"),
    ]
)
_MOMENTS = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=_ZONES
)


def _long_way(dialect: sa.Dialect, moment: datetime) -> object:
    naive = moment.astimezone(UTC).replace(tzinfo=None)
    return naive.isoformat(" ", "microseconds") if dialect.name == "sqlite" else naive


@given(_MOMENTS)
def test_a_time_is_stored_as_its_utc_moment_in_every_zone(moment: datetime) -> None:
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        assert db_time(dialect, moment) == _long_way(dialect, moment)
    text = db_time(sqlite.dialect(), moment)
    assert isinstance(text, str) and len(text) == 26
    assert datetime.fromisoformat(text).replace(tzinfo=UTC) == moment


def test_no_time_is_none() -> None:
    assert db_time(sqlite.dialect(), None) is None
