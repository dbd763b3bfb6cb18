"""The aid domain: cases, funds and their rules. Pure: no I/O, no database."""

from aidflow.domain.case import StudentCase
from aidflow.domain.events import CATALOGUE, event_name
from aidflow.domain.fund import Fund
from aidflow.domain.keys import Enrolment, RequestKey, Voucher
from aidflow.domain.policy import DEFAULT_POLICY, Policy

__all__ = [
    "CATALOGUE",
    "DEFAULT_POLICY",
    "Enrolment",
    "Fund",
    "Policy",
    "RequestKey",
    "StudentCase",
    "Voucher",
    "event_name",
]
