"""Validated inputs of every command: the edge where bad data is turned away.

Embedding code and the CLI build these models; the application only ever sees
values that passed here. Money is integer fen.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from aidflow.domain.values import (
    Department,
    FamilyCategory,
    FundKind,
    HardshipKind,
    HardshipTrend,
    NeedCategory,
    Severity,
    validate_national_id,
)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
OptionalText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Fen = Annotated[int, Field(strict=True, gt=0, description="a positive amount in fen")]
FenOrZero = Annotated[int, Field(strict=True, ge=0, description="zero or more fen")]
NationalId = Annotated[str, AfterValidator(validate_national_id)]
Year = Annotated[int, Field(ge=2000, le=2100)]


class Command(BaseModel):
    """Every command names who is acting; that name is recorded on its events."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: Text


class OpenFund(Command):
    name: Text
    kind: FundKind
    purpose: OptionalText = ""


class Deposit(Command):
    """A budget appropriation or a donation into a fund, with its receipt."""

    fund_id: UUID
    amount_fen: Fen
    source: Text
    receipt: Text
    value_date: date | None = None


class Apply(Command):
    """Open a case, from a screening match or the family's own application."""

    student_id: NationalId
    name: Text
    university: Text
    family_category: FamilyCategory
    town: Text
    year: Year
    account: OptionalText = ""
    source: Literal["screening", "application"] = "application"


class CaseCommand(Command):
    case_id: UUID


class Verify(CaseCommand):
    """The household visit (入户核实): income, tuition, the gap, and the needs found."""

    income_fen: FenOrZero
    tuition_fen: FenOrZero
    gap_fen: FenOrZero
    needs: Annotated[list[NeedCategory], Field(min_length=1)]
    visited_on: date | None = None
    note: OptionalText = ""


class Reject(CaseCommand):
    reason: Text


class Approve(CaseCommand):
    amount_fen: Fen
    need: NeedCategory
    fund_id: UUID


class Disburse(CaseCommand):
    amount_fen: Fen
    voucher: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    value_date: date | None = None


class ReturnDisbursement(CaseCommand):
    voucher: Text
    reason: Text
    value_date: date | None = None


class AllocateSecondaryAid(CaseCommand):
    fund_id: UUID
    amount_fen: Fen
    reason: OptionalText = ""


class ReportHardship(CaseCommand):
    kind: HardshipKind
    detail: Text
    severity: Severity = Severity.SERIOUS


class ActionItem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    department: Department
    text: Text


class ConveneReview(CaseCommand):
    departments: Annotated[list[Department], Field(min_length=1)]
    actions: list[ActionItem] = []
    note: OptionalText = ""


class CompleteAction(CaseCommand):
    action_id: Text
    note: Text


class FollowUp(CaseCommand):
    study: Text
    living: Text
    hardship_trend: HardshipTrend


class CloseCase(CaseCommand):
    reason: Text
