"""``aidflow case`` and ``aidflow queue``: every step of a student's case, and what is owed."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from aidflow.cli import params
from aidflow.cli.helptext import HelpCommand, HelpGroup
from aidflow.cli.session import (
    Session,
    emit,
    emit_rows,
    export_option,
    global_options,
    pass_session,
    writes,
)
from aidflow.domain.errors import render as render_said
from aidflow.domain.masking import ERASED
from aidflow.i18n import event, tr, tr_all, value
from aidflow.i18n import messages as M
from aidflow.i18n import value as value_word
from aidflow.render import Money, day, line, table, when, yuan

if TYPE_CHECKING:
    from aidflow.projections.models import Dossier


@click.group("case", cls=HelpGroup)
@global_options
def case_group() -> None:
    """Student cases: every step of the closed loop."""


@case_group.command("apply")
@click.option("--student-id", required=True, help="18-character national ID (checked).")
@click.option("--name", required=True)
@click.option("--university", required=True)
@click.option(
    "--category",
    type=params.FAMILY_CATEGORY,
    required=True,
    help="Family category on the registry.",
)
@click.option("--town", required=True)
@click.option(
    "--year",
    type=params.YEAR,
    default=params.this_year,
    show_default="this year",
    help="Programme year.",
)
@click.option("--account", default="", help="The student's own bank account.")
@global_options
@pass_session
@writes
def case_apply(
    session: Session,
    student_id: str,
    name: str,
    university: str,
    category: str,
    town: str,
    year: int,
    account: str,
) -> None:
    """Open a case (an application); prints its id."""
    from aidflow import commands as cmd

    case_id = session.office.handle(
        cmd.Apply(
            student_id=student_id,
            name=name,
            university=university,
            family_category=category,
            town=town,
            year=year,
            account=account,
            source="application",
            actor=session.actor(),
        )
    )
    emit(session, {"case_id": case_id}, line(M.ID, id=case_id))


@case_group.command("verify")
@click.argument("case_ref", metavar="CASE")
@click.option("--income", type=params.YUAN, required=True, help="Household income, yuan per year.")
@click.option("--tuition", type=params.YUAN, required=True, help="Tuition standard, yuan per year.")
@click.option("--gap", type=params.YUAN, required=True, help="Living-cost gap, yuan.")
@click.option(
    "--need",
    "needs",
    type=params.NEED,
    multiple=True,
    required=True,
    help="Repeat for each need found.",
)
@click.option("--visited-on", type=params.DATE, help="Date of the household visit.")
@click.option("--note", default="")
@global_options
@pass_session
@writes
def case_verify(
    session: Session,
    case_ref: str,
    income: int,
    tuition: int,
    gap: int,
    needs: tuple[str, ...],
    visited_on: date | None,
    note: str,
) -> None:
    """Record the household verification (入户核实)."""
    from aidflow import commands as cmd

    case_id = session.office.case_id(case_ref)
    session.office.handle(
        cmd.Verify(
            case_id=case_id,
            income_fen=income,
            tuition_fen=tuition,
            gap_fen=gap,
            needs=list(needs),
            visited_on=visited_on,
            note=note,
            actor=session.actor(),
        )
    )
    emit(session, {"case_id": case_id, "status": "verified"}, line(M.VERIFIED, case_id=case_id))


@case_group.command("reject")
@click.argument("case_ref", metavar="CASE")
@click.option("--reason", required=True)
@global_options
@pass_session
@writes
def case_reject(session: Session, case_ref: str, reason: str) -> None:
    """Reject an application with a written reason."""
    from aidflow import commands as cmd

    case_id = session.office.case_id(case_ref)
    session.office.handle(cmd.Reject(case_id=case_id, reason=reason, actor=session.actor()))
    emit(
        session,
        {"case_id": case_id, "status": "rejected"},
        line(M.REJECTED, case_id=case_id, reason=reason),
    )


@case_group.command("approve")
@click.argument("case_ref", metavar="CASE")
@click.option("--amount", type=params.YUAN, required=True)
@click.option("--need", type=params.NEED, required=True)
@click.option("--fund", "fund_ref", required=True, help="The government fund that pays it.")
@click.option(
    "--ref",
    required=True,
    help="The approval form's number (审批编号), unique in the store. The same approval "
    "again under it is a retry: nothing new is written.",
)
@global_options
@pass_session
@writes
def case_approve(
    session: Session, case_ref: str, amount: int, need: str, fund_ref: str, ref: str
) -> None:
    """Approve temporary assistance (临时救助) and reserve it in the fund."""
    from aidflow import commands as cmd

    result = session.office.handle(
        cmd.Approve(
            case_id=session.office.case_id(case_ref),
            amount_fen=amount,
            need=need,
            fund_id=session.office.fund_id(fund_ref),
            ref=ref,
            actor=session.actor(),
        )
    )
    template = M.APPROVED if result.recorded else M.DECIDED_BEFORE
    emit(session, result, line(template, amount=yuan(amount), case_id=result.case_id, ref=ref))


@case_group.command("disburse")
@click.argument("case_ref", metavar="CASE")
@click.option("--amount", type=params.YUAN, required=True)
@click.option(
    "--voucher",
    required=True,
    help="Voucher number, unique across the store. The same payment again is a retry.",
)
@click.option("--value-date", type=params.DATE, help="The bank's value date.")
@global_options
@pass_session
@writes
def case_disburse(
    session: Session, case_ref: str, amount: int, voucher: str, value_date: date | None
) -> None:
    """Pay approved money into the student's own account."""
    from aidflow import commands as cmd

    result = session.office.handle(
        cmd.Disburse(
            case_id=session.office.case_id(case_ref),
            amount_fen=amount,
            voucher=voucher,
            value_date=value_date,
            actor=session.actor(),
        )
    )
    template = M.PAID if result.recorded else M.PAID_BEFORE
    emit(session, result, line(template, amount=yuan(amount), voucher=voucher))


