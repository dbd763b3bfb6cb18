"""Validated inputs of every command: the edge where bad data is turned away.

Embedding code and the CLI build these models; the application only ever sees
values that passed here. Money is integer fen. Every identifier and text goes
through :mod:`aidflow.domain.canonical`, the one owner of those rules (the
aggregates call it again, so nothing reaches the record unchecked). A model that
refuses its input raises :class:`~aidflow.domain.errors.InvalidInput`, the same
family as every other aidflow error.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from aidflow.domain import canonical, money
from aidflow.domain.clock import now
from aidflow.domain.errors import InvalidInput, said
from aidflow.domain.findings import finding_ref
from aidflow.domain.staff import Role
from aidflow.domain.values import (
    INT64_MAX,
    AppealOutcome,
    Department,
    FamilyCategory,
    FundKind,
    HardshipKind,
    HardshipTrend,
    NeedCategory,
    ReceiptAnswer,
    Settlement,
    Severity,
)
from aidflow.i18n import messages as M
from aidflow.i18n import words
from aidflow.models import (
    AccountResult,
    CorrectionResult,
    DecisionResult,
    DepositResult,
    DisbursementResult,
    FindingDisposal,
    IssuedToken,
    PaymentList,
    PaymentSettlement,
    PersonalData,
    PolicyInForce,
    Reconciliation,
    ReversalResult,
    ReviewResult,
    VisitList,
    YearClose,
)

R = TypeVar("R")

Text = Annotated[str, AfterValidator(partial(canonical.text, what="text"))]
OptionalText = Annotated[str, AfterValidator(partial(canonical.text, what="text", required=False))]
Reason = Annotated[str, AfterValidator(partial(canonical.free_text, what="text"))]
"""A reason, note or detail: free text with person-naming digit runs masked (issue 21 §7)."""
OptionalReason = Annotated[
    str, AfterValidator(partial(canonical.free_text, what="text", required=False))
]
Name = Annotated[
    str, AfterValidator(partial(canonical.text, what="name", max_length=canonical.MAX_NAME))
]
Actor = Annotated[str, AfterValidator(canonical.actor)]
Document = Annotated[str, AfterValidator(partial(canonical.document, what="document number"))]
Fen = Annotated[
    int,
    Field(strict=True, gt=0, le=money.MAX_AMOUNT_FEN, description="a positive amount in fen"),
]
FenOrZero = Annotated[
    int, Field(strict=True, ge=0, le=money.MAX_AMOUNT_FEN, description="zero or more fen")
]
NationalId = Annotated[str, AfterValidator(canonical.national_id)]
Account = Annotated[str, AfterValidator(lambda v: canonical.account(v) if v.strip() else "")]
Year = Annotated[int, Field(strict=True, ge=2000, le=2100)]


def department_name(text: str) -> str:
    """A department in canonical form: a known one as typed in any language (卫健 is
    ``health``), else its slug; whether the policy lists it is the application's to say."""
    return canonical.slug(words.known(Department, text), "department")


DepartmentName = Annotated[str, AfterValidator(department_name)]
"""A department as the policy lists it (``civil-affairs``, or 卫健 for ``health``); the
list itself is the policy's."""

# Enumerated values, typed in any language the catalogues hold (学费 or tuition).
Need = Annotated[NeedCategory, BeforeValidator(words.enum_input(NeedCategory, M.WORD_NEED))]
Category = Annotated[
    FamilyCategory, BeforeValidator(words.enum_input(FamilyCategory, M.WORD_FAMILY_CATEGORY))
]
Kind = Annotated[FundKind, BeforeValidator(words.enum_input(FundKind, M.WORD_FUND_KIND))]
Hardship = Annotated[
    HardshipKind, BeforeValidator(words.enum_input(HardshipKind, M.WORD_HARDSHIP_KIND))
]
Seriousness = Annotated[Severity, BeforeValidator(words.enum_input(Severity, M.WORD_SEVERITY))]
Trend = Annotated[
    HardshipTrend, BeforeValidator(words.enum_input(HardshipTrend, M.WORD_HARDSHIP_TREND))
]
Post = Annotated[Role, BeforeValidator(words.enum_input(Role, M.WORD_ROLE))]
Verdict = Annotated[
    AppealOutcome, BeforeValidator(words.enum_input(AppealOutcome, M.WORD_APPEAL_OUTCOME))
]
Received = Annotated[
    ReceiptAnswer, BeforeValidator(words.enum_input(ReceiptAnswer, M.WORD_RECEIPT))
]
Outcome = Annotated[Settlement, BeforeValidator(words.enum_input(Settlement, M.WORD_SETTLEMENT))]


