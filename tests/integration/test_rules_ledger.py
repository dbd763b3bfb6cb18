"""The money ledger over a history with every kind of money event: each total, each breakdown
and its order, the funds' order, who counts as assisted, and the lines."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa

from aidflow import AidFlow
from aidflow import commands as cmd
from aidflow.projections import ReadModels
from aidflow.projections.audit.ledger import donor_trace, payable_cases
from aidflow.projections.audit.tables import ledger_table
from tests.builders import (
    account_of,
    donation_fund,
    followed_up,
    government_fund,
    national_id,
    new_ref,
    register_staff,
    secondary_aid,
)

T0 = datetime(2026, 8, 1, tzinfo=UTC)


@pytest.fixture
def books(tmp_path: Path) -> Iterator[tuple[AidFlow, ReadModels, dict[str, UUID]]]:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    flow = AidFlow.open(url, clock=lambda: T0)
    register_staff(flow)
    views = ReadModels.attach(flow, url)
    gov, gov2 = government_fund(flow, 20_000), government_fund(flow, 1_000)
    don = donation_fund(flow, 5_000)

    def case(n: int, family: str, town: str, need: str, approve: int, pay: int) -> UUID:
        case_id = flow.apply(
            cmd.Apply(
                student_id=national_id(n),
                name=f"S{n}",
                university="GZU",
                family_category=family,
                town=town,
                year=2026,
                account=account_of(n),
                actor="screening",
            )
        )
        flow.verify(
            cmd.Verify(
                case_id=case_id,
                income_fen=0,
                tuition_fen=0,
                gap_fen=approve,
                needs=[need],
                actor="v",
            )
        )
        flow.approve(
            cmd.Approve(
                ref=new_ref(),
                case_id=case_id,
                amount_fen=approve,
                need=need,
                fund_id=gov,
                actor="a",
            )
        )
        flow.disburse(cmd.Disburse(case_id=case_id, amount_fen=pay, voucher=f"V{n}", actor="c"))
        return case_id

    one = case(1, "dibao", "Dalian", "tuition", 500_000, 500_000)
    two = case(2, "tekun", "Gaoping", "living", 300_000, 300_000)
    three = case(3, "expenditure", "Tuanze", "travel", 200_000, 100_000)
    secondary_aid(flow, one, don, 60_000)
    flow.disburse(cmd.Disburse(case_id=one, amount_fen=60_000, voucher="S1", actor="cashier"))
    flow.return_disbursement(
        cmd.ReturnDisbursement(case_id=two, voucher="V2", reason="closed account", actor="bank")
    )
    followed_up(flow, three)
    flow.close_case(cmd.CloseCase(case_id=three, reason="left", actor="clerk"))
    try:
        yield flow, views, {"gov": gov, "gov2": gov2, "don": don, "one": one, "three": three}
    finally:
        views.close()
        flow.close()


def test_ledger_totals_and_breakdowns(books: tuple[AidFlow, ReadModels, dict[str, UUID]]) -> None:
    flow, views, _ = books
    ledger = views.ledger()
    assert ledger.entries == []  # lines only when asked
    assert ledger.position == flow.recorder.max_notification_id()
    assert ledger.government_approved_fen == 900_000  # 1,000,000 approved, 100,000 released
    assert ledger.government_disbursed_fen == 600_000  # 900,000 paid, 300,000 returned
    assert ledger.secondary_aid_fen == 60_000
    assert ledger.total_disbursed_fen == 660_000
    assert ledger.budget_received_fen == 2_100_000
    assert ledger.donations_received_fen == 500_000
    assert (ledger.students_assisted, ledger.students_with_secondary_aid) == (2, 1)
    assert list(ledger.by_need_fen.items()) == [
        ("living", 300_000),
        ("travel", 200_000),
        ("tuition", 500_000),
    ]
    assert list(ledger.by_family_category_fen.items()) == [
        ("dibao", 560_000),
        ("expenditure", 100_000),
        ("tekun", 0),
    ]
    assert list(ledger.by_town_fen.items()) == [
        ("Dalian", 560_000),
        ("Gaoping", 0),
        ("Tuanze", 100_000),
    ]


def test_ledger_funds_in_name_then_id_order_with_their_totals(
    books: tuple[AidFlow, ReadModels, dict[str, UUID]],
) -> None:
    flow, views, ids = books
    funds = views.ledger().funds
    same_name = sorted(str(ids[k]) for k in ("gov", "gov2"))
    assert [f.fund_id for f in funds] == [str(ids["don"]), *same_name]
    by_id = {f.fund_id: f for f in funds}
    gov = by_id[str(ids["gov"])]
    assert (
        gov.deposited_fen,
        gov.allocated_fen,
        gov.released_fen,
        gov.balance_fen,
        gov.disbursed_fen,
        gov.secondary_aid_fen,
    ) == (2_000_000, 1_000_000, 100_000, 1_100_000, 600_000, 0)
    don = by_id[str(ids["don"])]
    assert (don.kind, don.allocated_fen, don.balance_fen, don.secondary_aid_fen) == (
        "donation",
        60_000,
        440_000,
        60_000,
    )
    for f in funds:
        assert f.balance_fen == flow.fund(UUID(f.fund_id)).balance_fen


def test_ledger_lines_in_position_order(books: tuple[AidFlow, ReadModels, dict[str, UUID]]) -> None:
    _, views, ids = books
    lines = views.ledger(entries=True).entries
    positions = [line.position for line in lines]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    kinds = [line.entry for line in lines]
    assert kinds.count("disbursement") == 3 and kinds.count("return") == 1
    assert kinds.count("release") == 1 and kinds.count("secondary_aid") == 1
    release = next(line for line in lines if line.entry == "release")
    assert (release.case_id, release.fund_id, release.amount_fen) == (
        str(ids["three"]),
        str(ids["gov"]),
        100_000,
    )


# -- the ledger's own questions over hand-written rows (what the audit view would hold) -------


def _ledger_rows(rows: list[tuple[str, str | None, str, int, str | None, str | None]]) -> Any:
    """An in-memory audit ledger holding ``rows``: (entry, case, fund, fen, voucher, receipt)."""
    engine = sa.create_engine("sqlite://")
    ledger_table.create(engine)
    with engine.begin() as conn:
        conn.execute(
            ledger_table.insert(),
            [
                {
                    "position": n,
                    "recorded_at": T0,
                    "entry": entry,
                    "case_id": case,
                    "fund_id": fund,
                    "amount_fen": fen,
                    "voucher": voucher,
                    "receipt": receipt,
                    "source": None if receipt is None else f"donor of {receipt}",
                    "actor": "clerk",
                }
                for n, (entry, case, fund, fen, voucher, receipt) in enumerate(rows, start=1)
            ],
        )
    return engine


def test_donor_trace_pays_out_first_in_first_out_net_of_returns() -> None:
    engine = _ledger_rows(
        [
            ("deposit", None, "don", 1_000, None, "R1"),
            ("deposit", None, "other", 9_999, None, "X"),  # another fund's money
            ("deposit", None, "don", 500, None, "R2"),
            ("secondary_aid", "c1", "don", 800, "S1", None),
            ("secondary_aid", "c2", "don", 600, "S2", None),
            ("secondary_return", "c2", "don", 600, "S2", None),  # came back: not a share
            ("secondary_aid", "c3", "don", 400, "S3", None),
            ("secondary_aid", "c4", "don", 900, "S4", None),  # more than is left: what is left
        ]
    )
    with engine.connect() as conn:
        shares = [
            (s.receipt, s.source, s.case_id, s.voucher, s.amount_fen)
            for s in donor_trace(conn, "don")
        ]
        early = [(s.receipt, s.case_id, s.amount_fen) for s in donor_trace(conn, "don", upto=4)]
    assert shares == [
        ("R1", "donor of R1", "c1", "S1", 800),
        ("R1", "donor of R1", "c3", "S3", 200),
        ("R2", "donor of R2", "c3", "S3", 200),
        ("R2", "donor of R2", "c4", "S4", 300),
    ]
    assert early == [("R1", "c1", 800)]


def test_payable_cases_are_those_with_money_reserved_and_not_settled() -> None:
    engine = _ledger_rows(
        [
            ("allocation", "c1", "gov", 1_000, None, None),  # reserved, nothing settled
            ("allocation", "c2", "gov", 1_000, None, None),
            ("confirmation", "c2", "gov", 1_000, "V2", None),  # paid and confirmed
            ("allocation", "c3", "gov", 1_000, None, None),
            ("release", "c3", "gov", 1_000, None, None),  # released at close
            ("allocation", "c4", "gov", 500, None, None),
            ("confirmation", "c4", "gov", 500, "V4", None),
            ("return", "c4", "gov", 500, "V4", None),  # came back: payable again
            ("allocation", "c5", "other", 1_000, None, None),  # another fund
            ("allocation", "c6", "gov", 300, None, None),
            ("secondary_aid", "c6", "gov", 300, None, None),  # v0.1: paid, no voucher
            ("allocation", "c7", "gov", 300, None, None),
            ("secondary_aid", "c7", "gov", 300, "S7", None),  # paid, not yet confirmed
            ("deposit", None, "gov", 5_000, None, "R"),
        ]
    )
    with engine.connect() as conn:
        assert payable_cases(conn, "gov") == ["c1", "c4", "c7"]
