"""The audit report: ledger, rule checks and the chain digest in one document.

The ledger is laid out by :mod:`aidflow.cli.render`, the same code that prints it in the CLI.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aidflow.cli import messages as M
from aidflow.cli.render import (
    ledger_breakdowns,
    ledger_funds,
    ledger_text,
    ledger_totals,
    line,
    to_json,
)

if TYPE_CHECKING:
    from aidflow.domain.policy import Policy
    from aidflow.projections import ReadModels

FORMATS = ("text", "json", "html")

TITLE = "aidflow audit report as of {moment} (event position {position})"
CHECKS = "Rule checks: {outcome}"
SOME_VIOLATIONS = "{count} violation(s)"
CHECK_LINE = "  {rule} (case {case}): {message}"
DIGEST_LINE = "Chain digest: {digest}"
STYLE = (
    "body{font-family:sans-serif;margin:2em}td,th{padding:.2em .8em;border-bottom:1px solid #ddd}"
    ".n{text-align:right}"
)


def render_report(views: ReadModels, policy: Policy, *, as_of: datetime | None, fmt: str) -> str:
    """Render as one of :data:`FORMATS`; the same facts in each."""
    ledger = views.ledger()
    result = views.check_report(policy, now=as_of)
    violations = result.violations
    digest = views.digest()
    moment = (as_of or datetime.now(tz=UTC)).isoformat(timespec="seconds")
    if fmt == "json":
        return to_json(
            {"as_of": moment, "ledger": ledger, "violations": violations, "digest": str(digest)}
        )
    checks = [(v.rule, v.case_id or "-", v.message) for v in violations]
    outcome = (
        line(M.RULES_HOLD, events=result.events, position=result.position)
        if not checks
        else line(SOME_VIOLATIONS, count=len(checks))
    )
    if fmt == "text":
        lines = [line(TITLE, moment=moment, position=ledger.position), "", ledger_text(ledger), ""]
        lines += [line(CHECKS, outcome=outcome)]
        lines += [line(CHECK_LINE, rule=r, case=c, message=m) for r, c, m in checks]
        lines += ["", line(DIGEST_LINE, digest=digest)]
        return "\n".join(lines)
    e = html.escape

    def row(cells: tuple[str, ...], numeric_from: int) -> str:
        return (
            "<tr>"
            + "".join(
                f"<td class=n>{e(c)}</td>" if i >= numeric_from else f"<td>{e(c)}</td>"
                for i, c in enumerate(cells)
            )
            + "</tr>"
        )

    def head(cells: tuple[str, ...]) -> str:
        return "<tr>" + "".join(f"<th>{e(c)}</th>" for c in cells) + "</tr>"

    totals = "".join(row((label, value), 1) for label, value, _unit in ledger_totals(ledger))
    funds = "".join(row(f, 2) for f in ledger_funds(ledger))
    breakdowns = "".join(row(b, 2) for b in ledger_breakdowns(ledger))
    findings = "".join(row(c, 3) for c in checks) or f"<tr><td colspan=3>{e(outcome)}</td></tr>"
    return (
        "<!doctype html><html lang=en><meta charset=utf-8><title>aidflow audit report</title>"
        f"<style>{STYLE}</style>"
        f"<h1>Audit report</h1><p>{e(line(TITLE, moment=moment, position=ledger.position))}</p>"
        f"<h2>Ledger (yuan)</h2><table>{totals}</table>"
        f"<h2>Funds (yuan)</h2><table>{head(M.LEDGER_FUND_HEADER)}{funds}</table>"
        f"<table>{breakdowns}</table>"
        f"<h2>Rule checks</h2><table>{head(('rule', 'case', 'finding'))}{findings}</table>"
        f"<h2>Chain digest</h2><p><code>{e(str(digest))}</code></p></html>"
    )
