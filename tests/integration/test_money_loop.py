"""The money loop (issue 12): accounts by two people, the payment list, the bank's statement,
secondary aid paid like a grant, and the ledger's confirmed and unconfirmed money."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from uuid import UUID

import pytest

from aidflow import AidFlow
from aidflow import commands as cmd
from aidflow.domain.errors import (
    AccountChangePending,
    InvalidInput,
    NoAccount,
    NoAccountChangePending,
    NotAuthorised,
    SecondaryAidUnpaid,
    SecondaryCapExceeded,
    SegregationOfDuties,
    UnknownSecondaryAid,
)
from aidflow.domain.staff import Role
from aidflow.imports.statement import read_statement
from aidflow.models import PaymentList, Reconciliation
from aidflow.projections.models import Ledger
from aidflow.projections.read_models import ReadModels
from tests.builders import approved, donation_fund, government_fund, new_ref, verified

ACCOUNT = "6222020200112233445"
NEW_ACCOUNT = "6217000011112222333"
DAY = date(2026, 8, 12)


_VIEWS: dict[int, ReadModels] = {}


@pytest.fixture(autouse=True)
def views(request: pytest.FixtureRequest) -> Iterator[ReadModels | None]:
    """The store's read models, caught up after every command (as the CLI's are), for the
    tests on a store; the statement-file tests need none (and run once, not per backend)."""
    if "flow" not in request.fixturenames:
        yield None
        return
    flow: AidFlow = request.getfixturevalue("flow")
    models = ReadModels.attach(flow, request.getfixturevalue("store_url"))
    _VIEWS[id(flow)] = models
    yield models
    del _VIEWS[id(flow)]
    flow.listeners.clear()
    models.close()


def pay_list(flow: AidFlow, fund: UUID, on: date = DAY, actor: str = "cashier") -> PaymentList:
    candidates = _VIEWS[id(flow)].payable_cases(fund)
    return flow.issue_payment_list(
        cmd.IssuePaymentList(fund_id=fund, list_date=on, actor=actor), candidates
    )


def line(
    voucher: str, fen: int, status: str = "paid", account: str = ACCOUNT, n: int = 1
) -> cmd.StatementLine:
    return cmd.StatementLine(
        line=n,
        value_date=DAY,
        account=account,
        amount_fen=fen,
        reference=voucher,
        status=status,
    )


def statement(flow: AidFlow, *lines: cmd.StatementLine, name: str = "st.csv") -> Reconciliation:
    return flow.reconcile(cmd.Reconcile(name=name, lines=list(lines), actor="cashier"))


def ledger(flow: AidFlow) -> Ledger:
    return _VIEWS[id(flow)].ledger()


def test_a_list_issues_vouchers_once_and_the_statement_confirms(flow: AidFlow) -> None:
    fund = government_fund(flow)
    case = approved(flow, fund, n=1, yuan=4000)
    first = pay_list(flow, fund)
    assert [(x.case_id, x.amount_fen, x.account, x.new) for x in first.lines] == [
        (case, 400_000, ACCOUNT, True)
    ]
    voucher = first.lines[0].voucher
    assert voucher.startswith("PL-20260812-")
    # issued again before the statement: the same voucher, nothing new paid
    again = pay_list(flow, fund, on=date(2026, 8, 13))
    assert [(x.voucher, x.new) for x in again.lines] == [(voucher, False)]
    assert flow.case(case).disbursed_fen == 400_000
    before = ledger(flow)
    assert (before.confirmed_fen, before.unconfirmed_fen) == (0, 400_000)

    result = statement(flow, line(voucher, 400_000))
    assert result.confirmed == [voucher] and result.findings == []
    after = ledger(flow)
    assert (after.confirmed_fen, after.unconfirmed_fen) == (400_000, 0)
    # settled: off the next list
    assert pay_list(flow, fund).lines == []


def test_the_same_statement_twice_writes_nothing(flow: AidFlow) -> None:
    fund = government_fund(flow)
    approved(flow, fund, n=1, yuan=3000)
    voucher = pay_list(flow, fund).lines[0].voucher
    first = statement(flow, line(voucher, 300_000), line("NOPE-1", 100, n=2))
    head = flow.recorder.max_notification_id()
    second = statement(flow, line(voucher, 300_000), line("NOPE-1", 100, n=2))
    assert flow.recorder.max_notification_id() == head
    assert second.recorded is False and first.recorded is True
    assert [f.kind for f in second.findings] == ["no_voucher"]


def test_statement_findings_mismatches_and_the_audit(flow: AidFlow) -> None:
    fund = government_fund(flow)
    approved(flow, fund, n=1, yuan=3000)
    approved(flow, fund, n=2, yuan=2000)
    lines = {x.amount_fen: x.voucher for x in pay_list(flow, fund).lines}
    result = statement(
        flow,
        line(lines[300_000], 300_001, n=1),  # amount differs
        line(lines[200_000], 200_000, account=NEW_ACCOUNT, n=2),  # account differs
        line("ZZ-999", 5_000, n=3),  # no voucher
    )
    kinds = sorted(f.kind for f in result.findings)
    assert kinds == ["account_mismatch", "amount_mismatch", "no_voucher"]
    assert result.confirmed == [] and result.returned == []
    rules = sorted(v.rule for v in _VIEWS[id(flow)].check(flow.current_policy()))
    assert rules == [
        "statement_account_mismatch",
        "statement_amount_mismatch",
        "statement_no_voucher",
    ]
    assert "6217" in str(result.findings) and NEW_ACCOUNT not in str(result.findings)


def test_a_return_holds_the_case_until_two_people_correct_the_account(flow: AidFlow) -> None:
    fund = government_fund(flow)
    case = approved(flow, fund, n=1, yuan=5000)
    voucher = pay_list(flow, fund).lines[0].voucher
    result = statement(flow, line(voucher, 500_000, status="returned"))
    assert result.returned == [voucher]
    assert flow.case(case).disbursed_fen == 0
    held = pay_list(flow, fund)
    assert held.lines == [] and "set-account" in held.held[0].reason
    # one person proposes; the same person cannot confirm; a second one does
    proposed = flow.set_account(
        cmd.SetAccount(case_id=case, account=NEW_ACCOUNT, reason="card closed", actor="clerk")
    )
    assert proposed.pending
    assert "confirm-account" in pay_list(flow, fund).held[0].reason
    with pytest.raises(AccountChangePending):
        flow.disburse(cmd.Disburse(case_id=case, amount_fen=500_000, voucher="X1", actor="cashier"))
    with pytest.raises(SegregationOfDuties):
        flow.confirm_account(cmd.ConfirmAccount(case_id=case, actor="clerk"))
    with pytest.raises(NoAccountChangePending):
        flow.confirm_account(cmd.ConfirmAccount(case_id=case, account=ACCOUNT, actor="approver"))
    flow.confirm_account(cmd.ConfirmAccount(case_id=case, account=NEW_ACCOUNT, actor="approver"))
    reissued = pay_list(flow, fund, on=date(2026, 8, 20))
    assert [(x.account, x.new) for x in reissued.lines] == [(NEW_ACCOUNT, True)]
    assert reissued.lines[0].voucher != voucher
    statement(flow, line(reissued.lines[0].voucher, 500_000, account=NEW_ACCOUNT))
    totals = ledger(flow)
    assert totals.confirmed_fen == 500_000 and totals.government_disbursed_fen == 500_000


def test_account_before_any_payment_takes_effect_at_once(flow: AidFlow) -> None:
    fund = government_fund(flow)
    case = verified(flow, n=7)
    flow.approve(
        cmd.Approve(
            case_id=case,
            amount_fen=100_000,
            need="tuition",
            fund_id=fund,
            ref=new_ref(),
            actor="approver",
        )
    )
    result = flow.set_account(
        cmd.SetAccount(
            case_id=case, account=NEW_ACCOUNT, bank="ICBC", reason="new card", actor="clerk"
        )
    )
    assert result.pending is False and result.recorded
    assert pay_list(flow, fund).lines[0].account == NEW_ACCOUNT
    again = flow.set_account(
        cmd.SetAccount(
            case_id=case, account=NEW_ACCOUNT, bank="ICBC", reason="retry", actor="clerk"
        )
    )
    assert (again.recorded, again.pending) == (False, False)  # the same account: a retry
    changed = flow.set_account(
        cmd.SetAccount(case_id=case, account=ACCOUNT, reason="wrong card", actor="clerk")
    )
    assert (changed.recorded, changed.pending) == (True, True)  # after a payment: two people


def test_no_account_names_the_command(flow: AidFlow) -> None:
    fund = government_fund(flow)
    case = flow.apply(
        cmd.Apply(
            student_id=_id(9),
            name="S9",
            university="GZU",
            family_category="dibao",
            town="Dalian",
            year=2026,
            actor="screening",
        )
    )
    flow.verify(
        cmd.Verify(
            case_id=case,
            income_fen=0,
            tuition_fen=0,
            gap_fen=500_000,
            needs=["tuition"],
            actor="visitor",
        )
    )
    flow.approve(
        cmd.Approve(
            case_id=case,
            amount_fen=100_000,
            need="tuition",
            fund_id=fund,
            ref=new_ref(),
            actor="approver",
        )
    )
    with pytest.raises(NoAccount, match="case set-account"):
        flow.disburse(cmd.Disburse(case_id=case, amount_fen=100_000, voucher="Q1", actor="cashier"))
    listed = pay_list(flow, fund)
    assert listed.lines == [] and "set-account" in listed.held[0].reason


def test_bad_accounts_and_roles_are_refused(flow: AidFlow) -> None:
    fund = government_fund(flow)
    case = approved(flow, fund, n=1)
    head = flow.recorder.max_notification_id()
    for bad in (
        "６２２２０２０２００１１２２３３４４５x",
        "6.22202E+18",
        "1234",
        "6222\u200b020200112233445",
    ):
        with pytest.raises(InvalidInput):
            flow.set_account(cmd.SetAccount(case_id=case, account=bad, reason="r", actor="clerk"))
    flow.add_staff(cmd.AddStaff(name="only-verifier", roles=[Role.VERIFIER], actor="admin"))
    head = flow.recorder.max_notification_id()
    with pytest.raises(NotAuthorised):
        pay_list(flow, fund, actor="only-verifier")
    with pytest.raises(NotAuthorised):
        flow.reconcile(cmd.Reconcile(lines=[line("X", 1)], actor="only-verifier"))
    assert flow.recorder.max_notification_id() == head


def _id(n: int) -> str:
    from tests.builders import national_id

    return national_id(n)


def test_secondary_aid_two_people_cap_list_and_donor_trace(flow: AidFlow) -> None:
    gov = government_fund(flow)
    don = donation_fund(flow, yuan=20_000)
    case = approved(flow, gov, n=1, yuan=4000)
    voucher = pay_list(flow, gov).lines[0].voucher
    statement(flow, line(voucher, 400_000))
    ref = new_ref("GSL")
    flow.allocate_secondary_aid(
        cmd.AllocateSecondaryAid(
            case_id=case, fund_id=don, amount_fen=600_000, ref=ref, actor="federation"
        )
    )
    assert flow.fund(don).balance_fen == 2_000_000  # nothing reserved until approved
    with pytest.raises(SegregationOfDuties):
        flow.approve_secondary_aid(
            cmd.ApproveSecondaryAid(case_id=case, ref=ref, actor="federation")
        )
    with pytest.raises(UnknownSecondaryAid):
        flow.approve_secondary_aid(
            cmd.ApproveSecondaryAid(case_id=case, ref="NOPE", actor="approver")
        )
    approved_once = flow.approve_secondary_aid(
        cmd.ApproveSecondaryAid(case_id=case, ref=ref, actor="approver")
    )
    again = flow.approve_secondary_aid(
        cmd.ApproveSecondaryAid(case_id=case, ref=ref, actor="approver")
    )
    assert approved_once.recorded and not again.recorded
    assert flow.fund(don).balance_fen == 1_400_000
    # the issue's example: 6,000 twice is over the 10,000 cap
    with pytest.raises(SecondaryCapExceeded):
        flow.allocate_secondary_aid(
            cmd.AllocateSecondaryAid(
                case_id=case,
                fund_id=don,
                amount_fen=600_000,
                ref=new_ref("GSL"),
                actor="federation",
            )
        )
    with pytest.raises(SecondaryAidUnpaid):
        flow.close_case(cmd.CloseCase(case_id=case, reason="done", actor="approver"))
    totals = ledger(flow)
    assert totals.secondary_aid_fen == 0
    listed = pay_list(flow, don)
    assert [(x.use, x.amount_fen) for x in listed.lines] == [("secondary-aid", 600_000)]
    statement(flow, line(listed.lines[0].voucher, 600_000), name="st2.csv")
    totals = ledger(flow)
    assert totals.secondary_aid_fen == 600_000
    assert totals.confirmed_fen == 1_000_000 and totals.unconfirmed_fen == 0
    assert totals.students_with_secondary_aid == 1
    assert flow.case(case).disbursed_fen == 400_000  # the grant's figure is the grant's
    views = _VIEWS[id(flow)]
    shares = views.donor_trace(don)
    assert [(s.source, s.case_id, s.amount_fen) for s in shares] == [
        ("Huichuan chamber", str(case), 600_000)
    ]
    assert views.check(flow.current_policy()) == []


# -- attacks on the statement --------------------------------------------------------------


def test_a_full_width_or_lower_case_reference_is_the_same_voucher(flow: AidFlow) -> None:
    fund = government_fund(flow)
    approved(flow, fund, n=1, yuan=1000)
    voucher = pay_list(flow, fund).lines[0].voucher
    wide = voucher.lower().translate({i: i + 0xFEE0 for i in range(0x21, 0x7F)})
    result = statement(flow, line(wide, 100_000))
    assert result.confirmed == [voucher] and result.findings == []


def test_a_statement_line_that_cannot_be_read_refuses_the_file(tmp_path: Path) -> None:
    good = "2026-08-14,6222020200112233445,5000,PL-20260812-00001,paid\n"
    for bad, says in (
        ("2026-08-14,6.22202E+18,5000,PL-1,paid\n", "number in the spreadsheet"),
        ("2026-08-14,6222020200112233445,5000,PL-\x1b[2J,paid\n", "control character"),
        ("2026-08-14,6222020200112233445,99999999999999999,PL-1,paid\n", "too large"),
        ("2026-08-14,6222020200112233445,-5,PL-1,paid\n", "negative"),
        ("2026-08-14,6222020200112233445,5000,PL-1,maybe\n", "neither paid"),
        ("2026-02-30,6222020200112233445,5000,PL-1,paid\n", "not a date of the calendar"),
    ):
        path = tmp_path / "st.csv"
        path.write_text("date,account,amount,reference,status\n" + good + bad, encoding="utf-8")
        with pytest.raises(InvalidInput, match=says) as refused:
            read_statement(path)
        assert "line 3" in str(refused.value)


def test_a_bank_header_is_mapped_and_gbk_is_read(tmp_path: Path) -> None:
    path = tmp_path / "bank.csv"
    path.write_text(
        "入账日期,收款账号,金额,交易附言,处理结果,失败原因\n"
        '2026年8月14日,6222 0202 0011 2233 445,"￥5,000.00",PL-1,退回,账户已销户\n',
        encoding="gbk",
    )
    [only] = read_statement(path, mapping={"reference": "交易附言"})
    assert (only.value_date, only.account, only.amount_fen, only.reference, only.status) == (
        date(2026, 8, 14),
        ACCOUNT,
        500_000,
        "PL-1",
        "returned",
    )
    assert only.note == "账户已销户"
    with pytest.raises(InvalidInput, match="no statement column"):
        read_statement(path, mapping={"voucher": "交易附言"})
    with pytest.raises(InvalidInput, match="missing column"):
        read_statement(path)  # 交易附言 is not a header aidflow knows by itself


def test_an_empty_statement_writes_nothing(flow: AidFlow) -> None:
    head = flow.recorder.max_notification_id()
    with pytest.raises(InvalidInput):
        flow.reconcile(cmd.Reconcile(lines=[], actor="cashier"))
    assert flow.recorder.max_notification_id() == head


def test_a_line_listed_and_never_answered_is_reported_after_statement_days(
    flow: AidFlow,
) -> None:
    from datetime import UTC, datetime, timedelta

    fund = government_fund(flow)
    approved(flow, fund, n=1, yuan=1000)
    approved(flow, fund, n=2, yuan=2000)
    lines = pay_list(flow, fund, on=date(2020, 8, 1)).lines
    answered = next(x for x in lines if x.amount_fen == 100_000)
    result = statement(flow, line(answered.voucher, 100_000))
    assert [o.reference for o in result.overdue] == [
        x.voucher for x in lines if x.voucher != answered.voucher
    ]
    later = datetime.now(tz=UTC) + timedelta(days=flow.current_policy().statement_days + 1)
    rules = [v.rule for v in _VIEWS[id(flow)].check(flow.current_policy(), now=later)]
    assert rules == ["payment_unconfirmed"]
