"""Which events move money, and the entry each makes in the money ledger (资金台账): one table
for the audit view that keeps the ledger, the public notice that counts what was paid, and the
offline check of a posted notice (:mod:`aidflow.proofs.notice`)."""

from __future__ import annotations

from typing import Any

from aidflow.domain.case import StudentCase as C
from aidflow.domain.events import EventClass
from aidflow.domain.fund import Fund

LEDGER_ENTRIES: dict[EventClass, str] = {
    Fund.Deposited: "deposit",
    Fund.DepositReversed: "deposit_reversal",
    Fund.Allocated: "allocation",
    Fund.Released: "release",
    C.GrantApproved: "approval",
    C.Disbursed: "disbursement",
    C.DisbursementReturned: "return",
    C.SecondaryAidAllocated: "secondary_aid",
    C.DisbursementConfirmed: "confirmation",
}
"""Events that move money, and the ledger entry each makes."""

SECONDARY_ENTRY = {"disbursement": "secondary_aid", "return": "secondary_return"}
"""Payments of secondary aid (through the payment list, 0.3) count where the v0.1 one-step
allocation did: as secondary aid paid."""

NOTICE_ENTRIES = {
    "disbursement": ("grant", 1),
    "return": ("grant", -1),
    "secondary_aid": ("secondary", 1),
    "secondary_return": ("secondary", -1),
}
"""Ledger entries a public notice counts: money paid to a student, net of what came back."""


def entry_of(cls: EventClass, fields: dict[str, Any]) -> str | None:
    """The ledger entry an event of ``cls`` with ``fields`` makes (None: it moves no money)."""
    entry = LEDGER_ENTRIES.get(cls)
    if entry is not None and fields.get("use") == "secondary-aid" and entry in SECONDARY_ENTRY:
        return SECONDARY_ENTRY[entry]  # secondary aid paid like a grant (0.3)
    return entry
