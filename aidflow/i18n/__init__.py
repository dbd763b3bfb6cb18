"""Languages for people: English and Chinese through standard gettext catalogues.

The English text in :mod:`aidflow.i18n.messages` is the source catalogue (the msgids).
Translations live in ``locale/<lang>/LC_MESSAGES/aidflow.po`` and ship compiled
(``aidflow.mo``, package data), so ``pip install .`` needs no build step;
``python scripts/i18n.py update`` merges new messages into the ``.po`` files and
``python scripts/i18n.py compile`` writes the ``.mo`` files (a test fails when a message
has no translation or a ``.mo`` is stale).

The language is chosen by ``--lang``, else ``AIDFLOW_LANG``, else the locale
(``LC_ALL``, ``LC_MESSAGES``, ``LANG``: ``zh_CN.UTF-8`` means Chinese), else English.
:func:`using` overrides it for one thread or task (an HTTP request).

Values from the domain (``dibao``, ``tuition``, ``paid``) and event names
(``case.applied``) are translated with the contexts ``value`` and ``event``; data typed
into the record (names, towns, reasons) never is.
"""

from __future__ import annotations

import gettext as _gettext
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

DOMAIN = "aidflow"
LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = ("en", "zh")
VALUE = "value"
"""msgctxt of domain values (enum members)."""
EVENT = "event"
"""msgctxt of stable event names."""
ERROR_CODE = "error"
"""msgctxt of an error code's one-line summary."""

_chosen: str | None = None
_override: ContextVar[str | None] = ContextVar("aidflow_lang", default=None)


def normalise(lang: str | None) -> str | None:
    """``zh``, ``zh_CN.UTF-8``, ``zh-Hans`` → ``zh``; ``en_GB`` → ``en``; anything else None."""
    if not lang:
        return None
    head = lang.strip().replace("-", "_").split("_")[0].split(".")[0].lower()
    return head if head in LANGUAGES else None


def default_language() -> str:
    """``AIDFLOW_LANG``, else the locale's language, else English."""
    chosen = normalise(os.environ.get("AIDFLOW_LANG"))
    if chosen:
        return chosen
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = os.environ.get(var)
        if value:
            return normalise(value.split(":")[0]) or "en"
    return "en"


def set_language(lang: str | None) -> str:
    """Choose the language for this process (None: the default); returns it."""
    global _chosen
    _chosen = normalise(lang) or default_language()
    return _chosen


def current() -> str:
    return _override.get() or _chosen or default_language()


@contextmanager
def using(lang: str | None) -> Iterator[str]:
    """Speak ``lang`` inside (this thread or task only); None keeps the current language."""
    token = _override.set(normalise(lang) or current())
    try:
        yield current()
    finally:
        _override.reset(token)


def accepted(header: str | None) -> str | None:
    """The language of ours an HTTP ``Accept-Language`` header prefers most
    (``zh-CN,zh;q=0.9,en;q=0.8`` gives ``zh``); None when it names none of them."""
    ranked: list[tuple[float, int, str]] = []
    for i, item in enumerate((header or "").split(",")):
        tag, _, rest = item.partition(";")
        weight = 1.0
        for param in rest.split(";"):
            key, _, text = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(text)
                except ValueError:
                    weight = 0.0
        lang = normalise(tag)
        if lang and weight > 0:
            ranked.append((-weight, i, lang))
    return min(ranked)[2] if ranked else None


@cache
def catalogue(lang: str) -> _gettext.NullTranslations:
    if lang == "en":
        return _gettext.NullTranslations()
    return _gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True)


def tr(message: str) -> str:
    """``message`` (an English msgid) in the current language."""
    return catalogue(current()).gettext(message) if message else message


def tr_all(messages: Sequence[str]) -> tuple[str, ...]:
    return tuple(tr(m) for m in messages)


def value(text: object, lang: str | None = None) -> str:
    """A domain value (``dibao``, ``paid``) as a person reads it (in ``lang``, else the current
    language); unknown values unchanged."""
    raw = "" if text is None else str(text)
    return catalogue(lang or current()).pgettext(VALUE, raw) if raw else raw


def event(name: str) -> str:
    """A stable event name (``case.applied``) as a person reads it."""
    return catalogue(current()).pgettext(EVENT, name) if name else name


def error_summary(code: str) -> str | None:
    """What an error code means, in the current language; None when it has no summary."""
    text = catalogue(current()).pgettext(ERROR_CODE, code)
    return None if text == code else text


__all__ = [
    "LANGUAGES",
    "accepted",
    "current",
    "default_language",
    "error_summary",
    "event",
    "set_language",
    "tr",
    "tr_all",
    "using",
    "value",
]
