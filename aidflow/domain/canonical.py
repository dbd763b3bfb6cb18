"""One canonical form for every identifier and every piece of text that enters the record.

Two spellings of the same thing must never become two things: a national ID typed
with full-width digits (``５２０３…``) is the same student as its ASCII form, and
vouchers ``V1``, ``v1`` and ``Ｖ１`` are one voucher. Text is compared only after
Unicode NFKC and an explicit ASCII check (``str.isdigit`` and regex ``\\d`` accept
any script's digits). Control and invisible characters are refused, so no value can
forge an output line or hide a second name behind a zero-width space.

The command models (the edge) and the aggregates (the domain) both call these
functions, so a library caller cannot bypass what the CLI checks. Amounts of money have
their own rules in :mod:`aidflow.domain.money`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from functools import lru_cache

from aidflow.domain.errors import InvalidInput, InvalidNationalId, said
from aidflow.domain.masking import mask_free_text, mask_identifier

MAX_TEXT = 2000
MAX_NAME = 200
MAX_DOCUMENT = 64

# Bidirectional overrides and isolates can reorder what a reader sees.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_ID_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_SCIENTIFIC = re.compile(r"[0-9.]+E[+-]?[0-9]+", re.IGNORECASE)


def nfkc(value: str) -> str:
    """Unicode NFKC: full-width letters and digits become ASCII, ligatures split."""
    return unicodedata.normalize("NFKC", value)


def _bad_character(value: str, *, allow_invisible: bool) -> str | None:
    """The first character that may not appear in stored text, or None."""
    if value.isprintable():  # no Other (Cc Cf Cs Co Cn) nor Separator but " ": checked in C
        return None
    for char in value:
        category = unicodedata.category(char)
        if category in ("Cc", "Zl", "Zp", "Cs", "Co", "Cn") or char in _BIDI:
            return char
        if not allow_invisible and (category == "Cf" or (char.isspace() and char != " ")):
            return char
    return None


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" {name}" if name else "")


def free_text(value: str, what: str, *, required: bool = True) -> str:
    """A reason, note or detail as :func:`text`, with ID-, account- and phone-shaped digit runs
    masked before it is ever recorded (issue 21 §7): free text is personal until shown
    otherwise, and the bureau needs the words, not the numbers."""
    return mask_free_text(text(value, what, required=required))


def text(value: str, what: str, *, max_length: int = MAX_TEXT, required: bool = True) -> str:
    """Free text (a name, a note, a reason): NFC-stable, trimmed, no control characters.

    Chinese text is kept as typed (NFKC would rewrite full-width punctuation a clerk
    chose); only what could forge a line or reorder a display is refused.
    """
    if not isinstance(value, str):
        raise InvalidInput(
            said("{what} must be text, got {type_name}", what=what, type_name=type(value).__name__)
        )
    stripped = value.strip(" ")
    bad = _bad_character(stripped, allow_invisible=True)
    if bad is not None:
        raise InvalidInput(
            said(
                "{what} contains a control character ({bad}); type it on one line without special characters",
                what=what,
                bad=_describe(bad),
            )
        )
    if required and not stripped:
        raise InvalidInput(said("{what} must not be empty", what=what))
    if stripped and not any(_visible(char) for char in stripped):
        if required:
            raise InvalidInput(said("{what} holds only spaces or invisible characters", what=what))
        return ""
    if len(stripped) > max_length:
        raise InvalidInput(
            said("{what} is longer than {max_length} characters", what=what, max_length=max_length)
        )
    return stripped


def reach(value: str, what: str) -> str:
    """The town or department a member is registered for: "" when none is given (which
    means every town), else text with something visible. A value given of only spaces or
    invisible characters is refused, never read as none: it would widen the member's reach."""
    shown = text(value, what, required=False)
    if value and not shown:
        raise InvalidInput(said("{what} holds only spaces or invisible characters", what=what))
    return shown


def visible(value: str) -> str:
    """``value`` without its invisible format characters (a zero-width space), for comparing."""
    return "".join(c for c in value if unicodedata.category(c) != "Cf")


def _visible(char: str) -> bool:
    """A character that shows: not a space of any kind, not a format or combining mark."""
    return not char.isspace() and unicodedata.category(char) not in ("Cf", "Mn", "Me")  # Zs: spaces


