"""The ledger's running totals: a past ledger from a checkpoint plus the rows after it.

With checkpoints every few rows, the ledger as of any position (at, just before and
just after a checkpoint, at both ends) must equal the same ledger computed from the
rows alone (a scratch rebuild taking no checkpoints), and a rebuild in pages of any
size must store the same checkpoints as the incremental catch-up.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from importlib import import_module
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from aidflow import AidFlow
from aidflow.projections import ReadModels
from aidflow.projections.audit.tables import ledger_table, ledger_total_table
from scripts.benchlib.history import build_history
from tests.builders import register_staff
from tests.integration.test_projections import dump
from tests.properties import examples

ledger_module = import_module("aidflow.projections.audit.ledger")  # the package re-exports ledger()
EVERY = 37


def test_past_ledgers_from_checkpoints_equal_the_rows_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ledger_module, "CHECKPOINT_ROWS", EVERY)
    url = f"sqlite:///{tmp_path / 'aidflow.db'}"
    flow = AidFlow.open(url)
    register_staff(flow)
    views = ReadModels.attach(flow, url)
    build_history(flow, 1500, batch_cases=10, progress=lambda _n: views.catch_up(flow))
    with views.engine.connect() as conn:
        rows = conn.execute(sa.select(sa.func.count()).select_from(ledger_table)).scalar_one()
        checkpoints = [
            int(p)
            for (p,) in conn.execute(
                sa.select(ledger_total_table.c.position).distinct().order_by("position")
            )
        ]
    assert rows > 4 * EVERY and len(checkpoints) == rows // EVERY
    head = int(flow.recorder.max_notification_id() or 0)
    rng = random.Random(5)
    positions = {0, 1, head, *rng.sample(range(head), 8)}
    for c in checkpoints[:2] + checkpoints[-2:]:
        positions |= {c - 1, c, c + 1}
    live = {p: views.as_of(position=p).ledger() for p in sorted(positions)}
    live[-1] = views.ledger()
    monkeypatch.setattr(ledger_module, "CHECKPOINT_ROWS", 10**9)  # the rows alone
    for position, answer in live.items():
        reference = ReadModels.rebuilt_as_of(flow, position=head if position < 0 else position)
        try:
            assert answer == reference.ledger(), position
        finally:
            reference.close()
    assert live[-1].students_assisted > 0 and live[-1].students_with_secondary_aid > 0
    # A rebuild in pages of another size stores the same checkpoints as the catch-ups did.
    monkeypatch.setattr(ledger_module, "CHECKPOINT_ROWS", EVERY)
    before = dump(views)
    views.runner.page_size = 53
    views.rebuild(flow)
    assert dump(views) == before
    views.close()
    flow.close()


_ENTRY = st.sampled_from(["confirmation", "return", "secondary_return", "disbursement"])


@settings(max_examples=examples(150))
@given(
    moves=st.lists(
        st.tuples(_ENTRY, st.sampled_from(["c1", "c2", "c3"]), st.sampled_from(["V1", "V2"])),
        max_size=30,
    ),
    cut=st.data(),
)
def test_confirmed_money_over_any_window_is_the_change_of_a_full_replay(
    moves: list[tuple[str, str, str]], cut: st.DataObject
) -> None:
    """A return takes back a payment only if a statement had confirmed it: the running totals
    carry the confirmed money as the window's change, replaying only the keys it touches."""
    engine = sa.create_engine("sqlite://")
    ledger_table.metadata.create_all(engine)
    rows = [
        {
            "position": n,
            "recorded_at": datetime(2026, 9, 1, 8, tzinfo=UTC),
            "entry": entry,
            "case_id": case,
            "fund_id": "f",
            "amount_fen": 100 * n,
            "voucher": voucher,
            "actor": "cashier",
        }
        for n, (entry, case, voucher) in enumerate(moves, start=1)
    ]
    with engine.begin() as conn:
        if rows:
            conn.execute(sa.insert(ledger_table), rows)
        lo = cut.draw(st.integers(min_value=0, max_value=len(rows)))
        hi = cut.draw(st.integers(min_value=lo, max_value=len(rows)))

        def replay(upto: int) -> int:
            return ledger_module._confirmed_total(
                (r["entry"], r["case_id"], r["voucher"], r["amount_fen"])
                for r in rows
                if r["position"] <= upto and r["entry"] != "disbursement"  # not a confirming row
            )

        window = ledger_module._rows(lo, hi)
        assert ledger_module._confirmed_change(conn, window, lo, hi) == replay(hi) - replay(lo)
