"""One leaf of the tree: an event as an auditor may see it, bound to its stored record.

The leaf is the UTF-8 text of a canonical JSON object (keys sorted, no spaces):
the event's position, aggregate id, version, stable name, time, actor and its
fields with national ID and bank account masked, plus ``record``: the SHA-256 of
the stored record as the chain hashes it (position, id, version, topic, stored
bytes). A proof carries the leaf text itself, so a verifier hashes exactly what
it shows and needs no canonicalisation of its own.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from aidflow.projections.source import Stored


def record_hash(record: Stored) -> str:
    """SHA-256 of the stored record: position, id, version, topic and bytes as stored."""
    h = hashlib.sha256(
        f"{record.id}\x1f{record.originator_id}\x1f{record.originator_version}\x1f{record.topic}\x1f".encode()
    )
    h.update(record.state)
    return h.hexdigest()


def leaf_text(record: Stored, name: str, actor: str, detail_json: str, at: Any) -> str:
    """The canonical leaf text of one event (see the module's docstring).

    ``detail_json`` is already canonical (the views' one encoder: keys sorted, no
    spaces), so it is embedded as it is; the result equals :func:`canonical_json`
    of the whole object (a test holds it to that), without decoding the detail again.
    ``at`` is the time, or its text already in UTC as ``isoformat()`` writes it.
    """
    when = at if at is None or type(at) is str else at.astimezone(UTC).isoformat()
    return (
        f'{{"actor":{_s(actor)},"aggregate_id":"{record.originator_id}","detail":{detail_json},'
        f'"position":{int(record.id)},"record":"{record_hash(record)}",'
        f'"recorded_at":{_s(when)},"type":{_s(name)},"version":{int(record.originator_version)}}}'
    )


def _s(value: str | None) -> str:
    """``json.dumps(value, ensure_ascii=False)``; orjson writes the same text, faster."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # a lone surrogate: orjson refuses it, json writes it
        return json.dumps(value, ensure_ascii=False)


def canonical_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def leaf_bytes(text: str) -> bytes:
    return text.encode("utf-8")
