"""Personal data as anyone outside the store sees it: masked for people, sealed or erased at rest.

One module, so the rules for showing a national ID, a name or an account are written once:
canonical forms mask what they refuse, views and the chain keep :func:`stored_form`, people
read :func:`mask_personal`.
"""

from __future__ import annotations

from typing import Any


def mask_identifier(value: str, head: int = 4, tail: int = 4) -> str:
    """Mask personal data for display: ``5203**********1234``. Short values are fully masked."""
    if not value:
        return ""
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[-tail:]


# -- personal data at rest (issue 11 §3-§4) ------------------------------------------------------

PERSONAL_FIELDS = ("student_id", "name", "account")
"""The personal fields events carry today; each event class declares its own in ``PERSONAL``."""

ERASED = "[erased]"
"""What an erased personal field reads as; people see the message catalogue's word for it."""

ENCRYPTED = "[encrypted]"
"""How a field stored encrypted appears in views' event details and the chain's leaves: the
same with or without its key, so erasing a key changes no leaf, digest or view detail."""


class Sealed(str):
    """A personal value that was stored encrypted, decrypted for this process.

    It is the plain text to every rule (``==``, canonical forms); views and the
    chain see :data:`ENCRYPTED` instead (what the store holds does not depend on
    the key). ``key_id`` names the student's data key; ``erased`` is true when
    that key was destroyed and the text is :data:`ERASED`.
    """

    key_id: str
    erased: bool
    lookup: str
    """A keyed hash of the text (the privacy layer's lookup key): compared, never reversed."""

    def __new__(cls, text: str, key_id: str, *, erased: bool = False, lookup: str = "") -> Sealed:
        value = super().__new__(cls, ERASED if erased else text)
        value.key_id = key_id
        value.erased = erased
        value.lookup = "" if erased else lookup
        return value

    def __reduce__(self) -> Any:
        return (_sealed, (str(self), self.key_id, self.erased, self.lookup))


def _sealed(text: str, key_id: str, erased: bool, lookup: str = "") -> Sealed:
    return Sealed(text, key_id, erased=erased, lookup=lookup)


def mask_name(value: str) -> str:
    """A name for display without revealing it: its first character, then ``*``s (王**)."""
    if not value or value == ERASED:
        return value
    return value[0] + "*" * max(len(value) - 1, 1)


def mask_personal(field: str, value: Any) -> Any:
    """A personal field masked for display; an erased one stays :data:`ERASED`."""
    if not isinstance(value, str):
        return value
    if value == ERASED:
        return ERASED  # plain text, never the sealed value itself
    return mask_name(value) if field == "name" else mask_identifier(value)


def stored_form(field: str, value: Any) -> Any:
    """A field as views and the chain keep it: encrypted ones as :data:`ENCRYPTED` (the same
    before and after erasure), national ID and account masked, everything else as is (a name
    stored in clear by v0.1.0 stays in its leaves: its digest was taken over it)."""
    if isinstance(value, Sealed):
        return ENCRYPTED
    if field in ("student_id", "account") and isinstance(value, str):
        return mask_identifier(value)
    return value
