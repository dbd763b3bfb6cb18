"""What leaves the store: a sealed value copied whole, accounts masked, and the JSON every face writes.

A sealed value crosses process boundaries (pickle, deepcopy) and must come back the same
text with the same key and lookup; views and the chain never keep an account in clear; and
``plain`` is the one conversion to JSON, so each kind of value it converts is pinned here.
"""

from __future__ import annotations

import copy
import pickle
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

import pytest
from pydantic import BaseModel

from aidflow.domain.masking import ENCRYPTED, Sealed, masked, plain, stored_form

ACCOUNT = "6222020200112233445"
STUDENT = "520302200703150011"


@pytest.mark.parametrize("clone", [copy.deepcopy, lambda v: pickle.loads(pickle.dumps(v))])
def test_a_sealed_value_survives_a_copy_with_its_text_key_and_lookup(clone: Any) -> None:
    sealed = Sealed(ACCOUNT, "key-7", lookup="h" * 64)
    copied = clone(sealed)
    assert type(copied) is Sealed
    assert (str(copied), copied.key_id, copied.erased, copied.lookup) == (
        ACCOUNT,
        "key-7",
        False,
        "h" * 64,
    )


@pytest.mark.parametrize("clone", [copy.deepcopy, lambda v: pickle.loads(pickle.dumps(v))])
def test_a_lookup_given_as_how_to_make_it_is_made_once_when_asked_and_copied_made(
    clone: Any,
) -> None:
    """The privacy layer passes how to make the keyed hash (an HMAC per opened field was a
    tenth of a view's work, and only the audit view's pseudonym reads it)."""
    made: list[str] = []

    def make() -> str:
        made.append("h")
        return "h" * 64

    sealed = Sealed(ACCOUNT, "key-7", lookup=make)
    assert made == []
    assert (sealed.lookup, sealed.lookup) == ("h" * 64, "h" * 64)
    assert made == ["h"]
    assert clone(Sealed(ACCOUNT, "key-7", lookup=make)).lookup == "h" * 64
    assert Sealed(ACCOUNT, "key-7", erased=True, lookup=make).lookup == ""


@pytest.mark.parametrize(("field", "value"), [("account", ACCOUNT), ("student_id", STUDENT)])
def test_views_keep_accounts_and_ids_masked(field: str, value: str) -> None:
    assert stored_form(field, value) == value[:4] + "*" * (len(value) - 8) + value[-4:]


@dataclass
class _Paid:
    student_id: str
    account: str
    name: str
    amount_fen: int
    originator_id: str = "meta"


def test_a_keyless_event_masks_what_is_in_clear_and_hides_what_is_sealed() -> None:
    event = _Paid(STUDENT, ACCOUNT, Sealed("王小明", "key-7"), 300_000)
    assert masked(event, keyless=True) == {
        "student_id": "5203**********0011",
        "account": "6222***********3445",
        "name": ENCRYPTED,
        "amount_fen": 300_000,
    }


def test_a_person_reads_a_name_by_its_first_character_and_numbers_by_their_ends() -> None:
    class _Named(_Paid):
        PERSONAL = ("name",)

    event = _Named(STUDENT, ACCOUNT, "王小明", 300_000)
    assert masked(event, keyless=False) == {
        "student_id": "5203**********0011",
        "account": "6222***********3445",
        "name": "王**",
        "amount_fen": 300_000,
    }


class _Colour(Enum):
    RED = "red"


class _Answer(BaseModel):
    case_id: UUID
    on: date
    fen: Decimal


CASE = UUID("12345678-1234-5678-1234-567812345678")


class _Opaque:
    pass


OPAQUE = _Opaque()


@pytest.mark.parametrize(
    ("value", "json_ready"),
    [
        ("text", "text"),
        (7, 7),
        (True, True),
        (1.5, 1.5),
        (None, None),
        (_Colour.RED, "red"),
        (CASE, "12345678-1234-5678-1234-567812345678"),
        (Decimal("3000.50"), "3000.50"),
        (date(2026, 3, 1), "2026-03-01"),
        (datetime(2026, 3, 1, 8, 30, tzinfo=UTC), "2026-03-01T08:30:00+00:00"),
        ({1: CASE, "d": [date(2026, 3, 1)]}, {"1": str(CASE), "d": ["2026-03-01"]}),
        ((CASE, Decimal("1")), [str(CASE), "1"]),
        (
            _Answer(case_id=CASE, on=date(2026, 3, 1), fen=Decimal("2.5")),
            {"case_id": str(CASE), "on": "2026-03-01", "fen": "2.5"},
        ),
        (OPAQUE, OPAQUE),
    ],
)
def test_plain_makes_every_kind_of_value_json_ready(value: Any, json_ready: Any) -> None:
    converted = plain(value)
    assert converted == json_ready
    assert type(converted) is type(json_ready)
