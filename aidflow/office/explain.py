"""Why a case is in its state and has its figures: the events behind each, and what allowed them.

``explain(flow, views, case_id)`` folds the case's recorded events (read from the
store) with the same fold that export bundles are verified with
(:class:`~aidflow.proofs.figures.CaseFold`), and names for every figure and for
the status the events that produced it: position, time, actor, the command
that recorded it, and the rule or policy version that allowed it (an approval
names the policy version it was decided under and that version's cap). The
audit checks' findings about the case name the rule broken. The folded figures
are compared with the aggregate replayed by the domain (``agrees``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, ValidatorFunctionWrapHandler, WrapValidator

from aidflow.domain.errors import Said, said
from aidflow.domain.money import format_yuan
from aidflow.domain.policy import REGISTER_ID, Policy, PolicyRegister
from aidflow.projections.models import Violation
from aidflow.proofs.figures import CaseFold

COMMANDS = {
    "case.applied": "apply",
    "case.verified": "verify",
    "case.rejected": "reject",
    "case.grant_approved": "approve",
    "case.disbursed": "disburse",
    "case.disbursement_returned": "return-disbursement",
    "case.secondary_aid_allocated": "secondary-aid",
    "case.hardship_reported": "report-hardship",
    "case.review_convened": "convene-review",
    "case.action_completed": "complete-action",
    "case.followed_up": "follow-up",
    "case.closed": "close",
    "case.account_set": "set-account",
    "case.account_confirmed": "confirm-account",
    "case.disbursement_confirmed": "pay reconcile",
    "case.secondary_aid_proposed": "secondary-aid",
    "case.secondary_aid_approved": "approve-secondary-aid",
    "case.disbursement_disputed": "pay reconcile",
    "case.payment_reissued": "pay reissue",
    "case.appeal_lodged": "appeal",
    "case.appeal_decided": "decide-appeal",
    "case.approval_correction_proposed": "reduce-approval",
    "case.approval_corrected": "confirm-correction",
}
"""The command that records each kind of case event."""

FIELDS = ("approved_fen", "disbursed_fen", "secondary_aid_fen", "status")


class Model(BaseModel):
    model_config = ConfigDict(frozen=True)


def _keep_said(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    return value if isinstance(value, Said) else handler(value)


Sentence = Annotated[str, WrapValidator(_keep_said)]
"""A sentence that stays English for machines (JSON) and keeps its catalogue template, so a
face can show it in the reader's language (:func:`aidflow.domain.errors.render`)."""


class Cause(Model):
    position: int | None
    version: int
    recorded_at: datetime
    actor: str
    event_type: str
    command: str
    change_fen: int | None = None
    status_after: str | None = None
    ref: str | None = None
    policy_version: int | None = None
    allowed_by: Sentence
    """The rule or policy that allowed it."""


class FigureTrace(Model):
    field: str
    value: int | str
    causes: list[Cause]


class Explanation(Model):
    case_id: UUID
    as_of: datetime | None
    version: int
    figures: list[FigureTrace]
    findings: list[Violation]
    """The audit checks' findings about this case, each naming the rule broken."""
    agrees: bool
    """The folded figures equal those of the aggregate replayed by the domain."""


def policy_at(flow: Any, version: int) -> Policy:
    """The policy as it stood at policy register version ``version`` (0: the defaults)."""
    state: Any = None
    for event in flow.events.get(REGISTER_ID, lte=version + 1):
        state = event.mutate(state)
    return state.policy(flow.policy) if isinstance(state, PolicyRegister) else flow.policy


def _allowed_by(flow: Any, name: str, d: dict[str, Any], policies: dict[int, Policy]) -> Said:
    if name == "case.grant_approved":
        v = int(d.get("policy_version", 0))
        if v not in policies:
            policies[v] = policy_at(flow, v)
        return said(
            "policy version {version}: cap {cap} yuan per case and programme year; the case was verified by a household visit; the approver did not verify it",
            version=v,
            cap=format_yuan(policies[v].cap_fen),
        )
    return _ALLOWED_BY.get(name, _RECORDED)