def _identifier(value: str, what: str, max_length: int) -> str:
    """NFKC, trimmed, non-empty, bounded, with no invisible or control character."""
    if not isinstance(value, str):
        raise InvalidInput(
            said("{what} must be text, got {type_name}", what=what, type_name=type(value).__name__)
        )
    shown = nfkc(value).strip(" ")
    bad = _bad_character(shown, allow_invisible=False)
    if bad is not None:
        raise InvalidInput(
            said(
                "{what} {shown!r} contains an invisible or control character ({bad})",
                what=what,
                shown=shown,
                bad=_describe(bad),
            )
        )
    if not shown:
        raise InvalidInput(said("{what} must not be empty", what=what))
    if len(shown) > max_length:
        raise InvalidInput(
            said("{what} is longer than {max_length} characters", what=what, max_length=max_length)
        )
    return shown


def actor(value: str, what: str = "actor") -> str:
    """A person's login or staff name: NFKC, case-folded; invisible characters refused.

    ``Wang``, ``wang`` and ``ｗａｎｇ`` are one officer, so segregation of duties
    compares people, not spellings.
    """
    return _identifier(value, what, MAX_NAME).casefold()


def same_person(name: str) -> str:
    """A recorded actor name in the form people are compared in (old stores kept raw spellings)."""
    return nfkc(name).strip().casefold()


def same_actor(first: str, second: str) -> bool:
    """Whether two recorded actor names name one person."""
    return same_person(first) == same_person(second)


_LOOKS_LATIN = str.maketrans(
    {
        # Cyrillic letters drawn as Latin ones (upper-case ones by their case-folded form)
        "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
        "с": "c", "т": "t", "у": "y", "х": "x", "ь": "b", "і": "i", "ј": "j", "ѕ": "s",
        "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "ү": "y",
        # Greek
        "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
        "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
        # digits drawn as letters
        "0": "o", "1": "l",
    }
)  # fmt: skip


def looks(value: str) -> str:
    """What a name looks like: its compared form (:func:`same_person`) with the Cyrillic and
    Greek letters, and the digits, that are drawn as Latin letters read as those letters
    (after Unicode TR 39's skeletons, for the scripts a bureau's names are typed in).
    ``wang`` with a Cyrillic ``а`` looks like ``wang``; two staff members must not."""
    return same_person(value).translate(_LOOKS_LATIN)


def document(value: str, what: str) -> str:
    """A voucher, receipt or decision number as shown: NFKC, trimmed, one line, ≤ 64 chars."""
    return _identifier(value, what, MAX_DOCUMENT)


def document_key(value: str) -> str:
    """The form in which two document numbers are compared: ``Ｖ１``, ``v1`` and ``V1`` agree.

    Upper case (after case folding) so that the usual upper-case numbers keep the
    keys that stores written before canonical forms gave them.
    """
    return nfkc(value).strip().casefold().upper()


def national_id_check_digit(first17: str) -> str:
    """GB 11643 check character for the first 17 digits of a resident ID.

    The standard weighs digit ``i`` (of 17, from the left) by ``2 ** (17 - i) mod 11``. As
    ``13 ≡ 2 (mod 11)``, the weighted sum is ``2 * int(first17, 13)`` modulo 11: the digits
    read in base 13, one call in C instead of seventeen products (issue 24 §6)."""
    if len(first17) != 17 or not (first17.isascii() and first17.isdigit()):
        raise ValueError("a resident ID's check digit is taken over its first 17 digits")
    return _ID_CHECK[2 * int(first17, 13) % 11]


_REMEMBERED: ContextVar[dict[tuple[str, str], str] | None] = ContextVar(
    "aidflow_remembered", default=None
)


@contextmanager
def remembering() -> Iterator[None]:
    """Inside the block, a value worked out from a personal input (its canonical form, its
    keyed hash) is worked out once: a batch of 500 applications asked for each student's
    ID some thirty times. Nothing is kept after the block, so no ID outlives its command."""
    token = _REMEMBERED.set({})
    try:
        yield
    finally:
        _REMEMBERED.reset(token)


def remembered(kind: str, value: str, work: Callable[[str], str]) -> str:
    """``work(value)``, once per ``kind`` and ``value`` inside :func:`remembering`."""
    memo = _REMEMBERED.get()
    if memo is None:
        return work(value)
    found = memo.get((kind, value))
    if found is None:
        found = memo[kind, value] = work(value)
    return found


@lru_cache(maxsize=1 << 16)  # every day from 1900 to 2079: a registry's dates are read once each
def _birth_date(digits: str) -> date | None:
    """The date ``YYYYMMDD`` names, or None when there is no such day."""
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