def plausible_date(value: date) -> date:
    """A value date (the bank's or the receipt's) from 2000 to a year ahead of today: a
    typo's 2062 or 1926 would put money into a period it never belonged to."""
    latest = now().date() + timedelta(days=366)
    if not date(2000, 1, 1) <= value <= latest:
        raise InvalidInput(
            said(
                "value date {value} is not plausible (from 2000-01-01 to {latest}); check the figure",
                value=value.isoformat(),
                latest=latest.isoformat(),
            )
        )
    return value


ValueDate = Annotated[date, AfterValidator(plausible_date)]


def moment(text: str, *, start: bool = False) -> datetime:
    """A moment as people type it: ``2026-08-29`` means the end of that day (its start with
    ``start``: ``--since``), ``2026-08-29T17:00`` that minute, both on the office's clock, so
    without a zone (the Office reads them in its policy's ``timezone``); one that names its
    zone (``…T09:00Z``, ``…+08:00``) is that instant, in UTC."""
    value = text.strip()
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time.min if start else time.max)
        found = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            said("{value!r} is not a time like 2026-08-29 or 2026-08-29T17:00", value=text)
        ) from None
    try:
        return found if found.tzinfo is None else found.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(
            said("{value!r} is outside the times aidflow can represent in UTC", value=text)
        ) from None


def describe(error: ValidationError) -> str:
    """One line naming each refused field and why, in the reader's language when shown: a
    field refused by our own rules keeps its catalogue message (:func:`said`), pydantic's own
    wording is English with a catalogue sentence for other languages
    (:func:`aidflow.i18n.problems.input_problems`)."""
    from aidflow.i18n.problems import input_problems

    return input_problems(error.errors())


class Command(BaseModel, Generic[R]):
    """Every command names who is acting; that name is recorded on its events.

    ``R`` is what running it answers (``AidFlow.handle(c)``, ``Office.handle(c)``).

    ``idempotency_key`` (optional on every command): the same key with the same
    request again is a retry that writes nothing and returns the first result; with
    a different request it is refused. Money decisions carry their own ``ref``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: Actor
    idempotency_key: Document | None = None

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise InvalidInput(describe(exc)) from None

    def content(self) -> dict[str, Any]:
        """What the request asks for, as compared between a first try and a retry."""
        return self.model_dump(mode="json", exclude={"idempotency_key"})


class OpenFund(Command[UUID]):
    name: Name
    kind: Kind
    purpose: OptionalReason = ""


class Deposit(Command[DepositResult]):
    """A budget appropriation or a donation into a fund, with its receipt."""

    fund_id: UUID
    amount_fen: Fen
    source: Text
    receipt: Document
    value_date: ValueDate | None = None


class Apply(Command[UUID]):
    """Open a case, from a screening match or the family's own application."""

    student_id: NationalId
    name: Name
    university: Name
    family_category: Category
    town: Name
    year: Year
    account: Account = ""
    source: Literal["screening", "application"] = "application"

    PERSONAL: ClassVar[tuple[str, ...]] = ("student_id", "name", "account")
    """Kept out of idempotency fingerprints in clear (a keyed hash stands in; issue 11)."""

    @field_validator("year")
    @classmethod
    def _born_by_the_year(cls, year: int, info: ValidationInfo) -> int:
        """Born after the programme year is a mistyped ID, refused with the rest of the
        input (it was found only when the case was opened, after the master key was asked for)."""
        if info.data.get("student_id"):  # else refused already
            canonical.national_id(info.data["student_id"], by_year=year)
        return year


class CaseCommand(Command[R]):
    case_id: UUID


class Verify(CaseCommand[None]):
    """The household visit (入户核实): income, tuition, the gap, and the needs found."""

    income_fen: FenOrZero
    tuition_fen: FenOrZero
    gap_fen: FenOrZero
    needs: Annotated[list[Need], Field(min_length=1)]
    visited_on: date | None = None
    note: OptionalReason = ""


class Reject(CaseCommand[None]):
    reason: Reason


class Approve(CaseCommand[DecisionResult]):
    """A grant decision. ``ref`` is the approval form's number (审批编号): unique in the
    store, so a retried approval is recognised and never recorded twice."""

    amount_fen: Fen
    need: Need
    fund_id: UUID
    ref: Document


class Disburse(CaseCommand[DisbursementResult]):
    amount_fen: Fen
    voucher: Document
    value_date: ValueDate | None = None
    fund_id: UUID | None = None
    """Pay this fund's approval (a grant's or secondary aid's); by default the first that covers it."""


class ReturnDisbursement(CaseCommand[None]):
    voucher: Document
    reason: Reason
    value_date: ValueDate | None = None


