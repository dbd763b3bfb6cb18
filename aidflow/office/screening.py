"""Screening (信息筛查): match the admission list against the assistance registry.

Right after the college entrance exam the bureau receives the education
department's admission list and matches it, by national ID, against its
registry of dibao, tekun and expenditure-type households. Every match opens an
``Applied`` case (source: screening). The files are CSV (UTF-8, UTF-16 or GBK) or
.xlsx with Chinese or English headers; the formats are in ``docs/screening.md``.

Every admission row ends as exactly one of: opened (or would open), already
open, duplicate in the file, not in the registry, rejected. A dry run classifies
the rows exactly as a real run would, without writing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from aidflow import commands as cmd
from aidflow.application import AidFlow
from aidflow.bulk import collector_paused, held_unscanned
from aidflow.domain.errors import InvalidInput, message_of, said
from aidflow.domain.values import FamilyCategory
from aidflow.imports.table import Column, Record, RowProblem, Table, read_table
from aidflow.imports.values import (
    parse_account,
    parse_family_category,
    parse_national_id,
)

__all__ = [
    "ADMISSION_COLUMNS",
    "ELIGIBLE",
    "REGISTRY_COLUMNS",
    "DuplicateRow",
    "RowProblem",
    "ScreenedRow",
    "ScreeningReport",
    "parse_family_category",
    "screen",
]

_NATIONAL_ID = Column("national_id", ("national_id", "身份证号", "身份证号码"), identifier=True)
ADMISSION_COLUMNS = (
    _NATIONAL_ID,
    Column("name", ("name", "姓名", "学生姓名")),
    Column("university", ("university", "录取院校", "录取学校")),
    Column("account", ("account", "银行账号", "银行卡号"), required=False, identifier=True),
)
REGISTRY_COLUMNS = (
    _NATIONAL_ID,
    Column("category", ("category", "类别", "救助类别")),
    Column("town", ("town", "乡镇", "乡镇（街道）")),
)

#: Registry categories that make a household eligible for this programme.
ELIGIBLE = frozenset({FamilyCategory.DIBAO, FamilyCategory.TEKUN, FamilyCategory.EXPENDITURE})

_PROGRESS_STEP = 5000
_SAVE_STEP = 2000


class ScreenedRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    line: int
    case_id: str | None
    category: str


class DuplicateRow(BaseModel):
    """A second row for a student already on an earlier line of the same file."""

    model_config = ConfigDict(frozen=True)

    line: int
    first_line: int


NOT_IN_REGISTRY = "not_in_registry"
NOT_ELIGIBLE = "not_eligible"


class UnmatchedRow(BaseModel):
    """An admitted student no case was opened for, and why (issue 24 §4): not in the registry
    at all, or listed there under a category this programme does not assist.

    The ID, name and university are the admission file's own (the clerk's input, not the
    store's): they go only to the clerk's ``--unmatched -o FILE`` (written for its owner
    alone), never into ``--json`` or a log."""

    model_config = ConfigDict(frozen=True)

    line: int
    reason: str
    """``not_in_registry`` or ``not_eligible``."""
    category: str = ""
    """The registry's category of a student listed but not eligible."""
    national_id: str = Field(default="", exclude=True)
    name: str = Field(default="", exclude=True)
    university: str = Field(default="", exclude=True)


class ScreeningReport(BaseModel):
    """What a screening run did: every admission row is in exactly one of the lists or counts.

    ``admissions_rows == len(opened) + len(already_open) + len(duplicates) +
    not_in_registry + (rejected rows of the admission file)``.
    """

    year: int
    dry_run: bool
    admissions_file: str
    admissions_format: str
    admissions_rows: int
    """Data lines in the admission file, counted apart from the parser."""
    admissions_read: int
    """Admission rows that passed their checks (``admissions_rows`` less the rejected)."""
    registry_file: str
    registry_format: str
    registry_rows: int
    registry_read: int
    registry_eligible: int
    """Registry rows for dibao, tekun or expenditure-type households."""
    matched: int
    opened: list[ScreenedRow]
    already_open: list[ScreenedRow]
    duplicates: list[DuplicateRow]
    not_in_registry: int
    rejected: list[RowProblem]
    unmatched: list[UnmatchedRow] = []
    """Each row counted in ``not_in_registry``, with its reason; listed only when asked for
    (``screen(..., unmatched=True)``)."""


class _Household(NamedTuple):
    category: FamilyCategory
    town: str


@dataclass(frozen=True)
class _Registry:
    table: Table
    eligible: dict[str, _Household]
    rejected: list[RowProblem]
    others: dict[str, FamilyCategory]
    """Listed, under a category the programme does not assist (to say why a row is unmatched)."""

    @property
    def read(self) -> int:
        return self.table.data_lines - len(self.rejected)


