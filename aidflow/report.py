"""The audit report: ledger, rule checks and the chain digest in one document."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime

from aidflow.domain.money import format_yuan
from aidflow.domain.policy import Policy
from aidflow.projections import ReadModels


def render_report(views: ReadModels, policy: Policy, *, as_of: datetime | None, fmt: str) -> str:
    """Render as ``text``, ``json`` or ``html``; the same facts in each."""
    ledger = views.ledger()
    violations = views.check(policy, now=as_of)
    digest = views.digest()
    moment = (as_of or datetime.now(tz=UTC)).isoformat(timespec="seconds")
    if fmt == "json":
        return json.dumps(
            {
                "as_of": moment,
                "ledger": ledger.model_dump(mode="json"),
                "violations": [v.model_dump(mode="json") for v in violations],
                "digest": str(digest),
            },
            ensure_ascii=False,
            indent=2,
        )
    totals = [
        ("Budget received", ledger.budget_received_fen),
        ("Donations received", ledger.donations_received_fen),
        ("Government grants paid (net of returns)", ledger.government_disbursed_fen),
        ("Secondary aid", ledger.secondary_aid_fen),
        ("Programme total", ledger.total_disbursed_fen),
    ]
    funds = [
        (f.name, f.kind, f.deposited_fen, f.disbursed_fen + f.secondary_aid_fen, f.balance_fen)
        for f in ledger.funds
    ]
    checks = [(v.rule, v.case_id or "-", v.message) for v in violations]
    if fmt == "text":
        lines = [f"aidflow audit report as of {moment} (event position {ledger.position})", ""]
        lines += [f"{label:<42}{format_yuan(fen):>18} yuan" for label, fen in totals]
        lines += [f"{'Students assisted':<42}{ledger.students_assisted:>18}", ""]
        lines += [
            f"fund {n} ({k}): received {format_yuan(d)}, paid out {format_yuan(p)}, balance {format_yuan(b)}"
            for n, k, d, p, b in funds
        ]
        lines += [
            "",
            "Rule checks: " + ("all rules hold" if not checks else f"{len(checks)} violation(s)"),
        ]
        lines += [f"  {rule} (case {case}): {message}" for rule, case, message in checks]
        lines += ["", f"Chain digest: {digest}"]
        return "\n".join(lines)
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(label)}</td><td class=n>{format_yuan(fen)}</td></tr>" for label, fen in totals
    )
    fund_rows = "".join(
        f"<tr><td>{e(n)}</td><td>{e(k)}</td><td class=n>{format_yuan(d)}</td><td class=n>{format_yuan(p)}</td><td class=n>{format_yuan(b)}</td></tr>"
        for n, k, d, p, b in funds
    )
    check_rows = (
        "".join(f"<tr><td>{e(r)}</td><td>{e(c)}</td><td>{e(m)}</td></tr>" for r, c, m in checks)
        or "<tr><td colspan=3>all rules hold</td></tr>"
    )
    return (
        "<!doctype html><html lang=en><meta charset=utf-8><title>aidflow audit report</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:.2em .8em;border-bottom:1px solid #ddd}.n{text-align:right}</style>"
        f"<h1>Audit report</h1><p>As of {e(moment)}, event position {ledger.position}. Students assisted: {ledger.students_assisted}.</p>"
        f"<h2>Totals (yuan)</h2><table>{rows}</table>"
        f"<h2>Funds (yuan)</h2><table><tr><th>fund<th>kind<th>received<th>paid out<th>balance</tr>{fund_rows}</table>"
        f"<h2>Rule checks</h2><table><tr><th>rule<th>case<th>finding</tr>{check_rows}</table>"
        f"<h2>Chain digest</h2><p><code>{e(str(digest))}</code></p></html>"
    )
