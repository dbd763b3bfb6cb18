"""The student case (救助档案): one aggregate per student per programme year.

Public methods check the rules and raise a named error; the private ``@event``
methods only change state, so replaying history never re-checks a policy that
may since have changed.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import event

from aidflow.domain import canonical
from aidflow.domain.base import AidAggregate
from aidflow.domain.case import events
from aidflow.domain.case.appeals import Appeals
from aidflow.domain.case.consultation import Consultation
from aidflow.domain.case.corrections import Corrections
from aidflow.domain.case.grants import Grants
from aidflow.domain.case.intake import Intake
from aidflow.domain.case.money_loop import MoneyLoop
from aidflow.domain.case.personal_data import PersonalData


class StudentCase(
    Intake, Appeals, Grants, Corrections, MoneyLoop, Consultation, PersonalData, AidAggregate
):
    """A new student's assistance case (救助档案), from screening match to closing.

    One aggregate, one consistency boundary, written in stages: each base class holds the
    rules of one stage and the ``@event`` methods that apply its events (adopted here, see
    :class:`~aidflow.domain.base.AidAggregate`). The classes below are the case's stored
    events (:mod:`aidflow.domain.case.events`), whose ``TOPIC`` and fields are a permanent
    contract (docs/domain.md, "Versioning"); the library replaces each with the subclass
    that its ``@event`` method applies.
    """

    TOPIC = "aidflow:StudentCase"
    class_version = 1

    Event = events.Event
    Applied = events.Applied
    Verified = events.Verified
    Rejected = events.Rejected
    GrantApproved = events.GrantApproved
    Disbursed = events.Disbursed
    DisbursementReturned = events.DisbursementReturned
    SecondaryAidAllocated = events.SecondaryAidAllocated
    HardshipReported = events.HardshipReported
    ReviewConvened = events.ReviewConvened
    ActionCompleted = events.ActionCompleted
    FollowedUp = events.FollowedUp
    Closed = events.Closed
    AccountSet = events.AccountSet
    AccountConfirmed = events.AccountConfirmed
    DisbursementConfirmed = events.DisbursementConfirmed
    SecondaryAidProposed = events.SecondaryAidProposed
    DisbursementDisputed = events.DisbursementDisputed
    PaymentReissued = events.PaymentReissued
    AppealLodged = events.AppealLodged
    AppealDecided = events.AppealDecided
    ApprovalCorrectionProposed = events.ApprovalCorrectionProposed
    ApprovalCorrected = events.ApprovalCorrected
    SecondaryAidApproved = events.SecondaryAidApproved
    PersonalDataRevealed = events.PersonalDataRevealed
    PersonalDataErased = events.PersonalDataErased
    YearClosed = events.YearClosed

    @classmethod
    def open(
        cls,
        *,
        student_id: str,
        name: str,
        university: str,
        family_category: str,
        town: str,
        year: int,
        account: str,
        source: str,
        actor: str,
        previous_case: UUID | None = None,
    ) -> StudentCase:
        """Open a case from checked, canonical values (the constructor itself never checks,
        because replaying an old ``Applied`` must not re-judge it by today's rules)."""
        return cls(
            student_id=canonical.national_id(student_id, by_year=year),
            name=canonical.text(name, "name", max_length=canonical.MAX_NAME),
            university=canonical.text(university, "university", max_length=canonical.MAX_NAME),
            family_category=family_category,
            town=canonical.text(town, "town", max_length=canonical.MAX_NAME),
            year=year,
            account=canonical.account(account) if account.strip() else "",
            source=source,
            actor=canonical.actor(actor),
            previous_case=previous_case,
        )

    @event(Applied)
    def __init__(
        self,
        previous_case: UUID | None = None,  # before the ``*``: the library requires keywords
        *,
        student_id: str,
        name: str,
        university: str,
        family_category: str,
        town: str,
        year: int,
        account: str,
        source: str,
        actor: str,
    ) -> None:
        self.student_id = student_id
        self.name = name
        self.university = university
        self.family_category = family_category
        self.town = town
        self.year = year
        self.account = account
        self.source = source
        self.opened_by = actor
        self.verifiers = []
        self.verified_once = False
        self.awaiting_verification = True
        self.needs = []
        self.approved_fen = 0
        self.disbursed_fen = 0
        self.secondary_aid_fen = 0
        self.granted_by_fund = {}
        self.paid_by_fund = {}
        self.payments = {}
        self.approvals = {}
        self.secondary_by_fund = {}
        self.hardships = 0
        self.reviews = 0
        self.actions = {}
        self.follow_ups = 0
        self.rejected = False
        self.rejected_by = ""
        self.appeal_pending = False
        self.closed = False
        self.reason = ""
        # the money loop (issue 12)
        self.bank = ""
        self.pending_account = None
        self.account_suspect = False  # a payment came back: the account must be corrected
        self.secondary_granted_by_fund = {}
        self.secondary_proposals = {}
        self.secondary_paid_fen = 0
        # issue 12: the loop's rules
        self.previous_case = previous_case
        self.gap_fen = 0
        self.approved_since_visit = 0
        self.follow_up_due = False  # paid since the last follow-up
