"""Known answers for the digests the store keeps, and what an enrolment key records.

A request fingerprint and an audit pseudonym are compared across processes and releases,
so their exact form (hash input, encoding, length) is pinned by digests computed here
with ``hashlib`` directly, not by calling the functions under test.
"""

from __future__ import annotations

import hashlib
from uuid import UUID

import pytest

from aidflow.domain.keys import Enrolment, fingerprint, pseudonym
from aidflow.domain.masking import Sealed


def test_a_fingerprint_is_sha256_of_compact_sorted_json() -> None:
    content = {"b": [1, 2], "a": {"y": "两", "x": None}, "id": UUID(int=5)}
    compact = '{"a":{"x":null,"y":"\\u4e24"},"b":[1,2],"id":"00000000-0000-0000-0000-000000000005"}'
    assert fingerprint(content) == hashlib.sha256(compact.encode()).hexdigest()


@pytest.mark.parametrize(("kind", "value"), [("account", "6222020200112233445"), ("person", "X")])
def test_a_value_in_clear_is_pseudonymised_by_a_plain_hash_of_32_hex(kind: str, value: str) -> None:
    digest = hashlib.sha256(f"aidflow/{kind}/{value}".encode()).hexdigest()
    assert pseudonym(kind, value) == digest[:32]


def test_a_sealed_value_is_pseudonymised_by_its_key_or_its_lookup_cut_to_32() -> None:
    sealed = Sealed("6222020200112233445", "k" * 36, lookup="0123456789abcdef" * 4)
    assert pseudonym("person", sealed) == "k" * 32
    assert pseudonym("account", sealed) == "0123456789abcdef" * 2


def test_an_enrolment_records_the_student_year_and_case() -> None:
    key_id, case_id = UUID(int=1), UUID(int=2)
    enrolment = Enrolment.register(
        key_id=key_id, student_id="520302200703150011", year=2026, case_id=case_id
    )
    (registered,) = enrolment.collect_events()
    assert type(registered) is Enrolment.Registered
    assert (
        registered.originator_id,
        registered.student_id,
        registered.year,
        registered.case_id,
    ) == (
        key_id,
        "520302200703150011",
        2026,
        case_id,
    )
    assert enrolment.case_id == case_id
