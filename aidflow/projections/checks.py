"""Rule checks an auditor runs, answered from the audit view's journal alone.

They do not trust the write side: each rule is re-derived from the recorded
events in position order, so a violation shows even if a rule had a bug, data
was imported, or the policy changed after the fact.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aidflow.domain.money import format_yuan
from aidflow.domain.policy import Policy
from aidflow.domain.values import Severity
from aidflow.projections.models import Violation


@dataclass
class _Case:
    verifiers: set[str] = field(default_factory=set)
    verified: bool = False
    approved: int = 0
    paid: int = 0
    secondary: int = 0
    closed: bool = False
    approvals: list[int] = field(default_factory=list)
    vouchers: list[str] = field(default_factory=list)
    funds: set[str] = field(default_factory=set)
    last_approval_at: datetime | None = None
    last_approval_position: int = 0
    hardships: list[tuple[int, datetime, str]] = field(default_factory=list)
    actions: dict[str, tuple[int, datetime, str]] = field(default_factory=dict)


def run_checks(
    journal: Iterable[tuple[int, datetime, str, str, str, dict[str, Any]]],
    fund_kinds: dict[str, str],
    policy: Policy,
    now: datetime,
) -> list[Violation]:
    """``journal`` rows are (position, recorded_at, actor, aggregate_id, event_type, detail)."""
    found: list[Violation] = []

    def flag(
        rule: str,
        message: str,
        positions: list[int],
        case: str | None = None,
        fund: str | None = None,
    ) -> None:
        found.append(
            Violation(rule=rule, case_id=case, fund_id=fund, positions=positions, message=message)
        )

    cases: dict[str, _Case] = defaultdict(_Case)
    balances: dict[str, int] = defaultdict(int)
    voucher_seen: dict[str, int] = {}
    for position, at, actor, aggregate_id, kind, d in journal:
        if kind.startswith("Fund."):
            if kind == "Fund.Deposited":
                balances[aggregate_id] += d["amount_fen"]
                if not str(d.get("receipt", "")).strip():
                    flag(
                        "deposit_without_receipt",
                        f"deposit of {format_yuan(d['amount_fen'])} yuan has no receipt",
                        [position],
                        fund=aggregate_id,
                    )
            elif kind == "Fund.Allocated":
                balances[aggregate_id] -= d["amount_fen"]
                if balances[aggregate_id] < 0:
                    flag(
                        "fund_overdrawn",
                        f"fund balance fell to {format_yuan(balances[aggregate_id])} yuan",
                        [position],
                        case=d.get("case_id"),
                        fund=aggregate_id,
                    )
            elif kind == "Fund.Released":
                balances[aggregate_id] += d["amount_fen"]
            continue
        if not kind.startswith("StudentCase."):
            continue
        c = cases[aggregate_id]
        if kind == "StudentCase.Verified":
            c.verifiers.add(actor)
            c.verified = True
        elif kind == "StudentCase.GrantApproved":
            amount = d["amount_fen"]
            if not c.verified:
                flag(
                    "approved_before_verification",
                    "grant approved while the case awaited verification",
                    [position],
                    case=aggregate_id,
                )
            if actor in c.verifiers:
                flag(
                    "verifier_approved",
                    f"{actor} verified this case and approved its grant",
                    [position],
                    case=aggregate_id,
                )
            if fund_kinds.get(d["fund_id"]) != "government":
                flag(
                    "wrong_fund_kind",
                    "temporary assistance approved from a fund that is not a government fund",
                    [position],
                    case=aggregate_id,
                    fund=d["fund_id"],
                )
            c.approved += amount
            c.approvals.append(position)
            c.funds.add(d["fund_id"])
            c.last_approval_at, c.last_approval_position = at, position
            if c.approved > policy.cap_fen:
                flag(
                    "cap_exceeded",
                    f"approved {format_yuan(c.approved)} yuan,"
                    f" over the cap of {format_yuan(policy.cap_fen)} yuan",
                    c.approvals[:],
                    case=aggregate_id,
                )
        elif kind == "StudentCase.Disbursed":
            amount = d["amount_fen"]
            if c.paid + amount > c.approved:
                flag(
                    "paid_before_approval",
                    f"paid {format_yuan(c.paid + amount)} yuan"
                    f" against {format_yuan(c.approved)} yuan approved",
                    [position],
                    case=aggregate_id,
                )
            c.paid += amount
            voucher = str(d.get("voucher", ""))
            c.vouchers.append(voucher)
            if voucher in voucher_seen:
                flag(
                    "duplicate_voucher",
                    f"voucher {voucher} used twice",
                    [voucher_seen[voucher], position],
                    case=aggregate_id,
                )
            else:
                voucher_seen[voucher] = position
        elif kind == "StudentCase.DisbursementReturned":
            c.paid -= d["amount_fen"]
        elif kind == "StudentCase.SecondaryAidAllocated":
            if c.paid <= 0:
                flag(
                    "secondary_aid_without_paid_grant",
                    "secondary aid allocated before any grant was paid",
                    [position],
                    case=aggregate_id,
                )
            if fund_kinds.get(d["fund_id"]) != "donation":
                flag(
                    "wrong_fund_kind",
                    "secondary aid allocated from a fund that is not a donation fund",
                    [position],
                    case=aggregate_id,
                    fund=d["fund_id"],
                )
            c.secondary += d["amount_fen"]
        elif kind == "StudentCase.HardshipReported":
            c.verified = False
            c.closed = False  # a hardship report reopens even a closed or rejected case
            if Severity(d["severity"]).needs_consultation:
                c.hardships.append((position, at, d["kind"]))
        elif kind == "StudentCase.ReviewConvened":
            c.hardships = []  # a consultation answers every hardship reported before it
            for item in d["actions"]:
                c.actions[item["action_id"]] = (position, at, item["department"])
        elif kind == "StudentCase.ActionCompleted":
            c.actions.pop(d["action_id"], None)
        elif kind == "StudentCase.Closed":
            c.closed = True
            c.approved -= sum(d["releases"].values())
        elif kind == "StudentCase.Rejected":
            c.closed = True

    unpaid_limit = timedelta(days=policy.max_unpaid_days)
    consult_limit = timedelta(days=policy.max_days_to_consultation)
    action_limit = timedelta(days=policy.max_days_action_open)
    for case_id, c in cases.items():
        if c.paid > 0:
            missing = [
                what
                for what, ok in (
                    ("verification", bool(c.verifiers)),
                    ("approval", bool(c.approvals)),
                    ("voucher", all(v.strip() for v in c.vouchers)),
                    ("fund source", bool(c.funds) and all(f in fund_kinds for f in c.funds)),
                )
                if not ok
            ]
            if missing:
                flag(
                    "incomplete_dossier", f"paid case lacks {', '.join(missing)}", [], case=case_id
                )
        if (
            not c.closed
            and c.approved > c.paid
            and c.last_approval_at is not None
            and now - c.last_approval_at > unpaid_limit
        ):
            days = (now - c.last_approval_at).days
            flag(
                "approved_unpaid_too_long",
                f"{format_yuan(c.approved - c.paid)} yuan approved {days} days ago, still unpaid",
                [c.last_approval_position],
                case=case_id,
            )
        for position, at, kind in c.hardships:
            if now - at > consult_limit:
                flag(
                    "hardship_without_consultation",
                    f"{kind} hardship reported {(now - at).days} days ago, no consultation since",
                    [position],
                    case=case_id,
                )
        for action_id, (position, at, department) in c.actions.items():
            if now - at > action_limit:
                flag(
                    "consultation_action_open",
                    f"{department} has not completed {action_id} after {(now - at).days} days",
                    [position],
                    case=case_id,
                )
    return found
