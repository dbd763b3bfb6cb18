"""A search for a student by national ID or name (查询记录), recorded like a reveal.

Finding a case by ID or name tells the finder that a person is (or is not) a student of
the programme: an oracle if anyone may ask unrecorded. So every search is an event: who
asked, whether by ID or by name, a keyed hash of what was asked (never the ID or the
name itself: the record must not become a list of the people looked for) and the cases
it found. One aggregate per search, so searches never contend with each other.
"""

from __future__ import annotations

from eventsourcing.domain import event

from aidflow.domain import canonical
from aidflow.domain.base import AidAggregate

SEARCH_BY = ("student_id", "name")
"""What a search looked by."""


class Search(AidAggregate):
    """One search and what it found (查询记录)."""

    TOPIC = "aidflow:Search"

    class Event(AidAggregate.Event):
        TOPIC = "aidflow:Search.Event"

    class Recorded(Event, AidAggregate.Created):
        """``query``: a keyed hash of the canonical ID or name searched for (32 hex)."""

        TOPIC = "aidflow:Search.Recorded"
        by: str
        query: str
        hits: list[str]
        actor: str

    @event(Recorded)
    def __init__(self, *, by: str, query: str, hits: list[str], actor: str) -> None:
        self.by = by
        self.query = query
        self.hits = hits
        self.actor = actor

    @classmethod
    def record(cls, *, by: str, query: str, hits: list[str], actor: str) -> Search:
        """``by``: one of :data:`SEARCH_BY` (the slice decides it, never the caller)."""
        return cls(by=by, query=query, hits=sorted(hits), actor=canonical.actor(actor))
