"""The aidflow command line: a thin click layer over :class:`aidflow.AidFlow` and the read models.

Each command parses its options, builds a command model, calls the library and
renders the result as text or, with ``--json``, as JSON (money in fields ending
``_fen``). Exit status: 0 done; 1 refused by a rule, not found, or a failed
check; 2 bad usage or bad input. A refused command writes nothing.

Heavy imports happen inside the commands so that ``aidflow --help`` is quick.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

import click

from aidflow import __version__

if TYPE_CHECKING:
    from aidflow.application import AidFlow
    from aidflow.projections import ReadModels

F = TypeVar("F", bound=Callable[..., Any])

NEEDS = ["tuition", "travel", "living", "supplies"]
CATEGORIES = ["dibao", "tekun", "expenditure", "other"]
STATUSES = ["applied", "verified", "approved", "paid", "reopened", "rejected", "closed"]
HARDSHIPS = ["illness", "family-change", "accident", "other"]
SEVERITIES = ["minor", "serious", "critical"]
DEPARTMENTS = [
    "civil-affairs",
    "education",
    "health",
    "counselling",
    "human-resources",
    "federation",
]
VIEW_NAMES = ["dossier", "queue", "audit"]


# -- parameter types: bad values are usage errors (exit 2) with a clear message --------


class YuanType(click.ParamType[int]):
    name = "YUAN"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        from aidflow.domain.errors import InvalidAmount
        from aidflow.domain.money import parse_yuan

        if isinstance(value, int):
            return value
        try:
            return parse_yuan(str(value))
        except InvalidAmount as exc:
            self.fail(str(exc), param, ctx)


class DateType(click.ParamType[date]):
    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date like 2026-08-29", param, ctx)


class MomentType(click.ParamType[datetime]):
    """A moment in UTC: ``2026-08-29`` means the end of that day, ``2026-08-29T10:00`` that minute."""

    name = "TIME"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        try:
            if len(text) == 10:
                return datetime.combine(date.fromisoformat(text), time.max, tzinfo=UTC)
            moment = datetime.fromisoformat(text)
        except ValueError:
            self.fail(f"{value!r} is not a time like 2026-08-29 or 2026-08-29T17:00", param, ctx)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


YUAN = YuanType()
DATE = DateType()
MOMENT = MomentType()


# -- the session: one store, opened on demand --------------------------------------------


class Session:
    def __init__(self, db: str | None, actor: str | None) -> None:
        self.db = db
        self.actor_name = actor
        self.json = False
        self._flow: AidFlow | None = None
        self._views: ReadModels | None = None

    @property
    def url(self) -> str:
        from aidflow.config import resolve_url

        return resolve_url(self.db)

    @property
    def flow(self) -> AidFlow:
        if self._flow is None:
            from aidflow.application import AidFlow

            self._flow = AidFlow.open(self.url)
        return self._flow

    @property
    def views(self) -> ReadModels:
        """The read models, caught up now and after every command of this session."""
        if self._views is None:
            from aidflow.projections import ReadModels

            self._views = ReadModels.attach(self.flow, self.url)
        return self._views

    def actor(self) -> str:
        if not self.actor_name or not self.actor_name.strip():
            raise click.UsageError(
                "this command writes to the record, so it needs to know who is acting: "
                "give --actor NAME or set AIDFLOW_ACTOR"
            )
        return self.actor_name.strip()

    def close(self) -> None:
        if self._views is not None:
            self._views.close()
        if self._flow is not None:
            self._flow.close()

    def case_id(self, text: str) -> UUID:
        return self._resolve(text, "case")

    def fund_id(self, text: str) -> UUID:
        return self._resolve(text, "fund")

    def case_or_fund_id(self, text: str) -> UUID:
        """A case's id or prefix, else a fund's."""
        from aidflow.domain.errors import NotFound

        try:
            return self._resolve(text, "case")
        except NotFound:
            return self._resolve(text, "fund")

    def _resolve(self, text: str, kind: str) -> UUID:
        """A full id, or a unique prefix of at least 6 characters as printed by the list commands."""
        from aidflow.domain.errors import CaseNotFound, FundNotFound

        try:
            return UUID(text)
        except ValueError:
            pass
        missing = CaseNotFound if kind == "case" else FundNotFound
        if len(text) < 6 or not all(ch in "0123456789abcdef-" for ch in text.lower()):
            raise missing(
                f"{text!r} is not a {kind} id (give the id, or at least its first 6 characters)"
            )
        import sqlalchemy as sa

        from aidflow.projections.audit import audit_case_table, audit_fund_table

        table = audit_case_table if kind == "case" else audit_fund_table
        column = table.c.case_id if kind == "case" else table.c.fund_id
        with self.views.engine.connect() as conn:
            found = list(
                conn.execute(
                    sa.select(column).where(column.like(text.lower() + "%")).limit(2)
                ).scalars()
            )
        if not found:
            raise missing(f"no {kind} id starts with {text}")
        if len(found) > 1:
            raise missing(f"more than one {kind} id starts with {text}; give more characters")
        return UUID(found[0])


pass_session = click.make_pass_decorator(Session)


def writes(func: F) -> F:
    """A command that records events: refuse first when no actor is named; keep the views inline.

    Attaching the read models before the command means its events reach the views
    as soon as it succeeds (inline catch-up), whoever queries next.
    """

    @functools.wraps(func)
    def checked(session: Session, *args: Any, **kwargs: Any) -> Any:
        session.actor()
        session.views  # noqa: B018 - attach: catch up now and after the command
        return func(session, *args, **kwargs)

    return checked  # type: ignore[return-value]


def _jsonable(value: Any) -> Any:
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot render {type(value).__name__} as JSON")


def emit(session: Session, data: Any, text: str | Callable[[], str]) -> None:
    """Print ``data`` as JSON with ``--json``, else the human text."""
    if session.json:
        from pydantic import BaseModel

        if isinstance(data, BaseModel):
            data = data.model_dump(mode="json")
        elif isinstance(data, list):
            data = [d.model_dump(mode="json") if isinstance(d, BaseModel) else d for d in data]
        click.echo(json.dumps(data, default=_jsonable, ensure_ascii=False, indent=2))
    else:
        click.echo(text() if callable(text) else text)


def json_option(func: F) -> F:
    """Every command takes ``--json``; it may also be given before the command."""

    def remember(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        if value:
            ctx.find_object(Session).json = True  # type: ignore[union-attr]
        return value

    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        expose_value=False,
        callback=remember,
        help="Machine-readable output; money in integer fen (fields ending _fen).",
    )(func)


def yuan(fen: int) -> str:
    from aidflow.domain.money import format_yuan

    return format_yuan(fen)


def table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    """A plain text table that lines up in a terminal."""
    cells = [[str(h) for h in header]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


@contextmanager
def progress_bar(length: int, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal; silent when output is piped."""
    if not sys.stderr.isatty():
        yield lambda _n: None
        return
    with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
        yield bar.update