@case_group.command("return")
@click.argument("case_ref", metavar="CASE")
@click.option("--voucher", required=True)
@click.option("--reason", required=True)
@click.option("--value-date", type=params.DATE)
@global_options
@pass_session
@writes
def case_return(
    session: Session, case_ref: str, voucher: str, reason: str, value_date: date | None
) -> None:
    """The bank returned a payment; the approval stays reserved for a new voucher."""
    from aidflow import commands as cmd

    case_id = session.office.case_id(case_ref)
    session.office.handle(
        cmd.ReturnDisbursement(
            case_id=case_id,
            voucher=voucher,
            reason=reason,
            value_date=value_date,
            actor=session.actor(),
        )
    )
    emit(
        session,
        {"case_id": case_id, "voucher": voucher, "returned": True},
        line(M.RETURNED, voucher=voucher, reason=reason),
    )


@case_group.command("secondary-aid")
@click.argument("case_ref", metavar="CASE")
@click.option("--fund", "fund_ref", required=True, help="The donation fund.")
@click.option("--amount", type=params.YUAN, required=True)
@click.option(
    "--ref",
    required=True,
    help="The decision's number, unique in the store (shared with approvals). The same "
    "decision again under it is a retry: nothing new is written.",
)
@click.option("--reason", default="")
@global_options
@pass_session
@writes
def case_secondary_aid(
    session: Session, case_ref: str, fund_ref: str, amount: int, ref: str, reason: str
) -> None:
    """Propose social-fund money (二次帮扶) for a student already paid a grant.

    A different person approves it (`aidflow case approve-secondary-aid`); it is then
    paid through the donation fund's payment list like a grant.
    """
    from aidflow import commands as cmd

    result = session.office.handle(
        cmd.AllocateSecondaryAid(
            case_id=session.office.case_id(case_ref),
            fund_id=session.office.fund_id(fund_ref),
            amount_fen=amount,
            ref=ref,
            reason=reason,
            actor=session.actor(),
        )
    )
    template = M.SECONDARY_PROPOSED if result.recorded else M.DECIDED_BEFORE
    emit(session, result, line(template, amount=yuan(amount), case_id=result.case_id, ref=ref))


@case_group.command("report-hardship")
@click.argument("case_ref", metavar="CASE")
@click.option("--kind", type=params.HARDSHIP_KIND, required=True)
@click.option("--detail", required=True)
@click.option(
    "--severity",
    type=params.SEVERITY,
    default="serious",
    show_default=True,
    help="Serious and critical hardship calls for a consultation.",
)
@global_options
@pass_session
@writes
def case_report_hardship(
    session: Session, case_ref: str, kind: str, detail: str, severity: str
) -> None:
    """New hardship after enrolment: reopens the case for re-verification."""
    from aidflow import commands as cmd

    case_id = session.office.case_id(case_ref)
    session.office.handle(
        cmd.ReportHardship(
            case_id=case_id, kind=kind, detail=detail, severity=severity, actor=session.actor()
        )
    )
    emit(session, {"case_id": case_id, "status": "reopened"}, line(M.HARDSHIP, case_id=case_id))


