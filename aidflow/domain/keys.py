"""Uniqueness across the whole store, kept by aggregates with derived ids.

A key aggregate's id is a UUID5 of what must be unique, in canonical form
(:mod:`aidflow.domain.canonical`). Saving a second one with the same id conflicts
in the event store itself, so the rule holds across processes and machines
without a lock: the loser's whole save is refused.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from uuid import NAMESPACE_URL, UUID, SafeUUID, uuid5

from eventsourcing.domain import event

from aidflow.domain import canonical
from aidflow.domain.base import AidAggregate
from aidflow.domain.errors import DecisionConflict, VoucherAlreadyUsed, said
from aidflow.domain.masking import Sealed
from aidflow.domain.money import format_yuan

_NAMESPACE = uuid5(NAMESPACE_URL, "https://aidflow.invalid/keys")
_NAMESPACE_BYTES = _NAMESPACE.bytes
_KEPT_BITS = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_VERSION_5 = (0x5000 << 64) | (0x8000 << 48)  # RFC 4122: version 5, variant 10
_new_uuid, _set_slot, _sha1, _UNKNOWN = (
    object.__new__,
    object.__setattr__,
    hashlib.sha1,
    SafeUUID.unknown,
)


def derived_id(name: str) -> UUID:
    """A key's id from what must be unique: ``uuid5(_NAMESPACE, name)``, the same UUID in a
    third of the time (a screening derives fourteen a case: a student's earlier years, both
    forms). The UUID is filled as ``UUID.__init__`` fills it, less the checks of an ``int``
    that is in range by construction."""
    sha1 = _sha1(_NAMESPACE_BYTES + name.encode(), usedforsecurity=False)  # as uuid5's
    made = _new_uuid(UUID)
    _set_slot(made, "int", (int.from_bytes(sha1.digest()[:16]) & _KEPT_BITS) | _VERSION_5)
    _set_slot(made, "is_safe", _UNKNOWN)
    return made


class Enrolment(AidAggregate):
    """One case per student per programme year (一人一档)."""

    TOPIC = "aidflow:Enrolment"

    class Event(AidAggregate.Event):
        TOPIC = "aidflow:Enrolment.Event"

    class Registered(Event, AidAggregate.Created):
        TOPIC = "aidflow:Enrolment.Registered"
        PERSONAL = ("student_id",)
        student_id: str
        year: int
        case_id: UUID

    @staticmethod
    def create_id(student_id: str, year: int) -> UUID:
        """From the canonical ID, so every spelling of one student meets the same key."""
        return Enrolment.canonical_id(canonical.national_id(student_id), year)

    @staticmethod
    def canonical_id(national_id: str, year: int) -> UUID:
        """:meth:`create_id` of an ID already in canonical form (a screening's, seven years)."""
        return derived_id(f"enrolment/{national_id}/{year}")

    @staticmethod
    def keyed_id(student_digest: str, year: int) -> UUID:
        """From a keyed hash of the canonical ID (issue 11): the id reveals nothing without
        the store's lookup secret. Stores from before it keep :meth:`create_id` ids."""
        return derived_id(f"enrolment/keyed/{student_digest}/{year}")

    @classmethod
    def register(cls, *, key_id: UUID, student_id: str, year: int, case_id: UUID) -> Enrolment:
        """A new enrolment key under the id the application derived (:meth:`keyed_id`)."""
        return cls._create(
            cls.Registered, id=key_id, student_id=student_id, year=year, case_id=case_id
        )

    @event(Registered)
    def __init__(self, *, student_id: str, year: int, case_id: UUID) -> None:
        self.case_id = case_id


class Voucher(AidAggregate):
    """A disbursement voucher (凭证) number, used once across the whole store."""

    TOPIC = "aidflow:Voucher"

    class Event(AidAggregate.Event):
        TOPIC = "aidflow:Voucher.Event"

    class Issued(Event, AidAggregate.Created):
        TOPIC = "aidflow:Voucher.Issued"
        number: str
        case_id: UUID
        amount_fen: int

    @staticmethod
    def create_id(number: str) -> UUID:
        """From the canonical number: ``V1``, ``v1`` and ``Ｖ１`` are one voucher."""
        return derived_id(f"voucher/{canonical.document_key(number)}")

    @staticmethod
    def legacy_id(number: str) -> UUID:
        """The id v0.1 gave a voucher: from the number exactly as typed.

        Upper-case numbers (the usual kind) have the same id both ways; a number
        first typed in lower case before v0.2 is still found by this id.
        """
        return derived_id(f"voucher/{number}")

    @event(Issued)
    def __init__(self, *, number: str, case_id: UUID, amount_fen: int) -> None:
        self.number = number
        self.case_id = case_id
        self.amount_fen = amount_fen

    def is_retry_of(self, *, case_id: UUID, amount_fen: int) -> bool:
        """The same voucher, case and amount again is a retry, not a new payment."""
        if self.case_id == case_id and self.amount_fen == amount_fen:
            return True
        raise VoucherAlreadyUsed(
            said(
                "voucher {number} was already used for {amount} yuan to case {case_id}; every payment needs its own voucher number",
                number=self.number,
                amount=format_yuan(self.amount_fen),
                case_id=self.case_id,
            ),
            ids={"case_id": str(self.case_id), "voucher": self.number},
        )


def fingerprint(content: dict[str, Any]) -> str:
    """A stable digest of what a command asked for, to tell a retry from a different request."""
    encoded = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


class RequestKey(AidAggregate):
    """An idempotency key: a decision's reference (审批编号) or a caller's request key.

    Saved in the same transaction as what the request recorded, with a fingerprint
    of the request and its result. The same key again with the same request is a
    retry: the first result is returned and nothing is written. The same key with
    a different request is refused (:class:`DecisionConflict`).
    """

    TOPIC = "aidflow:RequestKey"

    class Event(AidAggregate.Event):
        TOPIC = "aidflow:RequestKey.Event"

    class Recorded(Event, AidAggregate.Created):
        TOPIC = "aidflow:RequestKey.Recorded"
        scope: str
        key: str
        command: str
        fingerprint: str
        result: dict[str, Any]
        actor: str

    @staticmethod
    def create_id(scope: str, key: str) -> UUID:
        return derived_id(f"request/{scope}/{canonical.document_key(key)}")

    @event(Recorded)
    def __init__(
        self,
        *,
        scope: str,
        key: str,
        command: str,
        fingerprint: str,
        result: dict[str, Any],
        actor: str,
    ) -> None:
        self.scope = scope
        self.key = key
        self.command = command
        self.fingerprint = fingerprint
        self.result = result

    def replay_result(self, *, command: str, fingerprint: str) -> dict[str, Any]:
        """The first result, when this is the same request again; else a named refusal."""
        if self.command == command and self.fingerprint == fingerprint:
            return self.result
        raise DecisionConflict(
            said(
                "reference {key} already records a different {command}; a retry must repeat the same request, a new decision needs a new reference",
                key=self.key,
                command=self.command.replace("_", " "),
            ),
            ids={
                "ref": self.key,
                **{k: str(v) for k, v in self.result.items() if k.endswith("_id")},
            },
        )


def pseudonym(kind: str, value: str) -> str:
    """A stable stand-in for a national ID or an account, to compare records without the value.

    The audit view keeps these instead of the numbers (the same account on two people,
    one person's cases across years). A value the privacy layer decrypted carries keyed
    hashes (HMAC under the store's lookup secret): a person is their data key's id, which
    outlives an erasure; an account its keyed hash, gone ("") once erased. Only a value
    stored in clear (a v0.1.0 record, where the number itself is in the store) gets a
    plain hash of the canonical value.
    """
    if isinstance(value, Sealed):
        if kind == "person":
            return value.key_id[:32]
        return value.lookup[:32]
    return hashlib.sha256(f"aidflow/{kind}/{value}".encode()).hexdigest()[:32]
