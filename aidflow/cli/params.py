"""Parameter types: a bad value is a one-line usage error (exit 2), never a traceback.

Choices come from the domain's enums, loaded on first use so ``aidflow --help`` stays quick.
Every integer is bounded: the stores keep 64-bit integers, and Python's are unbounded.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import MAXYEAR, MINYEAR, date, datetime
from importlib import import_module
from typing import TYPE_CHECKING, Any

import click

from aidflow.domain.errors import render
from aidflow.domain.values import INT64_MAX
from aidflow.i18n import messages as M
from aidflow.i18n import tr
from aidflow.render import line

if TYPE_CHECKING:
    from aidflow.projections.models import Digest


def this_year() -> int:
    """The default programme year."""
    return date.today().year


class LazyChoice(click.Choice[str]):
    """A choice whose values are loaded when first needed (parsing, or that command's help)."""

    def __init__(self, load: Callable[[], Iterable[str]]) -> None:
        self._load = load
        self._loaded: tuple[str, ...] | None = None
        self.case_sensitive = True

    @property
    def choices(self) -> tuple[str, ...]:
        if self._loaded is None:
            self._loaded = tuple(self._load())
        return self._loaded

    @choices.setter
    def choices(self, value: Iterable[str]) -> None:
        self._loaded = tuple(value)

    def get_missing_message(self, param: click.Parameter, ctx: click.Context | None) -> str:
        """The values on one line, in the reader's language (click's own puts each on a line
        of its own, which an ``error:`` line shows as ``\\n\\t``)."""
        return line(M.CHOOSE_FROM, choices=", ".join(self._shown()))

    def _shown(self) -> list[str]:
        return list(self.choices)


def enum_values(name: str) -> tuple[str, ...]:
    """The values of the enum ``name`` in :mod:`aidflow.domain.values`, in declaration order."""
    enum = getattr(import_module("aidflow.domain.values"), name)
    return tuple(str(member.value) for member in enum)


def enum_values_of(module: str, name: str) -> tuple[str, ...]:
    """The values of enum ``name`` in ``module``: the domain's vocabulary, never copied here."""
    enum = getattr(import_module(module), name)
    return tuple(str(member.value) for member in enum)


class WordChoice(LazyChoice):
    """A domain value typed in any language the catalogues hold: ``学费`` or ``tuition``
    (:mod:`aidflow.i18n.words`); the value passed on is always the domain's."""

    def __init__(self, load: Callable[[], Iterable[str]], what: str) -> None:
        super().__init__(load)
        self.what = what

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        """The values, then the words the catalogues show for them: ``[tuition|…|学费难筹|…]``."""
        listed = "|".join(self._shown())
        return f"{{{listed}}}" if param.param_type_name == "argument" else f"[{listed}]"

    def _shown(self) -> list[str]:
        from aidflow.i18n import words

        shown = [word for value in self.choices for word in words.shown(value)]
        return list(dict.fromkeys([*self.choices, *shown]))

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from aidflow.domain.errors import InvalidInput
        from aidflow.i18n import words

        try:
            return words.parse(self.choices, str(value), what=self.what)
        except InvalidInput as exc:
            self.fail(render(exc.args[0], tr), param, ctx)


def enum_choice(name: str, what: str) -> WordChoice:
    return WordChoice(lambda: enum_values(name), what)


def _view_names() -> Iterable[str]:
    from aidflow.office import Office

    return Office.VIEWS


def _report_formats() -> Iterable[str]:
    from aidflow.report import FORMATS

    return FORMATS


NEED = enum_choice("NeedCategory", M.WORD_NEED)
FAMILY_CATEGORY = enum_choice("FamilyCategory", M.WORD_FAMILY_CATEGORY)
FUND_KIND = enum_choice("FundKind", M.WORD_FUND_KIND)
HARDSHIP_KIND = enum_choice("HardshipKind", M.WORD_HARDSHIP_KIND)
SEVERITY = enum_choice("Severity", M.WORD_SEVERITY)


class DepartmentType(click.ParamType[str]):
    """A department as the store's policy lists it (``aidflow policy show``), or as the
    catalogues name a known one (卫健 for ``health``); the list is the policy's, so the
    application checks it when the command is decided."""

    name = "DEPARTMENT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from aidflow.commands import department_name
        from aidflow.domain.errors import InvalidInput

        try:
            return department_name(str(value))
        except InvalidInput as exc:
            self.fail(str(exc), param, ctx)


DEPARTMENT = DepartmentType()
HARDSHIP_TREND = enum_choice("HardshipTrend", M.WORD_HARDSHIP_TREND)
CASE_STATUS = enum_choice("CaseStatus", M.WORD_CASE_STATUS)
SETTLEMENT = enum_choice("Settlement", M.WORD_SETTLEMENT)
RECEIPT = enum_choice("ReceiptAnswer", M.WORD_RECEIPT)
VIEW_NAME = LazyChoice(_view_names)
REPORT_FORMAT = LazyChoice(_report_formats)

COUNT = click.IntRange(1, INT64_MAX)
"""A count or a version: 1 and up, within 64 bits."""
YEAR = click.IntRange(MINYEAR, MAXYEAR)
SEED = click.IntRange(0, INT64_MAX)


class FiniteType(click.ParamType[float]):
    """A finite number between two bounds (``nan`` passes a range check: it compares false)."""

    def __init__(self, name: str, low: float, high: float) -> None:
        self.name, self._range = name, click.FloatRange(low, high)

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        number = self._range.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(line(M.NOT_FINITE, value=value), param, ctx)
        return number


class LifetimeType(click.ParamType[int]):
    """Days something stays in force (a token): ``30d`` or ``30``, 1 to 366."""

    name = "days"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        text = str(value).strip().lower().removesuffix("d")
        if not text.isdigit() or not 1 <= int(text) <= 366:
            self.fail(line(M.NOT_A_LIFETIME, value=value), param, ctx)
        return int(text)


LIFETIME = LifetimeType()


class YuanType(click.ParamType[int]):
    """Yuan as typed by a clerk (``3000`` or ``3000.50``), converted exactly to integer fen."""

    name = "YUAN"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        from aidflow.domain.errors import InvalidAmount
        from aidflow.domain.money import parse_yuan

        if isinstance(value, int):
            return value
        try:
            fen = parse_yuan(str(value))
        except InvalidAmount as exc:
            self.fail(render(exc.args[0] if exc.args else exc, tr), param, ctx)
        if fen > INT64_MAX:
            self.fail(line(M.TOO_MUCH_MONEY, value=value), param, ctx)
        return fen


class DateType(click.ParamType[date]):
    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(line(M.NOT_A_DATE, value=value), param, ctx)


class MomentType(click.ParamType[datetime]):
    """A moment on the office's clock: ``2026-08-29`` means the end of that day (its start for
    ``--since``), ``2026-08-29T10:00`` that minute; ``…Z`` or ``…+08:00`` names its zone."""

    name = "TIME"

    def __init__(self, *, start: bool = False) -> None:
        self.start = start

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        from aidflow.commands import moment
        from aidflow.domain.errors import InvalidInput

        if isinstance(value, datetime):
            return value
        try:
            return moment(str(value), start=self.start)
        except InvalidInput as exc:
            self.fail(render(exc.args[0], tr), param, ctx)


class DigestType(click.ParamType["Digest"]):
    """A published chain head, ``POSITION:SHA256HEX``."""

    name = "DIGEST"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> Digest:
        from aidflow.projections.models import Digest

        if isinstance(value, Digest):
            return value
        try:
            digest = Digest.parse(str(value))
        except ValueError as exc:
            self.fail(render(exc.args[0] if exc.args else exc, tr), param, ctx)
        if digest.position > INT64_MAX:
            self.fail(line(M.POSITION_TOO_LARGE, position=digest.position), param, ctx)
        return digest


class ActionType(click.ParamType[tuple[str, str]]):
    """A consultation decision owed, ``DEPARTMENT=TEXT``."""

    name = "DEPARTMENT=TEXT"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[str, str]:
        if isinstance(value, tuple):
            return value
        department, sep, text = str(value).replace("＝", "=", 1).partition("=")  # IME's ＝ too
        if not sep or not department.strip() or not text.strip():
            self.fail(line(M.NOT_AN_ACTION_FORMAT, value=value), param, ctx)
        return DEPARTMENT.convert(department.strip(), param, ctx), text.strip()


YUAN = YuanType()
DATE = DateType()
MOMENT = MomentType()
SINCE = MomentType(start=True)
DIGEST = DigestType()
ACTION = ActionType()
SECONDS = FiniteType("SECONDS", 0.01, 3600)
"""Seconds between 0.01 and an hour."""
HOURS = FiniteType("HOURS", 0.001, 168)
"""Hours between 3.6 seconds and a week."""
