"""The audit report: ledger, rule checks, the audit view's agreement and the digest.

The :class:`~aidflow.office.Office` gathers what it says (:class:`ReportData`: the same
answers ``audit ledger``, ``audit check`` and ``audit digest`` give) and renders it here,
for every face alike. The ledger is laid out by :mod:`aidflow.render`, the same code that
prints it in the CLI.
The HTML form adds every breakdown, inline SVG charts (money paid by month, town, need and
family category; each fund's balance over time; findings by rule) and the case roster
with masked personal data: one self-contained, printable file (no network).
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from aidflow.i18n import current, tr, tr_all, value
from aidflow.i18n import messages as M
from aidflow.render import day as shown_day
from aidflow.render import (
    ledger_funds,
    ledger_text,
    ledger_totals,
    line,
    to_json,
    yuan,
)

if TYPE_CHECKING:
    from aidflow.projections.models import CaseSummary, DisposedFinding, Ledger, Violation

FORMATS = ("text", "json", "html")


@dataclass(frozen=True)
class ReportData:
    """What the report says, as the Office answered it."""

    moment: str
    """As of when (ISO, seconds)."""
    ledger: Ledger
    violations: list[Violation]
    events: int
    position: int
    """The checks read ``events`` events up to this position."""
    drift: str
    """"" when the audit view agrees with a fresh replay of the store; else why not."""
    digest: str
    """The tree digest (``tree:SIZE:ROOT``) to prove and verify against."""
    chain: str
    """The v0.1 chain's head (``POSITION:HASH``), under its own name."""
    roster: list[CaseSummary]
    disposed: list[DisposedFinding] = field(default_factory=list)
    """Findings explained (``audit dispose``), shown apart from the open ones."""


STYLE = (
    "body{font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:2em;color:#222}"
    "h1{margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:2px solid #2a6f97}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{padding:.2em .8em;border-bottom:1px solid #ddd;"
    "text-align:left}.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".charts{display:flex;flex-wrap:wrap;gap:1.2em}figure{margin:0;break-inside:avoid}"
    "figcaption{font-weight:bold;margin-bottom:.3em}svg text{font-size:11px;fill:#222}"
    ".bar{fill:#2a6f97}.line{fill:none;stroke:#c44536;stroke-width:2}.axis{stroke:#888}"
    "code{word-break:break-all}@media print{body{margin:1cm}.charts{display:block}figure{margin-bottom:1em}}"
)
BAR_WIDTH = 460
SVG_HEIGHT = 220


def _svg_bars(items: Sequence[tuple[str, float]], caption: str, *, unit_fen: bool = True) -> str:
    """A horizontal bar chart as inline SVG; one bar per item, labelled with its value."""
    e = html.escape
    if not items:
        return f"<figure class=chart><figcaption>{e(caption)}</figcaption><p>{e(tr(M.CHART_NO_DATA))}</p></figure>"
    top = max(v for _k, v in items) or 1
    row, label_w = 20, 130
    height = row * len(items) + 10
    bars = []
    for i, (key, amount) in enumerate(items):
        y = 5 + i * row
        w = max(1.0, (BAR_WIDTH - label_w - 90) * amount / top)
        shown = yuan(int(amount)) if unit_fen else str(int(amount))
        bars.append(
            f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{e(key[:18])}</text>'
            f'<rect class="bar" x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row - 6}"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + 13}">{e(shown)}</text>'
        )
    return (
        f"<figure class=chart><figcaption>{e(caption)}</figcaption>"
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{BAR_WIDTH}" height="{height}" '
        f'role="img" aria-label="{e(caption)}">{"".join(bars)}</svg></figure>'
    )


