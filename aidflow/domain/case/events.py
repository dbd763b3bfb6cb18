"""The student case's stored events: their ``TOPIC`` and fields are a permanent contract.

docs/domain.md, "Versioning": a topic never changes, a field may only be added with a default.
:class:`~aidflow.domain.case.StudentCase` lists every class here, and the stage that records
an event applies it with an ``@event`` method whose body is how the event changes state.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from aidflow.domain.base import AidAggregate


class Event(AidAggregate.Event):
    TOPIC = "aidflow:StudentCase.Event"


class Applied(Event, AidAggregate.Created):
    """A case opened by a screening match or the family's own application."""

    TOPIC = "aidflow:StudentCase.Applied"
    PERSONAL = ("student_id", "name", "account")
    student_id: str
    name: str
    university: str
    family_category: str
    town: str
    year: int
    account: str
    source: str
    actor: str
    previous_case: UUID | None = None  # the same person's case of an earlier year; v0.3


class Verified(Event):
    """The household visit (入户核实): income, tuition, the gap and the needs found."""

    TOPIC = "aidflow:StudentCase.Verified"
    income_fen: int
    tuition_fen: int
    gap_fen: int
    needs: list[str]
    visited_on: date | None
    note: str
    actor: str


class Rejected(Event):
    TOPIC = "aidflow:StudentCase.Rejected"
    reason: str
    actor: str


class GrantApproved(Event):
    """Temporary assistance (临时救助) approved and reserved in a government fund."""

    TOPIC = "aidflow:StudentCase.GrantApproved"
    amount_fen: int
    need: str
    fund_id: UUID
    actor: str
    ref: str = ""  # the approval form's number (审批编号); "" before v0.2
    policy_version: int = 0  # the policy register's version in force; 0 before v0.2


class Disbursed(Event):
    """Money paid into the student's own account under a unique voucher (凭证)."""

    TOPIC = "aidflow:StudentCase.Disbursed"
    PERSONAL = ("account",)
    amount_fen: int
    voucher: str
    fund_id: UUID
    value_date: date | None
    actor: str
    account: str = ""  # the account the money was sent to; "" before v0.3
    listed: bool = False  # issued on a payment list (代发清单), so a statement must answer it
    use: str = "grant"  # "grant" or "secondary-aid" (secondary aid paid like a grant, v0.3)


class DisbursementReturned(Event):
    TOPIC = "aidflow:StudentCase.DisbursementReturned"
    voucher: str
    amount_fen: int
    fund_id: UUID
    reason: str
    value_date: date | None
    actor: str
    was_confirmed: bool = False  # a statement had confirmed it paid before the return
    use: str = "grant"
    resolved: bool = False  # a person settled a disputed payment (`pay resolve`); v0.5


class SecondaryAidAllocated(Event):
    """Social-fund money (二次帮扶) for a student already paid a grant."""

    TOPIC = "aidflow:StudentCase.SecondaryAidAllocated"
    fund_id: UUID
    amount_fen: int
    reason: str
    actor: str
    ref: str = ""  # the decision's number; "" before v0.2


class HardshipReported(Event):
    TOPIC = "aidflow:StudentCase.HardshipReported"
    kind: str
    severity: str
    detail: str
    actor: str


class ReviewConvened(Event):
    """A multi-department consultation (多部门会商) and the actions it owes."""

    TOPIC = "aidflow:StudentCase.ReviewConvened"
    departments: list[str]
    actions: list[dict[str, str]]
    note: str
    actor: str
    policy_version: int = 0  # the policy that gave the actions' due dates; 0 before v0.3


class ActionCompleted(Event):
    TOPIC = "aidflow:StudentCase.ActionCompleted"
    action_id: str
    department: str
    note: str
    actor: str


class FollowedUp(Event):
    TOPIC = "aidflow:StudentCase.FollowedUp"
    study: str
    living: str
    hardship_trend: str
    actor: str
    received: str = ""  # the student's word on the money: "yes", "no"; "" (not asked) before v0.5
    vouchers: tuple[str, ...] = ()  # the payments that word covers; v0.5


class Closed(Event):
    TOPIC = "aidflow:StudentCase.Closed"
    reason: str
    releases: dict[str, int]
    actor: str
    policy_version: int = 0  # the policy whose close rules allowed it; 0 before v0.3


# -- the money loop (issue 12): accounts, confirmed payments, secondary aid as money ----------


