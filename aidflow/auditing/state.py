"""What the rules remember while they read a journal, and how a finding is recorded."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aidflow.domain.clock import CLOCK_TOLERANCE
from aidflow.domain.errors import Said, said
from aidflow.domain.events import NAMES, EventClass
from aidflow.domain.policy import Policy
from aidflow.projections.models import Violation

CLASS_OF: dict[str, EventClass] = {name: cls for cls, name in NAMES.items()}
"""The catalogue read backwards: the journal's stable names to event classes."""

Row = tuple[int, datetime, str, str, str, dict[str, Any]]
"""A journal row: (position, recorded_at, actor, aggregate_id, stable name, detail)."""

SHOWN_POSITIONS = 20
"""At most this many positions are listed in a finding about many events."""


def shown(positions: list[int]) -> list[int]:
    """The positions a finding about many events lists: the first ones and the last, so a
    new act that raises it again changes the finding (and its id)."""
    if len(positions) <= SHOWN_POSITIONS:
        return positions
    return [*positions[: SHOWN_POSITIONS - 1], positions[-1]]


@dataclass
class CaseState:
    """One case as the rules see it, from its events so far."""

    verifiers: set[str] = field(default_factory=set)
    verified: bool = False
    approved: int = 0
    paid: int = 0
    secondary: int = 0
    closed: bool = False
    approvals: list[int] = field(default_factory=list)
    vouchers: list[str] = field(default_factory=list)
    funds: set[str] = field(default_factory=set)
    last_approval_at: datetime | None = None
    last_approval_position: int = 0
    hardships: list[tuple[int, datetime, str]] = field(default_factory=list)
    actions: dict[str, tuple[int, datetime, str]] = field(default_factory=dict)
    # the money loop (issue 12)
    account_proposer: str | None = None
    secondary_proposers: dict[str, str] = field(default_factory=dict)
    correction_proposers: dict[str, str] = field(default_factory=dict)
    awaiting_receipt: dict[str, tuple[int, datetime, int, str]] = field(default_factory=dict)
    """Payments the student has not yet said arrived: voucher key -> (position, at, the
    ``receipt-days`` in force when paid, the voucher) (issue 23)."""
    """Approval references with a correction proposed, and by whom (issue 23)."""
    secondary_approved: int = 0
    secondary_paid: int = 0
    listed: dict[str, tuple[int, datetime, int]] = field(default_factory=dict)
    """Vouchers issued on a payment list and not yet settled: key -> (position, at, fen)."""
    # issue 23: disputed payments and reissues are a second person's
    issuers: dict[str, str] = field(default_factory=dict)
    """Each voucher's issuer (the person who paid it), as people are compared."""
    disputed: set[str] = field(default_factory=set)
    returned: set[str] = field(default_factory=set)
    reissued: set[str] = field(default_factory=set)
    # issue 12: the rules that keep the loop closed
    gap: int = 0
    since_visit: int = 0
    needs: frozenset[str] = frozenset()
    verified_once: bool = False
    follow_up_due: bool = False
    rejected: bool = False
    rejected_by: str = ""
    appeal: tuple[int, datetime] | None = None
    """An appeal awaiting its decision: (position, when lodged) (issue 23)."""
    year: int = 0
    """Its programme year (from its application)."""


def voucher_of(d: dict[str, Any]) -> str:
    """A payment event's voucher as recorded ("" when the event has none)."""
    return str(d.get("voucher", ""))


class Checking:
    """The state every rule reads, built event by event in position order."""

    def __init__(
        self, fund_kinds: dict[str, str], policy: Policy, base: Policy | None = None
    ) -> None:
        self.fund_kinds = fund_kinds
        self.policy = policy
        self.moment = base or policy
        """The policy in force at the event being read: ``base`` changed by the policy
        events read so far (the rules of issue 12 judge each decision by it)."""
        self.roles_of: Callable[[str], set[str]]
        """Who held which roles at the event being read (set by ``run_checks``)."""
        self.found: list[Violation] = []
        self.cases: dict[str, CaseState] = defaultdict(CaseState)
        self.balances: dict[str, int] = defaultdict(int)
        self.reserved: dict[tuple[str, str], int] = defaultdict(int)
        """Fen reserved per (fund, case): allocations less releases."""
        self.voucher_seen: dict[str, int] = {}
        self.reversal_proposers: dict[tuple[str, str], str] = {}
        """(fund, receipt) -> who proposed reversing that deposit (issue 23)."""
        self.latest: tuple[int, datetime] | None = None
        """The position and time of the latest event read so far."""
        self.disposals: dict[str, tuple[int, str, str]] = {}
        """Findings explained so far: id -> (position, who, why) (``audit dispose``)."""
        self.year_proposers: dict[int, str] = {}
        self.closed_years: dict[int, int] = {}
        """Programme years closed so far: year -> the close's position (issue 23)."""

    def disposed(
        self, position: int, at: datetime, actor: str, register: str, d: dict[str, Any]
    ) -> None:
        self.disposals[d["finding"]] = (position, actor, d["reason"])

    def withdrawn(
        self, position: int, at: datetime, actor: str, register: str, d: dict[str, Any]
    ) -> None:
        self.disposals.pop(d["finding"], None)

    def in_time_order(self, position: int, at: datetime) -> None:
        """An event recorded well before one already in the store: a writer's clock went back
        (stores written before commands refused that), so "as of" answers count it wrongly.

        Concurrent writers stamp at the start of their command and take positions as they
        commit, so times a few seconds out of order are normal: :data:`CLOCK_TOLERANCE`."""
        if self.latest is not None and at < self.latest[1] - CLOCK_TOLERANCE:
            self.flag(
                "recorded_out_of_time_order",
                said(
                    "recorded at {at}, before the event at position {position} ({then}): a "
                    "writer's clock went back",
                    at=at.isoformat(timespec="seconds"),
                    position=self.latest[0],
                    then=self.latest[1].isoformat(timespec="seconds"),
                ),
                [self.latest[0], position],
            )
        else:
            self.latest = (position, at)

    def flag(
        self,
        rule: str,
        message: Said,
        positions: list[int],
        case: str | None = None,
        fund: str | None = None,
        subject: str = "",
    ) -> None:
        """Record a finding; ``subject`` tells apart findings of one rule raised by the same
        events (the lines of one statement, the actions of one consultation). ``message`` is
        a catalogue sentence (:func:`~aidflow.domain.errors.said`): English as ``str``, in
        the reader's language wherever a face shows it."""
        self.found.append(
            Violation(
                rule=rule,
                case_id=case,
                fund_id=fund,
                positions=positions,
                message=message,
                subject=subject,
            )
        )
