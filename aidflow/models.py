"""What the library returns: small pydantic models, personal data masked."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, ValidatorFunctionWrapHandler, WrapValidator

from aidflow.domain.case import StudentCase
from aidflow.domain.errors import Said
from aidflow.domain.fund import Fund
from aidflow.domain.masking import mask_personal
from aidflow.domain.values import CaseStatus


def _kept(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    return value if isinstance(value, Said) else handler(value)


Sentence = Annotated[str, WrapValidator(_kept)]
"""Text a person reads in a list (why a row was refused, why money was held): a
:class:`~aidflow.domain.errors.Said` stays one, so each face shows it in its reader's language
(:func:`aidflow.render.clean`); JSON carries the English sentence, as errors do."""


class Result(BaseModel):
    model_config = ConfigDict(frozen=True)


class CaseSnapshot(Result):
    """A case's state at one version, as the aggregate sees it."""

    case_id: UUID
    version: int
    as_of: datetime
    status: CaseStatus
    student_id_masked: str
    name: str
    university: str
    family_category: str
    town: str
    year: int
    account_masked: str
    approved_fen: int
    disbursed_fen: int
    secondary_aid_fen: int
    unpaid_by_fund: dict[str, int]
    vouchers: list[str]
    open_actions: list[str]
    reason: str

    @classmethod
    def of(cls, case: StudentCase) -> CaseSnapshot:
        return cls(
            case_id=case.id,
            version=case.version,
            as_of=case.modified_on,
            status=case.status,
            student_id_masked=mask_personal("student_id", case.student_id),
            name=mask_personal("name", case.name),
            university=case.university,
            family_category=case.family_category,
            town=case.town,
            year=case.year,
            account_masked=mask_personal("account", case.account),
            approved_fen=case.approved_fen,
            disbursed_fen=case.disbursed_fen,
            secondary_aid_fen=case.secondary_aid_fen,
            unpaid_by_fund=case.unpaid_by_fund,
            vouchers=[str(payment["voucher"]) for payment in case.payments.values()],
            open_actions=case.open_actions,
            reason=case.reason,
        )


class FundSnapshot(Result):
    fund_id: UUID
    version: int
    as_of: datetime
    name: str
    kind: str
    purpose: str
    deposited_fen: int
    allocated_fen: int
    released_fen: int
    balance_fen: int

    @classmethod
    def of(cls, fund: Fund) -> FundSnapshot:
        return cls(
            fund_id=fund.id,
            version=fund.version,
            as_of=fund.modified_on,
            name=fund.name,
            kind=fund.kind,
            purpose=fund.purpose,
            deposited_fen=fund.deposited_fen,
            allocated_fen=fund.allocated_fen,
            released_fen=fund.released_fen,
            balance_fen=fund.balance_fen,
        )


class DisbursementResult(Result):
    case_id: UUID
    voucher: str
    fund_id: UUID
    amount_fen: int
    recorded: bool
    """False when this was a retry of a payment already recorded: nothing new was written."""


class DecisionResult(Result):
    """A money decision (a grant approval, secondary aid) under its reference."""

    case_id: UUID
    ref: str
    fund_id: UUID
    amount_fen: int
    recorded: bool
    """False when this reference was already recorded with the same content: a retry."""


class ApplyOutcome(Result):
    case_id: UUID
    opened: bool
    """False when the student already had a case for the year: ``case_id`` is that case."""


class DepositResult(Result):
    fund_id: UUID
    receipt: str
    amount_fen: int
    recorded: bool


class ReviewResult(Result):
    case_id: UUID
    action_ids: list[str]


class EventRecord(Result):
    """One stored event of an aggregate, decoded, for history listings."""

    originator_id: UUID
    version: int
    timestamp: datetime
    type: str
    actor: str
    data: dict[str, Any]


class StaffMember(Result):
    """A registered person and the roles they held at the moment asked about."""

    name: str
    roles: list[str]
    department: str
    town: str


class PolicyInForce(Result):
    """The policy at a moment: every value, and the register's version (0: the defaults)."""

    cap_fen: int
    max_unpaid_days: int
    max_days_to_consultation: int
    max_days_action_open: int
    retention_years: int
    version: int
    secondary_cap_fen: int = 1_000_000
    statement_days: int = 10
    receipt_days: int = 0
    appeal_days: int = 30
    appeal_decision_days: int = 30
    gap_bound: bool = True
    need_rule: bool = True
    strict_close: bool = True
    approval_tiers: list[tuple[str, int]] = []
    departments: list[str] = []
    payment_due_days: int = 14
    action_due_days: int = 30
    timezone: str = "Asia/Shanghai"
    """The office's clock (IANA); days and ``--as-of DATE`` follow it, stored times are UTC."""


class VisitRow(Result):
    """One household to visit: the student in full (the list's reveal is recorded)."""

    case_id: UUID
    name: str
    student_id: str
    university: str
    town: str
    family_category: str
    status: str


