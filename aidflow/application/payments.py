"""The money loop through the bank: accounts changed by two people, the payment list out
(代发清单), the bank's statement back.

A payment list gives each approved, unpaid amount a voucher (its ``Disbursed`` event: paid,
unconfirmed); the statement confirms or returns each voucher; everything it cannot apply
is a finding recorded with the statement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from aidflow import commands as cmd
from aidflow.application.context import Context
from aidflow.application.pipeline import Decision
from aidflow.domain import canonical
from aidflow.domain.base import AidAggregate
from aidflow.domain.case import StudentCase
from aidflow.domain.clock import office_day
from aidflow.domain.errors import (
    AidflowError,
    CaseNotOpen,
    InvalidInput,
    UnknownVoucher,
    message_of,
    said,
)
from aidflow.domain.keys import Voucher, fingerprint
from aidflow.domain.masking import mask_identifier, mask_name
from aidflow.domain.money import format_yuan
from aidflow.domain.payments import BOOK_ID, PaymentBook, voucher_number
from aidflow.domain.values import Disagreement
from aidflow.models import (
    AccountResult,
    HeldLine,
    PaymentLine,
    PaymentList,
    PaymentSettlement,
    Reconciliation,
    StatementFinding,
)

# -- accounts, by two people --------------------------------------------------------------


def set_account(ctx: Context, c: cmd.SetAccount) -> Decision[AccountResult]:
    """Record or correct the student's own account. After any payment the change waits
    for a different person's confirmation (:func:`confirm_account`)."""
    case = ctx.case(c.case_id)
    pending = case.set_account(account=c.account, bank=c.bank, reason=c.reason, actor=c.actor)
    recorded = bool(case.pending_events)
    result = AccountResult(
        case_id=case.id,
        account_masked=mask_identifier(c.account),
        pending=pending,
        recorded=recorded,
    )
    return result, [case] if recorded else []


def confirm_account(ctx: Context, c: cmd.ConfirmAccount) -> Decision[AccountResult]:
    """A different person (an approver) confirms the proposed account change."""
    case = ctx.case(c.case_id)
    case.confirm_account(actor=c.actor, account=c.account)
    result = AccountResult(
        case_id=case.id,
        account_masked=mask_identifier(case.account),
        pending=False,
        recorded=True,
    )
    return result, [case]


# -- the payment list ---------------------------------------------------------------------


def _line(case: StudentCase, payment: dict[str, Any], *, new: bool) -> PaymentLine:
    return PaymentLine(
        voucher=str(payment["voucher"]),
        case_id=case.id,
        name=case.name,
        student_id=str(case.student_id),
        account=str(payment.get("account") or case.account),
        bank=case.bank,
        amount_fen=int(payment["amount_fen"]),
        use=str(payment.get("use", "grant")),
        reference=str(payment["voucher"]),
        new=new,
    )


def held_reason(case: StudentCase) -> str:
    """Why approved money of ``case`` cannot go on a payment list now ("" when it can)."""
    try:
        case.check_payable()
    except AidflowError as exc:
        return message_of(exc)
    if case.account_suspect:
        return said(
            "the bank returned a payment of case {id}; correct its account with `aidflow case set-account` (and `case confirm-account`) before it is paid again, or, when the account was right, have a second person run `aidflow pay reissue`",
            id=case.id,
        )
    return ""


def _free_voucher(ctx: Context, day: date, number: int) -> tuple[str, int]:
    """The next voucher number of the day no key holds yet, and the counter after it."""
    while True:
        voucher = voucher_number(day, number)
        number += 1
        if ctx.find(Voucher, Voucher.create_id(voucher)) is None:
            return voucher, number


@dataclass
class _Listing:
    """One payment list being drawn up: its lines, what is held back, what changed."""

    ctx: Context
    c: cmd.IssuePaymentList
    fund_id: UUID
    number: int
    """The next voucher number of the day to try."""
    lines: list[PaymentLine] = field(default_factory=list)
    held: list[HeldLine] = field(default_factory=list)
    changed: list[AidAggregate] = field(default_factory=list)

    def add(self, case: StudentCase) -> None:
        """The case's unsettled lines again, and its new money with a new voucher."""
        self.lines += [_line(case, p, new=False) for p in case.outstanding_listed(self.fund_id)]
        unpaid = case.payable_lines(self.fund_id)
        if unpaid <= 0 or case.rejected or case.closed:
            return
        reason = held_reason(case)
        if reason:
            self.held.append(HeldLine(case_id=case.id, amount_fen=unpaid, reason=reason))
            return
        voucher, self.number = _free_voucher(self.ctx, self.c.list_date, self.number)
        case.disburse(
            amount_fen=unpaid,
            voucher=voucher,
            value_date=self.c.list_date,
            actor=self.c.actor,
            listed=True,
            fund=self.fund_id,
        )
        payment = case.payment(voucher)
        assert payment is not None
        self.lines.append(_line(case, payment, new=True))
        self.changed += [case, Voucher(number=voucher, case_id=case.id, amount_fen=unpaid)]


