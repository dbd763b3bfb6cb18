"""The audit rules as an auditor re-derives them: from journal rows alone, no store.

The read side feeds them the audit journal (``aidflow.projections.audit.checks``); the
offline verifier feeds them an export bundle's events (``aidflow.proofs.bundle``). Both
ask :func:`run_checks`, so a bundle's findings are the store's findings.

- :mod:`.state`: what the rules remember, case by case, and how a finding is recorded.
- :mod:`.moment`: the policy in force at each event, and the rules judged by it.
- :mod:`.money`: funds, grants, payments and secondary aid.
- :mod:`.loop`: the money loop's four-eyes rules and the bank's statements.
- :mod:`.lifecycle`: hardship, consultation, follow-up, closing.
- :mod:`.timeliness`: what is late at the end, and the checks across people.
- :mod:`.authority`: who held which role at each position.
- :mod:`.rules`: which event each rule reads, and the run over a journal.
"""

from __future__ import annotations

from aidflow.auditing.rules import handles, ignores, run_checks
from aidflow.auditing.state import CLASS_OF, SHOWN_POSITIONS, Row

__all__ = ["CLASS_OF", "SHOWN_POSITIONS", "Row", "handles", "ignores", "run_checks"]
