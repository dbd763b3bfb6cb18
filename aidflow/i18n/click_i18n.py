"""Click's own messages (a missing argument, an unknown option) in the chosen language.

Click looks its messages up with the standard library's ``gettext`` through names bound
in each of its modules (``_`` and ``ngettext``). :func:`install` rebinds those names to
a lookup in aidflow's catalogue (msgctxt ``click``) in the current language, so a clerk
who mistypes a command reads why in Chinese. Messages not listed here stay as click
wrote them; a test checks that each one listed is still in the installed click.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from aidflow.i18n import catalogue, current

CLICK = "click"
"""msgctxt of click's messages."""

MESSAGES: tuple[str, ...] = (
    "Aborted!",
    "Missing command.",
    "Options",
    "Commands",
    "Usage:",
    "Missing argument",
    "Missing option",
    "Missing parameter",
    "Missing {param_type}",
    "Invalid value for {param_hint}: {message}",
    "Invalid value: {message}",
    "Error: {message}",
    "Try '{command} {option}' for help.",
    "No such option {name!r}.",
    "No such command {name!r}.",
    "Option {name!r} does not take a value.",
    "{value!r} is not {choice}.",
    "{value!r} is not one of {choices}.",
    "{value} is not in the range {range}.",
    "{value!r} is not a valid {number_type}.",
    "{value!r} is not a valid boolean. Recognized values: {states}",
    "{name} {filename!r} does not exist.",
    "{name} {filename!r} is a directory.",
    "{name} {filename!r} is not readable.",
    "{name} {filename!r} is not writable.",
    "Could not open file {filename!r}: {message}",
    "file",
    "directory",
    "path",
    "Show this message and exit.",
    "Show the version and exit.",
    "Do you want to continue?",
    "env var: {var}",
    "default: {default}",
)
"""Click's messages a user meets (``gettext``), as click spells them."""

PLURALS: tuple[tuple[str, str], ...] = (
    ("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"),
    ("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."),
    ("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"),
    (
        "{value!r} does not match the format {format}.",
        "{value!r} does not match the formats {formats}.",
    ),
)
"""Click's messages with a plural form (``ngettext``): both forms are msgids."""

BY_VALUE: tuple[str, ...] = ("required",)
"""Click's messages looked up through a variable (``_(extra["required"])``), as click
spells the value."""

MODULES = ("core", "exceptions", "parser", "types", "formatting", "decorators", "termui")


def _gettext(message: str) -> str:
    return catalogue(current()).pgettext(CLICK, message) if message else message


def _ngettext(singular: str, plural: str, n: int) -> str:
    return _gettext(singular if n == 1 else plural)


def install() -> None:
    """Make click speak the current language (idempotent; English stays click's own text)."""
    hooks: dict[str, Callable[..., str]] = {"_": _gettext, "ngettext": _ngettext}
    for name in MODULES:
        module = importlib.import_module(f"click.{name}")
        for attr, hook in hooks.items():
            if hasattr(module, attr):
                setattr(module, attr, hook)


__all__ = ["BY_VALUE", "CLICK", "MESSAGES", "PLURALS", "install"]
