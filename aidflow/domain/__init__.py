"""The aid domain: cases, funds and their rules. Pure: no I/O, no database."""

from aidflow.domain.case import StudentCase
from aidflow.domain.fund import Fund
from aidflow.domain.keys import Enrolment, Voucher
from aidflow.domain.policy import DEFAULT_POLICY, Policy

__all__ = ["DEFAULT_POLICY", "Enrolment", "Fund", "Policy", "StudentCase", "Voucher"]
