"""The ledger's queries over small hand-built ledger rows, each figure exact.

The audit tables are filled directly (an in-memory SQLite, no event store), so every
boundary can be placed where it matters: a window's lower edge excluded and upper edge
included, a payment of one fen, a checkpoint at exactly every N-th row, a fund opened at
the position asked for, rows stored out of position order (SQL tables keep no order).
Each function of :mod:`aidflow.projections.audit.ledger` is asked directly, and the
audit checks' ``upto`` and ``base`` are pinned the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import import_module
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aidflow.domain import Policy
from aidflow.projections.audit.checks import check
from aidflow.projections.audit.tables import (
    audit_account_table,
    audit_case_table,
    audit_fund_table,
    journal_table,
    ledger_table,
    ledger_total_table,
    metadata,
)
from aidflow.projections.models import DonorShare, FundTotals, Ledger, LedgerLine

L = import_module("aidflow.projections.audit.ledger")  # the package re-exports ledger()
T0 = datetime(2026, 9, 1, 8, tzinfo=UTC)
Move = tuple[Any, ...]
"""(position, entry, fen, case, fund, voucher, need, receipt, source): a ledger row."""


@pytest.fixture
def conn() -> Iterator[Connection]:
    engine = sa.create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as c:
        yield c
    engine.dispose()


def row(
    position: int,
    entry: str,
    fen: int,
    case: str | None = None,
    fund: str | None = "g",
    voucher: str | None = None,
    need: str | None = None,
    receipt: str | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    return {
        "position": position,
        "recorded_at": T0,
        "value_date": None,
        "entry": entry,
        "case_id": case,
        "fund_id": fund,
        "amount_fen": fen,
        "need": need,
        "voucher": voucher,
        "receipt": receipt,
        "source": source,
        "actor": "clerk",
    }


def put(conn: Connection, rows: list[dict[str, Any]], *, backwards: bool = False) -> None:
    """Insert ledger rows, one by one; ``backwards``: latest first (SQL keeps no order)."""
    if backwards:
        rows = rows[::-1]
    for r in rows:
        conn.execute(sa.insert(ledger_table), r)


ENTRIES = {
    "pay": "disbursement",
    "ret": "return",
    "sec": "secondary_aid",
    "sret": "secondary_return",
    "conf": "confirmation",
    "alloc": "allocation",
    "rel": "release",
    "appr": "approval",
    "dep": "deposit",
}


def moves(text: str) -> list[dict[str, Any]]:
    """``"pay c1 100 V1, conf c1 100 V1"``: (entry, case, fen, voucher) rows on fund ``g``
    at positions 1, 2, 3...; ``-`` for no case or no voucher."""
    return [
        row(
            n,
            ENTRIES[entry],
            int(fen),
            None if case == "-" else case,
            voucher=None if v == "-" else v,
        )
        for n, (entry, case, fen, v) in enumerate((m.split() for m in text.split(",")), start=1)
    ]


def cases(conn: Connection, **facts: tuple[str, str]) -> None:
    conn.execute(
        sa.insert(audit_case_table),
        [
            {"case_id": c, "family_category": f, "town": t, "year": 2026}
            for c, (f, t) in facts.items()
        ],
    )


def journal(conn: Connection, *events: tuple[int, str, str, dict[str, Any]]) -> None:
    """(position, event name, aggregate, detail) journal rows, inserted in the order given."""
    for position, name, aggregate, detail in events:
        conn.execute(
            sa.insert(journal_table),
            {
                "position": position,
                "recorded_at": T0,
                "actor": detail.get("actor", "clerk"),
                "stream": name.split(".")[0],
                "aggregate_id": aggregate,
                "version": 1,
                "event_type": name,
                "summary": "",
                "detail": detail,
                "hash": f"h{position}",
                "leaf_index": position,
                "leaf": f"l{position}",
            },
        )


# -- the signed money paid, the window of rows -------------------------------------------


@pytest.mark.parametrize(
    ("entry", "signed"),
    [
        ("disbursement", 100),
        ("return", -100),
        ("secondary_aid", 100),
        ("secondary_return", -100),
        ("deposit", 0),
        ("allocation", 0),
        ("release", 0),
        ("approval", 0),
        ("confirmation", 0),
    ],
)
def test_money_paid_to_a_student_is_signed_by_entry(
    conn: Connection, entry: str, signed: int
) -> None:
    put(conn, [row(1, entry, 100, "c1")])
    assert conn.execute(sa.select(L._signed_paid(ledger_table))).scalar_one() == signed


@pytest.mark.parametrize(
    ("lo", "hi", "positions"),
    [(0, None, [1, 2, 3, 5]), (1, 3, [2, 3]), (2, None, [3, 5]), (3, 4, []), (0, 1, [1])],
)
def test_a_window_excludes_its_lower_edge_and_includes_its_upper(
    conn: Connection, lo: int, hi: int | None, positions: list[int]
) -> None:
    put(conn, [row(p, "deposit", p) for p in (1, 2, 3, 5)])
    rows = L._rows(lo, hi)
    assert list(conn.execute(sa.select(rows.c.position).order_by(rows.c.position)).scalars()) == (
        positions
    )


# -- every part of the totals over one window ------------------------------------------------

BOOKS = [
    row(1, "deposit", 10_000, receipt="B1", source="budget"),
    row(2, "deposit", 3_000, fund="d", receipt="R1", source="Ms Wang"),
    row(3, "allocation", 5_000, "c1"),
    row(4, "approval", 5_000, "c1", need="tuition"),
    row(5, "allocation", 2_000, "c2"),
    row(6, "approval", 2_000, "c2", need="living"),
    row(7, "allocation", 700, "c3"),
    row(8, "approval", 700, "c3", need="tuition"),
    row(9, "disbursement", 5_000, "c1", voucher="V1"),
    row(10, "disbursement", 2_000, "c2", voucher="V2"),
    row(11, "confirmation", 5_000, "c1", voucher="V1"),
    row(12, "return", 2_000, "c2", voucher="V2"),
    row(13, "secondary_aid", 600, "c1", fund="d", voucher="S1"),
    row(14, "secondary_aid", 400, "c1", fund="d", voucher="S2"),
    row(15, "secondary_return", 400, "c1", fund="d", voucher="S2"),
    row(16, "release", 700, "c3"),
]
"""Three cases: c1 paid (and confirmed) with secondary aid, one payment of it returned; c2
paid and returned; c3 approved and released unpaid. c4 has no money at all."""


def test_a_window_sums_every_part(conn: Connection) -> None:
    put(conn, BOOKS)
    cases(
        conn,
        c1=("dibao", "Dalian"),
        c2=("tekun", "Gaoping"),
        c3=("expenditure", "Tuanze"),
        c4=("dibao", "Xinyi"),
    )
    assert L._window(conn, 0, None) == {
        "entry": {
            ("g", "deposit"): 10_000,
            ("d", "deposit"): 3_000,
            ("g", "allocation"): 7_700,
            ("g", "approval"): 7_700,
            ("g", "disbursement"): 7_000,
            ("g", "confirmation"): 5_000,
            ("g", "return"): 2_000,
            ("d", "secondary_aid"): 1_000,
            ("d", "secondary_return"): 400,
            ("g", "release"): 700,
        },
        "need": {("tuition",): 5_700, ("living",): 2_000},
        "family": {("dibao",): 5_600, ("tekun",): 0},
        "town": {("Dalian",): 5_600, ("Gaoping",): 0},
        "assisted": {(): 1},
        "with_secondary": {(): 1},
        "confirmed": {(): 5_000},
    }
    # The same rows cut in two windows: the second holds the changes after position 10.
    assert L._window(conn, 10, None) == {
        "entry": {
            ("g", "confirmation"): 5_000,
            ("g", "return"): 2_000,
            ("d", "secondary_aid"): 1_000,
            ("d", "secondary_return"): 400,
            ("g", "release"): 700,
        },
        "need": {},
        "family": {("dibao",): 600, ("tekun",): -2_000},
        "town": {("Dalian",): 600, ("Gaoping",): -2_000},
        "assisted": {(): -1},
        "with_secondary": {(): 1},
        "confirmed": {(): 5_000},
    }


@pytest.mark.parametrize(
    ("history", "lo", "hi", "counts"),
    [
        ("pay c1 1 V1", 0, None, (1, 0, 0)),  # one fen paid: assisted
        ("pay c1 1 V1, pay c1 1 V2", 1, 2, (0, 0, 0)),  # paid at lo: before the window
        ("pay c1 5 V1, ret c1 5 V1", 1, None, (-1, 0, 0)),
        ("pay c1 1 V1, pay c2 1 V2, ret c2 1 V2", 0, 2, (2, 0, 0)),  # paid at hi: in it
        ("pay c1 5 V1, sec c1 1 S1", 1, 2, (0, 1, 0)),
        ("pay c1 5 V1, sec c1 1 S1, sec c1 1 S2", 2, 3, (0, 0, 0)),
        ("pay c1 5 V1, sec c1 3 S1, sret c1 3 S1", 0, None, (1, 0, 0)),
        ("pay c1 5 V1, sec c1 3 S1, sret c1 3 S1", 2, None, (0, -1, 0)),
        ("pay c1 100 V1, conf c1 100 V1, pay c1 50 V2, conf c1 50 V2", 0, 3, (1, 0, 100)),
    ],
)
def test_a_window_changes_the_case_counts_and_the_confirmed_money(
    conn: Connection,
    history: str,
    lo: int,
    hi: int | None,
    counts: tuple[int, int, int],
) -> None:
    """(students assisted, with secondary aid, confirmed fen): their change over (lo, hi]."""
    put(conn, moves(history))
    totals = L._window(conn, lo, hi)
    assert (
        totals["assisted"][()],
        totals["with_secondary"][()],
        totals["confirmed"][()],
    ) == counts


# -- the confirmed money ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("history", "lo", "hi", "change"),
    [
        ("pay c1 100 V1, conf c1 100 V1", 0, 2, 100),  # confirmed at hi
        ("pay c1 100 V1, conf c1 100 V1", 0, 1, 0),  # after hi
        ("pay c1 100 V1, conf c1 100 V1, ret c1 100 V1", 2, 3, -100),  # confirmed at lo
        ("pay c1 100 V1, pay c1 30 V2, conf c1 100 V1, ret c1 30 V2", 0, None, 100),
        ("pay c1 100 V1, pay c2 100 V1, conf c1 100 V1, ret c2 100 V1", 0, None, 100),
    ],
)
def test_confirmed_money_over_a_window(
    conn: Connection, history: str, lo: int, hi: int | None, change: int
) -> None:
    put(conn, moves(history))
    assert L._confirmed_change(conn, L._rows(lo, hi), lo, hi) == change


def test_confirmed_money_is_replayed_in_position_order(conn: Connection) -> None:
    """Paid, confirmed, then returned: nothing stays confirmed, whatever order rows are kept in
    (replayed the other way round, the return would come before the confirmation)."""
    put(conn, moves("pay c1 100 V1, conf c1 100 V1, ret c1 100 V1"), backwards=True)
    assert L._confirmed_change(conn, L._rows(0, None), 0, None) == 0


@pytest.mark.parametrize(
    ("history", "total"),
    [
        ("", 0),
        ("conf c1 100 V1, ret c1 100 V1", 0),
        ("conf c1 100 V1, conf c1 50 V2, ret c1 100 V1", 50),
        ("conf c1 100 V1, sret c1 100 V1, ret c1 100 V1", 0),  # a 2nd return takes nothing
        ("ret c1 100 V1", 0),
        ("conf c1 100 V1, ret c2 100 V1", 100),
    ],
)
def test_confirmed_total_takes_back_only_returns_of_confirmed_payments(
    history: str, total: int
) -> None:
    rows = moves(history) if history else []
    assert (
        L._confirmed_total((r["entry"], r["case_id"], r["voucher"], r["amount_fen"]) for r in rows)
        == total
    )


# -- checkpoints -----------------------------------------------------------------------------


def stored(conn: Connection) -> dict[int, dict[str, dict[str, int]]]:
    """The running totals stored: position -> part -> grouping (JSON text) -> total."""
    T = ledger_total_table
    found: dict[int, dict[str, dict[str, int]]] = {}
    for position, part, grouping, total in conn.execute(sa.select(T)):
        found.setdefault(position, {}).setdefault(part, {})[grouping] = total
    return found


def test_the_checkpoint_at_or_before_a_position(conn: Connection) -> None:
    T = ledger_total_table
    assert L._checkpoint(conn, None) == (0, {})
    conn.execute(
        sa.insert(T),
        [
            {"position": 4, "part": "entry", "grouping": '["g","deposit"]', "total": 100},
            {"position": 4, "part": "assisted", "grouping": "[]", "total": 1},
            {"position": 8, "part": "entry", "grouping": '["g","deposit"]', "total": 300},
            {"position": 8, "part": "entry", "grouping": '["g","release"]', "total": 20},
            {"position": 8, "part": "need", "grouping": '["tuition"]', "total": 50},
            {"position": 8, "part": "assisted", "grouping": "[]", "total": 2},
        ],
    )
    at_8 = {
        "entry": {("g", "deposit"): 300, ("g", "release"): 20},
        "need": {("tuition",): 50},
        "assisted": {(): 2},
    }
    at_4 = {"entry": {("g", "deposit"): 100}, "assisted": {(): 1}}
    assert L._checkpoint(conn, None) == (8, at_8)
    assert L._checkpoint(conn, 9) == (8, at_8)
    assert L._checkpoint(conn, 8) == (8, at_8)
    assert L._checkpoint(conn, 7) == (4, at_4)
    assert L._checkpoint(conn, 4) == (4, at_4)
    assert L._checkpoint(conn, 3) == (0, {})


HISTORY = [
    row(2, "deposit", 1_000, receipt="B1", source="budget"),
    row(3, "allocation", 500, "c1"),
    row(4, "approval", 500, "c1", need="tuition"),
    row(5, "disbursement", 500, "c1", voucher="V1"),
    row(7, "confirmation", 500, "c1", voucher="V1"),
    row(9, "deposit", 300, fund="d", receipt="R1", source="Ms Wang"),
    row(10, "secondary_aid", 100, "c1", fund="d", voucher="S1"),
    row(12, "secondary_return", 100, "c1", fund="d", voucher="S1"),
    row(13, "deposit", 50, receipt="B2", source="budget"),
]
"""Nine ledger rows between journal positions 1 and 13 (1, 6, 8 and 11 move no money:
funds g, a and d open at 1, 6 and 8): checkpoints every 3 rows fall at 4, 9 and 13."""

COUNTS_0 = {"assisted": {"[]": 0}, "with_secondary": {"[]": 0}}
CHECKPOINTS = {
    4: {
        "entry": {'["g","deposit"]': 1_000, '["g","allocation"]': 500, '["g","approval"]': 500},
        "need": {'["tuition"]': 500},
        **COUNTS_0,
        "confirmed": {"[]": 0},
    },
    9: {
        "entry": {
            '["g","deposit"]': 1_000,
            '["g","allocation"]': 500,
            '["g","approval"]': 500,
            '["g","disbursement"]': 500,
            '["g","confirmation"]': 500,
            '["d","deposit"]': 300,
        },
        "need": {'["tuition"]': 500},
        "family": {'["dibao"]': 500},
        "town": {'["Dalian"]': 500},
        "assisted": {"[]": 1},
        "with_secondary": {"[]": 0},
        "confirmed": {"[]": 500},
    },
    13: {
        "entry": {
            '["g","deposit"]': 1_050,
            '["g","allocation"]': 500,
            '["g","approval"]': 500,
            '["g","disbursement"]': 500,
            '["g","confirmation"]': 500,
            '["d","deposit"]': 300,
            '["d","secondary_aid"]': 100,
            '["d","secondary_return"]': 100,
        },
        "need": {'["tuition"]': 500},
        "family": {'["dibao"]': 500},
        "town": {'["Dalian"]': 500},
        "assisted": {"[]": 1},
        "with_secondary": {"[]": 0},
        "confirmed": {"[]": 500},
    },
}


def books(conn: Connection, ledger_rows: list[dict[str, Any]]) -> None:
    """HISTORY's journal, funds and case, with the ledger rows given (stored latest first)."""
    journal(conn, *((p, "x.event", "agg", {}) for p in range(1, 14)))
    conn.execute(
        sa.insert(audit_fund_table),
        [
            {"fund_id": "g", "name": "Budget 2026", "kind": "government", "position": 1},
            {"fund_id": "a", "name": "Budget 2026", "kind": "government", "position": 6},
            {"fund_id": "d", "name": "Alumni gifts", "kind": "donation", "position": 8},
        ],
    )
    cases(conn, c1=("dibao", "Dalian"))
    put(conn, ledger_rows, backwards=True)


