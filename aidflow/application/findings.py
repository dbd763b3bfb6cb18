"""Findings explained (``audit dispose``): a person records why an audit finding needs no
further act; ``audit check`` then lists it apart (see :mod:`aidflow.domain.findings`)."""

from __future__ import annotations

from aidflow import commands as cmd
from aidflow.application.context import Context
from aidflow.application.pipeline import Decision
from aidflow.domain.errors import UnknownFinding, said
from aidflow.domain.findings import FINDINGS_ID, FindingsRegister
from aidflow.models import FindingDisposal


def dispose_finding(ctx: Context, c: cmd.DisposeFinding) -> Decision[FindingDisposal]:
    """Explain a finding the checks raise now (by someone whose act did not raise it), or
    withdraw an explanation."""
    register = ctx.find(FindingsRegister, FINDINGS_ID) or FindingsRegister()
    if c.withdraw:
        rule = str(register.disposed.get(c.finding, {}).get("rule", ""))
        register.withdraw(finding=c.finding, reason=c.reason, actor=c.actor)
        return FindingDisposal(finding=c.finding, rule=rule, disposed=False), [register]
    facts = ctx.finding(c.finding)
    if facts is None:
        raise UnknownFinding(
            said(
                "the checks raise no finding {finding} now; `aidflow audit check` lists the findings with their ids",
                finding=c.finding,
            ),
            ids={"finding": c.finding},
        )
    register.dispose(
        finding=c.finding,
        rule=facts.rule,
        case_id=facts.case_id,
        fund_id=facts.fund_id,
        raised_by=facts.raised_by,
        reason=c.reason,
        actor=c.actor,
    )
    return FindingDisposal(finding=c.finding, rule=facts.rule, disposed=True), [register]
