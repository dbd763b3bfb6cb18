"""The money ledger over a history with every kind of money event: each total, each breakdown
and its order, the funds' order, who counts as assisted, and the lines."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest

from aidflow import AidFlow
from aidflow import commands as cmd
from aidflow.projections import ReadModels
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