class AidflowGroup(click.Group):
    """Turns the library's named errors into one ``error:`` line and an exit status."""

    def invoke(self, ctx: click.Context) -> Any:
        from pydantic import ValidationError

        from aidflow.domain.errors import AidflowError, InvalidInput

        try:
            return super().invoke(ctx)
        except InvalidInput as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)
        except AidflowError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors()
            )
            click.echo(f"error: {problems}", err=True)
            ctx.exit(2)
        finally:
            session = ctx.find_object(Session)
            if session is not None and ctx.parent is None:
                session.close()


@click.group(cls=AidflowGroup)
@click.option(
    "--db",
    envvar="AIDFLOW_DB",
    metavar="URL",
    help="sqlite:///path.db (default ./aidflow.db) or postgresql://user@host:port/db  [env AIDFLOW_DB]",
)
@click.option(
    "--actor",
    envvar="AIDFLOW_ACTOR",
    metavar="NAME",
    help="Who is acting; recorded on every event. Required by commands that write.  [env AIDFLOW_ACTOR]",
)
@json_option
@click.version_option(__version__, prog_name="aidflow")
@click.pass_context
def main(ctx: click.Context, db: str | None, actor: str | None) -> None:
    """aidflow: closed-loop aid for new university students (申请-救助-帮扶-反馈).

    Every change is an event; every view can be rebuilt and asked about any past moment.
    """
    ctx.obj = ctx.obj if isinstance(ctx.obj, Session) else Session(db, actor)


# -- funds -------------------------------------------------------------------------------


@main.group()
def fund() -> None:
    """Funds: the government budget line and the donation pool."""


@fund.command("open")
@click.option("--name", required=True)
@click.option("--kind", type=click.Choice(["government", "donation"]), required=True)
@click.option("--purpose", default="", help="What the money may be used for.")
@json_option
@pass_session
@writes
def fund_open(session: Session, name: str, kind: str, purpose: str) -> None:
    """Open a fund; prints its id."""
    from aidflow import commands as cmd

    fund_id = session.flow.open_fund(
        cmd.OpenFund(name=name, kind=kind, purpose=purpose, actor=session.actor())
    )
    emit(session, {"fund_id": fund_id}, str(fund_id))


@fund.command("deposit")
@click.argument("fund_ref", metavar="FUND")
@click.option("--amount", type=YUAN, required=True, help="Yuan, e.g. 3000 or 3000.50.")
@click.option("--source", required=True, help="Budget line or donor.")
@click.option("--receipt", required=True, help="Receipt number; the same receipt again is a retry.")
@click.option("--date", "value_date", type=DATE, help="Date on the receipt.")
@json_option
@pass_session
@writes
def fund_deposit(
    session: Session, fund_ref: str, amount: int, source: str, receipt: str, value_date: date | None
) -> None:
    """Record a budget appropriation or a donation, with its receipt."""
    from aidflow import commands as cmd

    result = session.flow.deposit(
        cmd.Deposit(
            fund_id=session.fund_id(fund_ref),
            amount_fen=amount,
            source=source,
            receipt=receipt,
            value_date=value_date,
            actor=session.actor(),
        )
    )
    emit(
        session,
        result,
        f"{'recorded' if result.recorded else 'already recorded (same receipt): nothing new written'}: {yuan(amount)} yuan, receipt {receipt}",
    )


