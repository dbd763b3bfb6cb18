"""What keeps one caller from taking the service from everyone else: a bounded request
body, and a bounded number of long-polls waiting at once (per member and in all).

A 200 MB body used to be read and parsed whole (the service froze for half a minute), and
45 long-polls took every worker thread; both are refused now before they cost anything,
with the service's own error shape and a status a client knows to back off on.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

from aidflow.domain.errors import BodyTooLarge, TooManySearches, TooManyWaits, said

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY_BYTES = 8 * 2**20
"""A request body larger than this is refused (413): a 100,000-line statement is ~5 MB."""
WAITS_PER_MEMBER = 4
"""Long-polls one staff member may have waiting at once."""
WAITS_IN_ALL = 16
"""Long-polls waiting at once in all, so that threads remain for everyone's requests."""
SEARCHES_PER_MINUTE = 20
"""Searches by ID or name one staff member may make in a minute: enough for a counter,
too few to confirm a list of guessed IDs (each search is recorded as well)."""


def too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(
        said(
            "the request body is larger than {limit} bytes; send less at once",
            limit=f"{limit:,}",
        )
    )


class BodyLimit:
    """ASGI middleware: a declared ``Content-Length`` over the limit is refused before the
    body is read; a body sent without one is counted as it arrives and refused once over
    (the 413 is sent at once; the application is told the client went away, and whatever
    it answers to that is dropped)."""

    def __init__(
        self, app: ASGIApp, *, limit: int, refuse: Callable[[BodyTooLarge], ASGIApp]
    ) -> None:
        self.app, self.limit, self.refuse = app, limit, refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self.refuse(too_large(self.limit))(scope, receive, send)
            return
        received = 0
        refused = False

        async def counted() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:  # answer now; the app is told the client left
                    refused = True
                    await self.refuse(too_large(self.limit))(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def unless_refused(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counted, unless_refused)


class Waits:
    """The long-polls waiting now, by staff member; a slot beyond either cap is refused."""

    def __init__(self, per_member: int = WAITS_PER_MEMBER, in_all: int = WAITS_IN_ALL) -> None:
        self.per_member, self.in_all = per_member, in_all
        self.waiting: Counter[str] = Counter()
        self.lock = threading.Lock()

    @contextmanager
    def slot(self, member: str) -> Iterator[None]:
        with self.lock:
            if self.waiting[member] >= self.per_member or self.waiting.total() >= self.in_all:
                raise TooManyWaits(
                    said(
                        "too many long-polls waiting at once ({per_member} per member, {in_all} in all); ask again without wait, or after a moment",
                        per_member=self.per_member,
                        in_all=self.in_all,
                    )
                )
            self.waiting[member] += 1
        try:
            yield
        finally:
            with self.lock:
                self.waiting[member] -= 1


class Searches:
    """Searches by ID or name per staff member in the last minute; one more is refused."""

    def __init__(
        self, per_minute: int = SEARCHES_PER_MINUTE, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_minute, self.clock = per_minute, clock
        self.made: defaultdict[str, deque[float]] = defaultdict(deque)
        self.lock = threading.Lock()

    def take(self, member: str) -> None:
        now = self.clock()
        with self.lock:
            made = self.made[member]
            while made and now - made[0] >= 60:
                made.popleft()
            if len(made) >= self.per_minute:
                raise TooManySearches(
                    said(
                        "{per_minute} searches by ID or name in a minute is the most one member may make; wait a moment",
                        per_minute=self.per_minute,
                    )
                )
            made.append(now)
