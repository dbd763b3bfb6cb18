"""Masking, sealed values and master-key parsing (issue 11), without a store."""

from __future__ import annotations

import base64
import copy
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aidflow.domain.errors import MasterKeyWrong
from aidflow.domain.masking import ENCRYPTED, ERASED, Sealed, mask_name, mask_personal, stored_form
from aidflow.privacy import new_master, parse_master, personal_fields


def test_names_keep_their_first_character_only_and_never_their_length() -> None:
    assert mask_name("王小明") == "王**"
    assert mask_name("王明") == "王**"
    assert mask_name("王") == "王**"  # one character still hides whether there is more
    assert mask_name("欧阳娜娜") == "欧**"
    assert mask_name("Wang Fang") == "W**"
    assert mask_name("") == ""
    assert mask_personal("name", ERASED) == ERASED
    assert mask_personal("student_id", "520302200703150011") == "5203**********0011"


@given(st.text(min_size=1, max_size=40))
def test_a_masked_name_never_contains_the_name_after_its_first_character(name: str) -> None:
    masked = mask_name(name)
    assert masked == name[0] + "**"  # the same for every name of that first character


def test_a_sealed_value_is_its_text_to_rules_and_encrypted_to_views() -> None:
    value = Sealed("王小明", "k1")
    assert value == "王小明" and value.key_id == "k1" and not value.erased
    assert stored_form("name", value) == ENCRYPTED
    assert stored_form("name", "王小明") == "王小明"  # v0.1.0 leaves keep what they hashed
    assert stored_form("student_id", "520302200703150011") == "5203**********0011"
    erased = Sealed("anything", "k1", erased=True)
    assert erased == ERASED and erased.erased and stored_form("name", erased) == ENCRYPTED
    for clone in (copy.deepcopy(erased), pickle.loads(pickle.dumps(erased))):
        assert isinstance(clone, Sealed) and clone.erased and clone.key_id == "k1"


def test_master_keys_are_32_bytes_of_base64() -> None:
    text = new_master()
    assert len(parse_master(text, "t")) == 32
    standard = base64.b64encode(parse_master(text, "t")).decode()
    assert parse_master(standard, "t") == parse_master(text, "t")  # either alphabet
    for bad in ("", "c2hvcnQ=", "not base64 at all!!", base64.b64encode(b"x" * 33).decode()):
        with pytest.raises(MasterKeyWrong, match="32 bytes"):
            parse_master(bad, "the key file")


def test_events_declare_their_personal_fields() -> None:
    from aidflow.domain.case import StudentCase
    from aidflow.domain.keys import Enrolment

    assert personal_fields(StudentCase.Applied) == ("student_id", "name", "account")
    assert personal_fields(Enrolment.Registered) == ("student_id",)
    assert personal_fields(StudentCase.Verified) == ()
