"""A model's refusal of its input (pydantic's errors) as one sentence in the reader's language.

The CLI's and the HTTP service's ``invalid_input`` message: ``field: problem; field: problem``.
English stays the sentence pydantic wrote (logs, ``--json`` and HTTP clients have always read
it); another language reads each problem from the catalogue: our own validators' messages
are catalogue templates already (``said``), pydantic's own are named here by their error type.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from aidflow.domain.errors import Said, said
from aidflow.i18n import messages as M
from aidflow.i18n.words import Listed, Recorded

_BY_TYPE: dict[str, str] = {
    "missing": "this field is required",
    "extra_forbidden": "this field is not taken",
    "json_invalid": "the body is not valid JSON",
    "model_attributes_type": "a JSON object is expected",
    "model_type": "a JSON object is expected",
    "dict_type": "a JSON object is expected",
    "list_type": "a list is expected",
    "string_type": "text is expected",
    "int_type": "a whole number is expected",
    "int_parsing": "a whole number is expected",
    "int_from_float": "a whole number is expected",
    "float_type": "a number is expected",
    "float_parsing": "a number is expected",
    "bool_type": "true or false is expected",
    "bool_parsing": "true or false is expected",
    "uuid_type": "an id (UUID) is expected",
    "uuid_parsing": "an id (UUID) is expected",
    "date_type": "a date like 2026-08-29 is expected",
    "date_parsing": "a date like 2026-08-29 is expected",
    "date_from_datetime_parsing": "a date like 2026-08-29 is expected",
    "datetime_type": "a time like 2026-08-29T17:00 is expected",
    "datetime_parsing": "a time like 2026-08-29T17:00 is expected",
    "datetime_from_date_parsing": "a time like 2026-08-29T17:00 is expected",
    "greater_than": "it must be more than {gt}",
    "greater_than_equal": "it must be at least {ge}",
    "less_than": "it must be less than {lt}",
    "less_than_equal": "it must be at most {le}",
    "string_too_short": "at least {min_length} characters are expected",
    "string_too_long": "at most {max_length} characters are taken",
    "too_short": "at least {min_length} items are expected",
    "too_long": "at most {max_length} items are taken",
    "enum": "one of {expected} is expected",
    "literal_error": "one of {expected} is expected",
}
"""pydantic's error types a person meets, and what each says (its ``ctx`` fills the fields)."""
UNNAMED = "this value is not accepted ({kind})"
"""What another language says of an error type not named above."""


def _problem(error: Mapping[str, Any]) -> Said:
    english = str(error.get("msg", "")).removeprefix("Value error, ")
    context = error.get("ctx") or {}
    cause = context.get("error")
    if isinstance(cause, Exception) and cause.args and isinstance(cause.args[0], Said):
        return cause.args[0]  # our own validator's sentence: English is the same text
    template = _BY_TYPE.get(str(error.get("type")))
    if template is None:
        return Recorded(english, said(UNNAMED, kind=str(error.get("type"))))
    fields = {k: v for k, v in context.items() if f"{{{k}}}" in template}
    try:
        instead = said(template, **fields)
    except (KeyError, IndexError):  # a context pydantic no longer gives: say it without
        instead = said(UNNAMED, kind=str(error.get("type")))
    return Recorded(english, instead)


def input_problems(errors: Iterable[Mapping[str, Any]], *, skip: tuple[str, ...] = ()) -> Said:
    """``field: problem; field: problem`` for pydantic's ``errors()`` (``skip``: parts of a
    location not to name, like FastAPI's ``body``)."""
    parts = [
        said(
            M.WHERE_MESSAGE,
            where=".".join(str(p) for p in error.get("loc", ()) if p not in skip) or "input",
            message=_problem(error),
        )
        for error in errors
    ]
    return Listed(parts, M.LIST_SEMICOLON)


def messages() -> list[str]:
    """The msgids above (``scripts/i18n.py`` collects them)."""
    return [*dict.fromkeys(_BY_TYPE.values()), UNNAMED]


__all__ = ["input_problems", "messages"]
