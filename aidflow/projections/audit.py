"""Audit views: the journal of every event, the money ledger, and the hash chain.

The journal and the chain cover every event in the store; the ledger has one
row per movement of money. ``audit_case`` and ``audit_fund`` keep the few facts
the ledger's totals group by (family category, town, fund kind), so money rows
are pure inserts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from eventsourcing.persistence import Notification
from sqlalchemy.engine import Connection

from aidflow.domain.money import format_yuan
from aidflow.projections.base import Envelope, SQLView, UTCDateTime, public_fields

metadata = sa.MetaData()

journal_table = sa.Table(
    "audit_journal",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False, index=True),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("stream", sa.String(16), nullable=False),
    sa.Column("aggregate_id", sa.String(36), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("event_type", sa.String(40), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
)

ledger_table = sa.Table(
    "audit_ledger",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.Column("value_date", sa.String(10), nullable=True),
    sa.Column("entry", sa.String(16), nullable=False, index=True),
    sa.Column("case_id", sa.String(36), nullable=True, index=True),
    sa.Column("fund_id", sa.String(36), nullable=True, index=True),
    sa.Column("amount_fen", sa.BigInteger, nullable=False),
    sa.Column("need", sa.String(16), nullable=True),
    sa.Column("voucher", sa.String(64), nullable=True, index=True),
    sa.Column("receipt", sa.String(64), nullable=True),
    sa.Column("source", sa.Text, nullable=True),
    sa.Column("actor", sa.Text, nullable=False),
)

audit_case_table = sa.Table(
    "audit_case",
    metadata,
    sa.Column("case_id", sa.String(36), primary_key=True),
    sa.Column("family_category", sa.String(16), nullable=False),
    sa.Column("town", sa.Text, nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
)

audit_fund_table = sa.Table(
    "audit_fund",
    metadata,
    sa.Column("fund_id", sa.String(36), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
)

chain_table = sa.Table(
    "audit_chain",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

GENESIS = "0" * 64

# event type -> ledger entry kind
LEDGER_ENTRIES = {
    "Fund.Deposited": "deposit",
    "Fund.Allocated": "allocation",
    "Fund.Released": "release",
    "StudentCase.GrantApproved": "approval",
    "StudentCase.Disbursed": "disbursement",
    "StudentCase.DisbursementReturned": "return",
    "StudentCase.SecondaryAidAllocated": "secondary_aid",
}


def chain_step(previous: str, record: Notification) -> str:
    """Next link of the chain: over the stored record (position, id, version, topic, bytes).

    The stored bytes are hashed as they are, so encrypting personal data later and
    erasing its key leaves the chain verifiable.
    """
    digest = hashlib.sha256(bytes.fromhex(previous))
    digest.update(
        f"{record.id}\x1f{record.originator_id}\x1f{record.originator_version}\x1f{record.topic}\x1f".encode()
    )
    digest.update(record.state)
    return digest.hexdigest()


def _short(value: Any) -> str:
    return str(value)[:8]


def summarise(kind: str, event: Any) -> str:
    """One line a person reads in the journal."""
    f = event.__dict__
    yuan = f"{format_yuan(f['amount_fen'])} yuan" if "amount_fen" in f else ""
    lines = {
        "StudentCase.Applied": lambda: (
            f"case opened for {f['name']} ({f['family_category']}, {f['town']}, {f['year']})"
            f" by {f['source']}"
        ),
        "StudentCase.Verified": lambda: (
            f"household verified: gap {format_yuan(f['gap_fen'])} yuan,"
            f" needs {', '.join(f['needs'])}"
        ),
        "StudentCase.Rejected": lambda: f"rejected: {f['reason']}",
        "StudentCase.GrantApproved": lambda: (
            f"grant of {yuan} approved for {f['need']} from fund {_short(f['fund_id'])}"
        ),
        "StudentCase.Disbursed": lambda: (
            f"paid {yuan} to the student's account, voucher {f['voucher']}"
        ),
        "StudentCase.DisbursementReturned": lambda: (
            f"bank returned {yuan} of voucher {f['voucher']}: {f['reason']}"
        ),
        "StudentCase.SecondaryAidAllocated": lambda: (
            f"secondary aid of {yuan} from fund {_short(f['fund_id'])}"
        ),
        "StudentCase.HardshipReported": lambda: (
            f"{f['severity']} hardship reported ({f['kind']}): {f['detail']}"
        ),
        "StudentCase.ReviewConvened": lambda: (
            f"consultation of {', '.join(f['departments'])}: {len(f['actions'])} action(s)"
        ),
        "StudentCase.ActionCompleted": lambda: (
            f"{f['department']} completed {f['action_id']}: {f['note']}"
        ),
        "StudentCase.FollowedUp": lambda: (
            f"follow-up: study {f['study']}; living {f['living']}; hardship {f['hardship_trend']}"
        ),
        "StudentCase.Closed": lambda: f"case closed: {f['reason']}",
        "Fund.Opened": lambda: f"{f['kind']} fund {f['name']!r} opened",
        "Fund.Deposited": lambda: f"{yuan} received from {f['source']}, receipt {f['receipt']}",
        "Fund.Allocated": lambda: f"{yuan} reserved for case {_short(f['case_id'])} ({f['use']})",
        "Fund.Released": lambda: f"{yuan} released from case {_short(f['case_id'])}: {f['reason']}",
        "Enrolment.Registered": lambda: (
            f"student-year key registered for case {_short(f['case_id'])}"
        ),
        "Voucher.Issued": lambda: (
            f"voucher {f['number']} registered for case {_short(f['case_id'])}"
        ),
    }
    line = lines.get(kind)
    return line() if line is not None else kind


_STREAMS = {"StudentCase": "case", "Fund": "fund"}


class AuditView(SQLView):
    name = "audit"
    metadata = metadata

    def write(self, conn: Connection, page: Sequence[Envelope]) -> None:
        previous = (
            conn.execute(
                sa.select(chain_table.c.hash).order_by(chain_table.c.position.desc()).limit(1)
            ).scalar_one_or_none()
            or GENESIS
        )
        journal: list[dict[str, Any]] = []
        ledger: list[dict[str, Any]] = []
        chain: list[dict[str, Any]] = []
        cases: list[dict[str, Any]] = []
        funds: list[dict[str, Any]] = []
        for envelope in page:
            event, kind = envelope.event, envelope.type
            previous = chain_step(previous, envelope.notification)
            chain.append({"position": envelope.position, "hash": previous})
            detail = public_fields(event)
            journal.append(
                {
                    "position": envelope.position,
                    "recorded_at": envelope.recorded_at,
                    "actor": str(detail.get("actor", "")),
                    "stream": _STREAMS.get(kind.split(".", 1)[0], "key"),
                    "aggregate_id": str(event.originator_id),
                    "version": event.originator_version,
                    "event_type": kind,
                    "summary": summarise(kind, event),
                    "detail": detail,
                }
            )
            if kind == "StudentCase.Applied":
                cases.append(
                    {
                        "case_id": str(event.originator_id),
                        "family_category": event.family_category,
                        "town": event.town,
                        "year": event.year,
                    }
                )
            elif kind == "Fund.Opened":
                funds.append(
                    {"fund_id": str(event.originator_id), "name": event.name, "kind": event.kind}
                )
            entry = LEDGER_ENTRIES.get(kind)
            if entry is None:
                continue
            on_fund = kind.startswith("Fund.")
            ledger.append(
                {
                    "position": envelope.position,
                    "recorded_at": envelope.recorded_at,
                    "value_date": detail.get("value_date"),
                    "entry": entry,
                    "case_id": detail.get("case_id") if on_fund else str(event.originator_id),
                    "fund_id": str(event.originator_id) if on_fund else detail.get("fund_id"),
                    "amount_fen": event.amount_fen,
                    "need": detail.get("need"),
                    "voucher": detail.get("voucher"),
                    "receipt": detail.get("receipt"),
                    "source": detail.get("source"),
                    "actor": event.actor,
                }
            )
        conn.execute(sa.insert(chain_table), chain)
        conn.execute(sa.insert(journal_table), journal)
        if ledger:
            conn.execute(sa.insert(ledger_table), ledger)
        if cases:
            conn.execute(sa.insert(audit_case_table), cases)
        if funds:
            conn.execute(sa.insert(audit_fund_table), funds)