@pytest.fixture
def every_3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(L, "CHECKPOINT_ROWS", 3)


@pytest.mark.usefixtures("every_3")
def test_checkpoints_fall_on_every_nth_row_with_the_totals_so_far(conn: Connection) -> None:
    books(conn, HISTORY)
    assert L.take_checkpoints(conn, None, 0) == (13, 0)
    assert stored(conn) == CHECKPOINTS
    assert L.take_checkpoints(conn, None, 0) == (13, 0)  # nothing new is due


@pytest.mark.usefixtures("every_3")
def test_checkpoints_taken_page_by_page_are_the_same(conn: Connection) -> None:
    """The writer's pages: 2 rows, 4 rows (a checkpoint on its 1st), 2 rows, 1 row (the
    3rd after the last checkpoint: one falls on it)."""
    books(conn, HISTORY[:2])
    assert L.take_checkpoints(conn, None, 2) == (0, 2)  # read from the tables
    put(conn, HISTORY[2:6])
    assert L.take_checkpoints(conn, (0, 2), 4) == (9, 0)
    put(conn, HISTORY[6:8])
    assert L.take_checkpoints(conn, (9, 0), 2) == (9, 2)
    assert L.take_checkpoints(conn, None, 0) == (9, 2)  # what a new process reads back
    put(conn, HISTORY[8:])
    assert L.take_checkpoints(conn, (9, 2), 1) == (13, 0)
    assert stored(conn) == CHECKPOINTS


