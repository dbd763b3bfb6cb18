"""Findings explained (审计发现的说明): the audit's findings looked at, by whom, and why.

``audit check`` keeps finding what the events show, for ever: the bank's unrelated salary
line, an amount mismatch the bank has since explained. A person records why such a finding
needs no further act (a disposal); ``audit check`` then lists it apart, as disposed, and
stops failing on it. Someone other than the person whose act raised the finding explains it,
and a disposal can be withdrawn. A finding is named by its id (:func:`finding_id`): its rule,
its case or fund, and the positions of the events that raised it, so a new act that raises
the same rule again is a new finding, open until explained in its turn.

One register per store: disposals are rare and read whole by every check.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from aidflow.domain import canonical
from aidflow.domain.base import AidAggregate
from aidflow.domain.errors import InvalidInput, InvalidTransition, SegregationOfDuties, said

FINDINGS_ID: UUID = uuid5(NAMESPACE_URL, "https://aidflow.invalid/findings-register")

FINDING_PREFIX = "F-"


def finding_ref(text: str) -> str:
    """A finding id as typed (``f-1A2B…``, full-width, spaced) in its one form, or refused."""
    value = canonical.nfkc(text).strip()
    head, _, digits = value.partition("-")
    digits = digits.lower()
    if (
        head.upper() + "-" != FINDING_PREFIX
        or len(digits) != 12
        or any(c not in "0123456789abcdef" for c in digits)
    ):
        raise InvalidInput(
            said(
                "{text!r} is not a finding id like F-1a2b3c4d5e6f (see `aidflow audit check`)",
                text=text,
            )
        )
    return FINDING_PREFIX + digits


def finding_id(
    rule: str,
    case_id: str | None,
    fund_id: str | None,
    positions: Iterable[int],
    subject: str = "",
) -> str:
    """A finding's stable id: ``F-`` and 12 hex digits of a digest of what raised it (never
    of its message, whose words change with the language and the release)."""
    parts = [rule, case_id or "", fund_id or "", ",".join(str(p) for p in positions)]
    key = "|".join([*parts, subject] if subject else parts)
    return FINDING_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:12]


class FindingsRegister(AidAggregate):
    """The store's disposed findings: each with its rule, reason and who explained it."""

    TOPIC = "aidflow:FindingsRegister"

    class Event(AidAggregate.Event):
        TOPIC = "aidflow:FindingsRegister.Event"

    class Started(Event, AidAggregate.Created):
        TOPIC = "aidflow:FindingsRegister.Started"

    class Disposed(Event):
        """A finding explained: ``finding`` is its id, ``rule`` and ``case_id``/``fund_id``
        what it was about when explained."""

        TOPIC = "aidflow:FindingsRegister.Disposed"
        finding: str
        rule: str
        case_id: str
        fund_id: str
        reason: str
        actor: str

    class Withdrawn(Event):
        """An explanation taken back: the finding is open again."""

        TOPIC = "aidflow:FindingsRegister.Withdrawn"
        finding: str
        reason: str
        actor: str

    @staticmethod
    def create_id() -> UUID:
        return FINDINGS_ID

    @event(Started)
    def __init__(self) -> None:
        self.disposed: dict[str, dict[str, Any]] = {}

    def dispose(
        self,
        *,
        finding: str,
        rule: str,
        case_id: str | None,
        fund_id: str | None,
        raised_by: Iterable[str],
        reason: str,
        actor: str,
    ) -> None:
        """Explain an open finding; ``raised_by``: the actors of the events that raised it,
        none of whom may explain it."""
        if finding in self.disposed:
            raise InvalidTransition(
                said(
                    "finding {finding} is already explained by {by}; withdraw that first (`aidflow audit dispose --withdraw`)",
                    finding=finding,
                    by=self.disposed[finding]["by"],
                )
            )
        if any(canonical.same_actor(actor, other) for other in raised_by if other):
            raise SegregationOfDuties(
                said(
                    "{actor}'s own act raised finding {finding}; someone else explains it",
                    actor=actor,
                    finding=finding,
                ),
                ids={"finding": finding},
            )
        self._disposed(
            finding=finding,
            rule=rule,
            case_id=case_id or "",
            fund_id=fund_id or "",
            reason=canonical.text(reason, "reason"),
            actor=canonical.actor(actor),
        )

    @event(Disposed)
    def _disposed(
        self, *, finding: str, rule: str, case_id: str, fund_id: str, reason: str, actor: str
    ) -> None:
        self.disposed[finding] = {"rule": rule, "reason": reason, "by": actor}

    def withdraw(self, *, finding: str, reason: str, actor: str) -> None:
        """Take an explanation back: the finding is open again (if the events still raise it)."""
        if finding not in self.disposed:
            raise InvalidTransition(
                said("finding {finding} has no explanation to withdraw", finding=finding)
            )
        self._withdrawn(
            finding=finding,
            reason=canonical.text(reason, "reason", required=False),
            actor=canonical.actor(actor),
        )

    @event(Withdrawn)
    def _withdrawn(self, *, finding: str, reason: str, actor: str) -> None:
        del self.disposed[finding]
