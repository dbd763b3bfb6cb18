"""What if the policy had been different? Every approval of a programme year decided again, in memory.

Each case of the year is replayed from its events; before each recorded
approval the domain's own rule (:meth:`StudentCase.check_can_approve`) is asked
under the other policy, with the case as it stood then. An approval the other
policy refuses is left out of the replay (so a later approval of the same case
is judged without it: the replayed case's approved total leaves it out); one that its own policy would have refused but the other
allows is listed as newly allowed. Nothing is written: the store is only read.
Refusals themselves were never recorded (a refused command writes nothing), so
only recorded decisions can be decided again.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from aidflow.domain.case import StudentCase
from aidflow.domain.errors import AidflowError, InvalidInput, render, said
from aidflow.domain.policy import SETTINGS, Policy, parse_setting
from aidflow.i18n import tr
from aidflow.office.explain import policy_at


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Decision(_Model):
    case_id: UUID
    version: int
    recorded_at: datetime
    actor: str
    ref: str
    amount_fen: int
    policy_version: int
    then: str
    """``allowed``, or the rule its own policy would have refused it by."""
    now: str
    """``allowed``, or the rule the other policy refuses it by."""
    reason: str


class WhatIf(_Model):
    year: int | None
    policy: dict[str, Any]
    approvals: int
    refused: list[Decision]
    """Recorded approvals the other policy would have refused."""
    allowed: list[Decision]
    """Recorded approvals their own policy refuses and the other allows."""
    approved_fen: int
    approved_fen_then: int
    cases_changed: int


def other_policy(base: Policy, settings: dict[str, str]) -> Policy:
    """``base`` with settings changed: keys as ``policy set`` takes them (``cap``: yuan)."""
    changes: dict[str, Any] = {}
    for key, text in settings.items():
        field, value = parse_setting(key, str(text))
        changes[field] = value
    try:
        return dataclasses.replace(base, **changes)
    except ValueError as exc:
        raise InvalidInput(exc.args[0] if exc.args else str(exc)) from None


def policy_file(path: Path) -> dict[str, str]:
    """A policy file of settings as ``policy set`` takes them: JSON
    (``{"cap": "6000", "gap-bound": true, "departments": ["education", "health"],
    "approval-tiers": {"approver": 3000, "county-approver": 5000}}``) or, for a ``.toml``
    file, the same keys in TOML. Each value becomes the text ``policy set`` would take."""
    import tomllib

    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (OSError, ValueError) as exc:
        raise InvalidInput(
            said("cannot read policy file {path}: {exc}", path=path, exc=exc)
        ) from None
    if not isinstance(data, dict):
        raise InvalidInput(
            said(
                "{path} must hold a JSON object of settings ({settings})",
                path=path,
                settings=", ".join(SETTINGS),
            )
        )
    return {str(k): _setting_text(v) for k, v in data.items()}


def _setting_text(value: Any) -> str:
    """A file's value as ``policy set`` text: true → on, a list → a,b, a table → role=yuan,..."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ",".join(_setting_text(v) for v in value)
    if isinstance(value, dict):
        return ",".join(f"{k}={_setting_text(v)}" for k, v in value.items()) or "none"
    return str(value)


def _judge(
    case: StudentCase, amount: int, actor: str, policy: Policy, need: str
) -> tuple[str, str]:
    try:
        case.check_can_approve(amount_fen=amount, actor=actor, policy=policy, need=need)
    except AidflowError as exc:  # the reason in the reader's language, as the CLI's errors
        return exc.code, render(exc.args[0], tr) if exc.args else exc.code
    return "allowed", ""


def what_if(flow: Any, case_ids: list[UUID], policy: Policy, *, year: int | None = None) -> WhatIf:
    """Decide every recorded approval of ``case_ids`` again under ``policy``; nothing is written."""
    refused: list[Decision] = []
    allowed: list[Decision] = []
    policies: dict[int, Policy] = {}
    approvals = total = total_then = 0
    changed: set[UUID] = set()
    for case_id in case_ids:
        state: Any = None
        dropped = 0  # what the other policy refused in this case so far
        for event in flow.events.get(case_id):
            if isinstance(event, StudentCase.GrantApproved) and isinstance(state, StudentCase):
                approvals += 1
                total_then += event.amount_fen
                v = event.policy_version
                if v not in policies:
                    policies[v] = policy_at(flow, v)
                then, _ = _judge(state, event.amount_fen, event.actor, policies[v], event.need)
                replayed = copy.copy(state)  # the case as if the refused approvals never happened
                replayed.approved_fen = state.approved_fen - dropped
                replayed.approved_since_visit = max(0, state.approved_since_visit - dropped)
                now, reason = _judge(replayed, event.amount_fen, event.actor, policy, event.need)
                decision = Decision(
                    case_id=case_id,
                    version=event.originator_version,
                    recorded_at=event.timestamp,
                    actor=event.actor,
                    ref=event.ref,
                    amount_fen=event.amount_fen,
                    policy_version=v,
                    then=then,
                    now=now,
                    reason=reason,
                )
                if now != "allowed":
                    refused.append(decision)
                    changed.add(case_id)
                    dropped += event.amount_fen
                    state = event.mutate(state)  # kept in the history; left out of the figures
                    continue
                if then != "allowed":
                    allowed.append(decision)
                total += event.amount_fen
            state = event.mutate(state)
    return WhatIf(
        year=year,
        policy={k: v for k, v in dataclasses.asdict(policy).items()},
        approvals=approvals,
        refused=refused,
        allowed=allowed,
        approved_fen=total,
        approved_fen_then=total_then,
        cases_changed=len(changed),
    )
