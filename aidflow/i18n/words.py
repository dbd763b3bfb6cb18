"""Enumerated values as people type them: ``学费`` or ``tuition``, ``卫健`` or ``health``.

A value (a need, a family category, a department, a role...) is accepted in every
language the catalogues hold, whatever language the reader chose: its stable English
value, the word the catalogue shows for it (msgctxt ``value``, e.g. 学费难筹) and the
other spellings offices use for it (msgctxt ``input``: ``学费|学杂费``, separated by
``|``), compared after NFKC, trimming and case-folding, so full-width ``ＴＵＩＴＩＯＮ``
and ``Tuition`` are ``tuition``. The spellings are language data: they live in the
catalogues beside the words shown, never in code.

One table per set of values; a word that would name two values of one set is refused
when the table is built (a test builds every table), so an input is never ambiguous.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from enum import StrEnum
from functools import cache, lru_cache
from typing import TypeVar

from aidflow.domain.errors import InvalidInput, Said, render, said
from aidflow.i18n import LANGUAGES, VALUE, catalogue, current
from aidflow.i18n import messages as M
from aidflow.i18n import value as shown_word

E = TypeVar("E", bound=StrEnum)

INPUT = "input"
"""msgctxt of the other spellings a value is typed as (``学费|学杂费``)."""

SEPARATOR = "|"


@lru_cache(maxsize=4096)
def label(text: str) -> str:
    """A word as compared: NFKC, trimmed, case-folded (``（`` equals ``(``).

    Cached: a list repeats its few categories and headers on every row."""
    return unicodedata.normalize("NFKC", text).strip().casefold()


def shown(value: str) -> list[str]:
    """The words the catalogues show for ``value``, one per language other than English."""
    return [catalogue(lang).pgettext(VALUE, value) for lang in LANGUAGES if lang != "en"]


def spellings(value: str) -> list[str]:
    """Every way ``value`` may be typed, in every language: itself, the words shown for it
    and the catalogues' other spellings."""
    found = [value, *shown(value)]
    for lang in LANGUAGES:
        if lang == "en":
            continue
        other = catalogue(lang).pgettext(INPUT, value)
        if other != value:
            found.extend(other.split(SEPARATOR))
    return [word for word in found if word.strip()]


@cache
def table(values: tuple[str, ...]) -> dict[str, str]:
    """Each accepted word (as :func:`label` makes it) -> its value, for one set of values."""
    accepted: dict[str, str] = {}
    for value in values:
        for word in spellings(value):
            key = label(word)
            if accepted.setdefault(key, value) != value:
                raise ValueError(
                    f"the catalogues spell {accepted[key]!r} and {value!r} both as {word!r}"
                )
    return accepted


def parse(values: Iterable[str], text: str, *, what: str) -> str:
    """The value of ``values`` that ``text`` names, in any language; else a refusal that
    lists the values (each with the word the reader's language shows for it)."""
    choices = tuple(values)
    found = table(choices).get(label(text))
    if found is None:
        raise InvalidInput(
            said(
                "unknown {what} {text!r}; write one of {choices}",
                what=Said(what, {}),
                text=text.strip(),
                choices=Choices(choices),
            )
        )
    return found


class Choices(Said):
    """The values a set accepts: ``tuition, travel`` in English (logs, ``--json``); for a
    reader of another language each with the word shown for it, ``学费难筹 (tuition)``."""

    values: tuple[str, ...]

    def __new__(cls, values: Iterable[str]) -> Choices:
        listed = tuple(values)
        self = super().__new__(cls, ", ".join(listed).replace("{", "{{").replace("}", "}}"), {})
        self.values = listed
        return self

    def __reduce__(self) -> tuple[object, ...]:
        return (Choices, (self.values,))

    def render(self, translate: Callable[[str], str]) -> str:
        return ", ".join(_choice(value) for value in self.values)


def _choice(value: str) -> str:
    word = shown_word(value)
    return value if word == value else f"{word} ({value})"


def known(values: Iterable[str], text: str) -> str:
    """The value ``text`` names when it is one of ``values`` in any language, else ``text``
    as typed: for sets a policy may extend (departments), whose other members the
    catalogues cannot know."""
    return table(tuple(values)).get(label(text), text)


def parse_enum(enum: type[E], text: str, *, what: str) -> E:
    """The member of ``enum`` that ``text`` names, in any language (:func:`parse`)."""
    return enum(parse(_values(enum), text, what=what))


@cache
def _values(enum: type[StrEnum]) -> tuple[str, ...]:
    """An enumeration's values, listed once (an import parses one per row)."""
    return tuple(member.value for member in enum)


def enum_input(enum: type[StrEnum], what: str) -> Callable[[object], object]:
    """A pydantic ``BeforeValidator`` function: a string naming a member in any language
    becomes the member's value; anything else passes on for pydantic to judge."""

    def convert(raw: object) -> object:
        if isinstance(raw, str) and not isinstance(raw, StrEnum):
            return parse_enum(enum, raw, what=what).value
        return raw

    return convert


# -- words inside a catalogue sentence (the audit findings) ----------------------------------

COMMAND = "command"
"""msgctxt of a command as a finding names it (``open fund``, ``approve``)."""


def _literal(text: str) -> str:
    """``text`` as a template that formats to itself."""
    return text.replace("{", "{{").replace("}", "}}")


class Word(Said):
    """A word of a set the catalogues translate under ``context``: a domain value
    (``tuition``, ``health``; context ``value``) or a command (context ``command``). English
    is the word itself; another language the catalogue's word for it, unknown words (a
    department a policy added) unchanged."""

    word: str
    context: str

    def __new__(cls, word: str, context: str = VALUE) -> Word:
        self = super().__new__(cls, _literal(word), {})
        self.word, self.context = word, context
        return self

    def __reduce__(self) -> tuple[object, ...]:
        return (Word, (self.word, self.context))

    def render(self, translate: Callable[[str], str]) -> str:
        return catalogue(current()).pgettext(self.context, self.word) if self.word else ""


class Listed(Said):
    """Parts (words, clauses) joined by ``separator``, a message of
    :mod:`aidflow.i18n.messages` (``, `` reads ``、`` in Chinese), each part rendered in the
    reader's language."""

    parts: tuple[str, ...]
    separator: str

    def __new__(cls, parts: Iterable[str], separator: str = M.LIST_COMMA) -> Listed:
        items = tuple(parts)
        self = super().__new__(cls, _literal(separator.join(items)), {})
        self.parts, self.separator = items, separator
        return self

    def __reduce__(self) -> tuple[object, ...]:
        return (Listed, (self.parts, self.separator))

    def render(self, translate: Callable[[str], str]) -> str:
        return translate(self.separator).join(render(part, translate) for part in self.parts)


class Recorded(Said):
    """Words recorded in English inside an event (a bank statement finding's detail, written
    when the statement was imported): English as recorded; another language reads
    ``instead``, a catalogue sentence or word that says the same in short."""

    recorded: str
    instead: str

    def __new__(cls, recorded: str, instead: str) -> Recorded:
        self = super().__new__(cls, _literal(recorded), {})
        self.recorded, self.instead = recorded, instead
        return self

    def __reduce__(self) -> tuple[object, ...]:
        return (Recorded, (self.recorded, self.instead))

    def render(self, translate: Callable[[str], str]) -> str:
        return self.recorded if current() == "en" else render(self.instead, translate)
