"""The exact refusal a clerk reads for every bad amount, and the bounds of one amount and a total.

``parse_yuan`` reads what a clerk typed, ``amount``/``measure``/``total`` guard what the
domain records; each refusal is pinned word for word with its error class, and each bound
at its last accepted value and its first refused one.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from aidflow.domain.errors import InvalidAmount, InvalidInput
from aidflow.domain.money import MAX_AMOUNT_FEN, MAX_TOTAL_FEN, amount, measure, parse_yuan, total

TOO_LARGE = "yuan is too large: above the limit of 100,000,000,000.00 yuan for one operation; check the figure"
NOT_AMOUNT = "is not a yuan amount like 3000 or 3000.50"


def _income(fen: Any) -> int:
    return measure(fen, "income")


def _grant(fen: Any) -> int:
    return amount(fen, "grant")


REFUSALS: list[tuple[Callable[[Any], int], Any, type[Exception], str]] = [
    (parse_yuan, 1.5, InvalidAmount, "amount 1.5 must be given as text or an integer, not a float"),
    (
        parse_yuan,
        True,
        InvalidAmount,
        "amount True must be given as text or an integer, not a float",
    ),
    (parse_yuan, -3, InvalidAmount, "amount -3 yuan is negative"),
    (parse_yuan, Decimal("sNaN"), InvalidAmount, "amount sNaN is not a number"),
    (parse_yuan, Decimal("1.005"), InvalidAmount, "amount 1.005 yuan has more than two decimals"),
    (parse_yuan, Decimal("-1"), InvalidAmount, "amount -1 yuan is negative"),
    (parse_yuan, None, InvalidAmount, f"amount None {NOT_AMOUNT}"),
    (parse_yuan, [3000], InvalidAmount, f"amount [3000] {NOT_AMOUNT}"),
    (parse_yuan, " -5 ", InvalidAmount, "amount -5 yuan is negative"),
    (parse_yuan, "1.005", InvalidAmount, "amount 1.005 yuan has more than two decimals"),
    (parse_yuan, "abc", InvalidAmount, f"amount 'abc' {NOT_AMOUNT}"),
    (parse_yuan, "100000000001", InvalidAmount, f"amount 100000000001 {TOO_LARGE}"),
    (parse_yuan, 100000000001, InvalidAmount, f"amount 100000000001 {TOO_LARGE}"),
    # amount: the default name of the value is "amount"
    (amount, "5", InvalidAmount, "amount must be integer fen, got '5'"),
    (amount, True, InvalidAmount, "amount must be integer fen, got True"),
    (amount, 0, InvalidAmount, "amount must be more than zero, got 0.00 yuan"),
    (_grant, -150, InvalidAmount, "grant must be more than zero, got -1.50 yuan"),
    (
        _grant,
        MAX_AMOUNT_FEN + 1,
        InvalidAmount,
        "grant of 100,000,000,000.01 yuan is above the limit of 100,000,000,000.00 yuan "
        "for one operation; check the figure",
    ),
    (_income, -1, InvalidInput, "income must be zero or more fen, got -1"),
    (_income, "5", InvalidInput, "income must be zero or more fen, got '5'"),
    (_income, True, InvalidInput, "income must be zero or more fen, got True"),
    (
        _income,
        MAX_AMOUNT_FEN + 1,
        InvalidAmount,
        "income of 10000000000001 fen is above the limit for one figure",
    ),
]


@pytest.mark.parametrize(("function", "value", "error", "message"), REFUSALS)
def test_refusal_class_and_words(
    function: Callable[[Any], int], value: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(InvalidInput) as refusal:
        function(value)
    assert type(refusal.value) is error
    assert str(refusal.value) == message


@pytest.mark.parametrize(
    ("function", "value", "fen"),
    [
        (parse_yuan, "100000000000", MAX_AMOUNT_FEN),
        (parse_yuan, 100000000000, MAX_AMOUNT_FEN),
        (amount, MAX_AMOUNT_FEN, MAX_AMOUNT_FEN),
        (amount, 1, 1),
        (_income, MAX_AMOUNT_FEN, MAX_AMOUNT_FEN),
        (_income, 0, 0),
    ],
)
def test_the_bounds_themselves_are_accepted(
    function: Callable[[Any], int], value: Any, fen: int
) -> None:
    assert function(value) == fen


def test_a_total_may_reach_its_limit_and_not_pass_it() -> None:
    assert total(MAX_TOTAL_FEN - 1, 1, "fund deposits") == MAX_TOTAL_FEN
    with pytest.raises(InvalidAmount) as refusal:
        total(MAX_TOTAL_FEN - 1, 2, "fund deposits")
    assert str(refusal.value) == (
        "fund deposits would reach 10,000,000,000,000.01 yuan, above the limit of "
        "10,000,000,000,000.00 yuan for one record"
    )
