"""What canonical refusals say: the offending character by code point and name."""

from __future__ import annotations

import pytest

from aidflow.domain import canonical
from aidflow.domain.errors import InvalidInput


@pytest.mark.parametrize(
    ("value", "described"),
    [
        ("bell\x07", "U+0007"),  # no Unicode name: the code point alone
        ("evil\u202eeman", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("line\u2028break", "U+2028 LINE SEPARATOR"),
    ],
)
def test_text_refusal_names_the_character(value: str, described: str) -> None:
    with pytest.raises(InvalidInput) as refusal:
        canonical.text(value, "note")
    assert str(refusal.value) == (
        f"note contains a control character ({described}); type it on one line without "
        "special characters"
    )


@pytest.mark.parametrize("digits", ["", "5203022007031500", "520302200703150011"])
def test_check_digit_needs_exactly_17_digits(digits: str) -> None:
    with pytest.raises(ValueError):
        canonical.national_id_check_digit(digits)


def test_check_digit_of_a_known_id() -> None:
    assert canonical.national_id_check_digit("11010519491231002") == "X"
    assert canonical.national_id_check_digit("52030220070315001") == "1"