@fund.command("show")
@click.argument("fund_ref", metavar="FUND")
@json_option
@pass_session
def fund_show(session: Session, fund_ref: str) -> None:
    """A fund's balance and movements."""
    snap = session.flow.fund(session.fund_id(fund_ref))
    emit(
        session,
        snap,
        lambda: "\n".join(
            [
                f"{snap.name} ({snap.kind})  {snap.fund_id}",
                f"purpose:    {snap.purpose or '-'}",
                f"deposited:  {yuan(snap.deposited_fen)} yuan",
                f"allocated:  {yuan(snap.allocated_fen)} yuan",
                f"released:   {yuan(snap.released_fen)} yuan",
                f"balance:    {yuan(snap.balance_fen)} yuan",
            ]
        ),
    )


@fund.command("list")
@json_option
@pass_session
def fund_list(session: Session) -> None:
    """Every fund with its totals."""
    funds = session.views.ledger().funds
    emit(
        session,
        funds,
        lambda: table(
            [
                (
                    f.fund_id,
                    f.name,
                    f.kind,
                    yuan(f.deposited_fen),
                    yuan(f.allocated_fen - f.released_fen),
                    yuan(f.balance_fen),
                )
                for f in funds
            ],
            ["fund", "name", "kind", "deposited", "allocated", "balance"],
        ),
    )


# -- cases -------------------------------------------------------------------------------


@main.group("case")
def case_group() -> None:
    """Student cases: every step of the closed loop."""


