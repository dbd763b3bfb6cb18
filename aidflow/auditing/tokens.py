"""Tokens issued by one person for another (issue 21 §3): an admin who issues a member's
token can act as that member. The record says who issued each token; this rule flags every
case on which the holder acted under such a token while the issuer acted on it too: one
person may have acted as two (verified and approved, proposed and confirmed)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from aidflow.auditing.state import Checking, shown
from aidflow.domain.canonical import same_person
from aidflow.domain.errors import said
from aidflow.domain.staff import StaffRegistry


class TokenWatch:
    """Who acted on each case, and what holders did under a token someone else issued."""

    def __init__(self, checker: Checking) -> None:
        self.checker = checker
        self.people: dict[str, set[str]] = defaultdict(set)
        """Each case's actors, as people are compared."""
        self.windows: dict[str, tuple[str, int, datetime]] = {}
        """Holder -> (issuer, the issue's position, expiry) of a token another issued."""
        self.under: dict[tuple[str, str, int, str], list[int]] = defaultdict(list)
        """(issuer, holder, issue position, case) -> positions the holder acted at."""

    def token_event(
        self, cls: type[Any], position: int, at: datetime, actor: str, d: dict[str, Any]
    ) -> None:
        holder = same_person(d["name"])
        self.windows.pop(holder, None)  # a new token, or a revocation, ends the last one
        issuer = same_person(actor)
        if cls is StaffRegistry.TokenIssued and issuer != holder:
            expires = d["expires_at"]
            if isinstance(expires, str):
                expires = datetime.fromisoformat(expires)
            self.windows[holder] = (issuer, position, expires)

    def case_event(self, position: int, at: datetime, actor: str, case: str) -> None:
        person = same_person(actor)
        self.people[case].add(person)
        window = self.windows.get(person)
        if window is not None and at < window[2]:
            self.under[(window[0], person, window[1], case)].append(position)

    def finish(self) -> None:
        for (issuer, holder, issued, case), positions in self.under.items():
            if issuer in self.people[case]:
                self.checker.flag(
                    "token_for_another_crosses_duties",
                    said(
                        "{issuer} issued {holder}'s token and acted on this case, on which "
                        "{holder} acted under that token: one person may have acted as two",
                        issuer=issuer,
                        holder=holder,
                    ),
                    shown([issued, *positions]),
                    case=case,
                )
