"""A student's case, step by step: apply, verify, decide, pay, follow up, consult, close.

Each function is one command's slice: it loads what it needs through the
:class:`~aidflow.application.context.Context`, asks the aggregates (which raise a named
error on a broken rule) and returns its result with the aggregates to save together: a
grant is saved with the fund it reserves, a payment with its voucher key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar
from uuid import UUID

from aidflow import commands as cmd
from aidflow.application.context import Context
from aidflow.application.pipeline import Decision
from aidflow.domain.base import AidAggregate
from aidflow.domain.case import StudentCase
from aidflow.domain.errors import DuplicateApplication, VoucherReturned, said
from aidflow.domain.keys import Enrolment, Voucher
from aidflow.domain.masking import mask_identifier
from aidflow.domain.values import FundKind
from aidflow.models import (
    ApplyOutcome,
    CorrectionResult,
    DecisionResult,
    DisbursementResult,
    ReviewResult,
)

CC = TypeVar("CC", bound=cmd.CaseCommand[None])

LOOKBACK_YEARS = 6
"""How many programme years back a new case looks for the same person's earlier case."""


def new_case(ctx: Context, c: cmd.Apply) -> list[AidAggregate]:
    """A new case and its student-year key, linked to the person's case of an earlier year."""
    case = StudentCase.open(
        student_id=c.student_id,
        name=c.name,
        university=c.university,
        family_category=c.family_category.value,
        town=c.town,
        year=c.year,
        account=c.account,
        source=c.source,
        actor=c.actor,
        previous_case=previous_case(ctx.enrolment_of, c.student_id, c.year),
    )
    key = Enrolment.register(
        key_id=ctx.enrolment_id(case.student_id, case.year),
        student_id=case.student_id,
        year=case.year,
        case_id=case.id,
    )
    return [case, key]


def new_cases(
    ctx: Context, commands: Sequence[cmd.Apply]
) -> tuple[list[UUID | None], list[AidAggregate]]:
    """Many new cases (a screening batch), with the keys of their students' years looked up in
    one read first, so each new case does not ask for each earlier year in turn: for each
    command, the case its student already has for the year (None: opened here), and the
    aggregates to save. A student who has one is answered with it, not refused, so one
    student who applied before a screening does not send the whole batch back row by row."""
    look_up_years(ctx, commands, first=0)
    already = [_case_of(ctx.enrolment_of(c.student_id, c.year)) for c in commands]
    opened = [c for c, case_id in zip(commands, already, strict=True) if case_id is None]
    return already, [a for c in opened for a in new_case(ctx, c)]


def _case_of(key: Enrolment | None) -> UUID | None:
    return None if key is None else key.case_id


def outcomes(already: list[UUID | None], aggregates: list[AidAggregate]) -> list[ApplyOutcome]:
    """Each row's answer once :func:`new_cases`' aggregates are saved: its new case, or the
    case its student already had."""
    new = iter(aggregates[::2])  # each new case, then its key
    return [
        ApplyOutcome(case_id=next(new).id if case_id is None else case_id, opened=case_id is None)
        for case_id in already
    ]


def look_up_years(ctx: Context, commands: Sequence[cmd.Apply], *, first: int) -> None:
    """Ask the store at once which of the students' keys exist, from ``first`` years before
    each command's year back to the oldest year a new case looks at (fourteen ids a case)."""
    ctx.look_up(
        [(c.student_id, range(c.year - first, c.year - 1 - LOOKBACK_YEARS, -1)) for c in commands]
    )


def previous_case(
    enrolment_of: Callable[[str, int], Enrolment | None], student_id: str, year: int
) -> UUID | None:
    """The same person's case of the nearest earlier programme year, through the
    student-year keys (never by reading national IDs out of a view)."""
    for earlier in range(year - 1, year - 1 - LOOKBACK_YEARS, -1):
        key = enrolment_of(student_id, earlier)
        if key is not None:
            return key.case_id
    return None


def apply(ctx: Context, c: cmd.Apply) -> Decision[UUID]:
    """Open a case; a second case for the same student and year is refused."""
    look_up_years(ctx, [c], first=0)  # this year and the earlier ones, in one read
    key = ctx.enrolment_of(c.student_id, c.year)
    if key is not None:
        raise DuplicateApplication(mask_identifier(c.student_id), c.year, key.case_id)
    aggregates = new_case(ctx, c)
    return aggregates[0].id, aggregates


def changing(
    change: Callable[[Context, StudentCase, CC], object],
) -> Callable[[Context, CC], Decision[None]]:
    """A slice that changes one case and answers nothing."""

    def decide(ctx: Context, c: CC) -> Decision[None]:
        case = ctx.case(c.case_id)
        change(ctx, case, c)
        return None, [case]

    return decide


def _verify(ctx: Context, case: StudentCase, c: cmd.Verify) -> None:
    ctx.check_town(case)  # a verifier visits the towns they are registered for (issue 24 §5)
    case.verify(
        income_fen=c.income_fen,
        tuition_fen=c.tuition_fen,
        gap_fen=c.gap_fen,
        needs=[n.value for n in c.needs],
        visited_on=c.visited_on,
        note=c.note,
        actor=c.actor,
    )


