"""The integration-event feed: resumable by position, no gaps or repeats under concurrent writers."""

from __future__ import annotations

import threading

import pytest

from aidflow import AidFlow
from aidflow import commands as cmd
from aidflow.application import feed
from aidflow.application.feed import IntegrationEvent
from tests.builders import applied, government_fund, register_officers, register_staff


def test_subscribers_receive_integration_events(flow: AidFlow) -> None:
    got: list[IntegrationEvent] = []
    called: list[int] = []
    flow.listeners.append(lambda records: called.append(len(records)))  # given what was stored
    before = flow.recorder.max_notification_id() or 0  # the test office's registration
    unsubscribe = flow.subscribe(got.append)
    fund = government_fund(flow)
    unsubscribe()
    applied(flow)
    assert [e.name for e in got] == ["fund.opened", "fund.deposited"]
    assert got[0].aggregate_id == str(fund) and got[0].actor == "finance"
    assert [e.position for e in got] == [e.position for e in feed.read(flow, after=before, limit=2)]
    assert called[:2] == [1, 1]  # the fund opened, then its deposit


def test_the_feed_masks_personal_data_and_resumes(flow: AidFlow) -> None:
    applied(flow)
    first = feed.read(flow, after=0, limit=1)
    rest = feed.read(flow, after=first[-1].position, limit=100)
    events = first + rest
    assert len({e.position for e in events}) == len(events)
    case = next(e for e in events if e.name == "case.applied")
    assert case.data["student_id"].count("*") == 10 and case.schema_version == feed.SCHEMA_VERSION
    assert "originator_topic" not in case.data


@pytest.mark.parametrize(
    "store_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_no_gaps_or_repeats_with_concurrent_writers(store_url: str) -> None:
    writers, per_writer = 4, 15
    office = AidFlow.open(store_url)
    register_staff(office)
    register_officers(office, [f"w{w}" for w in range(writers)])
    registered = office.recorder.max_notification_id() or 0
    office.close()
    stop = threading.Event()
    seen: list[int] = []

    def reader() -> None:
        flow = AidFlow.open(store_url)
        try:
            for item in feed.follow(flow, after=0, poll_seconds=0.01, stop=stop, page=7):
                seen.append(item.position)
        finally:
            flow.close()

    def writer(w: int) -> None:
        flow = AidFlow.open(store_url)
        try:
            for i in range(per_writer):
                flow.open_fund(cmd.OpenFund(name=f"F{w}-{i}", kind="donation", actor=f"w{w}"))
        finally:
            flow.close()

    follower = threading.Thread(target=reader)
    follower.start()
    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flow = AidFlow.open(store_url)
    try:
        everything = [e.position for e in feed.read(flow, after=0, limit=1000)]
        head = feed.head(flow)
    finally:
        flow.close()
    for _ in range(200):
        if seen and seen[-1] >= head:
            break
        threading.Event().wait(0.05)
    stop.set()
    follower.join(10)
    assert len(everything) == registered + writers * per_writer
    assert seen == everything  # every event once, in order, nothing skipped