@case_group.command("apply")
@click.option("--student-id", required=True, help="18-character national ID (checked).")
@click.option("--name", required=True)
@click.option("--university", required=True)
@click.option(
    "--category",
    type=click.Choice(CATEGORIES),
    required=True,
    help="Family category on the registry.",
)
@click.option("--town", required=True)
@click.option(
    "--year",
    type=int,
    default=lambda: date.today().year,
    show_default="this year",
    help="Programme year.",
)
@click.option("--account", default="", help="The student's own bank account.")
@json_option
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

    case_id = session.flow.apply(
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
    emit(session, {"case_id": case_id}, str(case_id))


@case_group.command("verify")
@click.argument("case_ref", metavar="CASE")
@click.option("--income", type=YUAN, required=True, help="Household income, yuan per year.")
@click.option("--tuition", type=YUAN, required=True, help="Tuition standard, yuan per year.")
@click.option("--gap", type=YUAN, required=True, help="Living-cost gap, yuan.")
@click.option(
    "--need",
    "needs",
    type=click.Choice(NEEDS),
    multiple=True,
    required=True,
    help="Repeat for each need found.",
)
@click.option("--visited-on", type=DATE, help="Date of the household visit.")
@click.option("--note", default="")
@json_option
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

    case_id = session.case_id(case_ref)
    session.flow.verify(
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
    emit(session, {"case_id": case_id, "status": "verified"}, f"verified {case_id}")


@case_group.command("reject")
@click.argument("case_ref", metavar="CASE")
@click.option("--reason", required=True)
@json_option
@pass_session
@writes
def case_reject(session: Session, case_ref: str, reason: str) -> None:
    """Reject an application with a written reason."""
    from aidflow import commands as cmd

    case_id = session.case_id(case_ref)
    session.flow.reject(cmd.Reject(case_id=case_id, reason=reason, actor=session.actor()))
    emit(session, {"case_id": case_id, "status": "rejected"}, f"rejected {case_id}: {reason}")


@case_group.command("approve")
@click.argument("case_ref", metavar="CASE")
@click.option("--amount", type=YUAN, required=True)
@click.option("--need", type=click.Choice(NEEDS), required=True)
@click.option("--fund", "fund_ref", required=True, help="The government fund that pays it.")
@json_option
@pass_session
@writes
def case_approve(session: Session, case_ref: str, amount: int, need: str, fund_ref: str) -> None:
    """Approve temporary assistance (临时救助) and reserve it in the fund."""
    from aidflow import commands as cmd

    case_id = session.case_id(case_ref)
    session.flow.approve(
        cmd.Approve(
            case_id=case_id,
            amount_fen=amount,
            need=need,
            fund_id=session.fund_id(fund_ref),
            actor=session.actor(),
        )
    )
    emit(
        session,
        {"case_id": case_id, "approved_fen": amount},
        f"approved {yuan(amount)} yuan for {case_id}",
    )


@case_group.command("disburse")
@click.argument("case_ref", metavar="CASE")
@click.option("--amount", type=YUAN, required=True)
@click.option(
    "--voucher",
    required=True,
    help="Voucher number, unique across the store. The same payment again is a retry.",
)
@click.option("--value-date", type=DATE, help="The bank's value date.")
@json_option
@pass_session
@writes
def case_disburse(
    session: Session, case_ref: str, amount: int, voucher: str, value_date: date | None
) -> None:
    """Pay approved money into the student's own account."""
    from aidflow import commands as cmd

    result = session.flow.disburse(
        cmd.Disburse(
            case_id=session.case_id(case_ref),
            amount_fen=amount,
            voucher=voucher,
            value_date=value_date,
            actor=session.actor(),
        )
    )
    emit(
        session,
        result,
        f"paid {yuan(amount)} yuan, voucher {voucher}"
        if result.recorded
        else f"voucher {voucher} was already paid for this case: nothing new written",
    )


@case_group.command("return")
@click.argument("case_ref", metavar="CASE")
@click.option("--voucher", required=True)
@click.option("--reason", required=True)
@click.option("--value-date", type=DATE)
@json_option
@pass_session
@writes
def case_return(
    session: Session, case_ref: str, voucher: str, reason: str, value_date: date | None
) -> None:
    """The bank returned a payment; the approval stays reserved for a new voucher."""
    from aidflow import commands as cmd

    case_id = session.case_id(case_ref)
    session.flow.return_disbursement(
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
        f"voucher {voucher} returned: {reason}",
    )


@case_group.command("secondary-aid")
@click.argument("case_ref", metavar="CASE")
@click.option("--fund", "fund_ref", required=True, help="The donation fund.")
@click.option("--amount", type=YUAN, required=True)
@click.option("--reason", default="")
@json_option
@pass_session
@writes
def case_secondary_aid(
    session: Session, case_ref: str, fund_ref: str, amount: int, reason: str
) -> None:
    """Allocate social-fund money (二次帮扶) to a student already paid a grant."""
    from aidflow import commands as cmd

    case_id = session.case_id(case_ref)
    session.flow.allocate_secondary_aid(
        cmd.AllocateSecondaryAid(
            case_id=case_id,
            fund_id=session.fund_id(fund_ref),
            amount_fen=amount,
            reason=reason,
            actor=session.actor(),
        )
    )
    emit(
        session,
        {"case_id": case_id, "secondary_aid_fen": amount},
        f"secondary aid of {yuan(amount)} yuan for {case_id}",
    )


@case_group.command("report-hardship")
@click.argument("case_ref", metavar="CASE")
@click.option("--kind", type=click.Choice(HARDSHIPS), required=True)
@click.option("--detail", required=True)
@click.option(
    "--severity",
    type=click.Choice(SEVERITIES),
    default="serious",
    show_default=True,
    help="Serious and critical hardship calls for a consultation.",
)
@json_option
@pass_session
@writes
def case_report_hardship(
    session: Session, case_ref: str, kind: str, detail: str, severity: str
) -> None:
    """New hardship after enrolment: reopens the case for re-verification."""
    from aidflow import commands as cmd

    case_id = session.case_id(case_ref)
    session.flow.report_hardship(
        cmd.ReportHardship(
            case_id=case_id, kind=kind, detail=detail, severity=severity, actor=session.actor()
        )
    )
    emit(
        session,
        {"case_id": case_id, "status": "reopened"},
        f"hardship recorded; {case_id} awaits re-verification",
    )


@case_group.command("convene-review")
@click.argument("case_ref", metavar="CASE")
@click.option(
    "--department",
    "departments",
    type=click.Choice(DEPARTMENTS),
    multiple=True,
    required=True,
    help="Repeat for each department present.",
)
@click.option(
    "--action",
    "actions",
    multiple=True,
    metavar="DEPARTMENT=TEXT",
    help="A decision owed by a department; repeat.",
)
@click.option("--note", default="")
@json_option
@pass_session
@writes
def case_convene_review(
    session: Session,
    case_ref: str,
    departments: tuple[str, ...],
    actions: tuple[str, ...],
    note: str,
) -> None:
    """Record a multi-department consultation (多部门会商); prints the action ids."""
    from aidflow import commands as cmd

    items = []
    for action in actions:
        department, sep, text = action.partition("=")
        if not sep or department.strip() not in DEPARTMENTS or not text.strip():
            raise click.BadParameter(
                f"{action!r} must be DEPARTMENT=TEXT with DEPARTMENT one of {', '.join(DEPARTMENTS)}",
                param_hint="--action",
            )
        items.append(cmd.ActionItem(department=department.strip(), text=text.strip()))
    result = session.flow.convene_review(
        cmd.ConveneReview(
            case_id=session.case_id(case_ref),
            departments=list(departments),
            actions=items,
            note=note,
            actor=session.actor(),
        )
    )
    emit(session, result, "\n".join(result.action_ids) or "consultation recorded (no actions)")


@case_group.command("complete-action")
@click.argument("case_ref", metavar="CASE")
@click.argument("action_id", metavar="ACTION")
@click.option("--note", required=True)
@json_option
@pass_session
@writes
def case_complete_action(session: Session, case_ref: str, action_id: str, note: str) -> None:
    """A department reports a consultation decision carried out."""
    from aidflow import commands as cmd

    case_id = session.case_id(case_ref)
    session.flow.complete_action(
        cmd.CompleteAction(case_id=case_id, action_id=action_id, note=note, actor=session.actor())
    )
    emit(session, {"case_id": case_id, "action_id": action_id, "done": True}, f"{action_id} done")


@case_group.command("follow-up")
@click.argument("case_ref", metavar="CASE")
@click.option("--study", required=True, help="Study progress.")
@click.option("--living", required=True, help="Living conditions.")
@click.option(
    "--hardship",
    type=click.Choice(["improved", "unchanged", "worse"]),
    required=True,
    help="How the family's hardship develops.",
)
@json_option
@pass_session
@writes
def case_follow_up(session: Session, case_ref: str, study: str, living: str, hardship: str) -> None:
    """Record a follow-up visit."""
    from aidflow import commands as cmd

    case_id = session.case_id(case_ref)
    session.flow.follow_up(
        cmd.FollowUp(
            case_id=case_id,
            study=study,
            living=living,
            hardship_trend=hardship,
            actor=session.actor(),
        )
    )
    emit(session, {"case_id": case_id, "followed_up": True}, f"follow-up recorded for {case_id}")


@case_group.command("close")
@click.argument("case_ref", metavar="CASE")
@click.option("--reason", required=True)
@json_option
@pass_session
@writes
def case_close(session: Session, case_ref: str, reason: str) -> None:
    """Close a case; approved money not yet paid goes back to its fund."""
    from aidflow import commands as cmd

    case_id = session.case_id(case_ref)
    session.flow.close_case(cmd.CloseCase(case_id=case_id, reason=reason, actor=session.actor()))
    emit(session, {"case_id": case_id, "status": "closed"}, f"closed {case_id}")


def _render_dossier(d: Any) -> str:
    lines = [
        f"{d.name}  {d.student_id_masked}  case {d.case_id}",
        f"status {d.status} · {d.family_category} · {d.town} · {d.university} · year {d.year} · account {d.account_masked or '-'}",
        f"approved {yuan(d.approved_fen)} · paid {yuan(d.disbursed_fen)} · secondary aid {yuan(d.secondary_aid_fen)} yuan",
    ]
    if d.reason:
        lines.append(f"reason: {d.reason}")
    if d.verification:
        v = d.verification
        lines.append(
            f"verified by {v['by']}: income {yuan(v['income_fen'])}, tuition {yuan(v['tuition_fen'])}, gap {yuan(v['gap_fen'])}; needs {', '.join(v['needs'])}"
        )
    for a in d.actions:
        lines.append(
            f"action {a.action_id} [{a.department}] {a.text}: {'done ' + a.done_at.date().isoformat() if a.done_at else 'OPEN'}"
        )
    lines.append("")
    lines.append(
        table(
            [
                (e.position, e.recorded_at.strftime("%Y-%m-%d %H:%M"), e.event_type, e.actor)
                for e in d.timeline
            ],
            ["pos", "recorded (UTC)", "event", "actor"],
        )
    )
    return "\n".join(lines)


def _position_of_version(session: Session, case_id: UUID, version: int) -> int:
    import sqlalchemy as sa

    from aidflow.domain.errors import CaseNotFound
    from aidflow.projections.audit import journal_table as j

    with session.views.engine.connect() as conn:
        position = conn.execute(
            sa.select(j.c.position).where(j.c.aggregate_id == str(case_id), j.c.version == version)
        ).scalar_one_or_none()
    if position is None:
        raise CaseNotFound(f"case {case_id} has no version {version}")
    return int(position)


@case_group.command("show")
@click.argument("case_ref", metavar="CASE")
@click.option(
    "--as-of",
    "as_of",
    type=MOMENT,
    help="The dossier as it stood then (UTC; a date means the end of that day).",
)
@click.option(
    "--version", type=click.IntRange(min=1), help="The dossier as of the case's Nth event."
)
@json_option
@pass_session
def case_show(session: Session, case_ref: str, as_of: datetime | None, version: int | None) -> None:
    """The dossier (一人一档): everything about one case, personal data masked."""
    from aidflow.projections import ReadModels

    if as_of and version:
        raise click.UsageError("give --as-of or --version, not both")
    case_id = session.case_id(case_ref)
    views = session.views
    if version is not None:
        views = ReadModels.as_of(
            session.flow,
            position=_position_of_version(session, case_id, version),
            names=["dossier"],
        )
    elif as_of is not None:
        views = ReadModels.as_of(session.flow, at=as_of, names=["dossier"])
    d = views.dossier(str(case_id))
    emit(session, d, lambda: _render_dossier(d))


@case_group.command("history")
@click.argument("case_ref", metavar="CASE")
@json_option
@pass_session
def case_history(session: Session, case_ref: str) -> None:
    """Every event of a case, as stored (personal data masked)."""
    records = session.flow.history(session.case_id(case_ref))
    from aidflow.projections.base import public_data

    rows = [
        {**r.model_dump(mode="json", exclude={"data"}), "data": public_data(r.data)}
        for r in records
    ]
    emit(
        session,
        rows,
        lambda: "\n".join(
            f"v{r['version']}  {r['timestamp'][:16]}  {r['type']:<22} {r['actor']:<20} {_brief(r['data'])}"
            for r in rows
        ),
    )


def _brief(data: dict[str, Any]) -> str:
    return ", ".join(
        f"{k}={v}" for k, v in data.items() if k != "actor" and v not in ("", None, [], {})
    )


@case_group.command("list")
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--town")
@click.option("--category", type=click.Choice(CATEGORIES))
@click.option("--year", type=int)
@json_option
@pass_session
def case_list(
    session: Session, status: str | None, town: str | None, category: str | None, year: int | None
) -> None:
    """Cases, filtered by status, town, family category or programme year."""
    cases = session.views.cases(status=status, town=town, family_category=category, year=year)
    emit(
        session,
        cases,
        lambda: (
            table(
                [
                    (
                        c.case_id[:8],
                        c.name,
                        c.student_id_masked,
                        c.town,
                        c.family_category,
                        c.status,
                        yuan(c.approved_fen),
                        yuan(c.disbursed_fen),
                        yuan(c.secondary_aid_fen),
                    )
                    for c in cases
                ],
                [
                    "case",
                    "name",
                    "national id",
                    "town",
                    "category",
                    "status",
                    "approved",
                    "paid",
                    "secondary",
                ],
            )
            + f"\n{len(cases)} case(s)"
        ),
    )


# -- consultation queue ----------------------------------------------------------------


@main.command("queue")
@click.option(
    "--department", type=click.Choice(DEPARTMENTS), help="Only the actions this department owes."
)
@json_option
@pass_session
def queue_command(session: Session, department: str | None) -> None:
    """Hardship awaiting consultation, and consultation actions still owed (most serious, oldest first)."""
    q = session.views.queue(department)

    def render() -> str:
        parts = ["Awaiting consultation:"]
        parts.append(
            table(
                [
                    (
                        h.case_id[:8],
                        h.name,
                        h.town,
                        h.severity,
                        h.kind,
                        f"{h.waiting_days:.1f}",
                        h.detail,
                    )
                    for h in q.awaiting_consultation
                ],
                ["case", "name", "town", "severity", "kind", "days", "detail"],
            )
            if q.awaiting_consultation
            else "  none"
        )
        parts.append("\nActions owed:")
        parts.append(
            table(
                [
                    (
                        a.case_id[:8],
                        a.name,
                        a.action_id,
                        a.department,
                        f"{a.waiting_days:.1f}",
                        a.text,
                    )
                    for a in q.open_actions
                ],
                ["case", "name", "action", "department", "days", "decision"],
            )
            if q.open_actions
            else "  none"
        )
        return "\n".join(parts)

    emit(session, q, render)


# -- audit -------------------------------------------------------------------------------


@main.group()
def audit() -> None:
    """The auditor's views: journal, money ledger, rule checks, tamper-evident digest."""


def _views_at(
    session: Session, as_of: datetime | None, names: Sequence[str] | None = None
) -> ReadModels:
    if as_of is None:
        return session.views
    from aidflow.projections import ReadModels

    return ReadModels.as_of(session.flow, at=as_of, names=names)


@audit.command("journal")
@click.option("--case", "case_ref", metavar="CASE", help="Only this case's (or fund's) events.")
@click.option("--since", type=MOMENT)
@click.option("--limit", type=click.IntRange(min=1))
@json_option
@pass_session
def audit_journal(
    session: Session, case_ref: str | None, since: datetime | None, limit: int | None
) -> None:
    """Every event: position, time, actor, case or fund, type and a one-line summary."""
    aggregate = str(session.case_or_fund_id(case_ref)) if case_ref else None
    lines = session.views.journal(aggregate_id=aggregate, since=since, limit=limit)
    emit(
        session,
        lines,
        lambda: "\n".join(
            f"{x.position:>7}  {x.recorded_at:%Y-%m-%d %H:%M}  {x.actor:<22} {x.aggregate_id[:8]}  {x.summary}"
            for x in lines
        ),
    )


def _render_ledger(ledger: Any) -> str:
    lines = [
        f"Ledger at position {ledger.position}",
        f"  budget received          {yuan(ledger.budget_received_fen):>16} yuan",
        f"  donations received       {yuan(ledger.donations_received_fen):>16} yuan",
        f"  government approved      {yuan(ledger.government_approved_fen):>16} yuan",
        f"  government paid (net)    {yuan(ledger.government_disbursed_fen):>16} yuan",
        f"  secondary aid            {yuan(ledger.secondary_aid_fen):>16} yuan",
        f"  programme total          {yuan(ledger.total_disbursed_fen):>16} yuan",
        f"  students assisted        {ledger.students_assisted:>16}",
        f"  with secondary aid       {ledger.students_with_secondary_aid:>16}",
        "",
        table(
            [
                (
                    f.name,
                    f.kind,
                    yuan(f.deposited_fen),
                    yuan(f.disbursed_fen + f.secondary_aid_fen),
                    yuan(f.balance_fen),
                )
                for f in ledger.funds
            ],
            ["fund", "kind", "received", "paid out", "balance"],
        ),
        "",
        "Approved by need:  " + ", ".join(f"{k} {yuan(v)}" for k, v in ledger.by_need_fen.items()),
        "Paid by category:  "
        + ", ".join(f"{k} {yuan(v)}" for k, v in ledger.by_family_category_fen.items()),
        "Paid by town:      " + ", ".join(f"{k} {yuan(v)}" for k, v in ledger.by_town_fen.items()),
    ]
    return "\n".join(lines)


@audit.command("ledger")
@click.option(
    "--as-of",
    "as_of",
    type=MOMENT,
    help="What the ledger said then (UTC; a date means the end of that day).",
)
@click.option("--entries", is_flag=True, help="Include every money movement, not only the totals.")
@json_option
@pass_session
def audit_ledger(session: Session, as_of: datetime | None, entries: bool) -> None:
    """The money ledger: totals by fund, fund kind, need, family category and town."""
    ledger = _views_at(session, as_of, ["audit"]).ledger(entries=entries)

    def render() -> str:
        text = _render_ledger(ledger)
        if entries:
            text += "\n\n" + table(
                [
                    (
                        e.position,
                        e.recorded_at.strftime("%Y-%m-%d"),
                        e.entry,
                        yuan(e.amount_fen),
                        (e.case_id or "")[:8],
                        (e.fund_id or "")[:8],
                        e.voucher or e.receipt or "",
                    )
                    for e in ledger.entries
                ],
                ["pos", "date", "entry", "yuan", "case", "fund", "voucher/receipt"],
            )
        return text

    emit(session, ledger, render)


@audit.command("check")
@click.option(
    "--as-of",
    "as_of",
    type=MOMENT,
    help="Check history as it stood then, with timeliness judged at that moment.",
)
@json_option
@pass_session
def audit_check(session: Session, as_of: datetime | None) -> None:
    """Check every rule from history alone; exit status 1 when any is violated."""
    views = _views_at(session, as_of, ["audit"])
    violations = views.check(session.flow.policy, now=as_of)
    emit(
        session,
        {"ok": not violations, "violations": [v.model_dump() for v in violations]},
        lambda: (
            "all rules hold"
            if not violations
            else "\n".join(
                f"{v.rule}: {v.message} (case {v.case_id or '-'}, positions {', '.join(map(str, v.positions)) or '-'})"
                for v in violations
            )
        ),
    )
    if violations:
        click.echo(f"error: {len(violations)} rule violation(s) found", err=True)
        sys.exit(1)


@audit.command("report")
@click.option("--as-of", "as_of", type=MOMENT)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "html"]),
    default="text",
    show_default=True,
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to a file instead of standard output.",
)
@json_option
@pass_session
def audit_report(session: Session, as_of: datetime | None, fmt: str, output: Path | None) -> None:
    """A report for the file: ledger, rule checks and the chain digest, as of a moment."""
    from aidflow.report import render_report

    if session.json:
        fmt = "json"
    views = _views_at(session, as_of, ["audit"])
    text = render_report(views, session.flow.policy, as_of=as_of, fmt=fmt)
    if output is None:
        click.echo(text)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