def test_an_empty_ledger(conn: Connection) -> None:
    assert L.ledger(conn) == Ledger(
        position=0,
        entries=[],
        funds=[],
        government_approved_fen=0,
        government_disbursed_fen=0,
        secondary_aid_fen=0,
        donations_received_fen=0,
        budget_received_fen=0,
        total_disbursed_fen=0,
        students_assisted=0,
        students_with_secondary_aid=0,
        by_need_fen={},
        by_family_category_fen={},
        by_town_fen={},
        confirmed_fen=0,
        unconfirmed_fen=0,
    )


def fund(fund_id: str, name: str, kind: str, **fen: int) -> FundTotals:
    totals = dict.fromkeys(("deposited", "allocated", "released", "disbursed", "secondary_aid"), 0)
    totals |= fen
    return FundTotals(
        fund_id=fund_id,
        name=name,
        kind=kind,
        balance_fen=totals["deposited"] - totals["allocated"] + totals["released"],
        **{f"{k}_fen": v for k, v in totals.items()},
    )


G = "g", "Budget 2026", "government"
A = "a", "Budget 2026", "government"
D = "d", "Alumni gifts", "donation"
G_PAID = fund(*G, deposited=1_000, allocated=500, disbursed=500)
FUNDS = {  # by name, then id; a fund from the position it opened at
    3: [fund(*G, deposited=1_000, allocated=500)],
    5: [G_PAID],
    8: [fund(*D), fund(*A), G_PAID],
    10: [fund(*D, deposited=300, secondary_aid=100), fund(*A), G_PAID],
    13: [
        fund(*D, deposited=300),
        fund(*A),
        fund(*G, deposited=1_050, allocated=500, disbursed=500),
    ],
}
# fmt: off
FIGURES = {
    # approved, gov paid, secondary, donations, budget, assisted, with secondary, confirmed
    3: (0, 0, 0, 0, 1_000, 0, 0, 0),
    5: (500, 500, 0, 0, 1_000, 1, 0, 0),
    8: (500, 500, 0, 0, 1_000, 1, 0, 500),
    10: (500, 500, 100, 300, 1_000, 1, 1, 500),
    13: (500, 500, 0, 300, 1_050, 1, 0, 500),
}
# fmt: on