@case_group.command("convene-review")
@click.argument("case_ref", metavar="CASE")
@click.option(
    "--department",
    "departments",
    type=params.DEPARTMENT,
    multiple=True,
    required=True,
    help="Repeat for each department present.",
)
@click.option(
    "--action",
    "actions",
    type=params.ACTION,
    multiple=True,
    help="A decision owed by a department; repeat.",
)
@click.option(
    "--due",
    type=params.DATE,
    help="When the actions are due (default: the policy's action-due-days from today).",
)
@click.option("--note", default="")
@global_options
@pass_session
@writes
def case_convene_review(
    session: Session,
    case_ref: str,
    departments: tuple[str, ...],
    actions: tuple[tuple[str, str], ...],
    due: date | None,
    note: str,
) -> None:
    """Record a multi-department consultation (多部门会商); prints the action ids."""
    from aidflow import commands as cmd

    result = session.office.handle(
        cmd.ConveneReview(
            case_id=session.office.case_id(case_ref),
            departments=list(departments),
            actions=[cmd.ActionItem(department=d, text=t, due=due) for d, t in actions],
            note=note,
            actor=session.actor(),
        )
    )
    emit(
        session,
        result,
        "\n".join(line(M.ID, id=a) for a in result.action_ids) or tr(M.NO_ACTIONS),
    )


@case_group.command("complete-action")
@click.argument("case_ref", metavar="CASE")
@click.argument("action_id", metavar="ACTION")
@click.option("--note", required=True)
@global_options
@pass_session
@writes
def case_complete_action(session: Session, case_ref: str, action_id: str, note: str) -> None:
    """A department reports a consultation decision carried out."""
    from aidflow import commands as cmd

    case_id = session.office.case_id(case_ref)
    session.office.handle(
        cmd.CompleteAction(case_id=case_id, action_id=action_id, note=note, actor=session.actor())
    )
    emit(
        session,
        {"case_id": case_id, "action_id": action_id, "done": True},
        line(M.ACTION_DONE, action_id=action_id),
    )


@case_group.command("follow-up")
@click.argument("case_ref", metavar="CASE")
@click.option("--study", required=True, help="Study progress.")
@click.option("--living", required=True, help="Living conditions.")
@click.option(
    "--hardship",
    type=params.HARDSHIP_TREND,
    required=True,
    help="How the family's hardship develops.",
)
@click.option(
    "--received",
    type=params.RECEIPT,
    help="Whether the student confirms the money paid since their last answer arrived: "
    "yes or no (a no is an audit finding at once).",
)
@global_options
@pass_session
@writes
def case_follow_up(
    session: Session, case_ref: str, study: str, living: str, hardship: str, received: str | None
) -> None:
    """Record a follow-up visit (with --received, the student's word on the money)."""
    from aidflow import commands as cmd

    case_id = session.office.case_id(case_ref)
    session.office.handle(
        cmd.FollowUp(
            case_id=case_id,
            study=study,
            living=living,
            hardship_trend=hardship,
            received=received,
            actor=session.actor(),
        )
    )
    emit(session, {"case_id": case_id, "followed_up": True}, line(M.FOLLOWED_UP, case_id=case_id))


@case_group.command("close")
@click.argument("case_ref", metavar="CASE")
@click.option("--reason", required=True)
@global_options
@pass_session
@writes
def case_close(session: Session, case_ref: str, reason: str) -> None:
    """Close a case; approved money not yet paid goes back to its fund."""
    from aidflow import commands as cmd

    case_id = session.office.case_id(case_ref)
    session.office.handle(cmd.CloseCase(case_id=case_id, reason=reason, actor=session.actor()))
    emit(session, {"case_id": case_id, "status": "closed"}, line(M.CLOSED, case_id=case_id))


# -- queries ----------------------------------------------------------------------------------


def _day(moment: datetime | str | None) -> str:
    if moment is None or moment == "":
        return "-"
    if isinstance(moment, str):
        return moment[:10]
    return day(moment)


def _section(title: str, rows: list[tuple[Any, ...]], header: tuple[str, ...]) -> list[str]:
    return ["", tr(title), table(rows, header)] if rows else []


def person(text: str) -> str:
    """A personal field as shown: the catalogue's word for an erased one."""
    return tr(M.ERASED) if text == ERASED else text


def dossier_text(d: Dossier) -> str:
    """Every section the JSON has, in the order of the file: who, the visit, the money, the loop."""
    d = d.model_copy(
        update={
            "name": person(d.name),
            "student_id_masked": person(d.student_id_masked),
            "account_masked": person(d.account_masked),
        }
    )
    lines = [*_who(d), *_money(d), *_loop(d)]
    timeline = [(e.position, when(e.recorded_at), event(e.event_type), e.actor) for e in d.timeline]
    lines += ["", tr(M.SECTION_TIMELINE), table(timeline, M.TIMELINE_HEADER)]
    return "\n".join(lines)


def _get(entry: Any, key: str) -> Any:
    return entry.detail.get(key) or ""


