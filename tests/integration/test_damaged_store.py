"""Issue 8 §6: a corrupt stored event. `audit verify` names its position; every other command
says the store is damaged and points to `verify`, in one line; nothing is written."""

from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner

from aidflow import AidFlow
from aidflow import commands as cmd
from aidflow.cli import main
from aidflow.domain.errors import StoreDamaged
from aidflow.projections import ReadModels
from tests.builders import corrupt_record, government_fund, paid, register_staff


def test_issue8_6_a_corrupt_event_is_named_by_verify_and_refused_in_one_line_elsewhere(
    store_url: str,
) -> None:
    flow = AidFlow.open(store_url)
    register_staff(flow)
    views = ReadModels.attach(flow, store_url)
    case = paid(flow, government_fund(flow), 1)
    digest = views.digest()
    position = views.position_of_version(case, 2)  # the case's Verified event
    assert position is not None
    corrupt_record(store_url, position)

    result = views.verify(flow, digest)
    assert not result.ok and result.first_mismatch == position

    fresh = AidFlow.open(store_url)
    before = fresh.recorder.max_notification_id()
    try:
        fresh.case(case)
    except StoreDamaged as damaged:
        assert "audit verify" in str(damaged) and damaged.ids == {"aggregate_id": str(case)}
    else:
        raise AssertionError("a corrupt event was read without a word")
    try:
        fresh.report_hardship(
            cmd.ReportHardship(case_id=case, kind="illness", detail="x", actor="clerk")
        )
    except StoreDamaged:
        pass
    else:
        raise AssertionError("a command was decided on a case whose history cannot be read")
    assert fresh.recorder.max_notification_id() == before

    runner = CliRunner()
    env = {"AIDFLOW_DB": store_url, "AIDFLOW_ACTOR": "clerk"}
    shown = runner.invoke(main, ["case", "history", str(case)], env=env)
    assert shown.exit_code == 1, shown.output
    assert shown.stderr.startswith("error:") and "audit verify" in shown.stderr
    assert len(shown.stderr.strip().splitlines()) == 1 and "Traceback" not in shown.output
    verify = runner.invoke(main, ["audit", "verify", str(digest)], env=env)
    assert verify.exit_code == 1 and str(position) in verify.output
    views.close()
    flow.close()
    fresh.close()


def test_a_rebuild_that_stops_on_a_damaged_record_says_so_and_fails(store_url: str) -> None:
    """`projections rebuild` answers what `projections status` would: a view that stopped on
    a record is named with the record and the command exits 1; a view that never reads the
    record is rebuilt to the head and the command succeeds."""
    position, head = _paid_case(store_url, version=2)  # the case's Verified event
    corrupt_record(store_url, position)

    runner = CliRunner()
    env = {"AIDFLOW_DB": store_url, "AIDFLOW_ACTOR": "admin"}
    queue = runner.invoke(main, ["--json", "projections", "rebuild", "queue"], env=env)
    assert queue.exit_code == 0, queue.output
    assert json.loads(queue.stdout) == {"rebuilt": ["queue"], "events": head, "stopped": []}

    audit = runner.invoke(main, ["projections", "rebuild", "audit"], env=env)
    assert audit.exit_code == 1, audit.output
    assert f"audit: rebuilt up to position {position - 1} only, stopped at {position}" in (
        audit.stdout
    )
    assert audit.stderr.startswith("error:") and "audit" in audit.stderr
    assert "Traceback" not in audit.output

    both = runner.invoke(main, ["--json", "projections", "rebuild"], env=env)
    assert both.exit_code == 1, both.output
    stopped = json.loads(both.stdout)["stopped"]
    assert {s["name"] for s in stopped} == {"dossier", "audit"}
    assert {s["failed_position"] for s in stopped} == {position}
    assert json.loads(both.stderr)["error"]["code"] == "views_broken"


def test_a_stored_aggregate_id_that_is_not_one_stops_the_views_as_damage(
    store_url: str,
) -> None:
    """SQLite keeps a record's aggregate id as text, which a hand on the file can change:
    the views that read the record stop right before it on `StoreDamaged` naming its
    position (before, every rebuild ended in an internal error)."""
    if not store_url.startswith("sqlite"):
        pytest.skip("PostgreSQL keeps the aggregate id as a uuid: the server refuses any other")
    position, _ = _paid_case(store_url, version=1)  # the case's Applied event
    flow = AidFlow.open(store_url)
    views = ReadModels.attach(flow, store_url)
    digest = str(views.digest())
    views.close()
    flow.close()
    raw = sqlite3.connect(store_url.removeprefix("sqlite:///"))
    with raw:
        raw.execute("UPDATE stored_events SET originator_id = 'nothex' WHERE rowid = ?", [position])
    raw.close()

    runner = CliRunner()
    env = {"AIDFLOW_DB": store_url, "AIDFLOW_ACTOR": "admin"}
    # the auditor's check names it too (it ended in an internal error that named no record)
    verify = runner.invoke(main, ["audit", "verify", digest], env=env)
    assert verify.exit_code == 1, verify.output
    assert f"the stored record at position {position} " in verify.stderr
    assert "internal error" not in verify.output and "Traceback" not in verify.output
    rebuilt = runner.invoke(main, ["--json", "projections", "rebuild"], env=env)
    assert rebuilt.exit_code == 1, rebuilt.output
    stopped = json.loads(rebuilt.stdout)["stopped"]
    assert {s["name"] for s in stopped} == {"dossier", "queue", "audit"}  # all read Applied
    for view in stopped:
        assert view["failed_position"] == position and view["position"] == position - 1
        assert view["error"].startswith("StoreDamaged: the stored record at position")


def _paid_case(store_url: str, *, version: int) -> tuple[int, int]:
    """A paid case in a new store with its views current: the position of the case's event
    of ``version``, and the store's head."""
    flow = AidFlow.open(store_url)
    register_staff(flow)
    views = ReadModels.attach(flow, store_url)
    case = paid(flow, government_fund(flow), 1)
    position = views.position_of_version(case, version)
    assert position is not None
    head = flow.recorder.max_notification_id() or 0
    views.close()
    flow.close()
    return position, head
