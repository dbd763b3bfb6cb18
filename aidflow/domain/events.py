"""The event catalogue: every event class aidflow stores, with its stable name.

Stored events are a contract with every store ever written (see docs/domain.md,
"Versioning"). The read side, the audit checks and the integration feed use this
catalogue: they dispatch on these classes and record the stable ``name``
(``case.applied``), never a Python qualname, so renaming or moving a class
changes no view and no figure.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from aidflow.domain.case import StudentCase
from aidflow.domain.findings import FindingsRegister
from aidflow.domain.fund import Fund
from aidflow.domain.keys import Enrolment, RequestKey, Voucher
from aidflow.domain.payments import PaymentBook
from aidflow.domain.policy import PolicyRegister
from aidflow.domain.searches import Search
from aidflow.domain.staff import StaffRegistry
from aidflow.domain.witness import WitnessLog
from aidflow.domain.year import ProgrammeYear

EventClass = type[Any]

NAMES: MappingProxyType[EventClass, str] = MappingProxyType(
    {
        StudentCase.Applied: "case.applied",
        StudentCase.Verified: "case.verified",
        StudentCase.Rejected: "case.rejected",
        StudentCase.GrantApproved: "case.grant_approved",
        StudentCase.Disbursed: "case.disbursed",
        StudentCase.DisbursementReturned: "case.disbursement_returned",
        StudentCase.SecondaryAidAllocated: "case.secondary_aid_allocated",
        StudentCase.HardshipReported: "case.hardship_reported",
        StudentCase.ReviewConvened: "case.review_convened",
        StudentCase.ActionCompleted: "case.action_completed",
        StudentCase.FollowedUp: "case.followed_up",
        StudentCase.Closed: "case.closed",
        StudentCase.PersonalDataRevealed: "case.personal_data_revealed",
        StudentCase.PersonalDataErased: "case.personal_data_erased",
        Fund.Opened: "fund.opened",
        Fund.Deposited: "fund.deposited",
        Fund.Allocated: "fund.allocated",
        Fund.Released: "fund.released",
        Enrolment.Registered: "enrolment.registered",
        Voucher.Issued: "voucher.issued",
        RequestKey.Recorded: "request.recorded",
        StaffRegistry.Started: "staff.registry_started",
        StaffRegistry.MemberAdded: "staff.member_added",
        StaffRegistry.RoleGranted: "staff.role_granted",
        StaffRegistry.RoleRevoked: "staff.role_revoked",
        PolicyRegister.Started: "policy.register_started",
        PolicyRegister.ValueSet: "policy.value_set",
        # the money loop (issue 12)
        StudentCase.AccountSet: "case.account_set",
        StudentCase.AccountConfirmed: "case.account_confirmed",
        StudentCase.DisbursementConfirmed: "case.disbursement_confirmed",
        StudentCase.SecondaryAidProposed: "case.secondary_aid_proposed",
        StudentCase.SecondaryAidApproved: "case.secondary_aid_approved",
        PaymentBook.Started: "payments.book_started",
        PaymentBook.ListIssued: "payments.list_issued",
        PaymentBook.StatementImported: "payments.statement_imported",
        PolicyRegister.Changed: "policy.changed",
        # issue 21: a search by national ID or name is recorded, as a reveal is
        Search.Recorded: "search.recorded",
        # issue 23: disputed payments held, returned ones issued again
        StudentCase.DisbursementDisputed: "case.disbursement_disputed",
        StudentCase.PaymentReissued: "case.payment_reissued",
        # issue 23: corrections are events, never edits
        StudentCase.AppealLodged: "case.appeal_lodged",
        StudentCase.AppealDecided: "case.appeal_decided",
        StudentCase.ApprovalCorrectionProposed: "case.approval_correction_proposed",
        StudentCase.ApprovalCorrected: "case.approval_corrected",
        Fund.DepositReversalProposed: "fund.deposit_reversal_proposed",
        Fund.DepositReversed: "fund.deposit_reversed",
        # issue 23: findings explained
        FindingsRegister.Started: "findings.register_started",
        FindingsRegister.Disposed: "findings.disposed",
        FindingsRegister.Withdrawn: "findings.withdrawn",
        # issue 21: bearer tokens recorded, with their expiry and who issued them
        StaffRegistry.TokenIssued: "staff.token_issued",
        StaffRegistry.TokenRevoked: "staff.token_revoked",
        # issue 23: a programme year closed
        ProgrammeYear.CloseProposed: "year.close_proposed",
        ProgrammeYear.Closed: "year.closed",
        StudentCase.YearClosed: "case.year_closed",
        # issue 21 §5: the master key replaced, on record
        StaffRegistry.KeysRotated: "staff.keys_rotated",
        # issue 22 §4: digests co-signed by a second party
        WitnessLog.Started: "witness.log_started",
        WitnessLog.Witnessed: "witness.witnessed",
        # issue 22 §5: a public notice posted
        PaymentBook.NoticePosted: "payments.notice_posted",
    }
)
"""Every event class, with the stable name views and feeds record for it."""

CATALOGUE: tuple[EventClass, ...] = tuple(NAMES)

AGGREGATES: tuple[type[Any], ...] = (
    StudentCase,
    Fund,
    Enrolment,
    Voucher,
    RequestKey,
    StaffRegistry,
    PolicyRegister,
    PaymentBook,
    Search,
    FindingsRegister,
    ProgrammeYear,
    WitnessLog,
)

LEGACY_TOPICS: MappingProxyType[str, type[Any]] = MappingProxyType(
    {
        # v0.1.0 stored module-path topics (``module:QualName``). They stay in those
        # stores for ever (the hash chain covers them), so they are written out here
        # as literals, never computed from today's class names.
        "aidflow.domain.case:StudentCase": StudentCase,
        "aidflow.domain.case:StudentCase.Applied": StudentCase.Applied,
        "aidflow.domain.case:StudentCase.Verified": StudentCase.Verified,
        "aidflow.domain.case:StudentCase.Rejected": StudentCase.Rejected,
        "aidflow.domain.case:StudentCase.GrantApproved": StudentCase.GrantApproved,
        "aidflow.domain.case:StudentCase.Disbursed": StudentCase.Disbursed,
        "aidflow.domain.case:StudentCase.DisbursementReturned": StudentCase.DisbursementReturned,
        "aidflow.domain.case:StudentCase.SecondaryAidAllocated": StudentCase.SecondaryAidAllocated,
        "aidflow.domain.case:StudentCase.HardshipReported": StudentCase.HardshipReported,
        "aidflow.domain.case:StudentCase.ReviewConvened": StudentCase.ReviewConvened,
        "aidflow.domain.case:StudentCase.ActionCompleted": StudentCase.ActionCompleted,
        "aidflow.domain.case:StudentCase.FollowedUp": StudentCase.FollowedUp,
        "aidflow.domain.case:StudentCase.Closed": StudentCase.Closed,
        "aidflow.domain.fund:Fund": Fund,
        "aidflow.domain.fund:Fund.Opened": Fund.Opened,
        "aidflow.domain.fund:Fund.Deposited": Fund.Deposited,
        "aidflow.domain.fund:Fund.Allocated": Fund.Allocated,
        "aidflow.domain.fund:Fund.Released": Fund.Released,
        "aidflow.domain.keys:Enrolment": Enrolment,
        "aidflow.domain.keys:Enrolment.Registered": Enrolment.Registered,
        "aidflow.domain.keys:Voucher": Voucher,
        "aidflow.domain.keys:Voucher.Issued": Voucher.Issued,
    }
)
"""Topics written by earlier releases, and the class each one means now (registered where
stored events are read: :mod:`aidflow.privacy`)."""


RECORD_KEEPING = frozenset(
    {
        RequestKey.Recorded,
        StaffRegistry.Started,
        StaffRegistry.MemberAdded,
        StaffRegistry.RoleGranted,
        StaffRegistry.RoleRevoked,
        StaffRegistry.TokenIssued,
        StaffRegistry.TokenRevoked,
        StaffRegistry.KeysRotated,
        PolicyRegister.Started,
        PolicyRegister.ValueSet,
        PolicyRegister.Changed,
        Search.Recorded,
        FindingsRegister.Started,
        FindingsRegister.Disposed,
        ProgrammeYear.CloseProposed,
        ProgrammeYear.Closed,
        WitnessLog.Started,
        WitnessLog.Witnessed,
        FindingsRegister.Withdrawn,
    }
)
"""Events about the office's own records (idempotency keys, staff, policy, searches, findings
explained): in the
audit journal and chain, and read by the authorisation checks; no case or fund view shows
them."""

PAYMENT_BOOK = frozenset(
    {
        PaymentBook.Started,
        PaymentBook.ListIssued,
        PaymentBook.StatementImported,
        PaymentBook.NoticePosted,
    }
)
"""The cashier's book (payment lists, statements): in the audit journal and read by the
checks (unconfirmed payments, statement findings); no case or fund view shows them."""


class UnknownEvent(LookupError):
    """An event class outside the catalogue: a view or check must not guess what it means."""


def event_name(cls: EventClass) -> str:
    """The stable name of an event class (``case.applied``); unknown classes are refused."""
    try:
        return NAMES[cls]
    except KeyError:
        raise UnknownEvent(
            f"{cls.__module__}.{cls.__qualname__} is not in the event catalogue"
        ) from None


COMMAND_OF: dict[EventClass, str] = {
    StudentCase.Applied: "apply",
    StudentCase.Verified: "verify",
    StudentCase.Rejected: "reject",
    StudentCase.GrantApproved: "approve",
    StudentCase.Disbursed: "disburse",
    StudentCase.DisbursementReturned: "return_disbursement",
    StudentCase.SecondaryAidAllocated: "secondary_aid",
    StudentCase.HardshipReported: "report_hardship",
    StudentCase.ReviewConvened: "convene_review",
    StudentCase.ActionCompleted: "complete_action",
    StudentCase.FollowedUp: "follow_up",
    StudentCase.Closed: "close_case",
    StudentCase.PersonalDataRevealed: "reveal",
    StudentCase.PersonalDataErased: "erase_case",
    Fund.Opened: "open_fund",
    Fund.Deposited: "deposit",
    PolicyRegister.ValueSet: "set_policy",
    StudentCase.AccountSet: "set_account",
    StudentCase.AccountConfirmed: "confirm_account",
    StudentCase.DisbursementConfirmed: "reconcile",
    StudentCase.SecondaryAidProposed: "secondary_aid",
    StudentCase.SecondaryAidApproved: "approve_secondary_aid",
    PaymentBook.ListIssued: "pay_list",
    PaymentBook.StatementImported: "reconcile",
    PolicyRegister.Changed: "set_policy",
    Search.Recorded: "find",
    StudentCase.DisbursementDisputed: "reconcile",
    StudentCase.PaymentReissued: "reissue_payment",
    StudentCase.AppealLodged: "lodge_appeal",
    StudentCase.AppealDecided: "decide_appeal",
    StudentCase.ApprovalCorrectionProposed: "correct_approval",
    StudentCase.ApprovalCorrected: "confirm_correction",
    Fund.DepositReversalProposed: "reverse_deposit",
    Fund.DepositReversed: "confirm_reversal",
    FindingsRegister.Disposed: "dispose_finding",
    FindingsRegister.Withdrawn: "dispose_finding",
    StaffRegistry.TokenIssued: "issue_token",
    StaffRegistry.TokenRevoked: "issue_token",
    ProgrammeYear.CloseProposed: "propose_year_close",
    ProgrammeYear.Closed: "close_year",
    StudentCase.YearClosed: "close_year",
    StaffRegistry.KeysRotated: "rotate_keys",
    WitnessLog.Witnessed: "witness",
    PaymentBook.NoticePosted: "post_notice",
}
"""The command that records each event whose actor must have held a role for it. Events
saved beside these (a fund's allocation, a key) share their command's actor and check."""

STAFF_EVENTS: frozenset[EventClass] = frozenset(
    {StaffRegistry.MemberAdded, StaffRegistry.RoleGranted, StaffRegistry.RoleRevoked}
)
