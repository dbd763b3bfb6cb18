"""The fund alone: each refused value named exactly (the field the finance office must correct),
and the running total of deposits bounded, with the fund named in the refusal."""

from __future__ import annotations

from collections.abc import Callable
from uuid import uuid4

import pytest

from aidflow.domain import Fund
from aidflow.domain.errors import InvalidAmount, InvalidInput
from aidflow.domain.money import MAX_AMOUNT_FEN, MAX_TOTAL_FEN, format_yuan


def fund() -> Fund:
    return Fund.open(name="Chamber", kind="donation", purpose="", actor="finance")


def deposit(f: Fund, **values: object) -> None:
    given = {"amount_fen": 100, "source": "donor", "receipt": "R-1", "value_date": None}
    f.deposit(**{**given, **values, "actor": "finance"})  # type: ignore[arg-type]


REFUSED: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    (
        "name empty",
        lambda: Fund.open(name=" ", kind="donation", purpose="", actor="f"),
        InvalidInput,
        "fund name must not be empty",
    ),
    (
        "name long",
        lambda: Fund.open(name="x" * 201, kind="donation", purpose="", actor="f"),
        InvalidInput,
        "fund name is longer than 200 characters",
    ),
    (
        "purpose",
        lambda: Fund.open(name="F", kind="donation", purpose="a\nb", actor="f"),
        InvalidInput,
        "purpose contains a control character (U+000A); type it on one line without special characters",
    ),
    (
        "deposit amount",
        lambda: deposit(fund(), amount_fen=0),
        InvalidAmount,
        "deposit amount must be more than zero, got 0.00 yuan",
    ),
    (
        "source",
        lambda: deposit(fund(), source=""),
        InvalidInput,
        "deposit source (donor or budget line) must not be empty",
    ),
    (
        "receipt",
        lambda: deposit(fund(), receipt=" "),
        InvalidInput,
        "receipt number must not be empty",
    ),
    (
        "allocation",
        lambda: fund().allocate(case_id=uuid4(), amount_fen=-5, use="grant", actor="a"),
        InvalidAmount,
        "allocation must be more than zero, got -0.05 yuan",
    ),
    (
        "release reason",
        lambda: funded_and_allocated().release(case_id=uuid4(), amount_fen=1, reason="", actor="c"),
        InvalidInput,
        "reason must not be empty",
    ),
]


def funded_and_allocated() -> Fund:
    f = fund()
    deposit(f)
    f.allocate(case_id=uuid4(), amount_fen=100, use="secondary-aid", actor="a")
    return f


@pytest.mark.parametrize(("what", "call", "kind", "said"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_refused_fund_value_names_its_field_exactly(
    what: str, call: Callable[[], object], kind: type[Exception], said: str
) -> None:
    with pytest.raises(kind) as refusal:
        call()
    assert str(refusal.value) == said, what


def test_deposits_into_one_fund_stop_at_the_record_limit_inclusive() -> None:
    f = fund()
    for n in range(MAX_TOTAL_FEN // MAX_AMOUNT_FEN):
        deposit(f, amount_fen=MAX_AMOUNT_FEN, receipt=f"R-{n}")
    assert f.deposited_fen == MAX_TOTAL_FEN  # the limit itself is allowed
    with pytest.raises(InvalidAmount) as refusal:
        deposit(f, amount_fen=1, receipt="R-last")
    assert str(refusal.value) == (
        f"deposits into fund 'Chamber' would reach {format_yuan(MAX_TOTAL_FEN + 1)} yuan, "
        f"above the limit of {format_yuan(MAX_TOTAL_FEN)} yuan for one record"
    )
    assert f.deposited_fen == MAX_TOTAL_FEN
