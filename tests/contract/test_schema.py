"""The stored-event contract: a golden file of every event's topic, version and fields.

A difference here is a schema change, to be reviewed against the versioning rules
in docs/domain.md: a field may be added with a default; anything else bumps
``class_version`` with an upcaster, or is a new event type. Regenerate the golden
file only for a reviewed change: ``AIDFLOW_WRITE_GOLDEN=1 pytest tests/contract``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import typing
from pathlib import Path
from typing import Any

from aidflow.domain.events import AGGREGATES, CATALOGUE, LEGACY_TOPICS, NAMES

GOLDEN = Path(__file__).parent / "schema.json"
_BASE_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def _type_name(annotation: Any) -> str:
    text = str(annotation) if not isinstance(annotation, type) else annotation.__name__
    return text.replace("typing.", "").replace("datetime.", "").replace("uuid.", "")


def current_schema() -> dict[str, Any]:
    events = {}
    for cls in CATALOGUE:
        hints = typing.get_type_hints(cls)
        fields = {}
        for field in dataclasses.fields(cls):
            if field.name in _BASE_FIELDS:
                continue
            entry = {"type": _type_name(hints[field.name])}
            if field.default is not dataclasses.MISSING:  # as JSON keeps it: () is []
                default = field.default
                entry["default"] = list(default) if isinstance(default, tuple) else default
            fields[field.name] = entry
        events[cls.TOPIC] = {
            "name": NAMES[cls],
            "class_version": getattr(cls, "class_version", 1),
            "fields": fields,
        }
    aggregates = {
        cls.TOPIC: {"class_version": getattr(cls, "class_version", 1)} for cls in AGGREGATES
    }
    legacy = {topic: cls.TOPIC for topic, cls in LEGACY_TOPICS.items()}
    return {"events": events, "aggregates": aggregates, "legacy_topics": legacy}


def test_the_stored_event_contract_matches_the_golden_file() -> None:
    schema = current_schema()
    if os.environ.get("AIDFLOW_WRITE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
    golden = json.loads(GOLDEN.read_text())
    assert schema == golden, (
        "the stored-event contract changed: review it against docs/domain.md (Versioning), "
        "then regenerate tests/contract/schema.json with AIDFLOW_WRITE_GOLDEN=1"
    )


def test_a_legacy_topic_is_never_dropped() -> None:
    """Stores written by earlier releases hold these topics for ever."""
    golden = json.loads(GOLDEN.read_text())
    assert set(golden["legacy_topics"]) <= set(LEGACY_TOPICS)


def test_every_event_and_aggregate_has_a_location_free_topic() -> None:
    from eventsourcing.utils import get_topic, resolve_topic

    for cls in (*CATALOGUE, *AGGREGATES):
        topic = get_topic(cls)
        assert topic.startswith("aidflow:"), f"{cls} is stored under {topic}"
        assert resolve_topic(topic) is cls, f"{topic} does not decode to {cls}"


def test_stable_names_are_unique() -> None:
    assert len(set(NAMES.values())) == len(NAMES)
