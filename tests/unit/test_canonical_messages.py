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
