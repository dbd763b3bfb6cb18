"""The policy in force at each event, and the approval rules judged by it (issue 12).

A decision is judged by the policy of its moment, never by today's: the rules follow
the recorded policy changes as they read the journal.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from aidflow.auditing.state import CaseState, Checking
from aidflow.domain.errors import said
from aidflow.domain.money import format_yuan
from aidflow.domain.policy import Policy, decode_value
from aidflow.i18n.words import Listed, Word


def changed(policy: Policy, d: dict[str, Any]) -> Policy:
    """``policy`` after one recorded change (``policy.value_set`` / ``policy.changed``
    fields); a change that cannot be applied raises ``TypeError`` or ``ValueError``."""
    value = d["value"]
    if isinstance(value, str):
        value = decode_value(d["field"], value)
    return dataclasses.replace(policy, **{d["field"]: value})


class MomentRules(Checking):
    def policy_changed(
        self, position: int, at: datetime, actor: str, register: str, d: dict[str, Any]
    ) -> None:
        try:
            self.moment = changed(self.moment, d)
        except (TypeError, ValueError):
            self.flag(
                "policy_unreadable",
                said(
                    "policy change of {field} to {value} cannot be applied",
                    field=d["field"],
                    value=repr(d["value"]),
                ),
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
                said(
                    "grant for {need} where the household visit found {needs}",
                    need=Word(d["need"]),
                    needs=Listed(Word(n) for n in sorted(c.needs)),
                )
                if c.needs
                else said(
                    "grant for {need} where the household visit found no need",
                    need=Word(d["need"]),
                ),
                [position],
                case=case,
            )
        if policy.gap_bound and c.verified_once and c.since_visit + amount > c.gap:
            self.flag(
                "gap_exceeded",
                said(
                    "{approved} yuan approved since the household visit, above the verified gap "
                    "of {gap} yuan",
                    approved=format_yuan(c.since_visit + amount),
                    gap=format_yuan(c.gap),
                ),
                [position],
                case=case,
            )
        if policy.approval_tiers:
            limit = policy.approval_limit(self.roles_of(actor))
            if c.approved + amount > limit:
                self.flag(
                    "tier_exceeded",
                    said(
                        "{actor} brought the case to {amount} yuan, above their approval tier "
                        "of {limit} yuan",
                        actor=actor,
                        amount=format_yuan(c.approved + amount),
                        limit=format_yuan(limit),
                    ),
                    [position],
                    case=case,
                )
