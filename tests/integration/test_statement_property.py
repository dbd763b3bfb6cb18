"""A property of the money loop (issue 12): every yuan a bank statement confirms is matched to
exactly one voucher, and the ledger's confirmed total is the statements' paid lines less the
returns of what they had confirmed, whatever the statements say (lines paid, returned,
repeated, unknown, or with the wrong amount), in whatever order they come. A wrong amount on
an unsettled voucher holds it in dispute (issue 23): no later line settles it."""

from __future__ import annotations

import tempfile
from collections import Counter
from datetime import date
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from aidflow import AidFlow
from aidflow import commands as cmd
from aidflow.projections.read_models import ReadModels
from tests.builders import approved, government_fund, register_staff
from tests.properties import examples

# one statement line: (which listed payment, what the bank says, whether the amount is right)
LINE = st.tuples(st.integers(0, 5), st.sampled_from(["paid", "returned", "unknown"]), st.booleans())


@settings(max_examples=examples(12))
@given(
    amounts=st.lists(st.integers(1, 5000), min_size=1, max_size=4),
    statements=st.lists(st.lists(LINE, min_size=1, max_size=8), min_size=1, max_size=3),
)
def test_confirmed_money_is_matched_to_one_voucher_each(
    amounts: list[int], statements: list[list[tuple[int, str, bool]]]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'p.db'}"
        flow = AidFlow.open(url)
        register_staff(flow)
        views = ReadModels.attach(flow, url)
        try:
            fund = government_fund(flow, 100_000)
            cases = [approved(flow, fund, n=i + 1, yuan=y) for i, y in enumerate(amounts)]
            listed = flow.issue_payment_list(
                cmd.IssuePaymentList(fund_id=fund, list_date=date(2026, 8, 12), actor="cashier"),
                cases,
            ).lines
            confirmed: dict[str, int] = {}  # what the statements confirmed, by voucher
            settled: dict[str, str] = {}  # each voucher settled "paid" or "returned" so far
            disputed: set[str] = set()  # vouchers held: a person settles them, not a line
            expected = 0
            for number, lines in enumerate(statements):
                body = []
                for which, status, right in lines:
                    item = listed[which % len(listed)]
                    if status == "unknown":
                        body.append(
                            cmd.StatementLine(amount_fen=777, reference=f"X-{which}", status="paid")
                        )
                        continue
                    fen = item.amount_fen if right else item.amount_fen + 1
                    body.append(
                        cmd.StatementLine(
                            line=len(body) + 2,
                            account=item.account,
                            amount_fen=fen,
                            reference=item.voucher,
                            status=status,
                        )
                    )
                flow.reconcile(cmd.Reconcile(name=f"s{number}", lines=body, actor="cashier"))
                # the statements' own arithmetic: the first paid line of an unsettled voucher
                # confirms it; a later returned line takes back what was confirmed
                seen: set[tuple[str, str]] = set()
                for line in body:
                    item = next((x for x in listed if x.voucher == line.reference), None)
                    if item is None or line.reference in disputed:
                        continue
                    if (line.reference, line.status) in seen:
                        continue
                    if line.amount_fen != item.amount_fen:
                        if line.reference not in settled:
                            disputed.add(line.reference)
                        continue
                    seen.add((line.reference, line.status))
                    state = settled.get(line.reference)
                    if line.status == "paid" and state is None:
                        settled[line.reference] = "paid"
                        confirmed[line.reference] = line.amount_fen
                        expected += line.amount_fen
                    elif line.status == "returned" and state != "returned":
                        if state == "paid":
                            expected -= line.amount_fen
                        settled[line.reference] = "returned"
            events = [
                e
                for case in cases
                for e in flow.history(case)
                if e.type == "case.disbursement_confirmed"
            ]
            per_voucher = Counter(e.data["voucher"] for e in events)
            assert all(n == 1 for n in per_voucher.values())  # one confirmation per voucher
            assert {e.data["voucher"]: e.data["amount_fen"] for e in events} == confirmed
            owners = {x.voucher: x.case_id for x in listed}
            assert all(owners[e.data["voucher"]] == e.originator_id for e in events)
            ledger = views.ledger()
            assert ledger.confirmed_fen == expected
            assert ledger.confirmed_fen + ledger.unconfirmed_fen == ledger.total_disbursed_fen
        finally:
            flow.listeners.clear()
            views.close()
            flow.close()
