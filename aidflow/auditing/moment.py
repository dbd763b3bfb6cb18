"""The policy in force at each event, and the approval rules judged by it (issue 12).

A decision is judged by the policy of its moment, never by today's: the rules follow
the recorded policy changes as they read the journal.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from aidflow.auditing.state import CaseState, Checking
from aidflow.domain.money import format_yuan
from aidflow.domain.policy import decode_value


class MomentRules(Checking):
    def policy_changed(
        self, position: int, at: datetime, actor: str, register: str, d: dict[str, Any]
    ) -> None:
        value = d["value"]
        if isinstance(value, str):
            value = decode_value(d["field"], value)
        try:
            self.moment = dataclasses.replace(self.moment, **{d["field"]: value})
        except (TypeError, ValueError):
            self.flag(
                "policy_unreadable",
                f"policy change of {d['field']} to {d['value']!r} cannot be applied",
                [position],
            )

    def approval_by_moment(
        self, position: int, actor: str, case: str, c: CaseState, d: dict[str, Any]
    ) -> None:
        """An approval against the visit's needs and gap and the approver's tier, as the
        policy stood when it was recorded."""
        policy, amount = self.moment, d["amount_fen"]
        if policy.need_rule and c.verified_once and d["need"] not in c.needs:
            self.flag(
                "need_not_found",
                f"grant for {d['need']} where the household visit found "
                f"{', '.join(sorted(c.needs)) or 'no need'}",
                [position],
                case=case,
            )
        if policy.gap_bound and c.verified_once and c.since_visit + amount > c.gap:
            self.flag(
                "gap_exceeded",
                f"{format_yuan(c.since_visit + amount)} yuan approved since the household visit,"
                f" above the verified gap of {format_yuan(c.gap)} yuan",
                [position],
                case=case,
            )
        if policy.approval_tiers:
            limit = policy.approval_limit(self.roles_of(actor))
            if c.approved + amount > limit:
                self.flag(
                    "tier_exceeded",
                    f"{actor} brought the case to {format_yuan(c.approved + amount)} yuan,"
                    f" above their approval tier of {format_yuan(limit)} yuan",
                    [position],
                    case=case,
                )
