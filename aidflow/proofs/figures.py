"""A case's figures and status folded from its recorded events, with what produced each.

One fold serves ``case explain`` (which event made which figure) and export
bundles (whose verifier recomputes the figures from the bundled events). It
reads journal-shaped rows (stable name and masked fields), so it needs no
store and no domain objects; its status is the domain's own
:func:`~aidflow.domain.values.derive_status`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aidflow.domain.values import derive_status

FIGURES = ("approved_fen", "disbursed_fen", "secondary_aid_fen")

STATUS_EVENTS = frozenset(
    {
        "case.applied",
        "case.verified",
        "case.rejected",
        "case.grant_approved",
        "case.disbursed",
        "case.disbursement_returned",
        "case.hardship_reported",
        "case.closed",
        "case.approval_corrected",
        "case.appeal_decided",
    }
)


@dataclass
class CaseFold:
    approved_fen: int = 0
    disbursed_fen: int = 0
    secondary_aid_fen: int = 0
    rejected: bool = False
    closed: bool = False
    verified_once: bool = False
    awaiting_verification: bool = True
    made_by: dict[str, list[tuple[int, int]]] = field(default_factory=lambda: defaultdict(list))
    """Figure → (position, change) of every event that changed it."""
    status_by: list[tuple[int, str]] = field(default_factory=list)
    """(position, status after) of every event that changed the status."""

    @property
    def status(self) -> str:
        return derive_status(
            rejected=self.rejected,
            closed=self.closed,
            verified_once=self.verified_once,
            awaiting_verification=self.awaiting_verification,
            approved_fen=self.approved_fen,
            disbursed_fen=self.disbursed_fen,
        ).value

    def _add(self, figure: str, position: int, change: int) -> None:
        setattr(self, figure, getattr(self, figure) + change)
        self.made_by[figure].append((position, change))

    def apply(self, position: int, name: str, d: dict[str, Any]) -> None:
        before = self.status
        if name == "case.verified":
            self.verified_once, self.awaiting_verification = True, False
        elif name == "case.rejected":
            self.rejected = True
        elif name == "case.grant_approved":
            self._add("approved_fen", position, d["amount_fen"])
        elif name == "case.appeal_decided" and d.get("outcome") == "overturned":
            self.rejected, self.awaiting_verification = False, True
        elif name == "case.approval_corrected":
            self._add("approved_fen", position, -d["amount_fen"])
        elif name == "case.disbursed" and d.get("use", "grant") == "grant":
            self._add("disbursed_fen", position, d["amount_fen"])
        elif name == "case.disbursement_returned" and d.get("use", "grant") == "grant":
            self._add("disbursed_fen", position, -d["amount_fen"])
        elif name in ("case.secondary_aid_allocated", "case.secondary_aid_approved"):
            # v0.1's one-step allocation, or (0.3) approved secondary aid, as the case counts it
            self._add("secondary_aid_fen", position, d["amount_fen"])
        elif name == "case.hardship_reported":
            self.awaiting_verification, self.rejected, self.closed = True, False, False
        elif name == "case.closed":
            self.closed = True
            released = sum(int(v) for v in d.get("releases", {}).values())
            if released:
                self._add("approved_fen", position, -released)
        if name in STATUS_EVENTS and (self.status != before or name == "case.applied"):
            self.status_by.append((position, self.status))

    def figures(self) -> dict[str, Any]:
        return {
            "approved_fen": self.approved_fen,
            "disbursed_fen": self.disbursed_fen,
            "secondary_aid_fen": self.secondary_aid_fen,
            "status": self.status,
        }


def figures_of(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per case and per fund, the figures that follow from journal-shaped rows in position order.

    Each row has ``position``, ``aggregate_id``, ``type`` and ``detail`` (a leaf's fields).
    """
    cases: dict[str, CaseFold] = {}
    funds: dict[str, dict[str, int]] = {}
    for row in sorted(rows, key=lambda r: r["position"]):
        name, aggregate, d = row["type"], row["aggregate_id"], row["detail"]
        if name.startswith("case."):
            cases.setdefault(aggregate, CaseFold()).apply(row["position"], name, d)
        elif name.startswith("fund."):
            f = funds.setdefault(
                aggregate, {"deposited_fen": 0, "allocated_fen": 0, "released_fen": 0}
            )
            kind = {
                "fund.deposited": "deposited_fen",
                "fund.allocated": "allocated_fen",
                "fund.released": "released_fen",
            }.get(name)
            if kind:
                f[kind] += int(d["amount_fen"])
            elif name == "fund.deposit_reversed":
                f["deposited_fen"] -= int(d["amount_fen"])
    return {
        "cases": {k: v.figures() for k, v in sorted(cases.items())},
        "funds": dict(sorted(funds.items())),
    }