def pay_list(
    candidates: Sequence[UUID],
) -> Callable[[Context, cmd.IssuePaymentList], Decision[PaymentList]]:
    """The payment list (代发清单) of one fund, with FULL account numbers (cashier only).

    ``candidates`` are the cases that may hold approved, unpaid money on the fund (the
    read side's :meth:`~aidflow.projections.ReadModels.payable_cases`); each is loaded and
    decided from its own events. A line issued before and not yet settled by a statement
    keeps its voucher; new money gets a new voucher. The export itself is recorded
    (``ListIssued``).
    """

    def decide(ctx: Context, c: cmd.IssuePaymentList) -> Decision[PaymentList]:
        fund = ctx.fund(c.fund_id)
        book = ctx.find(PaymentBook, BOOK_ID) or PaymentBook()
        listing = _Listing(ctx, c, fund.id, book.next_number())
        for case_id in dict.fromkeys(candidates):
            case = ctx.case(case_id)
            if not ctx.year_is_closed(case.year):  # its unpaid money went back at the close
                listing.add(case)
        lines = listing.lines
        result = PaymentList(
            fund_id=fund.id,
            list_date=c.list_date,
            lines=lines,
            held=listing.held,
            new_vouchers=sum(1 for line in lines if line.new),
        )
        if not lines:
            return result, []
        book.record_list(
            fund_id=fund.id,
            list_date=c.list_date,
            lines=[
                {
                    "voucher": line.voucher,
                    "case_id": str(line.case_id),
                    "amount_fen": line.amount_fen,
                    "new": line.new,
                }
                for line in lines
            ],
            new_vouchers=listing.number - book.next_number(),
            actor=c.actor,
        )
        return result, [book, *listing.changed]

    return decide


def pay_list_of_payable(ctx: Context, c: cmd.IssuePaymentList) -> Decision[PaymentList]:
    """The payment list of :func:`pay_list` for the cases the read side says are owed money."""
    return pay_list(ctx.payable(c.fund_id))(ctx, c)


# -- the bank's statement -------------------------------------------------------------------


