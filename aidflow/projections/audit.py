"""Audit views: the journal of every event with its link in the hash chain, and the money ledger.

The journal and the chain cover every event in the store; the ledger has one
row per movement of money. ``audit_case`` and ``audit_fund`` keep the few facts
the ledger's totals group by (family category, town, fund kind), so money rows
are pure inserts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from eventsourcing.persistence import Notification
from sqlalchemy.engine import Connection

from aidflow.domain.money import format_yuan
from aidflow.projections.base import Envelope, SQLView, UTCDateTime, bulk, insert_row

metadata = sa.MetaData()

journal_table = sa.Table(
    "audit_journal",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("stream", sa.String(16), nullable=False),
    sa.Column("aggregate_id", sa.String(36), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("event_type", sa.String(40), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),  # the chain, see chain_step()
)

ledger_table = sa.Table(
    "audit_ledger",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.Column("value_date", sa.String(10), nullable=True),
    sa.Column("entry", sa.String(16), nullable=False),
    sa.Column("case_id", sa.String(36), nullable=True),
    sa.Column("fund_id", sa.String(36), nullable=True),
    sa.Column("amount_fen", sa.BigInteger, nullable=False),
    sa.Column("need", sa.String(16), nullable=True),
    sa.Column("voucher", sa.String(64), nullable=True),
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


def _yuan(f: dict[str, Any]) -> str:
    return f"{format_yuan(f['amount_fen'])} yuan"


_SUMMARIES: dict[str, Callable[[dict[str, Any]], str]] = {
    "StudentCase.Applied": lambda f: (
        f"case opened for {f['name']} ({f['family_category']}, {f['town']}, {f['year']}) by {f['source']}"
    ),
    "StudentCase.Verified": lambda f: (
        f"household verified: gap {format_yuan(f['gap_fen'])} yuan, needs {', '.join(f['needs'])}"
    ),
    "StudentCase.Rejected": lambda f: f"rejected: {f['reason']}",
    "StudentCase.GrantApproved": lambda f: (
        f"grant of {_yuan(f)} approved for {f['need']} from fund {_short(f['fund_id'])}"
    ),
    "StudentCase.Disbursed": lambda f: (
        f"paid {_yuan(f)} to the student's account, voucher {f['voucher']}"
    ),
    "StudentCase.DisbursementReturned": lambda f: (
        f"bank returned {_yuan(f)} of voucher {f['voucher']}: {f['reason']}"
    ),
    "StudentCase.SecondaryAidAllocated": lambda f: (
        f"secondary aid of {_yuan(f)} from fund {_short(f['fund_id'])}"
    ),
    "StudentCase.HardshipReported": lambda f: (
        f"{f['severity']} hardship reported ({f['kind']}): {f['detail']}"
    ),
    "StudentCase.ReviewConvened": lambda f: (
        f"consultation of {', '.join(f['departments'])}: {len(f['actions'])} action(s)"
    ),
    "StudentCase.ActionCompleted": lambda f: (
        f"{f['department']} completed {f['action_id']}: {f['note']}"
    ),
    "StudentCase.FollowedUp": lambda f: (
        f"follow-up: study {f['study']}; living {f['living']}; hardship {f['hardship_trend']}"
    ),
    "StudentCase.Closed": lambda f: f"case closed: {f['reason']}",
    "Fund.Opened": lambda f: f"{f['kind']} fund {f['name']!r} opened",
    "Fund.Deposited": lambda f: f"{_yuan(f)} received from {f['source']}, receipt {f['receipt']}",
    "Fund.Allocated": lambda f: f"{_yuan(f)} reserved for case {_short(f['case_id'])} ({f['use']})",
    "Fund.Released": lambda f: (
        f"{_yuan(f)} released from case {_short(f['case_id'])}: {f['reason']}"
    ),
    "Enrolment.Registered": lambda f: (
        f"student-year key registered for case {_short(f['case_id'])}"
    ),
    "Voucher.Issued": lambda f: f"voucher {f['number']} registered for case {_short(f['case_id'])}",
}


def summarise(kind: str, event: Any) -> str:
    """One line a person reads in the journal."""
    line = _SUMMARIES.get(kind)
    return line(event.__dict__) if line is not None else kind


_STREAMS = {"StudentCase": "case", "Fund": "fund"}


_INSERT_JOURNAL = insert_row(journal_table)
_INSERT_LEDGER = insert_row(ledger_table)
_INSERT_CASE = insert_row(audit_case_table)
_INSERT_FUND = insert_row(audit_fund_table)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


class AuditView(SQLView):
    name = "audit"
    metadata = metadata

    def __init__(self, engine: sa.Engine) -> None:
        super().__init__(engine)
        self._head: tuple[int, str] | None = None  # (position, hash) this process last chained

    def write(self, conn: Connection, page: Sequence[Envelope], *, after: int | None) -> None:
        d = conn.dialect
        if self._head is not None and after is not None and self._head[0] == after:
            previous = self._head[
                1
            ]  # the chain is deterministic: the hash at a position never changes
        else:
            previous = (
                conn.execute(
                    sa.select(journal_table.c.hash)
                    .order_by(journal_table.c.position.desc())
                    .limit(1)
                ).scalar_one_or_none()
                or GENESIS
            )
        journal: list[dict[str, Any]] = []
        ledger: list[dict[str, Any]] = []
        cases: list[dict[str, Any]] = []
        funds: list[dict[str, Any]] = []
        for envelope in page:
            event, kind = envelope.event, envelope.type
            previous = chain_step(previous, envelope.notification)
            at = envelope.at(d)
            journal.append(
                {
                    "position": envelope.position,
                    "recorded_at": at,
                    "actor": str(getattr(event, "actor", "")),
                    "stream": _STREAMS.get(kind.split(".", 1)[0], "key"),
                    "aggregate_id": envelope.aggregate_id,
                    "version": event.originator_version,
                    "event_type": kind,
                    "summary": summarise(kind, event),
                    "detail": envelope.detail_json,
                    "hash": previous,
                }
            )
            if kind == "StudentCase.Applied":
                cases.append(
                    {
                        "case_id": envelope.aggregate_id,
                        "family_category": event.family_category,
                        "town": event.town,
                        "year": event.year,
                    }
                )
            elif kind == "Fund.Opened":
                funds.append(
                    {"fund_id": envelope.aggregate_id, "name": event.name, "kind": event.kind}
                )
            entry = LEDGER_ENTRIES.get(kind)
            if entry is None:
                continue
            on_fund = kind.startswith("Fund.")
            fields = event.__dict__
            value_date = fields.get("value_date")
            ledger.append(
                {
                    "position": envelope.position,
                    "recorded_at": at,
                    "value_date": None if value_date is None else value_date.isoformat(),
                    "entry": entry,
                    "case_id": _text(fields.get("case_id")) if on_fund else envelope.aggregate_id,
                    "fund_id": envelope.aggregate_id if on_fund else _text(fields.get("fund_id")),
                    "amount_fen": event.amount_fen,
                    "need": fields.get("need"),
                    "voucher": fields.get("voucher"),
                    "receipt": fields.get("receipt"),
                    "source": fields.get("source"),
                    "actor": event.actor,
                }
            )
        bulk(conn, "audit.journal", _INSERT_JOURNAL, journal)
        self._head = (page[-1].position, previous)
        bulk(conn, "audit.ledger", _INSERT_LEDGER, ledger)
        bulk(conn, "audit.case", _INSERT_CASE, cases)
        bulk(conn, "audit.fund", _INSERT_FUND, funds)
