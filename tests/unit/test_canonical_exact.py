"""The exact words a clerk reads when a canonical form refuses a value, and its boundaries.

A refusal is part of the interface (the CLI prints it, the office translates its template),
so each one is pinned here word for word, with its error class and code; and each length
limit is pinned at its last accepted value and its first refused one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from aidflow.domain import canonical
from aidflow.domain.errors import InvalidInput, InvalidNationalId

CHECK_DIGIT_HINT = "; re-type it from the card"
SPREADSHEET = "was turned into a number by a spreadsheet (Excel keeps 15 digits); format the column as text and type"


def _note(value: Any) -> str:
    return canonical.text(value, "note")


def _short_note(value: Any) -> str:
    return canonical.text(value, "name", max_length=3)


def _voucher(value: Any) -> str:
    return canonical.document(value, "voucher number")


def _department(value: Any) -> str:
    return canonical.slug(value, "department")


REFUSALS: list[tuple[Callable[[Any], str], Any, type[Exception], str]] = [
    # national ID
    (canonical.national_id, 12345, InvalidNationalId, "national ID must be text, got int"),
    (
        canonical.national_id,
        "1.23E+17",
        InvalidNationalId,
        f"national ID 1.23E+17 {SPREADSHEET} it again",
    ),
    (
        canonical.national_id,
        "5203022007031500１٣",  # full-width one is read, an Arabic-Indic three is not
        InvalidNationalId,
        "national ID 5203**********001٣ holds characters other than ASCII digits and X",
    ),
    (
        canonical.national_id,
        "52030220070315001",
        InvalidNationalId,
        "national ID 5203*********5001 must be 17 digits and a check digit or X",
    ),
    (
        canonical.national_id,
        "520302200702300011",
        InvalidNationalId,
        "national ID 5203**********0011 has an impossible birth date",
    ),
    (
        canonical.national_id,
        "520302200703150012",
        InvalidNationalId,
        f"national ID 5203**********0012 fails its check digit{CHECK_DIGIT_HINT}",
    ),
    # bank account
    (canonical.account, 12345, InvalidInput, "bank account must be text, got int"),
    (
        canonical.account,
        "6.22E+18",
        InvalidInput,
        f"bank account 6.22E+18 {SPREADSHEET} the account again",
    ),
    (
        canonical.account,
        "6222ABCD00112233445",
        InvalidInput,
        "bank account 6222***********3445 must be digits only",
    ),
    (
        canonical.account,
        "6222 0000 1111 222",
        InvalidInput,
        "bank account 6222*******1222 has 15 digits; an account has 16 to 21 "
        f"(a UnionPay card 16 to 19){CHECK_DIGIT_HINT}",
    ),
    # free text
    (_note, 5, InvalidInput, "note must be text, got int"),
    (_note, "   ", InvalidInput, "note must not be empty"),
    (_note, "x" * 2001, InvalidInput, "note is longer than 2000 characters"),
    (_short_note, "abcd", InvalidInput, "name is longer than 3 characters"),
    (
        _note,
        "line\n",  # only spaces are trimmed: a trailing newline is refused, not hidden
        InvalidInput,
        "note contains a control character (U+000A); type it on one line without special characters",
    ),
    # document numbers
    (_voucher, 7, InvalidInput, "voucher number must be text, got int"),
    (_voucher, "  ", InvalidInput, "voucher number must not be empty"),
    (_voucher, "V" * 65, InvalidInput, "voucher number is longer than 64 characters"),
    (
        _voucher,
        "V\u200b1",
        InvalidInput,
        "voucher number 'V\\u200b1' contains an invisible or control character "
        "(U+200B ZERO WIDTH SPACE)",
    ),
    # actors (the default name of the value is "actor")
    (canonical.actor, None, InvalidInput, "actor must be text, got NoneType"),
    (canonical.actor, " ", InvalidInput, "actor must not be empty"),
    (canonical.actor, "w" * 201, InvalidInput, "actor is longer than 200 characters"),
    # slugs
    (_department, 5, InvalidInput, "department must be text, got int"),
    (_department, "d" * 41, InvalidInput, "department is longer than 40 characters"),
    *(
        (
            _department,
            raw,
            InvalidInput,
            f"department {shown!r} must be ASCII letters, digits and hyphens (like civil-affairs)",
        )
        for raw, shown in [
            ("-abc", "-abc"),
            ("a b", "a b"),
            ("教育", "教育"),
            ("Civil_Affairs", "civil_affairs"),
        ]
    ),
]


@pytest.mark.parametrize(("function", "value", "error", "message"), REFUSALS)
def test_refusal_class_code_and_words(
    function: Callable[[Any], str], value: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(InvalidInput) as refusal:
        function(value)
    assert type(refusal.value) is error
    assert refusal.value.code == error.code
    assert str(refusal.value) == message


ACCEPTED: list[tuple[Callable[[Any], str], str, str]] = [
    # the last length each limit accepts
    (_note, "x" * 2000, "x" * 2000),
    (_short_note, " abc ", "abc"),
    (_voucher, "V" * 64, "V" * 64),
    (canonical.actor, "W" * 200, "w" * 200),
    (_department, "D" * 40, "d" * 40),
    # trimming takes spaces only, never letters at the ends
    (_voucher, " X1X ", "X1X"),
    (_note, " a ", "a"),
    # free text keeps what cannot forge a line: a no-break space pasted from a word processor
    (_note, "王\u00a0小明", "王\u00a0小明"),
    # a resident ID born in 2000 (its birth year is all four digits, not the last three)
    (canonical.national_id, "520302200002290011", "520302200002290011"),
    # slugs: one character, inner hyphens, full width folded
    (_department, "x", "x"),
    (_department, "civil-affairs", "civil-affairs"),
    (_department, "Ｈｅａｌｔｈ", "health"),
]


@pytest.mark.parametrize(("function", "value", "canonical_form"), ACCEPTED)
def test_accepted_values_and_their_canonical_form(
    function: Callable[[Any], str], value: str, canonical_form: str
) -> None:
    assert function(value) == canonical_form