class AllocateSecondaryAid(CaseCommand[DecisionResult]):
    """Secondary aid (二次帮扶); ``ref`` is the decision's number, unique like an approval's."""

    fund_id: UUID
    amount_fen: Fen
    ref: Document
    reason: OptionalReason = ""


class ReportHardship(CaseCommand[None]):
    kind: Hardship
    detail: Reason
    severity: Seriousness = Severity.SERIOUS


class ActionItem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    department: DepartmentName
    text: Text
    due: date | None = None

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise InvalidInput(describe(exc)) from None


class ConveneReview(CaseCommand[ReviewResult]):
    departments: Annotated[list[DepartmentName], Field(min_length=1)]
    actions: list[ActionItem] = []
    note: OptionalReason = ""


class CompleteAction(CaseCommand[None]):
    action_id: Document
    note: Reason


class FollowUp(CaseCommand[None]):
    """A follow-up visit; ``received``: the student's word on whether the money paid since
    their last such answer arrived (post-payment verification)."""

    study: Reason
    living: Reason
    hardship_trend: Trend
    received: Received | None = None


class CloseCase(CaseCommand[None]):
    reason: Reason


class AddStaff(Command[None]):
    """Register a staff member (an admin's act; the first admin of a store adds themselves)."""

    name: Actor
    roles: Annotated[list[Post], Field(min_length=1)]
    department: Annotated[str, AfterValidator(partial(canonical.reach, what="department"))] = ""
    town: Annotated[str, AfterValidator(partial(canonical.reach, what="town"))] = ""


class GrantRole(Command[None]):
    name: Actor
    role: Post


class RevokeRole(Command[None]):
    name: Actor
    role: Post


class ReverseDeposit(Command[ReversalResult]):
    """Propose reversing the deposit under ``receipt`` (entered twice, or into the wrong
    fund), whole and only as far as the balance allows; a different person confirms it."""

    fund_id: UUID
    receipt: Document
    reason: Reason


class ConfirmReversal(Command[ReversalResult]):
    """A different person confirms the proposed reversal of deposit ``receipt``."""

    fund_id: UUID
    receipt: Document


class LodgeAppeal(CaseCommand[None]):
    """The student appeals the rejection (复核), within the policy's ``appeal-days``."""

    reason: Reason


class DecideAppeal(CaseCommand[None]):
    """Decide an appeal: ``upheld`` or ``overturned`` (back to household verification), by
    someone other than the one who rejected."""

    outcome: Verdict
    reason: Reason


class CorrectApproval(CaseCommand[CorrectionResult]):
    """Propose taking ``amount_fen`` off grant approval ``ref`` (all of its unpaid part when
    left out: a cancellation); a different person confirms it."""

    ref: Document
    amount_fen: Fen | None = None
    reason: Reason


class ConfirmCorrection(CaseCommand[CorrectionResult]):
    """A different person confirms the correction proposed for approval ``ref``."""

    ref: Document


class IssueToken(Command[IssuedToken]):
    """A bearer token for ``name`` (one's own; an admin may issue another's, recorded), in
    force for ``days``; it replaces the member's earlier token."""

    name: Actor
    days: Annotated[int, Field(strict=True, ge=1, le=366)] = 30


class RevokeToken(Command[None]):
    """Stop ``name``'s token now (the holder, or an admin)."""

    name: Actor
    reason: OptionalReason = ""


class SetPolicy(Command[PolicyInForce]):
    """Change one policy value: ``key`` as ``aidflow policy set`` takes it (``cap``, …)."""

    key: Annotated[str, AfterValidator(partial(canonical.document, what="policy key"))]
    value: Annotated[str, AfterValidator(partial(canonical.document, what="policy value"))]


# -- issue 11: personal data revealed (audited) and erased -------------------------------------


class Reveal(CaseCommand[PersonalData]):
    """See a case's national ID, name and bank account unmasked; the reason is recorded."""

    reason: Reason


class RevealVisitList(Command[VisitList]):
    """A verifier's visit list (走访清单): the cases awaiting a household visit in their towns,
    with names and IDs in full; every case's reveal is recorded, in one save."""

    case_ids: Annotated[list[UUID], Field(min_length=1, max_length=10_000)]
    reason: OptionalReason = ""


class RecordSearch(Command[None]):
    """Record a search by national ID or name and the cases it found (``Office.find`` runs
    it after every search, before answering)."""

    text: Annotated[str, Field(max_length=canonical.MAX_NAME)]
    hits: Annotated[list[UUID], Field(max_length=10_000)]

    PERSONAL: ClassVar[tuple[str, ...]] = ("text",)


class EraseCase(CaseCommand[list[UUID]]):
    """Destroy the student's data key once the case is over and its retention has passed."""

    reason: Reason


# -- the money loop (issue 12) -------------------------------------------------------------