def _amount(entry: Any, key: str = "amount_fen") -> str:
    amount = entry.detail.get(key)
    return yuan(amount) if isinstance(amount, int) else ""


def _who(d: Dossier) -> list[str]:
    """The head of the file: the student, the application, the household visit."""
    lines = [
        line(
            M.DOSSIER_HEAD,
            d=d,
            status=value(d.status),
            category=value(d.family_category),
            account=d.account_masked or "-",
            approved=yuan(d.approved_fen),
            paid=yuan(d.disbursed_fen),
            secondary=yuan(d.secondary_aid_fen),
        ),
        line(M.DOSSIER_APPLICATION, opened=_day(d.opened_at), source=value(d.source)),
    ]
    if d.reason:
        lines.append(line(M.DOSSIER_REASON, reason=d.reason))
    previous = next(
        (e.detail.get("previous_case") for e in d.timeline if e.event_type == "case.applied"),
        None,
    )
    if previous:
        lines.append(line(M.DOSSIER_PREVIOUS_CASE, case_id=previous))
    v = d.verification
    if v:
        lines.append(
            line(
                M.DOSSIER_VERIFIED,
                by=v.get("by", ""),
                income=yuan(v.get("income_fen", 0)),
                tuition=yuan(v.get("tuition_fen", 0)),
                gap=yuan(v.get("gap_fen", 0)),
                needs=", ".join(value(n) for n in v.get("needs", [])),
            )
        )
        if v.get("visited_on"):
            lines.append(line(M.DOSSIER_VERIFIED_ON, day=v["visited_on"]))
        if v.get("note"):
            lines.append(line(M.DOSSIER_NOTE, note=v["note"]))
    return lines


def _money(d: Dossier) -> list[str]:
    """Approvals, payments, returns and secondary aid."""
    approvals = [
        (
            _day(e.recorded_at),
            _get(e, "ref"),
            _amount(e),
            value(_get(e, "need")),
            str(_get(e, "fund_id"))[:8],
            e.actor,
        )
        for e in d.approvals
    ]
    payments = [
        (_day(e.recorded_at), _get(e, "voucher"), _amount(e), _get(e, "value_date") or "-", e.actor)
        for e in d.disbursements
    ]
    returns = [
        (
            _day(e.recorded_at),
            _get(e, "voucher"),
            _get(e, "value_date") or "-",
            _get(e, "reason"),
            e.actor,
        )
        for e in d.returns
    ]
    secondary = [
        (
            _day(s.get("recorded_at")),
            s.get("ref") or "",
            yuan(s["amount_fen"]) if isinstance(s.get("amount_fen"), int) else "",
            s.get("fund_name") or str(s.get("fund_id") or "")[:8],
            ", ".join(map(str, s.get("donors") or [])) or "-",
            s.get("reason") or "",
            s.get("actor") or "",
        )
        for s in d.secondary_aid
    ]
    return [
        *_section(M.SECTION_APPROVALS, approvals, M.APPROVALS_HEADER),
        *_section(M.SECTION_DISBURSEMENTS, payments, M.DISBURSEMENTS_HEADER),
        *_section(M.SECTION_RETURNS, returns, M.RETURNS_HEADER),
        *_section(M.SECTION_SECONDARY, secondary, M.SECONDARY_HEADER),
    ]


def _loop(d: Dossier) -> list[str]:
    """After the money: hardships, consultations and their actions, follow-ups."""
    hardships = [
        (
            _day(e.recorded_at),
            value(_get(e, "kind")),
            value(_get(e, "severity")),
            _get(e, "detail"),
            e.actor,
        )
        for e in d.hardships
    ]
    consultations = [
        (
            _day(e.recorded_at),
            ", ".join(value(x) for x in _get(e, "departments") or []),
            _get(e, "note"),
            e.actor,
        )
        for e in d.consultations
    ]
    lines = [
        *_section(M.SECTION_HARDSHIPS, hardships, M.HARDSHIPS_HEADER),
        *_section(M.SECTION_CONSULTATIONS, consultations, M.CONSULTATIONS_HEADER),
    ]
    if d.actions:
        lines += ["", tr(M.SECTION_ACTIONS)]
    for a in d.actions:
        state = line(M.ACTION_DONE_ON, day=day(a.done_at)) if a.done_at else tr(M.ACTION_OPEN)
        lines.append(line(M.DOSSIER_ACTION, a=a, department=value(a.department), state=state))
    follow_ups = [
        (
            _day(e.recorded_at),
            _get(e, "study"),
            _get(e, "living"),
            value(_get(e, "hardship_trend")),
            e.actor,
        )
        for e in d.follow_ups
    ]
    return [*lines, *_section(M.SECTION_FOLLOW_UPS, follow_ups, M.FOLLOW_UPS_HEADER)]