def _plausible(value: str, by_year: int | None) -> None:
    """An ID of the right shape that cannot be a student's: no region, a birth date that
    does not exist, before 1900 or after the programme year."""
    if value[0] == "0":
        raise InvalidNationalId(
            said(
                "national ID {value} names no region (its first six digits); re-type it from the card",
                value=mask_identifier(value),
            )
        )
    born = _birth_date(value[6:14])
    if born is None:
        raise InvalidNationalId(
            said("national ID {value} has an impossible birth date", value=mask_identifier(value))
        )
    if born.year < 1900:
        raise InvalidNationalId(
            said(
                "national ID {value} gives a birth year of {born}, before 1900; re-type it from the card",
                value=mask_identifier(value),
                born=born.year,
            )
        )
    if by_year is not None and born.year > by_year:
        raise InvalidNationalId(
            said(
                "national ID {value} gives a birth year of {born}, after programme year {year}; re-type it from the card",
                value=mask_identifier(value),
                born=born.year,
                year=by_year,
            )
        )


def national_id(raw: str, *, by_year: int | None = None) -> str:
    """The 18-character resident ID in ASCII with an upper-case X, or InvalidNationalId.

    Beyond its shape and check digit, an ID must be plausible: a region (its first six
    digits start with a province's digit, never 0), a birth date from 1900 on and, given
    ``by_year`` (the programme year), not after that year.
    """
    if not isinstance(raw, str):
        raise InvalidNationalId(
            said("national ID must be text, got {type_name}", type_name=type(raw).__name__)
        )
    if by_year is None:
        return remembered("national_id", raw, _national_id)
    return _national_id(raw, by_year)


def _national_id(raw: str, by_year: int | None = None) -> str:
    value = nfkc(raw).replace(" ", "").upper()  # "5203 0220 …" as printed on forms
    if not (value.isascii() and _ID_SHAPE.fullmatch(value)):
        if _SCIENTIFIC.fullmatch(value):
            raise InvalidNationalId(
                said(
                    "national ID {value} was turned into a number by a spreadsheet (Excel keeps 15 digits); format the column as text and type it again",
                    value=value,
                )
            )
        problem = (
            said("holds characters other than ASCII digits and X")
            if not value.isascii()
            else said("must be 17 digits and a check digit or X")
        )
        raise InvalidNationalId(
            said("national ID {value} {problem}", value=mask_identifier(value), problem=problem)
        )
    _plausible(value, by_year)
    if national_id_check_digit(value[:17]) != value[17]:
        raise InvalidNationalId(
            said(
                "national ID {value} fails its check digit; re-type it from the card",
                value=mask_identifier(value),
            )
        )
    return value


def account(raw: str) -> str:
    """A bank account: ASCII digits only, 16 to 21 of them; group spaces and dashes dropped.

    16 to 19 digits for the UnionPay debit cards students are given, up to 21 for older
    passbook accounts.

    Luhn is not required (passbook accounts fail it); a value in scientific notation
    means Excel mangled it, and the clerk is told how to fix the column.
    """
    if not isinstance(raw, str):
        raise InvalidInput(
            said("bank account must be text, got {type_name}", type_name=type(raw).__name__)
        )
    value = nfkc(raw).strip()
    if _SCIENTIFIC.fullmatch(value):
        raise InvalidInput(
            said(
                "bank account {value} was turned into a number by a spreadsheet (Excel keeps 15 digits); format the column as text and type the account again",
                value=value,
            )
        )
    digits = value.replace(" ", "").replace("-", "")
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidInput(
            said("bank account {digits} must be digits only", digits=mask_identifier(digits))
        )
    if not 16 <= len(digits) <= 21:
        raise InvalidInput(
            said(
                "bank account {digits} has {digits_count} digits; an account has 16 to 21 (a UnionPay card 16 to 19); re-type it from the card",
                digits=mask_identifier(digits),
                digits_count=len(digits),
            )
        )
    return digits


# -- names from a configurable list (departments, roles in a tier table; issue 12) ------------

MAX_SLUG = 40


def slug(value: str, what: str) -> str:
    """A department or role name as policy lists it: NFKC, case-folded, ASCII letters, digits
    and hyphens (``civil-affairs``; ``Ｈｅａｌｔｈ`` is ``health``); anything else refused."""
    shown = _identifier(value, what, MAX_SLUG).casefold()
    if not all(c.isascii() and (c.isalnum() or c == "-") for c in shown) or shown[0] == "-":
        raise InvalidInput(
            said(
                "{what} {shown!r} must be ASCII letters, digits and hyphens (like civil-affairs)",
                what=what,
                shown=shown,
            )
        )
    return shown


def is_count(text: str) -> bool:
    """ASCII digits only: ``isdigit`` alone takes look-alikes (``٣``) that ``int`` reads."""
    return text.isascii() and text.isdigit()


def is_sha256_hex(text: str) -> bool:
    """64 hex digits and nothing else (``int(text, 16)`` would take ``_``, spaces, signs)."""
    return len(text) == 64 and set(text.lower()) <= set("0123456789abcdef")