@pytest.mark.usefixtures("every_3")
@pytest.mark.parametrize("upto", [3, 5, 8, 10, 13, None])
@pytest.mark.parametrize("checkpoints", [True, False])
def test_the_ledger_as_of_a_position(conn: Connection, upto: int | None, checkpoints: bool) -> None:
    """From the checkpoints at 4, 9 and 13 plus the rows after, or from the rows alone."""
    books(conn, HISTORY)
    if checkpoints:
        L.take_checkpoints(conn, None, 0)
    approved, gov, secondary, donations, budget, assisted, with_secondary, confirmed = FIGURES[
        upto or 13
    ]
    paid = {"dibao": gov + secondary} if gov else {}
    assert L.ledger(conn, upto=upto) == Ledger(
        position=upto or 13,
        entries=[],
        funds=FUNDS[upto or 13],
        government_approved_fen=approved,
        government_disbursed_fen=gov,
        secondary_aid_fen=secondary,
        donations_received_fen=donations,
        budget_received_fen=budget,
        total_disbursed_fen=gov + secondary,
        students_assisted=assisted,
        students_with_secondary_aid=with_secondary,
        by_need_fen={"tuition": 500} if approved else {},
        by_family_category_fen=paid,
        by_town_fen={"Dalian": paid["dibao"]} if paid else {},
        confirmed_fen=confirmed,
        unconfirmed_fen=gov + secondary - confirmed,
    )


