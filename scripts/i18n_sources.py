"""Where the msgids come from: the source catalogue and the domain's words.

Used by ``scripts/i18n.py`` (extract, check) and by the test that fails when a message
lacks a translation; nothing at runtime imports it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from aidflow.i18n import ERROR_CODE, EVENT, VALUE
from aidflow.i18n.words import COMMAND, INPUT

EXTRA_VALUES = (
    # ledger entries and case sources, printed beside the enums' values
    "deposit",
    "allocation",
    "release",
    "approval",
    "disbursement",
    "return",
    "secondary_aid",
    "application",
    "screening",
    # personal fields, as a reveal names them
    "student_id",
    "name",
    "account",
    # how views show a sealed or erased personal field
    "[encrypted]",
    "[erased]",
    # the money loop (issue 12): ledger entries, payment uses, statement findings
    "confirmation",
    "secondary_return",
    "grant",
    "secondary-aid",
    "no_voucher",
    "amount_mismatch",
    "account_mismatch",
    "duplicate_line",
    "paid_after_return",
    "not_applied",
    "no_statement_line",
    # issue 23: a line on a voucher held in dispute; a returned payment issued again
    "disputed",
    "reissued",
    # issue 23: a deposit reversed (a ledger entry)
    "deposit_reversal",
    # issue 23: a programme year's close, as `year show` says it; its journal stream
    "open",
    "proposed",
    "closed",
    "year",
    # issue 24: the sheets the towns send back
    "verifications",
    "approvals",
    "follow-ups",
    # a liaison with no department, as a refusal names it (domain.staff)
    "no department",
)
HTTP_ERRORS = (
    "unauthorised",
    "actor_mismatch",
    "no_such_route",
    "method_not_allowed",
    "http_error",
)


def _errors() -> list[str]:
    from aidflow.domain import errors

    seen: list[str] = []
    stack: list[type[Any]] = [errors.AidflowError]
    while stack:
        cls = stack.pop()
        if cls.code not in seen:
            seen.append(cls.code)
        stack.extend(cls.__subclasses__())
    return sorted(seen)


def said_templates() -> list[tuple[str, str]]:
    """(template, where) of every ``said("...")`` in aidflow's source: the errors' sentences."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "aidflow"
    found: list[tuple[str, str]] = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "said"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                where = f"{path.relative_to(root.parent)}:{node.lineno}"
                found.append((node.args[0].value, where))
    return found


def messages() -> list[tuple[str | None, str, str]]:
    """(msgctxt, msgid, where it comes from) for every message, in a stable order."""
    from aidflow.auditing.authority import STAFF_COMMANDS
    from aidflow.domain import values
    from aidflow.domain.events import NAMES
    from aidflow.domain.staff import READS, REQUIRED, Role
    from aidflow.i18n import click_i18n
    from aidflow.i18n import messages as m
    from aidflow.projections.audit.summaries import (
        ACCOUNT_PROPOSED,
        ACCOUNT_RECORDED,
        IN_DEPARTMENT,
        SETTLED_BY_HAND,
        SUMMARY,
        TEMPLATES,
    )

    out: list[tuple[str | None, str, str]] = []
    seen: set[tuple[str | None, str]] = set()

    def add(context: str | None, msgid: str, where: str) -> None:
        if msgid and (context, msgid) not in seen:
            seen.add((context, msgid))
            out.append((context, msgid, where))

    for name, text in vars(m).items():
        if not name.isupper():
            continue
        if isinstance(text, str):
            add(None, text, f"messages.{name}")
        elif isinstance(text, tuple):
            for cell in text:
                add(None, cell, f"messages.{name}")
    enums: list[tuple[str, type[StrEnum]]] = [
        (f"values.{name}", enum)
        for name, enum in sorted(vars(values).items())
        if isinstance(enum, type) and issubclass(enum, StrEnum) and enum is not StrEnum
    ] + [("staff.Role", Role)]
    # each value as shown, then the other spellings people type it as (aidflow.i18n.words)
    for context in (VALUE, INPUT):
        for where, enum in enums:
            for member in enum:
                add(context, member.value, where)
    for word in EXTRA_VALUES:
        add(VALUE, word, "ledger")
    for event_name in NAMES.values():
        add(EVENT, event_name, "events")
    for template, where in said_templates():
        add(None, template, where)
    from aidflow.i18n import problems

    for text in problems.messages():
        add(None, text, "aidflow/i18n/problems.py")
    from aidflow.cli.failures import CLI_ERRORS

    for code in [*_errors(), *CLI_ERRORS, *HTTP_ERRORS]:
        add(ERROR_CODE, code, "errors")
    # the commands an audit finding names (``unauthorised_actor``), and the questions a
    # refusal for want of a role names (``read cases``)
    for command in [*REQUIRED, *READS, *STAFF_COMMANDS]:
        add(COMMAND, command.replace("_", " "), "auditing.authority")
    for cls, (template, _values) in TEMPLATES.items():
        add(SUMMARY, template, f"journal {NAMES[cls]}")
    for cls, (template, _values) in SETTLED_BY_HAND.items():
        add(SUMMARY, template, f"journal {NAMES[cls]} resolved")
    for extra in (IN_DEPARTMENT, ACCOUNT_PROPOSED, ACCOUNT_RECORDED):
        add(SUMMARY, extra, "journal")
    clicks = [*click_i18n.MESSAGES, *click_i18n.BY_VALUE]
    for text in [*clicks, *(form for pair in click_i18n.PLURALS for form in pair)]:
        add(click_i18n.CLICK, text, "click")
    for context, text, where in help_texts():
        if text not in clicks:  # click's own (--help, --version) are translated as click's
            add(context, text, where)
    return out


def help_texts() -> list[tuple[str, str, str]]:
    """(msgctxt, msgid, where) of every command's help text: its docstring's paragraphs,
    its options' help (``aidflow.cli.helptext``), read from the command tree itself."""
    from aidflow.cli import main
    from aidflow.cli.helptext import HELP, texts, walk

    return [
        (HELP, text, " ".join(["aidflow", *path]))
        for path, command in walk(main)
        for text in texts(command)
    ]
