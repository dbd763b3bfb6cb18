"""The store's record of its witnessed digests (issue 22 §4): each time a second party signed
the tree digest, which party, with which key, and the statement's hash. The statement itself
(:mod:`aidflow.proofs.witness`) goes to the witness and to whoever audits; the next one is
proved to extend the last one recorded here."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from aidflow.domain import canonical
from aidflow.domain.base import AidAggregate

WITNESS_LOG_ID: UUID = uuid5(NAMESPACE_URL, "https://aidflow.invalid/witness-log")


class WitnessLog(AidAggregate):
    """Every witnessed digest of the store, in order."""

    TOPIC = "aidflow:WitnessLog"

    class Event(AidAggregate.Event):
        TOPIC = "aidflow:WitnessLog.Event"

    class Started(Event, AidAggregate.Created):
        TOPIC = "aidflow:WitnessLog.Started"

    class Witnessed(Event):
        """``witness`` (key ``key_fingerprint``) signed ``digest``; ``statement`` is the SHA-256
        of the signed statement (v0.6)."""

        TOPIC = "aidflow:WitnessLog.Witnessed"
        witness: str
        key_fingerprint: str
        digest: str
        statement: str
        actor: str

    @staticmethod
    def create_id() -> UUID:
        return WITNESS_LOG_ID

    @event(Started)
    def __init__(self) -> None:
        self.witnessed: list[dict[str, Any]] = []

    @property
    def last_digest(self) -> str | None:
        return self.witnessed[-1]["digest"] if self.witnessed else None

    def record(
        self, *, witness: str, key_fingerprint: str, digest: str, statement: str, actor: str
    ) -> None:
        self._witnessed(
            witness=canonical.text(witness, "witness", max_length=canonical.MAX_NAME),
            key_fingerprint=key_fingerprint,
            digest=digest,
            statement=statement,
            actor=canonical.actor(actor),
        )

    @event(Witnessed)
    def _witnessed(
        self, *, witness: str, key_fingerprint: str, digest: str, statement: str, actor: str
    ) -> None:
        self.witnessed.append({"witness": witness, "digest": digest, "statement": statement})