@dataclass
class _Statement:
    """One statement being applied: the cases it touched and what became of each line."""

    ctx: Context
    digest: str
    name: str
    cases: dict[UUID, StudentCase] = field(default_factory=dict)
    findings: list[StatementFinding] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)
    returned: list[str] = field(default_factory=list)
    already: int = 0
    done: set[tuple[str, str]] = field(default_factory=set)

    def case(self, case_id: UUID) -> StudentCase:
        if case_id not in self.cases:
            self.cases[case_id] = self.ctx.case(case_id)
        return self.cases[case_id]

    def finding(self, line: cmd.StatementLine, kind: str, detail: str) -> None:
        self.findings.append(
            StatementFinding(
                kind=kind,
                line=line.line,
                reference=line.reference,
                amount_fen=line.amount_fen,
                account_masked=mask_identifier(line.account),
                detail=detail,
            )
        )

    def apply(self, line: cmd.StatementLine, actor: str) -> None:
        """Match one line to its voucher; confirm, return, or record why not."""
        key = self.ctx.voucher(line.reference)
        case = None if key is None else self.case(key.case_id)
        payment = None if case is None else case.payment(line.reference)
        if case is None or payment is None:
            self.finding(line, "no_voucher", "no voucher of this store carries this reference")
            return
        voucher = str(payment["voucher"])
        if payment.get("disputed"):
            self.finding(
                line,
                "disputed",
                f"voucher {voucher} is held in dispute; settle it with `aidflow pay resolve`",
            )
            return
        marker = (canonical.document_key(voucher), line.status)
        if marker in self.done:
            self.finding(line, "duplicate_line", f"voucher {voucher} is {line.status} twice")
            return
        disagreement = _disagreement(line, case, payment)
        if disagreement is not None:
            kind, detail = disagreement
            self.finding(line, kind.value, detail)
            if not payment["returned"] and not payment.get("confirmed"):
                case.dispute_payment(
                    voucher=voucher,
                    kind=kind.value,
                    bank_amount_fen=line.amount_fen,
                    statement=self.digest[:16],
                    actor=actor,
                )
            return
        self.done.add(marker)  # a line that matched: the same again is a duplicate
        if line.status == "paid":
            self._paid(line, case, payment, voucher, actor)
        else:
            self._returned(line, case, payment, voucher, actor)

    def _paid(
        self,
        line: cmd.StatementLine,
        case: StudentCase,
        payment: dict[str, Any],
        voucher: str,
        actor: str,
    ) -> None:
        if payment.get("confirmed"):
            self.already += 1
        elif payment["returned"]:
            self.finding(line, "paid_after_return", f"voucher {voucher} was returned before")
        else:
            case.confirm_payment(
                voucher=voucher, value_date=line.value_date, statement=self.digest[:16], actor=actor
            )
            self.confirmed.append(voucher)

    def _returned(
        self,
        line: cmd.StatementLine,
        case: StudentCase,
        payment: dict[str, Any],
        voucher: str,
        actor: str,
    ) -> None:
        if payment["returned"]:
            self.already += 1
            return
        try:
            case.return_disbursement(
                voucher=voucher,
                reason=line.note
                or f"returned by the bank (statement {self.name or self.digest[:16]})",
                value_date=line.value_date,
                actor=actor,
            )
        except CaseNotOpen as exc:
            self.finding(line, "not_applied", str(exc))
            return
        self.returned.append(voucher)


def same_name(first: str, second: str) -> bool:
    """Whether the bank's account holder (户名) and the student are one name: compared
    after NFKC, without spaces, case-folded (``王 芳`` is ``王芳``)."""
    return "".join(canonical.nfkc(first).split()).casefold() == (
        "".join(canonical.nfkc(second).split()).casefold()
    )


def _disagreement(
    line: cmd.StatementLine, case: StudentCase, payment: dict[str, Any]
) -> tuple[Disagreement, str] | None:
    """How a statement line disagrees with the voucher it names (a finding kind and its
    detail, with no personal data in clear), or None when it agrees."""
    voucher = str(payment["voucher"])
    if line.amount_fen != payment["amount_fen"]:
        return Disagreement.AMOUNT, (
            f"voucher {voucher} was issued for {format_yuan(payment['amount_fen'])} "
            f"yuan; the bank shows {format_yuan(line.amount_fen)}"
        )
    erased = case.personal_data_erased  # an erased account or name compares with nothing
    if (
        line.account
        and not erased
        and payment.get("account")
        and line.account != payment["account"]
    ):
        return Disagreement.ACCOUNT, (
            f"voucher {voucher} was sent to account {mask_identifier(str(payment['account']))}"
        )
    if line.name and not erased and case.name and not same_name(line.name, str(case.name)):
        return Disagreement.NAME, (
            f"voucher {voucher}: the bank's account holder is {mask_name(line.name)}, "
            f"the student {mask_name(case.name)}"
        )
    return None


def _overdue(
    ctx: Context, book: PaymentBook, case_of: Callable[[UUID], StudentCase]
) -> list[StatementFinding]:
    """Listed vouchers no statement has settled ``statement-days`` after their list."""
    today = office_day(ctx.moment, ctx.policy.timezone)
    days = ctx.policy.statement_days
    late: list[StatementFinding] = []
    for item in book.listed.values():
        listed_on = date.fromisoformat(item["listed_on"])
        if (today - listed_on).days <= days:
            continue
        payment = case_of(UUID(item["case_id"])).payment(item["voucher"])
        if (
            payment is None
            or payment["returned"]
            or payment.get("confirmed")
            or payment.get("disputed")
        ):
            continue
        late.append(
            StatementFinding(
                kind="no_statement_line",
                line=0,
                reference=str(item["voucher"]),
                amount_fen=int(item["amount_fen"]),
                account_masked=mask_identifier(str(payment.get("account", ""))),
                detail=f"listed on {listed_on.isoformat()}, {(today - listed_on).days} days "
                "ago, and no statement line since",
            )
        )
    return late