def _svg_line(points: Sequence[tuple[str, int]], caption: str) -> str:
    """A step line of a balance over time (fen), as inline SVG."""
    e = html.escape
    if not points:
        return f"<figure class=chart><figcaption>{e(caption)}</figcaption><p>{e(tr(M.CHART_NO_DATA))}</p></figure>"
    left, right, top_pad, bottom = 70, 10, 10, 30
    w, h = BAR_WIDTH, SVG_HEIGHT
    values = [v for _d, v in points]
    high, low = max(max(values), 1), min(min(values), 0)
    span = (high - low) or 1
    n = len(points)

    def x(i: int) -> float:
        return left + (w - left - right) * (i / max(n - 1, 1))

    def y(v: int) -> float:
        return top_pad + (h - top_pad - bottom) * (1 - (v - low) / span)

    path = " ".join(
        f"{'M' if i == 0 else 'L'}{x(i):.1f},{y(v):.1f}" for i, (_d, v) in enumerate(points)
    )
    return (
        f"<figure class=chart><figcaption>{e(caption)}</figcaption>"
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" '
        f'aria-label="{e(caption)}">'
        f'<line class="axis" x1="{left}" y1="{h - bottom}" x2="{w - right}" y2="{h - bottom}"/>'
        f'<line class="axis" x1="{left}" y1="{top_pad}" x2="{left}" y2="{h - bottom}"/>'
        f'<text x="{left - 4}" y="{y(high) + 4:.1f}" text-anchor="end">{e(yuan(high))}</text>'
        f'<text x="{left - 4}" y="{y(low) + 4:.1f}" text-anchor="end">{e(yuan(low))}</text>'
        f'<text x="{left}" y="{h - 10}">{e(points[0][0])}</text>'
        f'<text x="{w - right}" y="{h - 10}" text-anchor="end">{e(points[-1][0])}</text>'
        f'<path class="line" d="{path}"/></svg></figure>'
    )


_PAID = {"disbursement": 1, "return": -1, "secondary_aid": 1}
_BALANCE = {"deposit": 1, "allocation": -1, "release": 1}


def chart_data(ledger: Ledger, violations: Sequence[Violation]) -> dict[str, Any]:
    """The numbers behind the charts (fen; counts for findings), from the ledger's entries."""
    by_month: dict[str, int] = defaultdict(int)
    balances: dict[str, list[tuple[str, int]]] = defaultdict(list)
    running: dict[str, int] = defaultdict(int)
    for entry in ledger.entries:
        day = entry.value_date or shown_day(entry.recorded_at)
        sign = _PAID.get(entry.entry)
        if sign:
            by_month[day[:7]] += sign * entry.amount_fen
        sign = _BALANCE.get(entry.entry)
        if sign and entry.fund_id:
            running[entry.fund_id] += sign * entry.amount_fen
            balances[entry.fund_id].append((shown_day(entry.recorded_at), running[entry.fund_id]))
    findings: dict[str, int] = defaultdict(int)
    for v in violations:
        findings[v.rule] += 1
    return {
        "by_month": sorted(by_month.items()),
        "by_town": sorted(ledger.by_town_fen.items(), key=lambda kv: -kv[1]),
        "by_need": [(value(k), v) for k, v in ledger.by_need_fen.items()],
        "by_category": [(value(k), v) for k, v in ledger.by_family_category_fen.items()],
        "balances": {f.fund_id: (f.name, balances.get(f.fund_id, [])) for f in ledger.funds},
        "findings": sorted(findings.items()),
    }


def render_report(data: ReportData, fmt: str) -> str:
    """Render as one of :data:`FORMATS`; the same facts in each, in the current language
    (the findings' messages too)."""
    data = replace(
        data,
        violations=[v.shown() for v in data.violations],
        disposed=[d.shown() for d in data.disposed],
    )
    ledger, violations = data.ledger, data.violations
    if fmt == "json":
        return to_json(
            {
                "as_of": data.moment,
                "ledger": ledger,
                "violations": violations,
                "disposed": data.disposed,
                "checked_events": data.events,
                "position": data.position,
                "audit_view_agrees": not data.drift,
                "digest": data.digest,
                "chain": data.chain,
            }
        )
    checks = [(v.rule, v.case_id or "-", v.message) for v in violations]
    outcome = (
        line(M.RULES_HOLD, events=data.events, position=data.position)
        if not checks
        else line(M.REPORT_SOME_VIOLATIONS, count=len(checks))
    )
    agreement = data.drift or line(M.AUDIT_VIEW_AGREES, position=data.position)
    title = line(M.REPORT_TITLE, moment=data.moment, position=ledger.position)
    if fmt == "text":
        lines = [title, "", ledger_text(ledger), ""]
        lines += [line(M.REPORT_CHECKS, outcome=outcome)]
        lines += [line(M.REPORT_CHECK_LINE, rule=r, case=c, message=m) for r, c, m in checks]
        if data.disposed:
            lines += [line(M.DISPOSED_HEADING, count=len(data.disposed))]
            lines += [
                line(M.DISPOSED, v=d.violation, by=d.by, reason=d.reason) for d in data.disposed
            ]
        lines += [agreement, "", line(M.REPORT_DIGEST_LINE, digest=data.digest, chain=data.chain)]
        return "\n".join(lines)
    return _html(data, checks, outcome, agreement, title)


def _row(cells: Sequence[object], numeric_from: int) -> str:
    e = html.escape
    return (
        "<tr>"
        + "".join(
            f"<td class=n>{e(str(c))}</td>" if i >= numeric_from else f"<td>{e(str(c))}</td>"
            for i, c in enumerate(cells)
        )
        + "</tr>"
    )