@pytest.mark.parametrize("upto", [None, 7, 10])
def test_the_ledger_lines_up_to_a_position_in_position_order(
    conn: Connection, upto: int | None
) -> None:
    books(conn, HISTORY)
    expected = [
        LedgerLine.model_validate(r) for r in HISTORY if upto is None or r["position"] <= upto
    ]
    assert L._lines(conn, upto) == expected
    assert L.ledger(conn, entries=True, upto=upto).entries == expected


def test_a_breakdown_is_in_the_order_of_its_keys_text() -> None:
    totals = {"town": {("a",): 1, ("Ximeng",): 2, ("B",): 3, ("Dalian",): 4}}
    assert list(L._grouped(totals, "town").items()) == [
        ("B", 3),
        ("Dalian", 4),
        ("Ximeng", 2),
        ("a", 1),
    ]


# -- which donation reached which student ----------------------------------------------------

TRACE = [
    row(1, "deposit", 100, fund="d", receipt="R1", source="Ms Wang"),
    row(2, "deposit", 50, fund="d"),  # neither receipt nor source recorded
    row(3, "deposit", 1_000, fund="x", receipt="R9", source="other fund"),
    row(4, "secondary_aid", 60, "c1", fund="d", voucher="S1"),
    row(5, "secondary_aid", 70, "c2", fund="d", voucher="S2"),
    row(6, "secondary_aid", 1, "c5", fund="d", voucher="S5"),
    row(7, "secondary_return", 70, "c2", fund="d", voucher="S2"),
    row(8, "deposit", 30, fund="d", receipt="R3", source="Mr Li"),
    row(9, "secondary_aid", 100, "c3", fund="d", voucher="S3"),
    row(10, "secondary_aid", 100, "c4", fund="d", voucher="S4"),
    row(11, "secondary_aid", 5, "c9", fund="x", voucher="S9"),
    row(12, "allocation", 100, "c4", fund="d"),
]


