"""The aggregates whose nested event classes the views dispatch on (``StudentCase.Applied``).

The classes themselves, and their stable names, are the catalogue's
(``aidflow.domain.events``); this module only gathers what the views import.
"""

from __future__ import annotations

from aidflow.domain.case import StudentCase
from aidflow.domain.fund import Fund
from aidflow.domain.keys import Enrolment, RequestKey, Voucher
from aidflow.domain.payments import PaymentBook
from aidflow.domain.policy import PolicyRegister
from aidflow.domain.staff import StaffRegistry

__all__ = [
    "Enrolment",
    "Fund",
    "PaymentBook",
    "PolicyRegister",
    "RequestKey",
    "StaffRegistry",
    "StudentCase",
    "Voucher",
]

RECORD_KEEPING = frozenset(
    {
        RequestKey.Recorded,
        StaffRegistry.Started,
        StaffRegistry.MemberAdded,
        StaffRegistry.RoleGranted,
        StaffRegistry.RoleRevoked,
        PolicyRegister.Started,
        PolicyRegister.ValueSet,
        PolicyRegister.Changed,
    }
)
"""Events about the office's own records (idempotency keys, staff, policy): in the audit
journal and chain, and read by the authorisation checks; no case or fund view shows them."""

PAYMENT_BOOK = frozenset(
    {PaymentBook.Started, PaymentBook.ListIssued, PaymentBook.StatementImported}
)
"""The cashier's book (payment lists, statements): in the audit journal and read by the
checks (unconfirmed payments, statement findings); no case or fund view shows them."""