@case_group.command("show")
@click.argument("case_ref", metavar="CASE")
@click.option(
    "--as-of",
    "as_of",
    type=params.MOMENT,
    help="The dossier as it stood then (office time; a date means the end of that day).",
)
@click.option("--version", type=params.COUNT, help="The dossier as of the case's Nth event.")
@click.option(
    "--reveal",
    is_flag=True,
    help="Show the national ID, name and account in full (verifier or cashier); recorded.",
)
@click.option("--reason", default="", help="Why the personal data is revealed (with --reveal).")
@global_options
@pass_session
def case_show(
    session: Session,
    case_ref: str,
    as_of: datetime | None,
    version: int | None,
    reveal: bool,
    reason: str,
) -> None:
    """The dossier (一人一档): everything about one case, personal data masked.

    With --reveal --reason TEXT, a verifier or cashier sees the national ID, name and
    account in full; the reveal (who, what, why) is recorded on the case first.
    """
    if reveal and not reason.strip():
        raise click.UsageError(tr(M.REVEAL_NEEDS_REASON))
    case_id = session.office.case_id(case_ref)
    if reveal:
        from aidflow import commands as cmd

        actor = session.actor()
        revealed = session.office.revealed_dossier(
            cmd.Reveal(case_id=case_id, reason=reason, actor=actor)
        )
        person, d = revealed.personal_data, revealed.dossier
        shown = d.model_copy(
            update={
                "name": person.name,
                "student_id_masked": person.student_id,
                "account_masked": person.account,
            }
        )
        emit(
            session,
            revealed,
            lambda: (
                dossier_text(shown)
                + "\n\n"
                + line(
                    M.REVEALED,
                    name=person.name,
                    student_id=person.student_id,
                    account=person.account or "-",
                    actor=actor,
                )
            ),
        )
        return
    d = session.office.dossier(case_id, as_of=as_of, version=version)
    emit(session, d, lambda: dossier_text(d))


@case_group.command("erase")
@click.argument("case_ref", metavar="CASE")
@click.option("--reason", required=True, help="Why the personal data is erased (recorded).")
@global_options
@pass_session
@writes
def case_erase(session: Session, case_ref: str, reason: str) -> None:
    """Erase a student's personal data (admin): destroy their data key.

    Refused while any of the student's cases is open, owes approved money, or is within
    the retention period (`aidflow policy set retention-years N`, counted from closing or
    rejection). The record, its money and the chain stay as they were; the person shows
    as [erased] in every case of every year. A student who applies again later is recorded
    under a new key, which erasing their data again destroys with the rest.
    """
    from aidflow import commands as cmd

    case_id = session.office.case_id(case_ref)
    erased = session.office.handle(
        cmd.EraseCase(case_id=case_id, reason=reason, actor=session.actor())
    )
    emit(
        session,
        {"case_id": case_id, "erased_cases": erased},
        line(M.ERASED_CASES, count=len(erased), cases=", ".join(str(c) for c in erased)),
    )


def _brief(data: dict[str, Any]) -> str:
    return ", ".join(
        f"{k}={person(v) if isinstance(v, str) else v}"
        for k, v in data.items()
        if k != "actor" and v not in ("", None, [], {})
    )


@case_group.command("history")
@click.argument("case_ref", metavar="CASE")
@global_options
@pass_session
def case_history(session: Session, case_ref: str) -> None:
    """Every event of a case, as stored (personal data masked)."""
    office = session.office
    records = office.history(office.case_id(case_ref))
    rows = [r.model_dump(mode="json") for r in records]
    emit(
        session,
        rows,
        lambda: "\n".join(
            line(
                M.HISTORY_LINE,
                version=r["version"],
                timestamp=r["timestamp"][:16],
                type=event(r["type"]),
                actor=r["actor"],
                brief=_brief(r["data"]),
            )
            for r in rows
        ),
    )


@case_group.command("find")
@click.argument("text", metavar="TEXT")
@export_option
@global_options
@pass_session
@writes
def case_find(session: Session, text: str, output: Path | None) -> None:
    """Find cases by national ID (any spelling) or by the whole name.

    For the roles that may reveal personal data (verifier, cashier); every search is
    recorded (who, by what, a keyed hash of the query, the cases found)."""
    found = session.office.find(text, actor=session.actor())
    rows = [
        (
            c.case_id[:8],
            person(c.name),
            person(c.student_id_masked),
            c.university,
            c.town,
            c.year,
            value(c.status),
        )
        for c in found
    ]
    emit_rows(
        session,
        found,
        lambda: table(rows, M.FIND_HEADER) + "\n" + line(M.CASES_FOUND, count=len(found)),
        output,
        M.FIND_HEADER,
        rows,
    )


