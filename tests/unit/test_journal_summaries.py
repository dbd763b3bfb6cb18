"""The journal's summaries: one template per event, rendered in English and in Chinese."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any
from uuid import UUID, uuid4

import pytest

from aidflow.domain.events import NAMES
from aidflow.i18n import using
from aidflow.projections.audit.summaries import TEMPLATES, english_summary, summary

_META = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def _sample(kind: Any) -> Any:
    origin = typing.get_origin(kind) or kind
    if origin is bool:
        return True
    if origin is int:
        return 123_456
    if origin in (list, tuple):
        return ["living", "supplies"]
    if origin is dict:
        return {}
    if origin is UUID:
        return str(uuid4())
    return "Gaoping"


def _detail(cls: type[Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: _sample(hints[f.name]) for f in dataclasses.fields(cls) if f.name not in _META}


def test_every_event_in_the_catalogue_has_a_summary_template() -> None:
    assert set(TEMPLATES) == set(NAMES)


@pytest.mark.parametrize("cls", list(NAMES), ids=list(NAMES.values()))
def test_every_summary_renders_from_the_events_own_fields_in_both_languages(cls: type) -> None:
    name, detail = NAMES[cls], _detail(cls)
    english = english_summary(name, detail)
    with using("zh"):
        chinese = summary(name, detail)
    assert english != name, "the template names a field the event does not have"
    assert chinese != name
    assert chinese != english
    assert english.isascii()
    assert not chinese.isascii()


def test_domain_values_are_translated_and_typed_data_is_not() -> None:
    detail = {
        "student_id": "5203**********1234",
        "name": "Wang Fang",
        "university": "Guizhou University",
        "family_category": "dibao",
        "town": "Gaoping",
        "year": 2026,
        "account": "6222***********3445",
        "source": "screening",
        "actor": "clerk",
    }
    with using("zh"):
        text = summary("case.applied", detail)
    assert "低保" in text and "dibao" not in text
    assert "Wang Fang" in text and "Gaoping" in text
    assert english_summary("case.applied", detail) == (
        "case opened for Wang Fang (dibao, Gaoping, 2026) by screening"
    )


def test_an_event_name_this_version_does_not_know_shows_its_name() -> None:
    assert summary("case.from_the_future", {"x": 1}) == "case.from_the_future"