@pytest.mark.parametrize(
    ("upto", "shares"),
    [
        (
            None,
            [
                ("R1", "Ms Wang", "c1", "S1", 60),
                ("R1", "Ms Wang", "c5", "S5", 1),
                ("R1", "Ms Wang", "c3", "S3", 39),
                ("", "", "c3", "S3", 50),
                ("R3", "Mr Li", "c3", "S3", 11),
                ("R3", "Mr Li", "c4", "S4", 19),  # the deposits run out
            ],
        ),
        (
            9,
            [
                ("R1", "Ms Wang", "c1", "S1", 60),
                ("R1", "Ms Wang", "c5", "S5", 1),
                ("R1", "Ms Wang", "c3", "S3", 39),
                ("", "", "c3", "S3", 50),
                ("R3", "Mr Li", "c3", "S3", 11),
            ],
        ),
        (
            6,
            [
                ("R1", "Ms Wang", "c1", "S1", 60),
                ("R1", "Ms Wang", "c2", "S2", 40),
                ("", "", "c2", "S2", 30),
                ("", "", "c5", "S5", 1),
            ],
        ),
    ],
)
def test_donations_reach_students_first_in_first_out(
    conn: Connection, upto: int | None, shares: list[tuple[Any, ...]]
) -> None:
    put(conn, TRACE, backwards=True)
    assert L.donor_trace(conn, "d", upto=upto) == [
        DonorShare(receipt=r, source=s, case_id=c, voucher=v, amount_fen=fen)
        for r, s, c, v, fen in shares
    ]


