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
from aidflow.domain.fund import Fund
from aidflow.domain.keys import Enrolment, Voucher

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
        Fund.Opened: "fund.opened",
        Fund.Deposited: "fund.deposited",
        Fund.Allocated: "fund.allocated",
        Fund.Released: "fund.released",
        Enrolment.Registered: "enrolment.registered",
        Voucher.Issued: "voucher.issued",
    }
)
"""Every event class, with the stable name views and feeds record for it."""

CATALOGUE: tuple[EventClass, ...] = tuple(NAMES)


class UnknownEvent(LookupError):
    """An event class outside the catalogue: a view or check must not guess what it means."""


def event_name(cls: EventClass) -> str:
    """The stable name of an event class (``case.applied``); unknown classes are refused."""
    try:
        return NAMES[cls]
    except KeyError:
        raise UnknownEvent(f"{cls.__module__}.{cls.__qualname__} is not in the event catalogue") from None
