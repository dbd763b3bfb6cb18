"""The hash chain over the stored records: its head is the digest an auditor publishes.

Each link hashes the previous link and one stored record as it is (position,
aggregate id, version, topic, bytes), so encrypting personal data later and
erasing its key leaves the chain verifiable. ``verify`` recomputes the chain from
the store and compares it with the digest and with what the journal recorded
when it first saw each event.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aidflow.projections.audit.tables import journal_table
from aidflow.projections.models import Digest, Verification
from aidflow.projections.source import EventSource, Stored, pages

GENESIS = "0" * 64


def chain_step(previous: str, record: Stored) -> str:
    """Next link of the chain: over the stored record (position, id, version, topic, bytes)."""
    digest = hashlib.sha256(bytes.fromhex(previous))
    digest.update(
        f"{record.id}\x1f{record.originator_id}\x1f{record.originator_version}\x1f{record.topic}\x1f".encode()
    )
    digest.update(record.state)
    return digest.hexdigest()


def digest(conn: Connection) -> Digest:
    """The chain's head: publish it, and verify the store against it later."""
    j = journal_table
    row = conn.execute(
        sa.select(j.c.position, j.c.hash).order_by(j.c.position.desc()).limit(1)
    ).first()
    if row is None:
        return Digest(position=0, hash=GENESIS)
    return Digest(position=int(row.position), hash=row.hash)


def recorded_links(conn: Connection, up_to: int) -> dict[int, str]:
    """The links the journal recorded, up to a position."""
    j = journal_table
    return {
        int(p): h
        for p, h in conn.execute(sa.select(j.c.position, j.c.hash).where(j.c.position <= up_to))
    }


def verify(
    source: EventSource, digest: Digest, recorded: dict[int, str], page_size: int
) -> Verification:
    """Recompute the chain from the store; compare it with the digest and the recorded links.

    Reports the first position where the store no longer matches what the
    journal recorded (altered, removed, inserted or reordered records), and
    whether the head matches the digest.
    """
    journal_end = max(recorded, default=0)  # a stopped or lagging journal compares up to here
    previous = GENESIS
    checked = 0
    first_mismatch: int | None = None
    seen: set[int] = set()
    for records in pages(source, None, digest.position, page_size):
        for record in records:
            previous = chain_step(previous, record)
            seen.add(record.id)
            checked += 1
            if (
                first_mismatch is None
                and record.id <= journal_end
                and recorded.get(record.id) != previous
            ):
                first_mismatch = record.id
    missing = sorted(set(recorded) - seen)
    if missing and (first_mismatch is None or missing[0] < first_mismatch):
        first_mismatch = missing[0]
    head_ok = (digest.position == 0 and digest.hash == GENESIS) or (
        digest.position in seen and previous == digest.hash
    )
    ok = head_ok and first_mismatch is None
    if ok:
        message = f"the store matches the digest: {checked} events up to position {digest.position}"
    elif first_mismatch is not None:
        message = f"the store no longer matches from position {first_mismatch}"
        if first_mismatch in missing:
            message += " (that event is missing)"
    else:
        message = (
            "the store does not match the digest, and the recorded chain was rewritten to "
            f"match the store; the change lies at or before position {digest.position}"
        )
    if journal_end < digest.position:
        message += (
            f" (the audit journal holds links up to position {journal_end} only; "
            "later events were checked against the digest alone)"
        )
    return Verification(
        ok=ok, digest=digest, checked=checked, first_mismatch=first_mismatch, message=message
    )