def test_secondary_aid_paid_at_once_adds_up_per_case(conn: Connection) -> None:
    """v0.1 allocated secondary aid in one step, with no voucher: a case's allocations add up."""
    put(
        conn,
        [
            row(1, "deposit", 200, fund="d", receipt="R1", source="Ms Wang"),
            row(2, "secondary_aid", 50, "c6", fund="d"),
            row(3, "secondary_aid", 30, "c6", fund="d"),
        ],
    )
    assert L.donor_trace(conn, "d") == [
        DonorShare(receipt="R1", source="Ms Wang", case_id="c6", voucher=None, amount_fen=80)
    ]


# -- cases that may still be paid --------------------------------------------------------------


@pytest.mark.parametrize(
    ("history", "payable"),
    [
        ("alloc c1 100 -", ["c1"]),
        ("alloc c1 100 -, rel c1 100 -", []),
        ("alloc c1 100 -, rel c1 99 -", ["c1"]),  # one fen still reserved
        ("alloc c1 100 -, appr c1 100 -, pay c1 100 V1, conf c1 100 V1", []),
        ("alloc c1 100 -, pay c1 100 V1", ["c1"]),  # paid, no statement yet
        ("alloc c1 100 -, pay c1 100 V1, conf c1 100 V1, ret c1 100 V1", ["c1"]),
        ("alloc c1 100 -, sec c1 100 S1, conf c1 100 S1, sret c1 100 S1", ["c1"]),
        ("alloc c1 100 -, sec c1 100 S1", ["c1"]),
        ("alloc c1 100 -, sec c1 100 -", []),  # v0.1: secondary aid paid at once
        ("alloc c2 100 -, alloc c1 1 -", ["c2", "c1"]),  # in the order first seen
        ("dep - 100 -", []),
    ],
)
def test_payable_cases_hold_reserved_money_not_settled(
    conn: Connection, history: str, payable: list[str]
) -> None:
    put(conn, moves(history))
    put(conn, [row(100, "allocation", 100, "c9", fund="x")])  # another fund's
    assert L.payable_cases(conn, "g") == payable


# -- the audit checks over the journal up to a position ----------------------------------------


@pytest.fixture
def audited(conn: Connection) -> Connection:
    """A case paid and closed without a follow-up (against the strict-close rule), events of an
    unknown kind at 1 and 4, and one account held by two people from 4 until the second
    person's account is corrected at 5 (account rows stored latest first)."""
    journal(
        conn,
        (4, "x.unknown", "a1", {}),
        (3, "case.closed", "c1", {"releases": {}, "actor": "clerk"}),
        (2, "case.disbursed", "c1", {"amount_fen": 100, "voucher": "V1", "actor": "cashier"}),
        (1, "x.unknown", "a1", {}),
    )
    A = audit_account_table
    conn.execute(sa.insert(A), {"position": 5, "case_id": "c2", "person": "p2", "account": "Z"})
    conn.execute(sa.insert(A), {"position": 4, "case_id": "c2", "person": "p2", "account": "X"})
    conn.execute(sa.insert(A), {"position": 2, "case_id": "c1", "person": "p1", "account": "X"})
    return conn


NOW = datetime(2026, 9, 2, tzinfo=UTC)
WATCHED = {"closed_against_rules", "shared_account", "unknown_event"}
"""The findings these rows are about (the payment without an approval makes others)."""


@pytest.mark.parametrize(
    ("upto", "base", "found", "position"),
    [
        (3, None, [("closed_against_rules", [3]), ("unknown_event", [1])], 3),
        (3, Policy(strict_close=False), [("unknown_event", [1])], 3),
        (
            4,
            None,
            [("closed_against_rules", [3]), ("shared_account", [2, 4]), ("unknown_event", [1, 4])],
            4,
        ),
        (None, None, [("closed_against_rules", [3]), ("unknown_event", [1, 4])], 4),
    ],
)
def test_checks_read_the_journal_and_accounts_up_to_a_position(
    audited: Connection,
    upto: int | None,
    base: Policy | None,
    found: list[tuple[str, list[int]]],
    position: int,
) -> None:
    result = check(audited, Policy(), NOW, upto=upto, base=base)
    assert sorted((v.rule, v.positions) for v in result.violations if v.rule in WATCHED) == found
    assert result.position == position
    assert result.events == position