def _read_registry(path: Path, *, encoding: str | None, sheet: str | None) -> _Registry:
    """National ID -> household for the eligible; a person listed twice is rejected after the first."""
    table = read_table(path, REGISTRY_COLUMNS, encoding=encoding, sheet=sheet)
    rejected = list(table.rejected)
    first_line: dict[str, int] = {}
    eligible: dict[str, _Household] = {}
    others: dict[str, FamilyCategory] = {}
    categories: dict[str, FamilyCategory] = {}  # a registry spells a handful, 500,000 times
    for record in table.records:
        try:
            national_id, category = _listing(record, first_line, categories)
        except InvalidInput as exc:
            rejected.append(RowProblem(file=table.file, line=record.line, reason=message_of(exc)))
            continue
        first_line[national_id] = record.line
        if category in ELIGIBLE:
            eligible[national_id] = _Household(category, record.values["town"])
        else:
            others[national_id] = category
    return _Registry(table, eligible, rejected, others)


def _listing(
    record: Record, first_line: dict[str, int], categories: dict[str, FamilyCategory]
) -> tuple[str, FamilyCategory]:
    """A registry row's national ID and category; a value the programme does not know is OTHER
    (``categories``: each spelling read before, and what it was read as)."""
    national_id = parse_national_id(record.values["national_id"])
    if national_id in first_line:
        raise InvalidInput(
            said(
                "the same national ID as line {first_line}; the registry lists a person once",
                first_line=first_line[national_id],
            )
        )
    text = record.values["category"]
    if not text:
        raise InvalidInput(said("category is empty"))
    category = categories.get(text)
    if category is None:
        try:
            category = parse_family_category(text)
        except InvalidInput:
            category = FamilyCategory.OTHER  # listed for another reason: not this programme's
        categories[text] = category
    if category in ELIGIBLE and not record.values["town"]:
        raise InvalidInput(said("town is empty"))
    return national_id, category


@dataclass(frozen=True)
class _Classified:
    """Admission rows sorted before anything is written, so a dry run sees what a run does."""

    matched: list[tuple[int, cmd.Apply]]
    duplicates: list[DuplicateRow]
    not_in_registry: int
    rejected: list[RowProblem]
    unmatched: list[UnmatchedRow]


def _unmatched(record: Record, national_id: str, registry: _Registry) -> UnmatchedRow:
    other = registry.others.get(national_id)
    return UnmatchedRow(
        line=record.line,
        reason=NOT_IN_REGISTRY if other is None else NOT_ELIGIBLE,
        category="" if other is None else other.value,
        national_id=national_id,
        name=record.values["name"],
        university=record.values["university"],
    )


def _classify(
    table: Table,
    registry: _Registry,
    *,
    year: int,
    actor: str,
    progress: Callable[[int], None] | None,
    unmatched: bool = False,
) -> _Classified:
    rejected = list(table.rejected)
    first_line: dict[str, int] = {}
    matched: list[tuple[int, cmd.Apply]] = []
    duplicates: list[DuplicateRow] = []
    not_in_registry = 0
    why: list[UnmatchedRow] = []
    for count, record in enumerate(table.records, start=1):
        if progress is not None and count % _PROGRESS_STEP == 0:
            progress(_PROGRESS_STEP)
        try:
            national_id, command = _application(record, registry.eligible, year=year, actor=actor)
        except InvalidInput as exc:
            rejected.append(RowProblem(file=table.file, line=record.line, reason=message_of(exc)))
            continue
        if national_id in first_line:
            duplicates.append(DuplicateRow(line=record.line, first_line=first_line[national_id]))
        elif command is None:
            first_line[national_id] = record.line
            not_in_registry += 1
            if unmatched:
                why.append(_unmatched(record, national_id, registry))
        else:
            first_line[national_id] = record.line
            matched.append((record.line, command))
    if progress is not None:
        progress(len(table.records) % _PROGRESS_STEP + len(table.rejected))
    return _Classified(matched, duplicates, not_in_registry, rejected, why)


def _application(
    record: Record, registry: dict[str, _Household], *, year: int, actor: str
) -> tuple[str, cmd.Apply | None]:
    """The row's canonical national ID and, when the registry has the household, its application."""
    values = record.values
    national_id = parse_national_id(values["national_id"], by_year=year)  # a row, not the run
    account = parse_account(values.get("account", ""))
    for column in ("name", "university"):
        if not values[column]:
            raise InvalidInput(said("{column} is empty", column=column))
    household = registry.get(national_id)
    if household is None:
        return national_id, None
    try:
        return national_id, cmd.Apply(
            student_id=national_id,
            name=values["name"],
            university=values["university"],
            family_category=household.category,
            town=household.town,
            year=year,
            account=account,
            source="screening",
            actor=actor,
        )
    except ValidationError as exc:
        raise InvalidInput(cmd.describe(exc)) from None