@audit.command("digest")
@json_option
@pass_session
def audit_digest(session: Session) -> None:
    """The hash chain's head, POSITION:HASH. Keep it outside the system; verify against it later."""
    digest = session.views.digest()
    emit(session, digest, str(digest))


@audit.command("verify")
@click.argument("digest_text", metavar="DIGEST")
@json_option
@pass_session
def audit_verify(session: Session, digest_text: str) -> None:
    """Recompute the chain from the store; exit status 1 when it no longer matches DIGEST."""
    from aidflow.projections.models import Digest

    try:
        digest = Digest.parse(digest_text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="DIGEST") from None
    result = session.views.verify(session.flow, digest)
    emit(session, result, result.message)
    if not result.ok:
        click.echo(f"error: {result.message}", err=True)
        sys.exit(1)


# -- projections -----------------------------------------------------------------------


@main.group()
def projections() -> None:
    """The read models: how current they are, rebuilding them, following the store."""


@projections.command("status")
@json_option
@pass_session
def projections_status(session: Session) -> None:
    """Each view's tracked position against the store's head."""
    from aidflow.projections import ReadModels

    views = ReadModels.open(session.url)
    rows = views.status(session.flow)
    views.close()
    emit(
        session,
        rows,
        lambda: table(
            [(r.name, r.position or 0, r.head or 0, r.behind) for r in rows],
            ["view", "position", "head", "behind"],
        ),
    )


