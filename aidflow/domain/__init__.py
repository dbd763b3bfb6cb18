"""The aid domain: cases, funds and their rules. Pure: no I/O, no database.

Its names load on first use (PEP 562), so importing one small module of it (the errors a
command line prints, the canonical forms) does not load the event library and every
aggregate: ``aidflow --help`` stays quick.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aidflow.domain.case import StudentCase
    from aidflow.domain.events import CATALOGUE, event_name
    from aidflow.domain.fund import Fund
    from aidflow.domain.keys import Enrolment, RequestKey, Voucher
    from aidflow.domain.policy import DEFAULT_POLICY, Policy

_WHERE = {
    "CATALOGUE": "aidflow.domain.events",
    "DEFAULT_POLICY": "aidflow.domain.policy",
    "Enrolment": "aidflow.domain.keys",
    "Fund": "aidflow.domain.fund",
    "Policy": "aidflow.domain.policy",
    "RequestKey": "aidflow.domain.keys",
    "StudentCase": "aidflow.domain.case",
    "Voucher": "aidflow.domain.keys",
    "event_name": "aidflow.domain.events",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_WHERE[name]), name)


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
