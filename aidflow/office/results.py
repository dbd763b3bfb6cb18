"""What the Office answers beyond the library's and the views' own models: one model per
question, so every face (CLI ``--json``, HTTP, an embedding service) gets the same shape."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from aidflow.application.feed import IntegrationEvent
from aidflow.models import FundSnapshot, PersonalData, SnapshotVerification
from aidflow.office.explain import Explanation
from aidflow.office.screening import ScreeningReport
from aidflow.office.whatif import WhatIf
from aidflow.projections.models import (
    DisposedFinding,
    Dossier,
    LedgerLine,
    Verification,
    ViewDrift,
    Violation,
)
from aidflow.proofs.models import TreeHead, TreeVerification

__all__ = [
    "AuditCheck",
    "DigestReport",
    "Explanation",
    "FundStatement",
    "IntegrationEvent",
    "Proof",
    "RevealedDossier",
    "ScreeningReport",
    "VerifyReport",
    "WhatIf",
]
"""The Office's own answers, and those it passes on from below (an integration event, an
explanation, a what-if, a screening report), so a face needs look no deeper."""


class Answer(BaseModel):
    model_config = ConfigDict(frozen=True)


class FundStatement(FundSnapshot):
    """A fund's balance and its own money movements (deposits with receipts, allocations,
    releases, the payments drawn on it and returned), oldest first."""

    movements: list[LedgerLine]


class AuditCheck(Answer):
    """Every rule checked from the events alone, and whether the audit view the checks read
    agrees with a fresh replay of the store. ``ok`` only when both hold."""

    ok: bool
    violations: list[Violation]
    """The open findings (each with its ``id``)."""
    disposed: list[DisposedFinding] = []
    """Findings explained (``audit dispose``): listed apart; they do not fail the check."""
    checked: dict[str, int]
    """Journal events read, by stable event name: the checks never speak of events unread."""
    events: int
    position: int
    """The last position read: the checks cover the events up to here."""
    audit_view: ViewDrift

    def shown(self) -> AuditCheck:
        """This answer with every finding's message in the current language (the faces show
        it so; the library's answer keeps English, each message a renderable ``Said``)."""
        return self.model_copy(
            update={
                "violations": [v.shown() for v in self.violations],
                "disposed": [d.shown() for d in self.disposed],
            }
        )


class DigestReport(TreeHead):
    """The digest to publish: the Merkle tree's head (``digest`` = ``tree:SIZE:ROOT``), with
    the v0.1 hash chain's head beside it under its own name (``chain`` = ``POSITION:HASH``)."""

    digest: str
    chain: str
    heads: str = ""
    """The heads digest (``heads:SIZE:COUNT:ROOT``): each record's last event at this
    digest; publish it beside ``digest`` so case bundles prove themselves complete."""


class VerifyReport(Answer):
    """The store recomputed against a published digest: the tree (or the v0.1 chain) and
    every stored snapshot against a replay of its events."""

    ok: bool
    tree: TreeVerification | None = None
    chain: Verification | None = None
    snapshots: SnapshotVerification


class RevealedDossier(Answer):
    """A dossier shown with the student's personal data in full; the reveal is recorded."""

    personal_data: PersonalData
    dossier: Dossier


class Proof(Answer):
    """A proof file's content, checked offline against a digest (``aidflow audit check-proof``)."""

    kind: str
    hashes: int
    document: dict[str, Any]


class NoticeRow(BaseModel):
    """One student on the public notice (公示): de-identified, with what was paid in the period
    and ``ref``, the event a student checks against the digest (``audit check-proof --ref``)."""

    ref: str
    name: str
    student_id_masked: str
    town: str
    family_category: str
    grant_fen: int
    secondary_aid_fen: int


class Notice(BaseModel):
    """The public notice of a period: its rows, their totals, the digest they are proved against,
    and one inclusion proof per row (by ``ref``)."""

    period: str
    digest: str
    rows: list[NoticeRow]
    grant_fen: int
    secondary_aid_fen: int
    proofs: dict[str, dict[str, Any]]
    events: dict[str, list[dict[str, Any]]] = {}
    """Per row, the proof of every payment and return that makes its amounts."""
