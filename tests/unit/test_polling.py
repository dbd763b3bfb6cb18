"""The one wait loop (``aidflow.polling.poll``): what it returns, and when it gives up."""

from __future__ import annotations

import time
from threading import Event, Timer

from aidflow.polling import poll


def test_returns_the_first_non_empty_batch_without_waiting_after_it() -> None:
    answers = iter([[], [], [1, 2], [3]])
    asked: list[int] = []

    def read() -> list[int]:
        asked.append(1)
        return next(answers)

    assert poll(read, poll_seconds=0.001) == [1, 2]
    assert len(asked) == 3  # the batch after it is left for the next call


def test_an_answer_at_once_is_returned_at_once() -> None:
    started = time.monotonic()
    assert poll(lambda: 7, poll_seconds=30) == 7
    assert time.monotonic() - started < 5


def test_stops_when_stop_is_set_while_waiting() -> None:
    stop = Event()
    asked: list[int] = []

    def read() -> list[int]:
        asked.append(1)
        return []

    Timer(0.05, stop.set).start()
    started = time.monotonic()
    assert poll(read, poll_seconds=30, stop=stop) is None
    assert time.monotonic() - started < 5  # the wait ended with the stop, not the 30 s pause
    assert len(asked) == 1


def test_reads_nothing_when_already_stopped() -> None:
    stop = Event()
    stop.set()
    asked: list[int] = []

    def read() -> list[int]:
        asked.append(1)
        return [1]

    assert poll(read, poll_seconds=0.001, stop=stop) is None
    assert asked == []


def test_gives_up_at_the_deadline_after_one_last_read() -> None:
    asked: list[float] = []

    def read() -> list[int]:
        asked.append(time.monotonic())
        return []

    started = time.monotonic()
    assert poll(read, poll_seconds=30, deadline=started + 0.1) is None
    assert time.monotonic() - started < 5  # the pause was cut short at the deadline
    assert len(asked) == 2 and asked[-1] >= started + 0.1  # read once more at the deadline


def test_a_deadline_already_past_still_reads_once() -> None:
    assert poll(lambda: [], poll_seconds=30, deadline=time.monotonic() - 1) is None
    assert poll(lambda: [5], poll_seconds=30, deadline=time.monotonic() - 1) == [5]
