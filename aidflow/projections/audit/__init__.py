"""The audit slice: the journal of every event with the hash chain, the money ledger, the rule checks.

One view (``audit``) writes the journal, the ledger and the facts they group by
(:mod:`.view`); the queries are the journal (:mod:`.journal`), the ledger
(:mod:`.ledger`), the checks (:mod:`.checks`) and the chain's digest and
verification (:mod:`.chain`).
"""

from aidflow.projections.audit.chain import GENESIS, chain_step, digest, recorded_links, verify
from aidflow.projections.audit.checks import actors_at, check, run_checks
from aidflow.projections.audit.journal import (
    case_positions,
    cases_in_tree,
    journal,
    period_positions,
    position_at,
    position_of_version,
    positions_of,
)
from aidflow.projections.audit.ledger import cases_of_year, donor_trace, ledger, payable_cases
from aidflow.projections.audit.tables import (
    audit_case_table,
    audit_fund_table,
    journal_table,
    ledger_table,
)
from aidflow.projections.audit.view import AuditView

__all__ = [
    "GENESIS",
    "AuditView",
    "actors_at",
    "audit_case_table",
    "audit_fund_table",
    "case_positions",
    "cases_in_tree",
    "cases_of_year",
    "chain_step",
    "check",
    "digest",
    "donor_trace",
    "journal",
    "journal_table",
    "ledger",
    "ledger_table",
    "payable_cases",
    "period_positions",
    "position_at",
    "position_of_version",
    "positions_of",
    "recorded_links",
    "run_checks",
    "verify",
]
