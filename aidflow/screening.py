"""Screening (信息筛查): match the admission list against the assistance registry.

Right after the college entrance exam the bureau receives the education
department's admission list and matches it, by national ID, against its
registry of dibao, tekun and expenditure-type households. Every match opens an
``Applied`` case (source: screening). Both files are CSV with a header row; the
formats are in ``docs/screening.md``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from aidflow import commands as cmd
from aidflow.application import AidFlow
from aidflow.domain.errors import InvalidInput, InvalidNationalId
from aidflow.domain.values import FamilyCategory, validate_national_id

ADMISSION_COLUMNS = ("national_id", "name", "university")
REGISTRY_COLUMNS = ("national_id", "category", "town")

#: Registry categories that make a household eligible, with the bureau's Chinese labels.
ELIGIBLE = {
    "dibao": FamilyCategory.DIBAO,
    "低保": FamilyCategory.DIBAO,
    "tekun": FamilyCategory.TEKUN,
    "特困": FamilyCategory.TEKUN,
    "expenditure": FamilyCategory.EXPENDITURE,
    "支出型": FamilyCategory.EXPENDITURE,
    "支出型困难家庭": FamilyCategory.EXPENDITURE,
}


class RowProblem(BaseModel):
    model_config = ConfigDict(frozen=True)

    file: str
    line: int
    reason: str


class ScreenedRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    line: int
    case_id: str | None
    category: str


class ScreeningReport(BaseModel):
    """What a screening run did, row by row where a row needs attention."""

    year: int
    dry_run: bool
    admissions_read: int
    registry_read: int
    matched: int
    opened: list[ScreenedRow]
    already_open: list[ScreenedRow]
    not_in_registry: int
    rejected: list[RowProblem]


def _rows(
    path: Path, required: tuple[str, ...], problems: list[RowProblem]
) -> Iterator[tuple[int, dict[str, str]]]:
    """Data rows with their line numbers; a file without the required columns yields none."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in required if c not in header]
        if missing:
            raise InvalidInput(
                f"{path.name}: missing column(s) {', '.join(missing)}; the header must include "
                f"{', '.join(required)}"
            )
        reader.fieldnames = header
        try:
            for row in reader:
                line = reader.line_num
                if None in row or any(row.get(c) is None for c in required):
                    problems.append(
                        RowProblem(file=path.name, line=line, reason="wrong number of fields")
                    )
                    continue
                yield line, {k: (v or "").strip() for k, v in row.items() if k is not None}
        except csv.Error as exc:
            problems.append(
                RowProblem(
                    file=path.name,
                    line=reader.line_num,
                    reason=f"malformed CSV: {exc}; the rest of the file from this line on was not read",
                )
            )


def read_registry(
    path: Path, problems: list[RowProblem]
) -> tuple[dict[str, tuple[FamilyCategory, str]], int]:
    """National ID -> (family category, town) for eligible households."""
    registry: dict[str, tuple[FamilyCategory, str]] = {}
    read = 0
    for line, row in _rows(path, REGISTRY_COLUMNS, problems):
        read += 1
        try:
            national_id = validate_national_id(row["national_id"])
        except InvalidNationalId as exc:
            problems.append(RowProblem(file=path.name, line=line, reason=str(exc)))
            continue
        category = ELIGIBLE.get(row["category"].lower()) or ELIGIBLE.get(row["category"])
        if category is None:
            continue  # on the registry for another reason: not part of this programme
        if not row["town"]:
            problems.append(RowProblem(file=path.name, line=line, reason="town is empty"))
            continue
        registry[national_id] = (category, row["town"])
    return registry, read


def screen(
    flow: AidFlow,
    admissions: Path,
    registry_file: Path,
    *,
    year: int,
    actor: str,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ScreeningReport:
    """Open a case for every admitted student from an eligible household; report the rest.

    ``progress`` is told how many admission rows have been read, as they are read.
    """
    problems: list[RowProblem] = []
    registry, registry_read = read_registry(registry_file, problems)
    matched: list[tuple[int, cmd.Apply]] = []
    read = 0
    not_in_registry = 0
    for line, row in _rows(admissions, ADMISSION_COLUMNS, problems):
        read += 1
        if progress is not None and read % 5000 == 0:
            progress(5000)
        try:
            national_id = validate_national_id(row["national_id"])
        except InvalidNationalId as exc:
            problems.append(RowProblem(file=admissions.name, line=line, reason=str(exc)))
            continue
        entry = registry.get(national_id)
        if entry is None:
            not_in_registry += 1
            continue
        try:
            command = cmd.Apply(
                student_id=national_id,
                name=row["name"],
                university=row["university"],
                family_category=entry[0],
                town=entry[1],
                year=year,
                account=row.get("account", ""),
                source="screening",
                actor=actor,
            )
        except ValidationError as exc:
            reason = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            problems.append(RowProblem(file=admissions.name, line=line, reason=reason))
            continue
        matched.append((line, command))
    if progress is not None:
        progress(read % 5000)
    opened: list[ScreenedRow] = []
    already: list[ScreenedRow] = []
    if dry_run:
        opened = [
            ScreenedRow(line=line, case_id=None, category=c.family_category.value)
            for line, c in matched
        ]
    else:
        step = 1000
        for start in range(0, len(matched), step):
            chunk = matched[start : start + step]
            outcomes = flow.apply_many([c for _, c in chunk])
            for (line, command), outcome in zip(chunk, outcomes, strict=True):
                screened = ScreenedRow(
                    line=line, case_id=str(outcome.case_id), category=command.family_category.value
                )
                (opened if outcome.opened else already).append(screened)

    return ScreeningReport(
        year=year,
        dry_run=dry_run,
        admissions_read=read,
        registry_read=registry_read,
        matched=len(matched),
        opened=opened,
        already_open=already,
        not_in_registry=not_in_registry,
        rejected=sorted(problems, key=lambda p: (p.file, p.line)),
    )