_RECORDED = said("recorded")
_ALLOWED_BY: dict[str, Said] = {
    "case.applied": said("one case per student and programme year"),
    "case.verified": said("household visit (verification) by a village officer"),
    "case.rejected": said("a rejection with a stated reason"),
    "case.disbursed": said("payment within the approved, unpaid amount, under a unique voucher"),
    "case.disbursement_returned": said(
        "the bank returned the payment; the approval stays reserved"
    ),
    "case.secondary_aid_allocated": said("secondary aid needs a paid grant and a donation fund"),
    "case.secondary_aid_approved": said(
        "secondary aid: a paid grant, a donation fund, the policy's cap, and an approver who did not propose it"
    ),
    "case.hardship_reported": said("hardship reopens the case for a new household visit"),
    "case.closed": said("closing releases unpaid reservations to their funds"),
    "case.approval_corrected": said(
        "only an approval's unpaid part is corrected, proposed by one approver and confirmed by another; its fund's reservation is released"
    ),
    "case.disbursement_disputed": said(
        "a statement line that disagrees with its voucher holds the payment until a second person settles it"
    ),
    "case.payment_reissued": said(
        "a returned payment is paid again to the same account only on a second person's decision"
    ),
}


def explain(
    flow: Any,
    views: Any,
    case_id: UUID,
    *,
    as_of: datetime | None = None,
    fields: tuple[str, ...] = FIELDS,
    violations: list[Violation],
) -> Explanation:
    """For each figure of the case (and its status), the events that produced it.

    ``flow`` is an :class:`~aidflow.application.AidFlow`; ``views`` its
    :class:`~aidflow.projections.ReadModels` (for positions); ``violations`` what
    ``audit check`` finds as of the same moment (this case's are its findings).
    """
    snapshot = flow.case(case_id, as_of=as_of)
    records = [r for r in flow.history(case_id) if r.version <= snapshot.version]
    fold = CaseFold()
    causes: dict[int, Cause] = {}
    policies: dict[int, Policy] = {}
    for r in records:
        position = views.position_of_version(case_id, r.version)
        key = position if position is not None else -r.version
        data = {k: (str(v) if isinstance(v, UUID) else v) for k, v in r.data.items()}
        fold.apply(key, r.type, data)
        causes[key] = Cause(
            position=position,
            version=r.version,
            recorded_at=r.timestamp,
            actor=r.actor,
            event_type=r.type,
            command=COMMANDS.get(r.type, r.type),
            ref=data.get("ref") or None,
            policy_version=data.get("policy_version"),
            allowed_by=_allowed_by(flow, r.type, data, policies),
        )
    figures = _figures(fold, causes, fields)
    agrees = (
        fold.approved_fen == snapshot.approved_fen
        and fold.disbursed_fen == snapshot.disbursed_fen
        and fold.secondary_aid_fen == snapshot.secondary_aid_fen
        and fold.status == snapshot.status.value
    )
    findings = [v for v in violations if v.case_id == str(case_id)]
    return Explanation(
        case_id=case_id,
        as_of=as_of,
        version=snapshot.version,
        figures=figures,
        findings=findings,
        agrees=agrees,
    )


def _figures(
    fold: CaseFold, causes: dict[int, Cause], fields: tuple[str, ...]
) -> list[FigureTrace]:
    """Each figure asked for, with the causes that made it (the status, with each step)."""
    figures = []
    for name in fields:
        if name == "status":
            traced = [causes[k].model_copy(update={"status_after": s}) for k, s in fold.status_by]
            figures.append(FigureTrace(field=name, value=fold.status, causes=traced))
        else:
            traced = [
                causes[k].model_copy(update={"change_fen": change})
                for k, change in fold.made_by.get(name, [])
            ]
            figures.append(FigureTrace(field=name, value=getattr(fold, name), causes=traced))
    return figures
