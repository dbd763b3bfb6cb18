"""What the read side returns: pydantic models, money in fen, personal data masked."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    computed_field,
)

from aidflow.domain.canonical import is_count, is_sha256_hex
from aidflow.domain.errors import Said, render
from aidflow.domain.findings import finding_id
from aidflow.i18n import tr


class View(BaseModel):
    model_config = ConfigDict(frozen=True)


class DossierEntry(View):
    position: int
    version: int
    section: str
    event_type: str
    recorded_at: datetime
    actor: str
    detail: dict[str, Any]


class ActionItem(View):
    case_id: str
    action_id: str
    department: str
    text: str
    assigned_at: datetime
    done_at: datetime | None
    done_by: str | None = None
    note: str | None = None


class CaseSummary(View):
    case_id: str
    student_id_masked: str
    name: str
    university: str
    family_category: str
    town: str
    year: int
    status: str
    approved_fen: int
    disbursed_fen: int
    secondary_aid_fen: int
    updated_at: datetime


class Dossier(CaseSummary):
    """One person, one file (一人一档)."""

    account_masked: str
    source: str
    opened_at: datetime
    reason: str
    verification: dict[str, Any] | None
    approvals: list[DossierEntry]
    disbursements: list[DossierEntry]
    returns: list[DossierEntry]
    secondary_aid: list[dict[str, Any]]
    hardships: list[DossierEntry]
    consultations: list[DossierEntry]
    actions: list[ActionItem]
    follow_ups: list[DossierEntry]
    timeline: list[DossierEntry]


class AwaitingConsultation(View):
    case_id: str
    name: str
    town: str
    position: int
    kind: str
    severity: str
    detail: str
    reported_at: datetime
    waiting_days: float


class OwedAction(View):
    case_id: str
    name: str
    action_id: str
    department: str
    text: str
    assigned_at: datetime
    waiting_days: float
    due: str | None = None


class DueItem(View):
    """A payment or a consultation action with its due date (``aidflow due``)."""

    kind: str  # payment | action | appeal
    case_id: str
    name: str
    amount_fen: int  # a payment's approved and unpaid fen; 0 for an action
    action_id: str
    text: str
    department: str
    due: date
    days_left: int  # negative: overdue


class Queue(View):
    as_of: datetime
    awaiting_consultation: list[AwaitingConsultation]
    open_actions: list[OwedAction]


class JournalLine(View):
    position: int
    recorded_at: datetime
    actor: str
    stream: str
    aggregate_id: str
    version: int
    event_type: str
    summary: str


class LedgerLine(View):
    position: int
    recorded_at: datetime
    value_date: str | None
    entry: str
    case_id: str | None
    fund_id: str | None
    amount_fen: int
    need: str | None
    voucher: str | None
    receipt: str | None
    source: str | None
    actor: str


class FundTotals(View):
    fund_id: str
    name: str
    kind: str
    deposited_fen: int
    allocated_fen: int
    released_fen: int
    balance_fen: int
    disbursed_fen: int
    secondary_aid_fen: int


class Ledger(View):
    """The money ledger and its totals.

    ``*_disbursed_fen`` are net of bank returns; ``government_approved_fen`` is net of
    approvals released when cases closed; ``by_need_fen`` is gross approvals by need.
    """

    position: int
    entries: list[LedgerLine]
    funds: list[FundTotals]
    government_approved_fen: int
    government_disbursed_fen: int
    secondary_aid_fen: int
    donations_received_fen: int
    budget_received_fen: int
    total_disbursed_fen: int
    students_assisted: int
    students_with_secondary_aid: int
    by_need_fen: dict[str, int]
    by_family_category_fen: dict[str, int]
    by_town_fen: dict[str, int]
    confirmed_fen: int = 0
    """Paid money (grants and secondary aid) a bank statement confirmed, net of returns of
    confirmed payments (issue 12)."""
    unconfirmed_fen: int = 0
    """Paid money no statement has confirmed yet: ``total_disbursed_fen - confirmed_fen``."""


def _kept(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """A catalogue sentence stays one (pydantic would make any ``str`` a plain one)."""
    return value if isinstance(value, Said) else handler(value)


Message = Annotated[str, WrapValidator(_kept)]
"""A sentence for people: English as ``str``; a :class:`~aidflow.domain.errors.Said` (its
catalogue template and values kept) when the rules made it, so a face renders it late."""


class Violation(View):
    rule: str
    case_id: str | None
    fund_id: str | None
    positions: list[int]
    message: Message
    """What the finding says: English in the library, the bundles and SQL (a ``Said``,
    rendered by :meth:`shown`); in the reader's language on every face."""
    subject: str = ""
    """What tells this finding from others of its rule raised by the same events (a
    statement's line, a consultation's action); "" when nothing needs to."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def id(self) -> str:
        """The finding's stable id (``F-…``): what ``audit dispose`` names. It hashes the
        rule, the case, the fund, the positions and the subject, never the message, so it
        is one id in every language."""
        return finding_id(self.rule, self.case_id, self.fund_id, self.positions, self.subject)

    def shown(self) -> Violation:
        """This finding with its message in the current language (:mod:`aidflow.i18n`)."""
        return self.model_copy(update={"message": render(self.message, tr)})


class DisposedFinding(View):
    """A finding someone explained (``audit dispose``): listed apart, not failing the check."""

    violation: Violation
    reason: str
    by: str
    position: int
    """The store position of the explanation (``findings.disposed``)."""

    def shown(self) -> DisposedFinding:
        """This explained finding with its message in the current language."""
        return self.model_copy(update={"violation": self.violation.shown()})


class CheckResult(View):
    """What the rule checks found, and what they read to find it."""

    violations: list[Violation]
    """The open findings: ``ok`` only when there are none."""
    checked: dict[str, int]
    """Journal events read, by stable event name (``case.applied``)."""
    position: int
    """The last journal position read: the checks cover the events up to here."""
    disposed: list[DisposedFinding] = []
    """Findings explained by someone other than those whose acts raised them."""

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def events(self) -> int:
        return sum(self.checked.values())

    def shown(self) -> CheckResult:
        """These findings with their messages in the current language."""
        return self.model_copy(
            update={
                "violations": [v.shown() for v in self.violations],
                "disposed": [d.shown() for d in self.disposed],
            }
        )


class Digest(View):
    position: int
    hash: str

    def __str__(self) -> str:
        return f"{self.position}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> Digest:
        position, sep, digest = text.strip().partition(":")
        if not sep or not is_count(position) or not is_sha256_hex(digest):
            raise ValueError(f"digest {text!r} is not POSITION:SHA256HEX")
        return cls(position=int(position), hash=digest.lower())


class Verification(View):
    ok: bool
    digest: Digest
    checked: int
    first_mismatch: int | None
    message: str


class ViewStatus(View):
    name: str
    position: int | None
    """The last position the view applied (None: nothing yet)."""
    head: int | None
    behind: int
    """Notification positions between the view and the store's head (ids may have gaps); never negative."""
    error: str | None = None
    """Why the view stopped, when it failed on a stored event; it stays at ``position``."""
    failed_position: int | None = None
    """The position of the event the view could not apply."""
    damage: str | None = None
    """Set when the view is ahead of the store: it holds events this store does not have."""


class ViewDrift(View):
    """A view's live tables against a fresh replay of the store up to the same position."""

    view: str
    position: int
    """The view's tracked position: the replay went up to here."""
    ok: bool
    checksum: str
    """SHA-256 over the live tables' rows, in primary-key order."""
    replay_checksum: str
    """The same over the replay's rows: equal when the view agrees with the store."""
    table: str | None = None
    """The first table where they differ."""
    key: list[Any] | None = None
    """That table's first differing primary key."""
    live: dict[str, Any] | None = None
    replay: dict[str, Any] | None = None
    message: str


class DonorShare(View):
    """Which donation's money reached which student (first in, first out by deposit)."""

    receipt: str
    source: str
    case_id: str
    voucher: str | None
    amount_fen: int
