"""A view's times as the driver stores them: the same text or value whatever zone a time
carries, and the shortcuts (a UTC time; a record's time cut from its stored text) equal to
the long way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from aidflow.domain import StudentCase
from aidflow.projections.base import db_time
from aidflow.projections.source import StoredRecord
from aidflow.projections.view import Envelope

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


def _envelope(stamp: object) -> Envelope:
    record = StoredRecord(1, "0" * 8 + "-0000-0000-0000-" + "0" * 12, 1, "t", b"{}")
    return Envelope(record, StudentCase.Verified, None, stored={"timestamp": stamp})


@given(st.datetimes(timezones=st.just(UTC)))
def test_a_records_time_cut_from_its_text_is_the_time_formatted(moment: datetime) -> None:
    envelope = _envelope({"_type_": "datetime_iso", "_data_": moment.isoformat()})
    assert envelope.recorded_at == moment
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        assert envelope.at(dialect) == db_time(dialect, moment)
    assert envelope.recorded_at_iso() == moment.astimezone(UTC).isoformat()


@given(
    st.datetimes(timezones=st.just(UTC)).filter(lambda m: m.microsecond),
    st.sampled_from(
        [
            lambda t: t.replace(".", ","),  # a comma before the fraction: parsed alike
            lambda t: t.replace("T", " "),  # another separator
            lambda t: t[:-6] + "Z",  # UTC as Z
        ]
    ),
)
def test_a_time_written_another_way_is_formatted_not_cut(moment: datetime, spelled: Any) -> None:
    text = spelled(moment.isoformat())
    envelope = _envelope({"_type_": "datetime_iso", "_data_": text})
    assert envelope.recorded_at == datetime.fromisoformat(text) == moment
    assert envelope.at(sqlite.dialect()) == db_time(sqlite.dialect(), moment)
    assert envelope.recorded_at_iso() == moment.isoformat() != text


@given(st.datetimes(timezones=st.just(timezone(timedelta(hours=8)))))
def test_a_time_in_another_zone_is_shown_in_utc(moment: datetime) -> None:
    envelope = _envelope({"_type_": "datetime_iso", "_data_": moment.isoformat()})
    assert envelope.recorded_at_iso() == moment.astimezone(UTC).isoformat()
    assert envelope.at(sqlite.dialect()) == db_time(sqlite.dialect(), moment)


def test_a_time_not_tagged_as_one_is_not_read() -> None:
    envelope = _envelope({"_type_": "text", "_data_": "2026-09-01T08:00:00.123456+00:00"})
    assert envelope.at(sqlite.dialect()) == db_time(sqlite.dialect(), envelope.recorded_at)
    assert envelope.recorded_at_iso() == "0001-01-01T00:00:00+00:00"  # no time: as before