def _reject(_ctx: Context, case: StudentCase, c: cmd.Reject) -> None:
    case.reject(reason=c.reason, actor=c.actor)


def approve(ctx: Context, c: cmd.Approve) -> Decision[DecisionResult]:
    """Approve a grant and reserve it in its government fund, in one save.

    The approval form's number (``ref``) makes it exactly-once: the same number with
    the same content again records nothing and answers ``recorded=False``.
    """
    case = ctx.case(c.case_id)
    ctx.check_year_open(case.year)  # a closed year takes no new money (issue 23)
    fund = ctx.fund(c.fund_id)
    fund.check_kind(FundKind.GOVERNMENT, "temporary assistance")
    case.approve_grant(
        amount_fen=c.amount_fen,
        need=c.need.value,
        fund_id=fund.id,
        actor=c.actor,
        policy=ctx.policy,
        ref=c.ref,
        roles=ctx.roles,
    )
    fund.allocate(case_id=case.id, amount_fen=c.amount_fen, use="grant", actor=c.actor)
    result = DecisionResult(
        case_id=case.id, ref=c.ref, fund_id=fund.id, amount_fen=c.amount_fen, recorded=True
    )
    return result, [case, fund]


def _repeated_payment(case: StudentCase, c: cmd.Disburse) -> DisbursementResult:
    """The answer to a payment made before under the same voucher (a retry)."""
    payment = case.payment(c.voucher)
    assert payment is not None, "a voucher key is saved with its payment"
    if payment["returned"]:
        raise VoucherReturned(
            said(
                "voucher {voucher} was returned by the bank; the payment was not made. Issue a new voucher number for the re-payment",
                voucher=payment["voucher"],
            ),
            ids={"case_id": str(case.id), "voucher": str(payment["voucher"])},
        )
    return DisbursementResult(
        case_id=case.id,
        voucher=str(payment["voucher"]),
        fund_id=UUID(payment["fund_id"]),
        amount_fen=c.amount_fen,
        recorded=False,
    )


def disburse(ctx: Context, c: cmd.Disburse) -> Decision[DisbursementResult]:
    """Pay into the student's account. The same voucher again is a retry: nothing new.

    A voucher the bank returned is spent: paying under it again is refused, and the
    clerk issues a new voucher for the re-payment.
    """
    # a voucher seen implies its payment is in the case: both are read at one moment (the
    # slice's ``reads``), else the voucher read first and the case after it
    used = ctx.voucher(c.voucher)
    case = ctx.case(c.case_id)
    if used is not None and used.is_retry_of(case_id=case.id, amount_fen=c.amount_fen):
        return _repeated_payment(case, c), []
    ctx.check_year_open(case.year)  # a closed year takes no new money (issue 23)
    fund_id = case.disburse(
        amount_fen=c.amount_fen,
        voucher=c.voucher,
        value_date=c.value_date,
        actor=c.actor,
        fund=c.fund_id,
    )
    voucher = Voucher(number=c.voucher, case_id=case.id, amount_fen=c.amount_fen)
    result = DisbursementResult(
        case_id=case.id, voucher=c.voucher, fund_id=fund_id, amount_fen=c.amount_fen, recorded=True
    )
    return result, [case, voucher]


def _return_disbursement(_ctx: Context, case: StudentCase, c: cmd.ReturnDisbursement) -> None:
    """The bank returned a payment; the approval stays reserved for a new payment."""
    case.return_disbursement(
        voucher=c.voucher, reason=c.reason, value_date=c.value_date, actor=c.actor
    )


def allocate_secondary_aid(ctx: Context, c: cmd.AllocateSecondaryAid) -> Decision[DecisionResult]:
    """Propose social-fund money for a paid student (二次帮扶), under the decision's ``ref``.

    The first of two steps: a different person approves it (:func:`approve_secondary_aid`),
    which reserves it in the donation fund; it is then paid through the payment list and
    confirmed by the bank's statement like a grant.
    """
    case = ctx.case(c.case_id)
    ctx.check_year_open(case.year)  # a closed year takes no new money (issue 23)
    fund = ctx.fund(c.fund_id)
    fund.check_kind(FundKind.DONATION, "secondary aid")
    fund.check_can_allocate(case_id=case.id, amount_fen=c.amount_fen)
    case.propose_secondary_aid(
        fund_id=fund.id,
        amount_fen=c.amount_fen,
        reason=c.reason,
        actor=c.actor,
        ref=c.ref,
        policy=ctx.policy,
    )
    result = DecisionResult(
        case_id=case.id, ref=c.ref, fund_id=fund.id, amount_fen=c.amount_fen, recorded=True
    )
    return result, [case]