class SetAccount(CaseCommand[AccountResult]):
    """Record or correct the student's own account; after a payment a second person confirms."""

    account: Annotated[str, AfterValidator(canonical.account)]
    reason: Reason
    bank: OptionalText = ""


class ConfirmAccount(CaseCommand[AccountResult]):
    """The second person confirms a proposed account change (optionally re-typing it)."""

    account: Account = ""


class ApproveSecondaryAid(CaseCommand[DecisionResult]):
    """Approve secondary aid proposed under ``ref``; the approver is not the proposer."""

    ref: Document


class IssuePaymentList(Command[PaymentList]):
    """Issue the payment list (代发清单) of one fund: vouchers for approved, unpaid money."""

    fund_id: UUID
    list_date: date


class StatementLine(BaseModel):
    """One line of the bank's statement: ``status`` is ``paid`` or ``returned``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    line: Annotated[int, Field(strict=True, ge=0, le=INT64_MAX)] = 0
    value_date: ValueDate | None = None
    account: Account = ""
    amount_fen: Fen
    reference: Annotated[str, AfterValidator(partial(canonical.text, what="reference"))]
    status: Literal["paid", "returned"]
    note: OptionalReason = ""
    name: Annotated[
        str,
        AfterValidator(
            partial(canonical.text, what="name", required=False, max_length=canonical.MAX_NAME)
        ),
    ] = ""
    """The account holder's name as the bank shows it (户名), when the statement has one."""

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise InvalidInput(describe(exc)) from None


MAX_STATEMENT_LINES = 100_000
"""Lines one statement may hold (a district's year is a few thousand payments); the file
reader refuses a longer one before reading it line by line."""


class Reconcile(Command[Reconciliation]):
    """Take the bank's statement back: every line matched to a voucher."""

    name: OptionalText = ""
    lines: Annotated[list[StatementLine], Field(max_length=MAX_STATEMENT_LINES)]


class ResolvePayment(Command[PaymentSettlement]):
    """Settle a disputed payment (its statement line disagreed) as ``paid`` or ``returned``:
    by a cashier other than the one who issued it, or an approver."""

    voucher: Document
    outcome: Outcome
    reason: Reason
    value_date: ValueDate | None = None


class ReissuePayment(Command[PaymentSettlement]):
    """Pay a returned payment again to the same account, with no account change (the bank
    cleared a name mismatch): decided by someone other than its issuer."""

    voucher: Document
    reason: Reason


class DisposeFinding(Command[FindingDisposal]):
    """Explain an audit finding (审计发现说明) by its id; ``withdraw`` takes an explanation back.
    Someone other than the people whose acts raised it explains it."""

    finding: Annotated[str, AfterValidator(finding_ref)]
    reason: OptionalReason = ""
    withdraw: bool = False


class RecordKeyRotation(Command[None]):
    """The record of a master-key rotation (an admin's): the new key's fingerprint and how many
    data keys were wrapped again. ``Office.rotate_master_key`` authorises, rotates, records."""

    fingerprint: Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]
    rewrapped: Annotated[int, Field(strict=True, ge=0)]


class RecordWitness(Command[None]):
    """The record of a witnessed digest: who witnessed, with which key, which digest, and the
    hash of the signed statement. ``Office.witness`` signs and records it."""

    witness: Name
    key_fingerprint: Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]
    digest: Annotated[str, Field(pattern=r"^tree:[0-9]+:[0-9a-f]{64}$")]
    statement: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class RecordNotice(Command[None]):
    """The record of a public notice (公示) drawn for posting: ``Office.notice`` draws, proves
    and records it."""

    period: Annotated[str, Field(max_length=40)]
    rows: Annotated[int, Field(strict=True, ge=0)]
    total_fen: Annotated[int, Field(strict=True, ge=0)]
    digest: Annotated[str, Field(pattern=r"^tree:[0-9]+:[0-9a-f]{64}$")]


class CloseYear(Command[YearClose]):
    """Propose closing programme ``year`` (年度结账, an admin); a second person confirms it."""

    year: Year


class ConfirmYearClose(Command[YearClose]):
    """Confirm closing programme ``year`` (a second admin, or an approver): the year's
    unpaid approvals go back to their funds and its totals and the digest are recorded."""

    year: Year


class LoadPolicy(Command[PolicyInForce]):
    """Change several policy values at once (a policy file): ``{"cap": "6000", ...}``."""

    settings: Annotated[
        dict[
            Annotated[str, AfterValidator(partial(canonical.document, what="policy key"))],
            Annotated[
                str,
                AfterValidator(partial(canonical.text, what="policy value", max_length=2000)),
            ],
        ],
        Field(min_length=1, max_length=50),
    ]
