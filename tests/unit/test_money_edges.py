"""Money at its edges: the largest amount, zero, negatives, and what each refusal says."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aidflow.domain.errors import InvalidAmount
from aidflow.domain.money import MAX_AMOUNT_FEN, format_yuan, parse_yuan

LARGEST_YUAN = MAX_AMOUNT_FEN // 100


@pytest.mark.parametrize("value", [LARGEST_YUAN, str(LARGEST_YUAN), Decimal(LARGEST_YUAN)])
def test_the_largest_amount_is_accepted_and_one_fen_more_is_not(value: object) -> None:
    assert parse_yuan(value) == MAX_AMOUNT_FEN  # type: ignore[arg-type]
    with pytest.raises(InvalidAmount, match=r"too large"):
        parse_yuan(f"{LARGEST_YUAN}.01")


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (LARGEST_YUAN + 1, str(LARGEST_YUAN + 1)),
        (str(LARGEST_YUAN + 1), str(LARGEST_YUAN + 1)),
        (Decimal(LARGEST_YUAN + 1), str(LARGEST_YUAN + 1)),
    ],
)
def test_a_too_large_amount_is_named_in_its_refusal(value: object, shown: str) -> None:
    with pytest.raises(InvalidAmount) as refusal:
        parse_yuan(value)  # type: ignore[arg-type]
    assert f"amount {shown} yuan is too large" in str(refusal.value)


@pytest.mark.parametrize("zero", [0, "0", "0.00", Decimal("0")])
def test_zero_parses_to_zero_fen(zero: object) -> None:
    assert parse_yuan(zero) == 0  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (-1, "amount -1 yuan is negative"),
        (Decimal("-0.01"), "amount -0.01 yuan is negative"),
        ("-5", "amount -5 yuan is negative"),
        ("1.234", "amount 1.234 yuan has more than two decimals"),
        (Decimal("1.234"), "amount 1.234 yuan has more than two decimals"),
        ("abc", "amount 'abc' is not a yuan amount like 3000 or 3000.50"),
        ("٣٠٠٠", "is not a yuan amount"),
        (1.5, "must be given as text or an integer, not a float"),
        (True, "not a float"),
        (None, "amount None is not a yuan amount"),
        (Decimal("sNaN"), "is not a number"),
    ],
)
def test_each_refusal_says_what_is_wrong(value: object, says: str) -> None:
    with pytest.raises(InvalidAmount) as refusal:
        parse_yuan(value)  # type: ignore[arg-type]
    assert says in str(refusal.value)


@pytest.mark.parametrize(
    ("fen", "shown"),
    [(0, "0.00"), (5, "0.05"), (-150, "-1.50"), (123_456_789, "1,234,567.89"), (-100, "-1.00")],
)
def test_format_yuan_signs_and_groups(fen: int, shown: str) -> None:
    assert format_yuan(fen) == shown