class VisitList(Result):
    """A verifier's visit list (走访清单): only ``RevealVisitList`` returns it, after recording
    a reveal on every case in it."""

    reason: str
    rows: list[VisitRow]


class PersonalData(Result):
    """A student's personal data in full: only :meth:`AidFlow.reveal` returns it, and only
    after recording who saw it and why (issue 11)."""

    case_id: UUID
    student_id: str
    name: str
    account: str


# -- the money loop (issue 12) -------------------------------------------------------------


class AccountResult(Result):
    case_id: UUID
    account_masked: str
    pending: bool
    """True when the change waits for a second person (`case confirm-account`)."""
    recorded: bool


class PaymentLine(Result):
    """One line of a payment list (代发清单). ``account`` is the FULL account number: this
    model leaves the library only as the cashier's list file."""

    voucher: str
    case_id: UUID
    name: str
    student_id: str = ""
    """The FULL national ID, as a bank's 代发 template asks (身份证号); in the file only."""
    account: str
    bank: str
    amount_fen: int
    use: str
    reference: str
    new: bool
    """False for a line issued on an earlier list and not yet settled: same voucher again."""


class HeldLine(Result):
    """Approved, unpaid money that could not go on the list, and why."""

    case_id: UUID
    amount_fen: int
    reason: Sentence


class PaymentList(Result):
    fund_id: UUID
    list_date: date
    lines: list[PaymentLine]
    held: list[HeldLine]
    new_vouchers: int

    @property
    def total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)


class StatementFinding(Result):
    """A statement line the reconciliation could not apply, or a listed voucher with no line."""

    kind: str
    """``no_voucher``, ``amount_mismatch``, ``account_mismatch``, ``name_mismatch`` (these
    three hold the voucher in dispute), ``disputed`` (a line on a held voucher),
    ``duplicate_line``, ``paid_after_return``, ``not_applied`` or ``no_statement_line``
    (overdue)."""
    line: int
    reference: str
    amount_fen: int
    account_masked: str
    detail: str


class Reconciliation(Result):
    digest: str
    name: str
    lines: int
    confirmed: list[str]
    returned: list[str]
    already_settled: int
    findings: list[StatementFinding]
    overdue: list[StatementFinding]
    recorded: bool
    """False when this statement was imported before: nothing new was written."""


class PaymentSettlement(Result):
    """A disputed payment settled by hand, or a returned one issued again (issue 23)."""

    voucher: str
    case_id: UUID
    amount_fen: int
    outcome: str
    """``paid`` or ``returned`` (``pay resolve``), ``reissued`` (``pay reissue``)."""


class CorrectionResult(Result):
    """A grant approval's correction: proposed (``pending``) or confirmed (issue 23)."""

    case_id: UUID
    ref: str
    amount_fen: int
    """Taken off the approval (its unpaid part), and released back to its fund."""
    pending: bool
    """True while it awaits a second person (`case confirm-correction`)."""
    recorded: bool
    """False when the same proposal was made before: nothing new written."""


class ReversalResult(Result):
    """A deposit's reversal: proposed (``pending``) or confirmed (issue 23)."""

    fund_id: UUID
    receipt: str
    amount_fen: int
    pending: bool
    recorded: bool


class IssuedToken(Result):
    """A bearer token, shown once: the store records only its hash (``staff.token_issued``)."""

    name: str
    token: str
    expires_at: datetime


class FindingDisposal(Result):
    """An audit finding explained, or its explanation withdrawn (``audit dispose``)."""

    finding: str
    rule: str
    disposed: bool
    """True when explained; False when the explanation was withdrawn (open again)."""


class ImportedRow(Result):
    """One data line of an imported sheet and what became of it: ``recorded``, ``already``
    (recorded before: a re-run), ``refused`` (with its reason), or with ``--dry-run``
    ``would_record``."""

    line: int
    case_id: str
    outcome: str
    reason: str = ""


class StepImport(Result):
    """A sheet of verifications, approvals or follow-ups, every data line accounted for."""

    kind: str
    file: str
    dry_run: bool
    rows: list[ImportedRow]

    def count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)


class YearClose(Result):
    """A programme year's close (年度结账): ``open``, ``proposed`` or ``closed``; once closed,
    its totals from the cases' events, what went back to the funds and the digest."""

    year: int
    status: str
    proposed_by: str = ""
    closed_by: str = ""
    cases: int = 0
    approved_fen: int = 0
    paid_fen: int = 0
    released_fen: int = 0
    digest: str = ""
    digest_size: int = 0
    recorded: bool = False
    """Whether this command recorded something (the same proposal again records nothing)."""


class SnapshotFinding(Result):
    aggregate_id: str
    version: int
    problem: str


class SnapshotVerification(Result):
    ok: bool
    checked: int
    findings: list[SnapshotFinding]
    message: str
    unsealed: int = 0
    """Snapshots without a seal (an older store's, or one whose seal was taken off): never
    used by a command, and not damage when they agree with their events."""
    unchecked: int = 0
    """Sealed snapshots whose seal could not be checked (no master key given); their
    state was still compared with a replay."""
