"""Keeping views current from other processes: the library's runner, and our follower."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from threading import Event, Thread

import pytest

from aidflow import AidFlow
from aidflow.projections import ReadModels, dossier
from aidflow.projections.base import create_view_engine
from aidflow.projections.catalogue import StudentCase
from tests.builders import government_fund, paid, register_staff
from tests.integration.test_projections import dump
from tests.pg import fresh_database


def _follow(url: str) -> None:
    flow = AidFlow.open(url)
    register_staff(flow)
    ReadModels.open(url).follow(flow, poll_seconds=0.1)


def _wait_until_current(url: str, flow: AidFlow, timeout: float = 30) -> ReadModels:
    views = ReadModels.open(url)
    head = flow.recorder.max_notification_id()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(s.position == head for s in views.status(flow)):
            return views
        time.sleep(0.1)
    raise AssertionError(f"follower did not reach {head}: {views.status(flow)}")


def _write(
    flow: AidFlow, first: int, count: int, *, midway: Callable[[], None] | None = None
) -> None:
    gov = government_fund(flow, yuan=100_000)
    for n in range(first, first + count):
        paid(flow, gov, n, yuan=2000)
        if midway is not None and n == first + count // 2:
            midway()


@pytest.mark.postgres
def test_follower_process_survives_a_kill_without_skipping_or_repeating() -> None:
    with fresh_database() as url:
        writer = AidFlow.open(url)
        register_staff(writer)
        ReadModels.open(url).close()  # tables exist before two processes race to create them
        ctx = multiprocessing.get_context("spawn")
        follower = ctx.Process(target=_follow, args=(url,))
        follower.start()
        try:
            _write(writer, 1, 5)
            _wait_until_current(url, writer)

            def kill() -> None:
                os.kill(follower.pid, signal.SIGKILL)  # while events stream in; no clean-up

            _write(writer, 6, 10, midway=kill)
            follower.join()
            _write(writer, 16, 5)  # written while no follower runs
            follower = ctx.Process(target=_follow, args=(url,))
            follower.start()
            _write(writer, 21, 5)
            followed = _wait_until_current(url, writer)
        finally:
            follower.kill()
            follower.join()
        rebuilt = ReadModels(create_view_engine("sqlite:///:memory:"))
        rebuilt.catch_up(writer)
        assert dump(followed) == dump(rebuilt)
        assert len(followed.cases()) == 25
        writer.close()


def test_follower_on_sqlite_polls(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/aidflow.db"
    writer = AidFlow.open(url)
    register_staff(writer)
    ReadModels.open(url).close()
    ctx = multiprocessing.get_context("spawn")
    follower = ctx.Process(target=_follow, args=(url,))
    follower.start()
    try:
        _write(writer, 1, 5)
        followed = _wait_until_current(url, writer)
    finally:
        follower.kill()
        follower.join()
    assert len(followed.cases(status="paid")) == 5
    writer.close()


def test_a_follower_keeps_the_other_views_going_when_one_fails(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path}/aidflow.db"
    writer = AidFlow.open(url)
    register_staff(writer)
    views = ReadModels.open(url)
    monkeypatch.setitem(
        dossier._CHANGES,
        StudentCase.Disbursed,
        lambda case, event, at: (_ for _ in ()).throw(ValueError("cannot hold it")),
    )
    stop = Event()
    following = Thread(
        target=views.follow, args=(AidFlow.open(url),), kwargs={"stop": stop, "poll_seconds": 0.05}
    )
    following.start()
    try:
        _write(writer, 1, 3)
        head = writer.recorder.max_notification_id()
        deadline = time.monotonic() + 30
        status = {s.name: s for s in views.status(writer)}
        while status["audit"].position != head and time.monotonic() < deadline:
            time.sleep(0.05)
            status = {s.name: s for s in views.status(writer)}
        assert status["queue"].position == status["audit"].position == head
        assert "cannot hold it" in (status["dossier"].error or "")
        assert status["dossier"].position == (status["dossier"].failed_position or 0) - 1
        assert following.is_alive()
    finally:
        stop.set()
        following.join(timeout=10)
    writer.close()
