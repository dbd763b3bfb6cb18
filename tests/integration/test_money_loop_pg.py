"""Two cashiers issue the same fund's payment list at once, and reconcile the same statement at
once, on PostgreSQL: the cashier's book and the cases conflict in the store, the loser retries
from fresh state, so every case is paid under one voucher and confirmed once."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date
from typing import Any

import pytest

from aidflow import AidFlow
from aidflow import commands as cmd
from tests.builders import approved, government_fund, register_staff
from tests.pg import fresh_database

pytestmark = pytest.mark.postgres


def _together(url: str, work: Any) -> list[Any]:
    """``work(flow)`` in two threads, each with its own connection, started at once."""
    start = threading.Barrier(2)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        flow = AidFlow.open(url)
        try:
            start.wait(timeout=30)
            results.append(work(flow))
        except BaseException as exc:
            errors.append(exc)
        finally:
            flow.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return results


def test_two_cashiers_at_once_issue_one_voucher_per_case_and_confirm_once() -> None:
    with fresh_database() as url:
        flow = AidFlow.open(url)
        register_staff(flow)
        fund = government_fund(flow, 100_000)
        cases = [approved(flow, fund, n=n, yuan=1000 + n) for n in range(1, 7)]
        flow.close()
        day = date(2026, 8, 12)
        lists = _together(
            url,
            lambda f: f.issue_payment_list(
                cmd.IssuePaymentList(fund_id=fund, list_date=day, actor="cashier"), cases
            ),
        )
        assert {x.voucher for x in lists[0].lines} == {x.voucher for x in lists[1].lines}
        assert sorted(x.new_vouchers for x in lists) == [0, 6]
        lines = [
            cmd.StatementLine(
                amount_fen=x.amount_fen, account=x.account, reference=x.voucher, status="paid"
            )
            for x in lists[0].lines
        ]
        done = _together(url, lambda f: f.reconcile(cmd.Reconcile(lines=lines, actor="cashier")))
        assert sorted(r.recorded for r in done) == [False, True]
        flow = AidFlow.open(url)
        try:
            kinds = Counter(e.type for c in cases for e in flow.history(c))
            assert kinds["case.disbursed"] == 6 and kinds["case.disbursement_confirmed"] == 6
        finally:
            flow.close()