def _head(cells: Sequence[str]) -> str:
    return "<tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in tr_all(cells)) + "</tr>"


def _breakdown(label: str, sums: Sequence[tuple[str, int]]) -> str:
    rows = "".join(_row((k, yuan(v)), 1) for k, v in sums)
    return f"<h3>{html.escape(tr(label))}</h3><table>{_head(M.BREAKDOWN_HEADER)}{rows}</table>"


def _charts(chart: dict[str, Any]) -> str:
    return "".join(
        [
            _svg_bars(chart["by_month"], tr(M.CHART_BY_MONTH)),
            _svg_bars(chart["by_town"], tr(M.CHART_BY_TOWN)),
            _svg_bars(chart["by_need"], tr(M.CHART_BY_NEED)),
            _svg_bars(chart["by_category"], tr(M.CHART_BY_CATEGORY)),
            *(
                _svg_line(points, line(M.CHART_BALANCE, name=f"{name} ({fund_id[:8]})"))
                for fund_id, (name, points) in chart["balances"].items()
            ),
            _svg_bars(chart["findings"], tr(M.CHART_FINDINGS), unit_fen=False),
        ]
    )


def _roster(cases: Sequence[CaseSummary]) -> str:
    return "".join(
        _row(
            (
                c.case_id[:8],
                c.name,
                c.student_id_masked,
                c.university,
                c.town,
                value(c.family_category),
                value(c.status),
                yuan(c.approved_fen),
                yuan(c.disbursed_fen),
                yuan(c.secondary_aid_fen),
            ),
            7,
        )
        for c in cases
    )


def _html(
    data: ReportData,
    checks: list[tuple[str, str, str]],
    outcome: str,
    agreement: str,
    title: str,
) -> str:
    e = html.escape
    ledger = data.ledger
    chart = chart_data(ledger, data.violations)
    totals = "".join(_row((label, value_), 1) for label, value_, _unit in ledger_totals(ledger))
    funds = "".join(_row(f, 3) for f in ledger_funds(ledger))
    breakdowns = (
        _breakdown(M.BY_NEED, chart["by_need"])
        + _breakdown(M.BY_CATEGORY, chart["by_category"])
        + _breakdown(M.BY_TOWN, chart["by_town"])
    )
    findings = "".join(_row(c, 3) for c in checks) or f"<tr><td colspan=3>{e(outcome)}</td></tr>"
    explained = "".join(
        _row((d.violation.id, d.violation.rule, d.violation.case_id or "-", d.by, d.reason), 5)
        for d in data.disposed
    )
    disposed = (
        f"<h3>{e(line(M.DISPOSED_HEADING, count=len(data.disposed)))}</h3>"
        f"<table>{_head(M.DISPOSED_HEADER)}{explained}</table>"
        if data.disposed
        else ""
    )
    lang = "zh-CN" if current() == "zh" else "en"
    return (
        f"<!doctype html><html lang={lang}><head><meta charset=utf-8>"
        f"<title>{e(tr(M.REPORT_HEADING))}</title><style>{STYLE}</style></head><body>"
        f"<h1>{e(tr(M.REPORT_HEADING))}</h1><p>{e(title)}</p>"
        f"<h2>{e(tr(M.REPORT_LEDGER))}</h2><table>{totals}</table>"
        f"<h2>{e(tr(M.REPORT_FUNDS))}</h2><table>{_head(M.LEDGER_FUND_HEADER)}{funds}</table>"
        f"<h2>{e(tr(M.REPORT_BREAKDOWNS))}</h2>{breakdowns}"
        f"<h2>{e(tr(M.REPORT_CHARTS))}</h2><div class=charts>{_charts(chart)}</div>"
        f"<h2>{e(tr(M.REPORT_CHECKS_HEADING))}</h2>"
        f"<p>{e(line(M.REPORT_CHECKS, outcome=outcome))}</p>"
        f"<table>{_head(M.REPORT_CHECKS_HEADER)}{findings}</table>{disposed}"
        f"<p>{e(agreement)}</p>"
        f"<h2>{e(line(M.REPORT_ROSTER, count=len(data.roster)))}</h2>"
        f"<table>{_head(M.REPORT_ROSTER_HEADER)}{_roster(data.roster)}</table>"
        f"<h2>{e(tr(M.REPORT_DIGEST))}</h2><p><code>{e(data.digest)}</code></p>"
        f"<p>{e(line(M.REPORT_CHAIN, chain=data.chain))}</p></body></html>"
    )
