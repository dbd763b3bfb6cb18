"""What canonical refusals say: the offending character by code point and name."""

from __future__ import annotations

import operator
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

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


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_the_check_digit_read_in_base_13_is_gb_11643s(first17: str) -> None:
    """The check digit is taken from the digits read in base 13 (issue 24 §6); the
    standard's weighted sum over the digits gives the same character."""
    weighted = sum(map(operator.mul, map(int, first17), (7, 9, 10, 5, 8, 4, 2, 1, 6, 3) * 2))
    assert canonical.national_id_check_digit(first17) == "10X98765432"[weighted % 11]


@pytest.mark.parametrize("digits", ["５２０３０２２００７０３１５００１", "٥٢٠٣٠٢٢٠٠٧٠٣١٥٠٠١"])
def test_the_check_digit_is_taken_over_ascii_digits_only(digits: str) -> None:
    with pytest.raises(ValueError):
        canonical.national_id_check_digit(digits)  # national_id() makes them ASCII first


def _bad_by_the_rule(value: str, allow_invisible: bool) -> str | None:
    """The rule ``text`` keeps, character by character, as its docstring states it."""
    for char in value:
        category = unicodedata.category(char)
        if category in ("Cc", "Zl", "Zp", "Cs", "Co", "Cn") or char in canonical._BIDI:
            return char
        if not allow_invisible and (category == "Cf" or (char.isspace() and char != " ")):
            return char
    return None


@given(st.text(), st.booleans())
def test_text_that_prints_is_passed_at_once_and_the_rest_as_the_rule_says(
    value: str, allow_invisible: bool
) -> None:
    """``str.isprintable`` (checked in C) finds nothing the rule refuses, so a printable
    name or note skips the walk over its characters."""
    found = canonical._bad_character(value, allow_invisible=allow_invisible)
    assert found == _bad_by_the_rule(value, allow_invisible)
    if value.isprintable():
        assert found is None


@pytest.mark.parametrize(
    "char",
    [
        "\u2029",  # Zp paragraph separator
        "\u2028",  # Zl line separator
        "\ud800",  # Cs lone surrogate
        "\ue000",  # Co private use
        "\u0378",  # Cn unassigned
        "\x1b",  # Cc escape
    ],
)
def test_text_refuses_every_forbidden_category(char: str) -> None:
    with pytest.raises(InvalidInput, match="contains a control character"):
        canonical.text(f"a{char}b", "note")


@pytest.mark.parametrize("char", ["\u200b", "\t"])
def test_documents_refuse_invisible_and_non_space_blanks(char: str) -> None:
    with pytest.raises(InvalidInput, match="contains an invisible or control character"):
        canonical.document(f"V{char}1", "voucher number")
    assert canonical.document("V 1", "voucher number") == "V 1"


@pytest.mark.parametrize("length", [16, 19, 21])
def test_accounts_of_16_to_21_digits_are_accepted(length: int) -> None:
    digits = "6" * length
    assert canonical.account(digits) == digits


@pytest.mark.parametrize("length", [15, 22])
def test_accounts_outside_16_to_21_digits_are_refused(length: int) -> None:
    with pytest.raises(InvalidInput) as refusal:
        canonical.account("6" * length)
    assert f"has {length} digits; an account has 16 to 21" in str(refusal.value)


def test_account_refusals_say_what_was_given() -> None:
    with pytest.raises(InvalidInput) as refusal:
        canonical.account(12345)  # type: ignore[arg-type]
    assert str(refusal.value) == "bank account must be text, got int"
    with pytest.raises(InvalidInput) as letters:
        canonical.account("6222ABCD00112233445")
    assert "must be digits only" in str(letters.value)
    assert "6222" in str(letters.value) and "6222ABCD00112233445" not in str(letters.value)