@projections.command("rebuild")
@click.argument("names", nargs=-1, type=click.Choice(VIEW_NAMES))
@json_option
@pass_session
def projections_rebuild(session: Session, names: tuple[str, ...]) -> None:
    """Drop views (all when none named) and rebuild them from the events."""
    from aidflow.projections import ReadModels

    views = ReadModels.open(session.url)
    head = session.flow.recorder.max_notification_id() or 0
    with progress_bar(head, "rebuilding") as tick:
        read = views.rebuild(session.flow, names, progress=tick)
    views.close()
    emit(
        session,
        {"rebuilt": list(names) or VIEW_NAMES, "events": read},
        f"rebuilt {', '.join(names) or 'all views'} from {read} events",
    )


@projections.command("follow")
@click.option(
    "--poll",
    type=float,
    default=0.5,
    show_default=True,
    help="Seconds between polls (SQLite) or wake-ups.",
)
@pass_session
def projections_follow(session: Session, poll: float) -> None:
    """Keep the views current until interrupted (a long-running follower process)."""
    from aidflow.projections import ReadModels

    views = ReadModels.open(session.url)
    click.echo(f"following {session.url}; Ctrl-C to stop", err=True)
    try:
        views.follow(
            session.flow,
            poll_seconds=poll,
            on_batch=lambda n: click.echo(f"applied {n} event(s)", err=True),
        )
    except KeyboardInterrupt:
        pass
    finally:
        views.close()


