"""The uniqueness keys: their ids in canonical form, retries, and the refusals' messages."""

from __future__ import annotations

import pickle
from uuid import RFC_4122, UUID, SafeUUID, uuid4, uuid5

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aidflow.domain.errors import DecisionConflict, VoucherAlreadyUsed
from aidflow.domain.keys import _NAMESPACE, Enrolment, RequestKey, Voucher, derived_id, fingerprint
from tests.builders import national_id


def test_enrolment_id_is_one_per_canonical_student_and_year() -> None:
    ascii_id = national_id(7)
    full_width = ascii_id.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    assert Enrolment.create_id(ascii_id, 2026) == Enrolment.create_id(full_width, 2026)
    assert Enrolment.create_id(ascii_id, 2026) != Enrolment.create_id(ascii_id, 2027)
    assert Enrolment.create_id(ascii_id, 2026) != Enrolment.create_id(national_id(8), 2026)
    case = uuid4()
    assert Enrolment(student_id=ascii_id, year=2026, case_id=case).case_id == case


@given(st.text())
def test_a_key_id_is_the_uuid5_of_its_name(name: str) -> None:
    """Stored keys were made with ``uuid5``: the faster derivation must give the same ids, or
    a second case for one student and year would be let through."""
    made, expected = derived_id(name), uuid5(_NAMESPACE, name)
    assert made == expected and hash(made) == hash(expected) and str(made) == str(expected)
    assert (made.version, made.variant, made.is_safe) == (5, RFC_4122, SafeUUID.unknown)
    assert pickle.loads(pickle.dumps(made)) == expected  # as a snapshot or a queue carries it


def test_voucher_id_is_one_per_canonical_number_and_legacy_ids_are_as_typed() -> None:
    assert Voucher.create_id("V1") == Voucher.create_id("v1") == Voucher.create_id("Ｖ１")
    assert Voucher.create_id("V1") != Voucher.create_id("V2")
    assert Voucher.legacy_id("V1") == Voucher.create_id("V1")  # upper case: the same both ways
    assert Voucher.legacy_id("v1") != Voucher.create_id("v1")  # lower case before 0.2: as typed
    assert Voucher.legacy_id("v1") != Voucher.legacy_id("V1")


def test_voucher_retry_and_reuse() -> None:
    case, other = uuid4(), uuid4()
    voucher = Voucher(number="HC-1", case_id=case, amount_fen=250_000)
    assert (voucher.number, voucher.case_id, voucher.amount_fen) == ("HC-1", case, 250_000)
    assert voucher.is_retry_of(case_id=case, amount_fen=250_000) is True
    for case_id, fen in ((other, 250_000), (case, 250_001)):
        with pytest.raises(VoucherAlreadyUsed) as refusal:
            voucher.is_retry_of(case_id=case_id, amount_fen=fen)
        assert str(refusal.value) == (
            f"voucher HC-1 was already used for 2,500.00 yuan to case {case}; "
            "every payment needs its own voucher number"
        )
        assert refusal.value.ids == {"case_id": str(case), "voucher": "HC-1"}


def test_fingerprint_is_stable_and_sensitive() -> None:
    one = fingerprint({"a": 1, "b": "x"})
    assert one == fingerprint({"b": "x", "a": 1})
    assert len(one) == 64 and int(one, 16) >= 0
    assert one != fingerprint({"a": 2, "b": "x"})
    assert fingerprint({"id": UUID(int=5)}) == fingerprint({"id": str(UUID(int=5))})


def test_request_key_replays_the_same_request_and_refuses_another() -> None:
    key = RequestKey(
        scope="decision",
        key="SP-1",
        command="secondary_aid",
        fingerprint="f1",
        result={"case_id": "c", "fund_id": "f", "amount_fen": 5},
        actor="clerk",
    )
    assert RequestKey.create_id("decision", "sp-1") == RequestKey.create_id("decision", "SP-1")
    assert RequestKey.create_id("decision", "SP-1") != RequestKey.create_id("request", "SP-1")
    assert (key.scope, key.key, key.command) == ("decision", "SP-1", "secondary_aid")
    assert key.replay_result(command="secondary_aid", fingerprint="f1") == key.result
    for command, print_ in (("secondary_aid", "f2"), ("approve", "f1")):
        with pytest.raises(DecisionConflict) as refusal:
            key.replay_result(command=command, fingerprint=print_)
        assert str(refusal.value) == (
            "reference SP-1 already records a different secondary aid; a retry must repeat "
            "the same request, a new decision needs a new reference"
        )
        assert refusal.value.ids == {"ref": "SP-1", "case_id": "c", "fund_id": "f"}
