"""The long-running follower: keeps a runner's views current until it is told to stop.

It first catches up in pages from the tracked positions. Then, on PostgreSQL, it
reads the library's LISTEN/NOTIFY subscription (which yields events in position
order) and applies what has arrived in batches; on SQLite, whose recorder cannot
subscribe, it polls through the one wait loop (:func:`aidflow.polling.poll`).
Each batch is written with its tracking positions in one transaction, so a killed
follower resumes where it stopped, neither skipping nor repeating an event.
"""

from __future__ import annotations

import queue as queue_module
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from threading import Event, Thread
from typing import Protocol

from eventsourcing.persistence import ApplicationRecorder, Notification, Subscription

from aidflow.polling import poll
from aidflow.projections.source import EventSource, Stored


class Followed(Protocol):
    """What the follower needs of a runner (:class:`~aidflow.projections.runner.Runner`)."""

    page_size: int

    def catch_up(self, source: EventSource) -> int: ...

    def apply(self, source: EventSource, records: Sequence[Stored]) -> int: ...

    def resume_from(self, source: EventSource) -> int: ...


def follow(
    runner: Followed,
    source: EventSource,
    *,
    stop: Event | None = None,
    poll_seconds: float = 0.5,
    on_batch: Callable[[int], None] | None = None,
) -> None:
    """Keep the runner's views current until ``stop`` is set (see the module's docstring)."""
    stop = stop or Event()

    def report(applied: int) -> None:
        if applied and on_batch is not None:
            on_batch(applied)

    report(runner.catch_up(source))
    try:
        subscription = source.recorder.subscribe(gt=runner.resume_from(source))
    except NotImplementedError:
        while not stop.is_set():
            report(poll(lambda: runner.catch_up(source), poll_seconds=poll_seconds, stop=stop) or 0)
        return
    with _pumped(subscription, 4 * runner.page_size) as arrived:
        while not stop.is_set():
            try:
                first = arrived.get(timeout=poll_seconds)
            except queue_module.Empty:
                continue
            batch = [first, *_drain(arrived, runner.page_size - 1)]
            records = [n for n in batch if n is not None]
            report(runner.apply(source, records))
            if len(records) < len(batch):
                break  # the subscription ended (database gone): let the caller restart


def _drain(
    arrived: queue_module.Queue[Notification | None], most: int
) -> list[Notification | None]:
    """Up to ``most`` more notifications that have already arrived, without waiting."""
    more: list[Notification | None] = []
    while len(more) < most:
        try:
            more.append(arrived.get_nowait())
        except queue_module.Empty:
            break
    return more


@contextmanager
def _pumped(
    subscription: Subscription[ApplicationRecorder], size: int
) -> Iterator[queue_module.Queue[Notification | None]]:
    """The subscription's notifications, moved to a queue by a thread (None: it ended)."""
    arrived: queue_module.Queue[Notification | None] = queue_module.Queue(maxsize=size)

    def pump() -> None:
        try:
            for notification in subscription:
                arrived.put(notification)
        finally:
            arrived.put(None)

    pumping = Thread(target=pump, name="aidflow-follower-pump", daemon=True)
    pumping.start()
    try:
        yield arrived
    finally:
        subscription.stop()
        pumping.join(timeout=5)
