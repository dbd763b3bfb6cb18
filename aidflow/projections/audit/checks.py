"""Rule checks an auditor runs, answered from the audit journal alone.

They do not trust the write side: the rules (:mod:`aidflow.auditing`) re-derive
everything from the recorded events in position order, so a violation shows even if
a rule had a bug, data was imported, or the policy changed after the fact. This module
only reads the journal and the pseudonymous accounts for them.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aidflow.auditing import run_checks
from aidflow.domain.policy import Policy
from aidflow.projections.audit.tables import (
    audit_account_table,
    audit_fund_table,
    journal_table,
)
from aidflow.projections.models import CheckResult

__all__ = ["actors_at", "check", "run_checks"]


def check(
    conn: Connection,
    policy: Policy,
    now: datetime,
    *,
    upto: int | None = None,
    base: Policy | None = None,
) -> CheckResult:
    """Run the checks over the whole journal, or over its events up to position ``upto``."""
    j, F, A = journal_table, audit_fund_table, audit_account_table
    kinds = {r.fund_id: r.kind for r in conn.execute(sa.select(F.c.fund_id, F.c.kind))}
    held = sa.select(A.c.case_id, A.c.person, A.c.account, A.c.position).order_by(A.c.position)
    if upto is not None:
        held = held.where(A.c.position <= upto)
    accounts = [tuple(r) for r in conn.execute(held)]
    query = sa.select(
        j.c.position, j.c.recorded_at, j.c.actor, j.c.aggregate_id, j.c.event_type, j.c.detail
    ).order_by(j.c.position)
    if upto is not None:
        query = query.where(j.c.position <= upto)
    rows = conn.execute(query.execution_options(yield_per=5000))
    return run_checks(
        (tuple(r) for r in rows),
        kinds,
        policy,
        now,
        base=base,
        accounts=accounts,
        actors_at=partial(actors_at, conn),
    )


def actors_at(conn: Connection, positions: list[int]) -> dict[int, str]:
    """Who recorded the journal's events at ``positions`` (those the journal holds)."""
    j = journal_table
    found: dict[int, str] = {}
    for start in range(0, len(positions), 500):
        chunk = positions[start : start + 500]
        picked = sa.select(j.c.position, j.c.actor).where(j.c.position.in_(chunk))
        found.update((int(r.position), str(r.actor)) for r in conn.execute(picked))
    return found
