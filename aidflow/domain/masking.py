"""Personal data as anyone outside the store sees it: masked for people, sealed or erased at rest.

One module, so the rules for showing a national ID, a name or an account are written once:
canonical forms mask what they refuse, views and the chain keep :func:`stored_form`, people
read :func:`mask_personal`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID


def mask_identifier(value: str, head: int = 4, tail: int = 4) -> str:
    """Mask personal data for display: ``5203**********1234``. Short values are fully masked."""
    if not value:
        return ""
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[-tail:]


_DIGIT_RUN = re.compile(r"(?<![A-Za-z\d_/.\-])\d(?:[ \-]?\d){10,}(?:[ \-]?[XxＸｘ])?(?![A-Za-z\d])")
"""A run of 11 or more digits (full-width ones too), single spaces or hyphens between them, an
ID's final X allowed, not inside a word of Latin letters (a voucher number): the shape of a
national ID, a bank card or account, a mobile number. Chinese around it is no boundary."""


FREE_TEXT = frozenset({"reason", "note", "detail", "study", "living", "purpose"})
"""The fields people type free text into (reasons, notes, a hardship's detail, a follow-up's
words, a fund's purpose): what :func:`mask_free_text` is applied to wherever they are shown.
Document numbers (vouchers, receipts, references) are not free text: they are kept whole."""


def mask_free_texts(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` with every free-text field masked (:data:`FREE_TEXT`), the rest as they are."""
    return {
        k: mask_free_text(v) if k in FREE_TEXT and isinstance(v, str) else v
        for k, v in fields.items()
    }


def mask_free_text(text: str) -> str:
    """Free text with every ID-, account- or phone-shaped digit run masked (``5201**********0018``):
    a bank's note "户名不符 王芳 身份证5201…" or a clerk's reason keeps its words, not the
    numbers that name a person (issue 21 §7). Shorter numbers (amounts, dates, voucher
    numbers with letters) stay as they are."""
    if not text or not _DIGIT_RUN.search(text):
        return text

    def mask(found: re.Match[str]) -> str:
        return mask_identifier("".join(ch for ch in found.group(0) if ch not in " -"))

    return _DIGIT_RUN.sub(mask, text)


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
    _lookup: str | Callable[[], str]
    token: str
    """For a value read without opening it (a replay without the key, a person's login that
    may not open it): the stored token itself, written back unchanged when the value is
    copied into a new event under the same field (``field``), never the placeholder."""
    field: str

    def __new__(
        cls,
        text: str,
        key_id: str,
        *,
        erased: bool = False,
        lookup: str | Callable[[], str] = "",
        token: str = "",
        field: str = "",
    ) -> Sealed:
        value = super().__new__(cls, ERASED if erased else text)
        value.key_id = key_id
        value.erased = erased
        value._lookup = "" if erased else lookup
        value.token, value.field = token, field
        return value

    @property
    def lookup(self) -> str:
        """A keyed hash of the text (the privacy layer's lookup key): compared, never reversed.

        Made when first asked (the privacy layer passes how): only the audit view's account
        pseudonym reads it, and an HMAC for every field opened was a tenth of a view's work."""
        found = self._lookup
        if not isinstance(found, str):
            found = self._lookup = found()
        return found

    def __reduce__(self) -> Any:
        state = (str(self), self.key_id, self.erased, self.lookup, self.token, self.field)
        return (_sealed, state)


def _sealed(
    text: str, key_id: str, erased: bool, lookup: str, token: str = "", field: str = ""
) -> Sealed:
    """How a pickled :class:`Sealed` is rebuilt (its ``__reduce__`` gives all six)."""
    return Sealed(text, key_id, erased=erased, lookup=lookup, token=token, field=field)


def mask_name(value: str) -> str:
    """A name for display without revealing it: its first character (the surname's),
    then always ``**`` (王**, W**): neither the given name's letters nor the length, which
    together with the surname would narrow a guess to a few people."""
    if not value or value == ERASED:
        return value
    return value[0] + "**"


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


# -- an event as anyone outside the store sees it ----------------------------------------------

EVENT_METADATA = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})
"""The library's bookkeeping on every event; outside the store they are the position, the
aggregate, its version and the time, given apart."""

ALWAYS_PERSONAL = ("student_id", "account")
"""Masked in any event, also those written before event classes declared their personal fields."""


def personal_fields_of(event_class: type[Any]) -> tuple[str, ...]:
    """The fields of an event class that are personal data (what it declares, and the national
    ID and account of any event)."""
    return (*ALWAYS_PERSONAL, *getattr(event_class, "PERSONAL", ()))


def masked(event: Any, *, keyless: bool) -> dict[str, Any]:
    """An event's own fields for anyone outside the store: its metadata left out and its personal
    data masked; the one place that decides it, for the history, the feed, the views and the
    exports.

    ``keyless``: as the views and the chain keep it, the same with or without the student's
    key (a sealed value reads :data:`ENCRYPTED`, a national ID or account in clear masked), so
    erasing a key changes no view row, leaf or digest. Otherwise as a person reads it: the
    personal fields masked from their value (``王**``, ``5203**********1234``), an erased
    one :data:`ERASED`.
    """
    fields = event.__dict__
    if keyless:
        return {k: stored_form(k, v) for k, v in fields.items() if k not in EVENT_METADATA}
    personal = personal_fields_of(type(event))
    return {
        k: mask_personal(k, v) if k in personal else _free(v)
        for k, v in fields.items()
        if k not in EVENT_METADATA
    }


def _free(value: Any) -> Any:
    """Free text as people read it: digit runs that could name a person masked (records written
    before commands masked them at input keep them at rest, never on a screen or in a feed)."""
    return (
        mask_free_text(value) if isinstance(value, str) and not isinstance(value, Sealed) else value
    )


_SCALARS = frozenset({str, int, bool, float, type(None)})


def plain(value: Any) -> Any:
    """A JSON-ready copy: UUIDs, decimals and dates as text, enums as their value, answer models
    as their JSON form, mappings and sequences copied; the one conversion every face and view
    writes JSON through."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, str | int):
        return value
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump):  # an answer model (pydantic), as its JSON form
        return dump(mode="json")
    return value


_ORJSON_SAME = frozenset({str, int, bool, type(None), UUID, datetime, date})


def orjson_safe(value: Any) -> bool:
    """Whether orjson writes this value as ``json`` does: no floats (their text differs).

    Integers beyond 64 bits, non-text keys and lone surrogates make orjson raise,
    and subclasses of built-in types reach the default, which refuses them: all
    of those fall back to ``json`` without a check here.
    """
    kind = type(value)
    if kind in _ORJSON_SAME:
        return True
    if kind is dict:
        return all(map(orjson_safe, value.values()))
    if kind is list or kind is tuple:
        return all(map(orjson_safe, value))
    return False