@case_group.command("list")
@click.option(
    "--status",
    metavar="STATUS",
    help="applied, verified, approved, paid, reopened, rejected or closed.",
)
@click.option("--town")
@click.option("--category", metavar="CATEGORY", help="Family category, Chinese or English.")
@click.option("--year", type=params.YEAR)
@click.option(
    "--student",
    metavar="NATIONAL_ID",
    help="Every programme year's case of this person (found by the student-year keys).",
)
@export_option
@global_options
@pass_session
def case_list(
    session: Session,
    status: str | None,
    town: str | None,
    category: str | None,
    year: int | None,
    student: str | None,
    output: Path | None,
) -> None:
    """Cases, filtered by status, town, family category, programme year or student."""
    cases = session.office.cases(
        status=status, town=town, category=category, year=year, student=student
    )
    rows = [
        (
            c.case_id[:8],
            person(c.name),
            person(c.student_id_masked),
            c.town,
            value(c.family_category),
            value(c.status),
            Money(c.approved_fen),
            Money(c.disbursed_fen),
            Money(c.secondary_aid_fen),
        )
        for c in cases
    ]
    emit_rows(
        session,
        cases,
        lambda: table(rows, M.CASE_LIST_HEADER) + "\n" + line(M.CASE_COUNT, count=len(cases)),
        output,
        M.CASE_LIST_HEADER,
        rows,
        totals=True,
    )


DUE_KINDS = {"payment": M.DUE_PAYMENT, "action": M.DUE_ACTION, "appeal": M.DUE_APPEAL}


@click.command("due", cls=HelpCommand)
@click.option(
    "--within",
    type=click.IntRange(0, 3660),
    metavar="DAYS",
    help="Only what is due within DAYS from today (overdue included).",
)
@click.option(
    "--department",
    metavar="DEPARTMENT",
    help="Only the actions this department owes (one of the policy's departments).",
)
@export_option
@global_options
@pass_session
def due_command(
    session: Session, within: int | None, department: str | None, output: Path | None
) -> None:
    """Payments approved and unpaid, consultation actions owed and appeals awaiting a
    decision, by due date (overdue first).

    A payment is due the policy's payment-due-days after its last approval; an action on
    the date its consultation gave it, else action-due-days after it; an appeal
    appeal-decision-days after it was lodged.
    """
    items = session.office.due(within=within, department=department)
    rows = [
        (
            i.due,
            i.days_left,
            tr(DUE_KINDS[i.kind]),
            i.case_id[:8],
            i.name,
            Money(i.amount_fen) if i.amount_fen else "",
            f"{i.action_id} {i.text}".strip(),
            value(i.department) if i.department else "",
        )
        for i in items
    ]
    emit_rows(
        session,
        items,
        lambda: table(rows, M.DUE_HEADER) + "\n" + line(M.DUE_COUNT, count=len(items)),
        output,
        M.DUE_HEADER,
        rows,
        totals=True,
    )


@click.command("queue", cls=HelpCommand)
@click.option(
    "--department",
    metavar="DEPARTMENT",
    help="Only the actions this department owes (one of the policy's departments).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write both lists to FILE: .xlsx (two sheets' worth in one, awaiting first) or .csv.",
)
@global_options
@pass_session
def queue_command(session: Session, department: str | None, output: Path | None) -> None:
    """Hardship awaiting consultation, and consultation actions still owed (most serious, oldest first)."""
    q = session.office.queue(department)
    awaiting = [
        (
            h.case_id[:8],
            h.name,
            h.town,
            value(h.severity),
            value(h.kind),
            f"{h.waiting_days:.1f}",
            h.detail,
        )
        for h in q.awaiting_consultation
    ]
    owed = [
        (
            a.case_id[:8],
            a.name,
            a.action_id,
            value(a.department),
            f"{a.waiting_days:.1f}",
            a.due or "-",
            a.text,
        )
        for a in q.open_actions
    ]
    if output is not None:
        # One table: the awaiting rows, then the owed rows, each under its own header.
        emit_rows(
            session,
            q,
            "",
            output,
            M.QUEUE_AWAITING_HEADER,
            [*awaiting, (), tr_all(M.QUEUE_OWED_HEADER), *owed],
        )
        return
    emit(
        session,
        q,
        lambda: "\n".join(
            [
                tr(M.QUEUE_AWAITING),
                table(awaiting, M.QUEUE_AWAITING_HEADER) if awaiting else tr(M.QUEUE_NONE),
                tr(M.QUEUE_OWED),
                table(owed, M.QUEUE_OWED_HEADER) if owed else tr(M.QUEUE_NONE),
            ]
        ),
    )


