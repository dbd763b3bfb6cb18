"""The views' JSON (orjson on the fast path) is byte for byte what ``json`` writes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from aidflow.projections.base import _json_default, to_json
from aidflow.proofs.leaves import _s
from tests.properties import examples


def reference(value: Any) -> str:
    return json.dumps(
        value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=_json_default
    )


class Colour(StrEnum):
    RED = "red"


scalars = (
    st.none()
    | st.booleans()
    | st.integers()  # beyond 64 bits too
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()  # control characters, look-alikes, lone surrogates
    | st.uuids()
    | st.dates()
    | st.datetimes(timezones=st.none() | st.just(UTC))
    | st.just(Colour.RED)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=examples(300))
@given(values)
def test_same_bytes_as_json(value: Any) -> None:
    try:
        expected = reference(value)
    except (TypeError, ValueError):
        return  # json refuses it too (e.g. mixed key types when sorting)
    assert to_json(value) == expected


def test_the_values_events_carry() -> None:
    fields = {
        "student_id": "5203**********1234",
        "name": '张\u200b三\u0000\u2028"\\',
        "amount_fen": 2**63 + 5,
        "fund_id": UUID(int=7),
        "value_date": date(2026, 9, 1),
        "at": datetime(2026, 7, 1, 8, 0, 0, 5, tzinfo=UTC),
        "actions": [("health", "medical"), ("education", "tuition")],
        "ratio": 1e16,
        "lone": "\ud800",
        1: "int key",
    }
    assert to_json({k: v for k, v in fields.items() if k != 1}) == reference(
        {k: v for k, v in fields.items() if k != 1}
    )
    assert to_json({1: "a"}) == reference({1: "a"}) == '{"1":"a"}'
    assert to_json({"x": Colour.RED}) == '{"x":"red"}'


@settings(max_examples=examples(300))
@given(st.none() | st.text())
def test_leaf_strings_same_as_json(value: str | None) -> None:
    assert _s(value) == json.dumps(value, ensure_ascii=False)