# -- screening and the demo ------------------------------------------------------------


@main.command("screen")
@click.option(
    "--admissions",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="Admission list CSV (national_id,name,university[,account]).",
)
@click.option(
    "--registry",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="Assistance registry CSV (national_id,category,town).",
)
@click.option("--year", type=int, default=lambda: date.today().year, show_default="this year")
@click.option("--dry-run", is_flag=True, help="Report what would be opened; write nothing.")
@json_option
@pass_session
def screen_command(
    session: Session, admissions: Path, registry: Path, year: int, dry_run: bool
) -> None:
    """Screening (信息筛查): open a case for each admitted student from an eligible household."""
    from aidflow.screening import screen

    actor = session.actor() if not dry_run else (session.actor_name or "dry-run")
    with admissions.open("rb") as counting:
        rows = max(0, sum(1 for _ in counting) - 1)
    with progress_bar(rows, "screening") as tick:
        report = screen(
            session.flow,
            admissions,
            registry,
            year=year,
            actor=actor,
            dry_run=dry_run,
            progress=tick,
        )
    if not dry_run:
        session.views.catch_up(session.flow)

    def render() -> str:
        lines = [
            f"admission rows read: {report.admissions_read}; registry rows read: {report.registry_read}",
            f"matched: {report.matched}; {'would open' if dry_run else 'opened'}: {len(report.opened)}; already open: {len(report.already_open)}; not in registry: {report.not_in_registry}; rejected rows: {len(report.rejected)}",
        ]
        lines += [
            f"  already open (line {r.line}): case {r.case_id}" for r in report.already_open[:50]
        ]
        lines += [f"  rejected {p.file} line {p.line}: {p.reason}" for p in report.rejected[:200]]
        return "\n".join(lines)

    emit(session, report, render)