@case_group.command("explain")
@click.argument("case_ref", metavar="CASE")
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="FIELD",
    help="Only these figures: approved_fen, disbursed_fen, secondary_aid_fen, status.",
)
@click.option(
    "--as-of",
    "as_of",
    type=params.MOMENT,
    help="Explain the case as it stood then (office time; a date means the end of that day).",
)
@global_options
@pass_session
def case_explain(
    session: Session, case_ref: str, fields: tuple[str, ...], as_of: datetime | None
) -> None:
    """Why the case has its figures and status: the events behind each, and what allowed them."""
    office = session.office
    case_id = office.case_id(case_ref)
    result = office.explain(case_id, as_of=as_of, fields=fields)

    def text() -> str:
        out: list[str] = []
        for f in result.figures:
            value = yuan(f.value) if isinstance(f.value, int) else f.value
            out.append(line(M.EXPLAIN_FIGURE, field=f.field, value=value))
            for c in f.causes:
                change = (
                    f" {'+' if c.change_fen > 0 else ''}{yuan(c.change_fen)}"
                    if c.change_fen is not None
                    else f" -> {value_word(c.status_after)}"
                    if c.status_after
                    else ""
                )
                out.append(
                    line(
                        M.EXPLAIN_CAUSE,
                        position=c.position if c.position is not None else "-",
                        when=when(c.recorded_at),
                        actor=c.actor,
                        command=c.command,
                        event_type=c.event_type,
                        change=change,
                        allowed_by=render_said(c.allowed_by, tr),
                    )
                )
        out += [
            line(
                M.EXPLAIN_FINDING,
                rule=v.rule,
                positions=", ".join(map(str, v.positions)),
                message=v.shown().message,
            )
            for v in result.findings
        ] or [tr(M.EXPLAIN_NO_FINDINGS)]
        if not result.agrees:
            out.append(tr(M.EXPLAIN_DISAGREES))
        return "\n".join(out)

    emit(session, result, text)


# -- the money loop (issue 12): accounts by two people, secondary aid approved by a second ----


@case_group.command("set-account")
@click.argument("case_ref", metavar="CASE")
@click.option("--account", required=True, help="The student's own account: 16 to 21 digits.")
@click.option("--bank", default="", help="The bank (and branch) holding the account.")
@click.option("--reason", required=True, help="Why: a new card, a closed account, a typo.")
@global_options
@pass_session
@writes
def case_set_account(session: Session, case_ref: str, account: str, bank: str, reason: str) -> None:
    """Record or correct the student's own bank account (masked everywhere).

    Before any payment it takes effect at once. After one, a different person must
    confirm it (`aidflow case confirm-account`) before money is paid to it.
    """
    from aidflow import commands as cmd

    result = session.office.handle(
        cmd.SetAccount(
            case_id=session.office.case_id(case_ref),
            account=account,
            bank=bank,
            reason=reason,
            actor=session.actor(),
        )
    )
    template = (
        M.ACCOUNT_UNCHANGED
        if not result.recorded
        else M.ACCOUNT_PROPOSED
        if result.pending
        else M.ACCOUNT_RECORDED
    )
    emit(
        session,
        result,
        line(template, account=result.account_masked, case_id=result.case_id),
    )


@case_group.command("confirm-account")
@click.argument("case_ref", metavar="CASE")
@click.option(
    "--account",
    default="",
    help="The account re-typed from the form: it must be the one proposed.",
)
@global_options
@pass_session
@writes
def case_confirm_account(session: Session, case_ref: str, account: str) -> None:
    """Confirm a proposed account change (an approver who did not propose it)."""
    from aidflow import commands as cmd

    result = session.office.handle(
        cmd.ConfirmAccount(
            case_id=session.office.case_id(case_ref), account=account, actor=session.actor()
        )
    )
    emit(
        session,
        result,
        line(M.ACCOUNT_CONFIRMED, account=result.account_masked, case_id=result.case_id),
    )


@case_group.command("appeal")
@click.argument("case_ref", metavar="CASE")
@click.option("--reason", required=True, help="The student's grounds (复核申请).")
@global_options
@pass_session
@writes
def case_appeal(session: Session, case_ref: str, reason: str) -> None:
    """Record the student's appeal of a rejection (复核), within the policy's appeal-days."""
    from aidflow import commands as cmd

    case_id = session.office.case_id(case_ref)
    session.office.handle(cmd.LodgeAppeal(case_id=case_id, reason=reason, actor=session.actor()))
    emit(session, {"case_id": case_id, "appealed": True}, line(M.APPEAL_LODGED, case_id=case_id))