def _existing_case(flow: AidFlow, student_id: str, year: int) -> UUID | None:
    """The case a student already has for the year, read without writing (for a dry run)."""
    key = flow.enrolment_of(student_id, year)
    return None if key is None else key.case_id


def _open_cases(
    flow: AidFlow,
    rows: _Classified,
    *,
    year: int,
    dry_run: bool,
    between_batches: Callable[[], None],
) -> tuple[list[ScreenedRow], list[ScreenedRow]]:
    """The matched rows opened (or, on a dry run, found open already), a batch at a time:
    (opened, already open); ``between_batches`` runs after each (the collector's turn)."""
    opened: list[ScreenedRow] = []
    already: list[ScreenedRow] = []
    for start in range(0, len(rows.matched), _SAVE_STEP):
        chunk = rows.matched[start : start + _SAVE_STEP]
        outcomes: list[tuple[UUID | None, bool]]
        if dry_run:
            existing = [_existing_case(flow, c.student_id, year) for _, c in chunk]
            outcomes = [(case_id, case_id is None) for case_id in existing]
        else:
            applied = flow.apply_many([c for _, c in chunk])
            outcomes = [(o.case_id, o.opened) for o in applied]
        for (line, command), (case_id, is_new) in zip(chunk, outcomes, strict=True):
            screened = ScreenedRow(
                line=line,
                case_id=None if case_id is None else str(case_id),
                category=command.family_category.value,
            )
            (opened if is_new else already).append(screened)
        between_batches()
    return opened, already


def screen(
    flow: AidFlow,
    admissions: Path,
    registry_file: Path,
    *,
    year: int,
    actor: str,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    admissions_encoding: str | None = None,
    registry_encoding: str | None = None,
    admissions_sheet: str | None = None,
    registry_sheet: str | None = None,
    unmatched: bool = False,
) -> ScreeningReport:
    """Open a case for every admitted student from an eligible household; account for every row
    (with ``unmatched``, each row not matched and why).

    Both files are read and checked whole before anything is written, so a refused
    file (:class:`InvalidInput`) writes nothing. ``progress`` is told how many
    admission rows have been classified, as they are. Encodings are detected unless
    named; a workbook's first sheet is read unless one is named.
    """
    try:
        TypeAdapter(cmd.Year).validate_python(year)
    except ValidationError:
        raise InvalidInput(
            said("programme year {year} is out of range (2000 to 2100)", year=year)
        ) from None
    with collector_paused():  # millions of rows and records, none in a cycle
        registry = _read_registry(registry_file, encoding=registry_encoding, sheet=registry_sheet)
        table = read_table(
            admissions, ADMISSION_COLUMNS, encoding=admissions_encoding, sheet=admissions_sheet
        )
        rows = _classify(
            table, registry, year=year, actor=actor, progress=progress, unmatched=unmatched
        )
    with held_unscanned() as between_batches:  # the files' rows, held to the end, unscanned
        opened, already = _open_cases(
            flow, rows, year=year, dry_run=dry_run, between_batches=between_batches
        )
    return _report(table, registry, rows, opened, already, year=year, dry_run=dry_run)


def _report(
    table: Table,
    registry: _Registry,
    rows: _Classified,
    opened: list[ScreenedRow],
    already: list[ScreenedRow],
    *,
    year: int,
    dry_run: bool,
) -> ScreeningReport:
    """What became of every row of both files, each admission row counted once."""
    report = ScreeningReport(
        year=year,
        dry_run=dry_run,
        admissions_file=table.file,
        admissions_format=table.format,
        admissions_rows=table.data_lines,
        admissions_read=table.data_lines - len(rows.rejected),
        registry_file=registry.table.file,
        registry_format=registry.table.format,
        registry_rows=registry.table.data_lines,
        registry_read=registry.read,
        registry_eligible=len(registry.eligible),
        matched=len(rows.matched),
        opened=opened,
        already_open=already,
        duplicates=rows.duplicates,
        not_in_registry=rows.not_in_registry,
        unmatched=rows.unmatched,
        rejected=sorted([*registry.rejected, *rows.rejected], key=lambda p: (p.file, p.line)),
    )
    accounted = len(opened) + len(already) + len(rows.duplicates) + rows.not_in_registry
    assert accounted == report.admissions_read, "every admission row is accounted for once"
    return report
