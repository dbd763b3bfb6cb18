"""The aggregates whose nested event classes the views dispatch on (``StudentCase.Applied``).

Re-exported typed ``Any`` because mypy cannot see the event classes that the
``@event`` decorator makes; once the domain declares them as explicit nested
classes, this module can re-export them typed. The classes themselves, and
their stable names, are the catalogue's (``aidflow.domain.events``).
"""

from __future__ import annotations

from typing import Any

from aidflow import domain

StudentCase: Any = domain.StudentCase
Fund: Any = domain.Fund
Enrolment: Any = domain.Enrolment
Voucher: Any = domain.Voucher