@case_group.command("decide-appeal")
@click.argument("case_ref", metavar="CASE")
@click.option("--uphold", "outcome", flag_value="upheld", help="The rejection stands.")
@click.option(
    "--overturn", "outcome", flag_value="overturned", help="Back to household verification."
)
@click.option("--reason", required=True, help="Why.")
@global_options
@pass_session
@writes
def case_decide_appeal(session: Session, case_ref: str, outcome: str | None, reason: str) -> None:
    """Decide an appeal (someone other than the one who rejected): --uphold or --overturn."""
    from aidflow import commands as cmd

    if outcome is None:
        raise click.UsageError(line(M.APPEAL_NEEDS_OUTCOME))
    case_id = session.office.case_id(case_ref)
    session.office.handle(
        cmd.DecideAppeal(case_id=case_id, outcome=outcome, reason=reason, actor=session.actor())
    )
    emit(
        session,
        {"case_id": case_id, "outcome": outcome},
        line(M.APPEAL_DECIDED, case_id=case_id, outcome=value(outcome)),
    )


def _correction(session: Session, case_ref: str, ref: str, amount: int | None, reason: str) -> None:
    from aidflow import commands as cmd

    result = session.office.handle(
        cmd.CorrectApproval(
            case_id=session.office.case_id(case_ref),
            ref=ref,
            amount_fen=amount,
            reason=reason,
            actor=session.actor(),
        )
    )
    template = M.CORRECTION_PROPOSED if result.recorded else M.CORRECTION_PROPOSED_BEFORE
    emit(
        session,
        result,
        line(template, amount=yuan(result.amount_fen), ref=result.ref, case_id=result.case_id),
    )


@case_group.command("reduce-approval")
@click.argument("case_ref", metavar="CASE")
@click.option("--ref", required=True, help="The approval's reference (审批编号).")
@click.option(
    "--amount",
    type=params.YUAN,
    required=True,
    help="Yuan to take off the approval (at most its unpaid part).",
)
@click.option("--reason", required=True, help="Why the approval was wrong.")
@global_options
@pass_session
@writes
def case_reduce_approval(
    session: Session, case_ref: str, ref: str, amount: int, reason: str
) -> None:
    """Propose reducing a grant approval by AMOUNT of its unpaid part (an approval for the
    wrong amount). A different approver confirms it (`aidflow case confirm-correction`);
    the fund's reservation is then released. Nothing recorded is ever edited."""
    _correction(session, case_ref, ref, amount, reason)


@case_group.command("cancel-approval")
@click.argument("case_ref", metavar="CASE")
@click.option("--ref", required=True, help="The approval's reference (审批编号).")
@click.option("--reason", required=True, help="Why (a grant the student declined ...).")
@global_options
@pass_session
@writes
def case_cancel_approval(session: Session, case_ref: str, ref: str, reason: str) -> None:
    """Propose cancelling the unpaid part of a grant approval (a grant the student
    declined). A different approver confirms it (`aidflow case confirm-correction`)."""
    _correction(session, case_ref, ref, None, reason)


@case_group.command("confirm-correction")
@click.argument("case_ref", metavar="CASE")
@click.option("--ref", required=True, help="The approval whose correction is confirmed.")
@global_options
@pass_session
@writes
def case_confirm_correction(session: Session, case_ref: str, ref: str) -> None:
    """Confirm a proposed correction of an approval (an approver who did not propose it):
    the approval is reduced and the fund's reservation released, in one save."""
    from aidflow import commands as cmd

    result = session.office.handle(
        cmd.ConfirmCorrection(
            case_id=session.office.case_id(case_ref), ref=ref, actor=session.actor()
        )
    )
    emit(
        session,
        result,
        line(
            M.CORRECTION_CONFIRMED,
            amount=yuan(result.amount_fen),
            ref=result.ref,
            case_id=result.case_id,
        ),
    )


@case_group.command("approve-secondary-aid")
@click.argument("case_ref", metavar="CASE")
@click.option("--ref", required=True, help="The reference the secondary aid was proposed under.")
@global_options
@pass_session
@writes
def case_approve_secondary_aid(session: Session, case_ref: str, ref: str) -> None:
    """Approve proposed secondary aid (a different person from who proposed it); it is
    reserved in its donation fund and paid through the next payment list."""
    from aidflow import commands as cmd

    result = session.office.handle(
        cmd.ApproveSecondaryAid(
            case_id=session.office.case_id(case_ref), ref=ref, actor=session.actor()
        )
    )
    template = M.SECONDARY_APPROVED if result.recorded else M.DECIDED_BEFORE
    emit(
        session,
        result,
        line(template, amount=yuan(result.amount_fen), case_id=result.case_id, ref=result.ref),
    )
