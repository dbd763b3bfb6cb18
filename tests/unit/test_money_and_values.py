"""Domain value objects: exact money, personal IDs, masking, status."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aidflow.domain.canonical import national_id as validate_national_id
from aidflow.domain.errors import InvalidAmount, InvalidNationalId
from aidflow.domain.masking import mask_identifier
from aidflow.domain.money import amount, format_yuan, parse_yuan
from aidflow.domain.values import CaseStatus, derive_status
from tests.builders import national_id


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("3000", 300_000),
        ("3000.50", 300_050),
        ("3000.5", 300_050),
        ("0.01", 1),
        (" 12 ", 1200),
        (7, 700),
        (Decimal("1.25"), 125),
    ],
)
def test_parse_yuan_is_exact(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("-5", "negative"),
        ("1.005", "more than two decimals"),
        ("abc", "not a yuan amount"),
        ("1e3", "not a yuan amount"),
        ("", "not a yuan amount"),
        (-1, "negative"),
        (Decimal("0.001"), "more than two decimals"),
    ],
)
def test_parse_yuan_refuses_bad_amounts(text: str, says: str) -> None:
    with pytest.raises(InvalidAmount, match=says):
        parse_yuan(text)


def test_parse_yuan_refuses_floats() -> None:
    with pytest.raises(InvalidAmount, match="float"):
        parse_yuan(0.1)  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=10**12))
def test_format_then_parse_round_trips(fen: int) -> None:
    assert parse_yuan(format_yuan(fen).replace(",", "")) == fen


def test_zero_is_refused_where_money_moves() -> None:
    with pytest.raises(InvalidAmount, match="more than zero"):
        amount(0, "grant amount")


def test_national_id_check_digit() -> None:
    good = national_id(7)
    assert validate_national_id(good.lower()) == good
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    with pytest.raises(InvalidNationalId, match="check digit"):
        validate_national_id(bad)
    with pytest.raises(InvalidNationalId, match="17 digits"):
        validate_national_id("52030220070315")
    with pytest.raises(InvalidNationalId, match="birth date"):
        first17 = "52030220071315001"  # month 13
        from aidflow.domain.canonical import national_id_check_digit

        validate_national_id(first17 + national_id_check_digit(first17))


def test_masking_keeps_only_head_and_tail() -> None:
    assert mask_identifier("520302200703150012") == "5203**********0012"
    assert mask_identifier("1234") == "****"
    assert mask_identifier("") == ""


def test_status_is_derived_one_way() -> None:
    base = dict(rejected=False, closed=False, verified_once=True, awaiting_verification=False)
    assert derive_status(**base, approved_fen=0, disbursed_fen=0) is CaseStatus.VERIFIED
    assert derive_status(**base, approved_fen=5, disbursed_fen=0) is CaseStatus.APPROVED
    assert derive_status(**base, approved_fen=5, disbursed_fen=5) is CaseStatus.PAID
    assert (
        derive_status(**{**base, "awaiting_verification": True}, approved_fen=5, disbursed_fen=5)
        is CaseStatus.REOPENED
    )
    assert (
        derive_status(
            **{**base, "verified_once": False, "awaiting_verification": True},
            approved_fen=0,
            disbursed_fen=0,
        )
        is CaseStatus.APPLIED
    )
