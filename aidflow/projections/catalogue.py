"""The aggregates whose nested event classes the views dispatch on (``StudentCase.Applied``).

The classes themselves, and their stable names, are the catalogue's
(``aidflow.domain.events``); this module only gathers what the views import.
"""

from __future__ import annotations

from aidflow.domain.case import StudentCase
from aidflow.domain.events import PAYMENT_BOOK, RECORD_KEEPING
from aidflow.domain.findings import FindingsRegister
from aidflow.domain.fund import Fund
from aidflow.domain.keys import Enrolment, RequestKey, Voucher
from aidflow.domain.payments import PaymentBook
from aidflow.domain.policy import PolicyRegister
from aidflow.domain.searches import Search
from aidflow.domain.staff import StaffRegistry
from aidflow.domain.witness import WitnessLog
from aidflow.domain.year import ProgrammeYear

__all__ = [
    "PAYMENT_BOOK",
    "RECORD_KEEPING",
    "Enrolment",
    "FindingsRegister",
    "Fund",
    "PaymentBook",
    "PolicyRegister",
    "ProgrammeYear",
    "RequestKey",
    "Search",
    "StaffRegistry",
    "StudentCase",
    "Voucher",
    "WitnessLog",
]