class AccountSet(Event):
    """The student's own account recorded or corrected; after a payment it waits for a
    second person (``pending``) before money flows to it."""

    TOPIC = "aidflow:StudentCase.AccountSet"
    PERSONAL = ("account",)
    account: str
    bank: str
    reason: str
    pending: bool
    actor: str


class AccountConfirmed(Event):
    """A second person confirmed a proposed account change (maker-checker)."""

    TOPIC = "aidflow:StudentCase.AccountConfirmed"
    PERSONAL = ("account",)
    account: str
    bank: str
    actor: str


class DisbursementConfirmed(Event):
    """The bank's statement says the payment under ``voucher`` reached the account."""

    TOPIC = "aidflow:StudentCase.DisbursementConfirmed"
    voucher: str
    amount_fen: int
    fund_id: UUID
    value_date: date | None
    statement: str
    use: str
    actor: str
    reason: str = ""  # why a person settled a disputed payment as paid; v0.5
    resolved: bool = False  # settled by `pay resolve`, not by a statement line; v0.5


class DisbursementDisputed(Event):
    """A statement line disagreed with the voucher it names (amount, account or name): the
    payment is held, never put on another list, until a person settles it (v0.5)."""

    TOPIC = "aidflow:StudentCase.DisbursementDisputed"
    voucher: str
    amount_fen: int
    fund_id: UUID
    kind: str  # amount_mismatch, account_mismatch or name_mismatch
    bank_amount_fen: int
    statement: str
    actor: str


class PaymentReissued(Event):
    """A returned payment to be paid again to the same account, decided by someone other
    than the one who issued it (a name mismatch the bank has since cleared; v0.5)."""

    TOPIC = "aidflow:StudentCase.PaymentReissued"
    voucher: str
    amount_fen: int
    fund_id: UUID
    reason: str
    actor: str


class AppealLodged(Event):
    """The student asks for the rejection to be reviewed (复核), within ``appeal-days`` (v0.5)."""

    TOPIC = "aidflow:StudentCase.AppealLodged"
    reason: str
    actor: str


class AppealDecided(Event):
    """The appeal decided by someone other than the one who rejected: ``upheld`` (the case
    stays rejected) or ``overturned`` (back to household verification) (v0.5)."""

    TOPIC = "aidflow:StudentCase.AppealDecided"
    outcome: str
    reason: str
    actor: str


class ApprovalCorrectionProposed(Event):
    """A grant approval found wrong (the amount, or a grant the student declined): ``amount_fen``
    of its unpaid part to be taken off, awaiting a second person (v0.5)."""

    TOPIC = "aidflow:StudentCase.ApprovalCorrectionProposed"
    ref: str
    amount_fen: int
    reason: str
    actor: str


class ApprovalCorrected(Event):
    """The correction confirmed by a different person: the approval is reduced by
    ``amount_fen`` and the fund's reservation released in the same save (v0.5)."""

    TOPIC = "aidflow:StudentCase.ApprovalCorrected"
    ref: str
    fund_id: UUID
    amount_fen: int
    reason: str
    proposed_by: str
    actor: str


class SecondaryAidProposed(Event):
    """Secondary aid proposed (by the donations officer); a second person approves it."""

    TOPIC = "aidflow:StudentCase.SecondaryAidProposed"
    fund_id: UUID
    amount_fen: int
    reason: str
    ref: str
    actor: str


class SecondaryAidApproved(Event):
    """Secondary aid approved and reserved in its donation fund; paid through the list."""

    TOPIC = "aidflow:StudentCase.SecondaryAidApproved"
    ref: str
    fund_id: UUID
    amount_fen: int
    policy_version: int
    actor: str


# -- issue 11: personal data revealed (audited) and erased -------------------------------------


class PersonalDataRevealed(Event):
    """Someone saw the student's personal data unmasked: who, which fields, why."""

    TOPIC = "aidflow:StudentCase.PersonalDataRevealed"
    fields: list[str]
    reason: str
    actor: str


class PersonalDataErased(Event):
    """The student's data key was destroyed: their name, ID and account in every
    stored event of ``cases`` (their cases of every year) can no longer be read."""

    TOPIC = "aidflow:StudentCase.PersonalDataErased"
    reason: str
    cases: list[str]
    actor: str


class YearClosed(Event):
    """The programme year closed with this case's approvals not all paid: what was unpaid,
    per fund, went back to the funds in the same save: grants (``releases``, as a closing's)
    and secondary aid (``secondary_releases``) (v0.6)."""

    TOPIC = "aidflow:StudentCase.YearClosed"
    year: int
    releases: dict[str, int]
    secondary_releases: dict[str, int]
    actor: str