def check_statement(c: cmd.Reconcile) -> None:
    """Refused before anything is read: a statement with no lines."""
    if not c.lines:
        raise InvalidInput(said("the statement has no lines"))


def statement_digest(lines: Sequence[cmd.StatementLine]) -> str:
    """What makes two imports one statement: its lines (a statement without names digests as
    it did before the name column was read, so an old import is still recognised)."""

    def content(line: cmd.StatementLine) -> dict[str, Any]:
        dumped = line.model_dump(mode="json", exclude={"line"})
        if not dumped["name"]:
            del dumped["name"]
        return dumped

    return fingerprint({"lines": [content(line) for line in lines]})


def reconcile(ctx: Context, c: cmd.Reconcile) -> Decision[Reconciliation]:
    """Match every line of the bank's statement to a voucher.

    A paid line confirms its payment (``DisbursementConfirmed``); a returned line records
    the return (``DisbursementReturned``: the approval is payable again, to a corrected
    account). Lines with no voucher are findings; a line whose amount, account or account
    holder's name disagrees with its voucher is a finding and holds the voucher in dispute
    (``DisbursementDisputed``): it goes on no list again until :func:`resolve` settles it.
    Every finding is recorded with the statement (``StatementImported``). The same statement again (same
    lines) writes nothing and answers ``recorded=False``. Listed vouchers with no
    statement line after ``statement-days`` are reported.
    """
    book = ctx.find(PaymentBook, BOOK_ID) or PaymentBook()
    digest = statement_digest(c.lines)
    statement = _Statement(ctx, digest, c.name)
    seen = book.statement(digest)
    if seen is not None:
        return Reconciliation(
            digest=digest,
            name=str(seen["name"]),
            lines=len(c.lines),
            confirmed=[],
            returned=[],
            already_settled=len(c.lines),
            findings=[StatementFinding.model_validate(f) for f in seen["findings"]],
            overdue=_overdue(ctx, book, statement.case),
            recorded=False,
        ), []
    for line in c.lines:
        statement.apply(line, c.actor)
    book.record_statement(
        digest=digest,
        name=c.name,
        lines=len(c.lines),
        confirmed=len(statement.confirmed),
        returned=len(statement.returned),
        findings=[f.model_dump(mode="json") for f in statement.findings],
        actor=c.actor,
    )
    result = Reconciliation(
        digest=digest,
        name=c.name,
        lines=len(c.lines),
        confirmed=statement.confirmed,
        returned=statement.returned,
        already_settled=statement.already,
        findings=statement.findings,
        overdue=_overdue(ctx, book, statement.case),
        recorded=True,
    )
    changed = [case for case in statement.cases.values() if case.pending_events]
    return result, [book, *changed]


# -- disputes and returns, settled by a second person (issue 23) ------------------------


def _case_of_voucher(ctx: Context, number: str) -> StudentCase:
    key = ctx.voucher(number)
    if key is None:
        raise UnknownVoucher(
            said("no voucher of this store carries the number {voucher}", voucher=number),
            ids={"voucher": number},
        )
    return ctx.case(key.case_id)


def resolve(ctx: Context, c: cmd.ResolvePayment) -> Decision[PaymentSettlement]:
    """Settle a disputed payment as paid or returned (a returned one is payable again, to
    a corrected account or by :func:`reissue`)."""
    case = _case_of_voucher(ctx, c.voucher)
    payment = case.resolve_payment(
        voucher=c.voucher,
        outcome=c.outcome,
        reason=c.reason,
        value_date=c.value_date,
        actor=c.actor,
    )
    result = PaymentSettlement(
        voucher=str(payment["voucher"]),
        case_id=case.id,
        amount_fen=int(payment["amount_fen"]),
        outcome=c.outcome.value,
    )
    return result, [case]


def reissue(ctx: Context, c: cmd.ReissuePayment) -> Decision[PaymentSettlement]:
    """A returned payment paid again to the same account: the next payment list carries it."""
    case = _case_of_voucher(ctx, c.voucher)
    ctx.check_year_open(case.year)
    payment = case.reissue_payment(voucher=c.voucher, reason=c.reason, actor=c.actor)
    result = PaymentSettlement(
        voucher=str(payment["voucher"]),
        case_id=case.id,
        amount_fen=int(payment["amount_fen"]),
        outcome="reissued",
    )
    return result, [case]
