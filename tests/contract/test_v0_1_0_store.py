"""A store written by v0.1.0 (``aidflow demo`` at tag v0.1.0) still works with today's code.

The fixture under ``fixtures/v0.1.0/`` was built by that release and committed with
its digest, ledger and checks. Every release adds its own fixture and keeps these
tests passing for all earlier ones (docs/domain.md, "Versioning").
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from uuid import UUID

import pytest

from aidflow import AidFlow
from aidflow import commands as cmd
from aidflow.domain.errors import DuplicateApplication, VoucherAlreadyUsed
from aidflow.domain.fund import Fund
from tests.builders import application, register_staff

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def old_store(tmp_path: Path) -> Path:
    """A private copy: tests write to it, the committed fixture never changes."""
    copy = tmp_path / "v0.1.0.db"
    shutil.copy(FIXTURES / "v0.1.0" / "v0.1.0.db", copy)
    return copy


def _recorded(name: str) -> dict:  # type: ignore[type-arg]
    return json.loads((FIXTURES / "v0.1.0" / name).read_text())


def _originators(db: Path) -> dict[UUID, str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT originator_id, topic FROM stored_events WHERE originator_version = 1"
        ).fetchall()
    return {UUID(row[0]): row[1] for row in rows}


def test_every_aggregate_of_a_v0_1_0_store_replays(old_store: Path) -> None:
    flow = AidFlow.open(f"sqlite:///{old_store}")
    originators = _originators(old_store)
    assert len(originators) == 231 * 2 + 207 + 2  # cases + enrolments, vouchers, funds
    kinds: dict[str, int] = {}
    for aggregate_id in originators:
        aggregate = flow.repository.get(aggregate_id)
        kinds[type(aggregate).__name__] = kinds.get(type(aggregate).__name__, 0) + 1
    assert kinds == {"StudentCase": 231, "Enrolment": 231, "Voucher": 207, "Fund": 2}


def test_funds_load_from_v1_snapshots_with_the_recorded_balances(old_store: Path) -> None:
    flow = AidFlow.open(f"sqlite:///{old_store}")
    with sqlite3.connect(old_store) as conn:
        snapshotted = {
            UUID(r[0]) for r in conn.execute("SELECT originator_id FROM stored_snapshots")
        }
    assert snapshotted, "the fixture should hold v1 fund snapshots"
    for recorded in _recorded("ledger.json")["funds"]:
        fund_id = UUID(recorded["fund_id"])
        from_snapshot = flow.repository.get(fund_id)
        replayed = None
        for event in flow.events.get(fund_id):  # from the events alone, no snapshot
            replayed = event.mutate(replayed)
        assert isinstance(replayed, Fund)
        assert isinstance(from_snapshot, Fund)
        assert not hasattr(from_snapshot, "allocated_by_case")  # upcast to v2
        for aggregate in (from_snapshot, replayed):
            assert aggregate.balance_fen == recorded["balance_fen"]
            assert aggregate.deposited_fen == recorded["deposited_fen"]
            assert aggregate.allocated_fen == recorded["allocated_fen"]


def test_new_commands_on_old_cases_write_only_stable_topics(old_store: Path) -> None:
    flow = AidFlow.open(f"sqlite:///{old_store}")
    register_staff(flow)  # v0.1.0 had no registry: the first admin registers on the old store
    before = flow.recorder.max_notification_id() or 0
    case_id = next(i for i, topic in _originators(old_store).items() if "StudentCase" in topic)
    case = flow.load_case(case_id)
    flow.report_hardship(
        cmd.ReportHardship(case_id=case_id, kind="illness", detail="hospital stay", actor="clerk")
    )
    assert flow.load_case(case_id).hardships == case.hardships + 1
    with sqlite3.connect(old_store) as conn:
        new_topics = {
            r[0]
            for r in conn.execute(
                "SELECT topic FROM stored_events WHERE rowid > ?", (before,)
            ).fetchall()
        }
    assert new_topics == {"aidflow:StudentCase.HardshipReported"}


def test_a_v0_1_0_voucher_is_still_unique(old_store: Path) -> None:
    """Vouchers issued before canonical keys keep their ids: any spelling of an old voucher
    number is refused for another payment."""
    flow = AidFlow.open(f"sqlite:///{old_store}")
    register_staff(flow)
    cases = [
        flow.load_case(cid)
        for cid, topic in _originators(old_store).items()
        if topic.endswith("StudentCase.Applied")
    ]
    paid = next(c for c in cases if c.payments)
    voucher = str(next(iter(paid.payments.values()))["voucher"])
    other = next(c for c in cases if c.id != paid.id)
    for spelling in (voucher, voucher.lower(), f" {voucher} "):
        with pytest.raises(VoucherAlreadyUsed):
            flow.disburse(
                cmd.Disburse(case_id=other.id, amount_fen=1, voucher=spelling, actor="cashier")
            )


def test_a_v0_1_0_students_year_is_found_by_a_screening_batch_and_by_one_application(
    old_store: Path,
) -> None:
    """A v0.1.0 enrolment key has its id from the ID itself: a screening batch's look-up asks
    for that form too, so the student's new case links to the old one, and a second case for
    the old year is refused, one at a time or in a batch (whose save conflicted only on this
    release's form, so a batch opened the second case)."""
    with sqlite3.connect(old_store) as conn:
        state = conn.execute(
            "SELECT state FROM stored_events WHERE topic LIKE '%Enrolment.Registered' LIMIT 1"
        ).fetchone()[0]
    registered = json.loads(state)
    student, year = registered["student_id"], registered["year"]
    old_case = UUID(registered["case_id"]["_data_"])
    flow = AidFlow.open(f"sqlite:///{old_store}")
    register_staff(flow)

    def theirs(in_year: int) -> cmd.Apply:
        return cmd.Apply(**{**application(1, in_year).model_dump(), "student_id": student})

    outcomes = flow.apply_many([theirs(year + 1), application(2, year + 1)])
    assert [flow.load_case(o.case_id).previous_case for o in outcomes] == [old_case, None]
    with pytest.raises(DuplicateApplication) as refused:
        flow.apply(theirs(year))
    assert refused.value.case_id == old_case
    (again,) = flow.apply_many([theirs(year)])  # a screening of the old year: no 2nd case
    assert (again.case_id, again.opened) == (old_case, False)