@main.command("demo")
@click.option("--seed", type=int, default=2026, show_default=True)
@json_option
@pass_session
def demo_command(session: Session, seed: int) -> None:
    """Build the article's programme year into a fresh database, then show the ledger."""
    from aidflow.demo import run_demo
    from aidflow.domain.errors import RuleViolation

    head = session.flow.recorder.max_notification_id()
    if head:
        raise RuleViolation(
            f"{session.url} already holds {head} events; the demo needs a fresh database (give --db sqlite:///demo.db)"
        )
    with progress_bar(231 + 25 + 206 * 2 + 28, "building the programme year") as tick:
        result = run_demo(session.flow, seed=seed, progress=tick)
    from aidflow.projections import ReadModels

    views = ReadModels.open(session.url)
    with progress_bar(
        session.flow.recorder.max_notification_id() or 0, "building the views"
    ) as tick:
        views.catch_up(session.flow, progress=tick)
    ledger = views.ledger()
    views.close()
    db = f" --db {session.db}" if session.db else ""
    emit(
        session,
        {
            "year": result.year,
            "ledger": ledger.model_dump(mode="json"),
            "consulted_case_id": result.consulted,
            "government_fund_id": result.government_fund,
            "donation_fund_id": result.donation_fund,
        },
        lambda: "\n".join(
            [
                f"Programme year {result.year}: {result.screened} screening matches, {len(result.rejected)} rejected, {len(result.paid)} paid, {len(result.secondary)} with secondary aid.",
                "",
                _render_ledger(ledger),
                "",
                "Next, try:",
                f"  aidflow{db} case show {str(result.consulted)[:8]}      # a dossier with a consultation",
                f"  aidflow{db} case list --status rejected",
                f"  aidflow{db} queue",
                f"  aidflow{db} audit check",
                f"  aidflow{db} audit ledger --as-of {result.year}-08-31",
                f"  aidflow{db} audit digest",
            ]
        ),
    )
