"""A writer's clock that went back (issue 21 §2): a command is refused with
``ClockWentBack`` rather than stamping a 2020 event after 2026 ones of the same record, and
nothing is written (the audit names such an event in a store written before: see
``tests/unit/test_audit_findings_exact.py``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aidflow import AidFlow
from aidflow import commands as cmd
from aidflow.domain.errors import ClockWentBack
from tests.builders import government_fund, register_staff

NOW = datetime(2026, 8, 1, 9, tzinfo=UTC)


def test_a_command_on_a_record_newer_than_the_clock_is_refused(store_url: str) -> None:
    clock = [NOW]
    flow = AidFlow.open(store_url, clock=lambda: clock[0])
    try:
        register_staff(flow)
        fund = government_fund(flow)
        head = flow.recorder.max_notification_id()
        deposit = cmd.Deposit(
            fund_id=fund, amount_fen=100, source="s", receipt="R-late", actor="finance"
        )
        clock[0] = datetime(2020, 1, 1, tzinfo=UTC)
        with pytest.raises(ClockWentBack) as refused:
            flow.deposit(deposit)
        assert str(refused.value) == (
            "the clock says 2020-01-01T00:00:00+00:00, before this record's last event at "
            "2026-08-01T09:00:00+00:00; set the machine's clock right, nothing was recorded"
        )
        assert refused.value.ids == {"aggregate_id": str(fund)}
        assert flow.recorder.max_notification_id() == head  # nothing written
        clock[0] = NOW  # the same moment is not "before": recorded
        assert flow.deposit(deposit).recorded
        # a moment behind, as a concurrent writer that began before another's commit: the
        # event takes the record's last time, in order
        clock[0] = NOW - timedelta(minutes=1)
        late = cmd.Deposit(
            fund_id=fund, amount_fen=1, source="s", receipt="R-race", actor="finance"
        )
        assert flow.deposit(late).recorded
        assert flow.load_fund(fund).modified_on == NOW
        clock[0] = NOW - timedelta(minutes=5, seconds=1)  # beyond the tolerance: a clock problem
        with pytest.raises(ClockWentBack):
            flow.deposit(late.model_copy(update={"receipt": "R-slow"}))
    finally:
        flow.close()