def correct_approval(ctx: Context, c: cmd.CorrectApproval) -> Decision[CorrectionResult]:
    """Propose a correction of a grant approval (its unpaid part); the same again records
    nothing."""
    case = ctx.case(c.case_id)
    amount, recorded = case.propose_correction(
        ref=c.ref, amount_fen=c.amount_fen, reason=c.reason, actor=c.actor
    )
    ref = str(case.approval(c.ref)["ref"])
    result = CorrectionResult(
        case_id=case.id, ref=ref, amount_fen=amount, pending=True, recorded=recorded
    )
    return result, [case] if recorded else []


def confirm_correction(ctx: Context, c: cmd.ConfirmCorrection) -> Decision[CorrectionResult]:
    """A second person confirms it: the approval is reduced and the fund's reservation
    released, in one save."""
    case = ctx.case(c.case_id)
    fund_id, amount = case.confirm_correction(ref=c.ref, actor=c.actor)
    ref = str(case.approval(c.ref)["ref"])
    fund = ctx.fund(fund_id)
    fund.release(
        case_id=case.id, amount_fen=amount, reason=f"approval {ref} corrected", actor=c.actor
    )
    result = CorrectionResult(
        case_id=case.id, ref=ref, amount_fen=amount, pending=False, recorded=True
    )
    return result, [case, fund]


def approve_secondary_aid(ctx: Context, c: cmd.ApproveSecondaryAid) -> Decision[DecisionResult]:
    """A second person approves proposed secondary aid; it is reserved in its donation fund
    in the same save. Approving it again records nothing (``recorded=False``)."""
    case = ctx.case(c.case_id)
    ctx.check_year_open(case.year)  # a closed year takes no new money (issue 23)
    proposal = case.secondary_proposal(c.ref)
    result = DecisionResult(
        case_id=case.id,
        ref=str(proposal["ref"]),
        fund_id=UUID(proposal["fund_id"]),
        amount_fen=int(proposal["amount_fen"]),
        recorded=not proposal["approved"],
    )
    if proposal["approved"]:
        return result, []
    fund = ctx.fund(UUID(proposal["fund_id"]))
    fund.check_kind(FundKind.DONATION, "secondary aid")
    case.approve_secondary_aid(ref=c.ref, actor=c.actor, policy=ctx.policy)
    fund.allocate(
        case_id=case.id, amount_fen=int(proposal["amount_fen"]), use="secondary-aid", actor=c.actor
    )
    return result, [case, fund]


def _report_hardship(_ctx: Context, case: StudentCase, c: cmd.ReportHardship) -> None:
    case.report_hardship(
        kind=c.kind.value, severity=c.severity.value, detail=c.detail, actor=c.actor
    )


def convene_review(ctx: Context, c: cmd.ConveneReview) -> Decision[ReviewResult]:
    case = ctx.case(c.case_id)
    action_ids = case.convene_review(
        departments=list(c.departments),
        actions=[(a.department, a.text, a.due) for a in c.actions],
        note=c.note,
        actor=c.actor,
        policy=ctx.policy,
    )
    return ReviewResult(case_id=case.id, action_ids=action_ids), [case]


def _complete_action(ctx: Context, case: StudentCase, c: cmd.CompleteAction) -> None:
    """A department's liaison reports its action done; only that department's liaison."""
    action = case.actions.get(c.action_id)
    if action is not None:
        ctx.authorise("complete_action", department=action["department"])
    case.complete_action(action_id=c.action_id, note=c.note, actor=c.actor)


def _follow_up(_ctx: Context, case: StudentCase, c: cmd.FollowUp) -> None:
    case.follow_up(
        study=c.study,
        living=c.living,
        hardship_trend=c.hardship_trend.value,
        actor=c.actor,
        received=c.received.value if c.received is not None else "",
    )


def _lodge_appeal(ctx: Context, case: StudentCase, c: cmd.LodgeAppeal) -> None:
    rejected_at = ctx.last_rejection_at(case.id)
    case.lodge_appeal(
        reason=c.reason,
        actor=c.actor,
        rejected_at=rejected_at or ctx.moment,
        now=ctx.moment,
        policy=ctx.policy,
    )


def _decide_appeal(_ctx: Context, case: StudentCase, c: cmd.DecideAppeal) -> None:
    case.decide_appeal(outcome=c.outcome, reason=c.reason, actor=c.actor)


def close_case(ctx: Context, c: cmd.CloseCase) -> Decision[None]:
    """Close a case and give unpaid reservations back to their funds, in one save."""
    case = ctx.case(c.case_id)
    releases = case.close(reason=c.reason, actor=c.actor, policy=ctx.policy)
    funds: list[AidAggregate] = []
    for fund_id, fen in releases.items():
        fund = ctx.fund(UUID(fund_id))
        fund.release(case_id=case.id, amount_fen=fen, reason="case closed", actor=c.actor)
        funds.append(fund)
    return None, [case, *funds]


verify = changing(_verify)
reject = changing(_reject)
return_disbursement = changing(_return_disbursement)
report_hardship = changing(_report_hardship)
complete_action = changing(_complete_action)
follow_up = changing(_follow_up)
lodge_appeal = changing(_lodge_appeal)
decide_appeal = changing(_decide_appeal)
