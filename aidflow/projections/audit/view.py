"""The audit view's writer: every event into the journal with its link in the chain, money into the ledger.

The journal covers every event class in the catalogue, each with its stream
and a one-line summary a person reads; the ledger has one row per movement of
money.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aidflow.domain.events import EventClass
from aidflow.domain.keys import pseudonym
from aidflow.domain.money import format_yuan
from aidflow.projections.audit.chain import GENESIS, chain_step
from aidflow.projections.audit.tables import (
    audit_account_table,
    audit_case_table,
    audit_fund_table,
    journal_table,
    ledger_table,
    metadata,
)
from aidflow.projections.base import bulk, insert_row
from aidflow.projections.catalogue import (
    Enrolment,
    Fund,
    PolicyRegister,
    RequestKey,
    StaffRegistry,
    StudentCase,
    Voucher,
)
from aidflow.projections.view import Envelope, SQLView
from aidflow.proofs import tree
from aidflow.proofs.leaves import leaf_text
from aidflow.proofs.merkle import leaf_hash

C = StudentCase
Summary = Callable[[dict[str, Any]], str]


def _short(value: Any) -> str:
    return str(value)[:8]


def _yuan(f: dict[str, Any]) -> str:
    return f"{format_yuan(f['amount_fen'])} yuan"


JOURNAL: dict[EventClass, tuple[str, Summary]] = {
    C.Applied: (
        "case",
        lambda f: (
            f"case opened for {f['name']} ({f['family_category']}, {f['town']}, {f['year']})"
            f" by {f['source']}"
        ),
    ),
    C.Verified: (
        "case",
        lambda f: (
            f"household verified: gap {format_yuan(f['gap_fen'])} yuan,"
            f" needs {', '.join(f['needs'])}"
        ),
    ),
    C.Rejected: ("case", lambda f: f"rejected: {f['reason']}"),
    C.GrantApproved: (
        "case",
        lambda f: f"grant of {_yuan(f)} approved for {f['need']} from fund {_short(f['fund_id'])}",
    ),
    C.Disbursed: (
        "case",
        lambda f: f"paid {_yuan(f)} to the student's account, voucher {f['voucher']}",
    ),
    C.DisbursementReturned: (
        "case",
        lambda f: f"bank returned {_yuan(f)} of voucher {f['voucher']}: {f['reason']}",
    ),
    C.SecondaryAidAllocated: (
        "case",
        lambda f: f"secondary aid of {_yuan(f)} from fund {_short(f['fund_id'])}",
    ),
    C.HardshipReported: (
        "case",
        lambda f: f"{f['severity']} hardship reported ({f['kind']}): {f['detail']}",
    ),
    C.ReviewConvened: (
        "case",
        lambda f: f"consultation of {', '.join(f['departments'])}: {len(f['actions'])} action(s)",
    ),
    C.ActionCompleted: (
        "case",
        lambda f: f"{f['department']} completed {f['action_id']}: {f['note']}",
    ),
    C.FollowedUp: (
        "case",
        lambda f: (
            f"follow-up: study {f['study']}; living {f['living']}; hardship {f['hardship_trend']}"
        ),
    ),
    C.Closed: ("case", lambda f: f"case closed: {f['reason']}"),
    Fund.Opened: ("fund", lambda f: f"{f['kind']} fund {f['name']!r} opened"),
    Fund.Deposited: (
        "fund",
        lambda f: f"{_yuan(f)} received from {f['source']}, receipt {f['receipt']}",
    ),
    Fund.Allocated: (
        "fund",
        lambda f: f"{_yuan(f)} reserved for case {_short(f['case_id'])} ({f['use']})",
    ),
    Fund.Released: (
        "fund",
        lambda f: f"{_yuan(f)} released from case {_short(f['case_id'])}: {f['reason']}",
    ),
    Enrolment.Registered: (
        "key",
        lambda f: f"student-year key registered for case {_short(f['case_id'])}",
    ),
    Voucher.Issued: (
        "key",
        lambda f: f"voucher {f['number']} registered for case {_short(f['case_id'])}",
    ),
    RequestKey.Recorded: (
        "key",
        lambda f: f"reference {f['key']} recorded for {f['command'].replace('_', ' ')}",
    ),
    StaffRegistry.Started: ("staff", lambda f: "staff registry started"),
    StaffRegistry.MemberAdded: (
        "staff",
        lambda f: (
            f"staff {f['name']} added as {', '.join(f['roles'])}"
            + (f" ({f['department']})" if f["department"] else "")
        ),
    ),
    StaffRegistry.RoleGranted: ("staff", lambda f: f"{f['name']} granted {f['role']}"),
    StaffRegistry.RoleRevoked: ("staff", lambda f: f"{f['name']} no longer {f['role']}"),
    PolicyRegister.Started: ("policy", lambda f: "policy register started"),
    PolicyRegister.ValueSet: ("policy", lambda f: f"policy {f['field']} set to {f['value']}"),
    PolicyRegister.Changed: ("policy", lambda f: f"policy {f['field']} set to {f['value']}"),
}
"""Every event class: its stream (case, fund, key, staff or policy) and its one-line summary."""

LEDGER_ENTRIES: dict[EventClass, str] = {
    Fund.Deposited: "deposit",
    Fund.Allocated: "allocation",
    Fund.Released: "release",
    C.GrantApproved: "approval",
    C.Disbursed: "disbursement",
    C.DisbursementReturned: "return",
    C.SecondaryAidAllocated: "secondary_aid",
}
"""Events that move money, and the ledger entry each makes."""

_ON_FUND = frozenset({Fund.Deposited, Fund.Allocated, Fund.Released})

_INSERT_JOURNAL = insert_row(journal_table)
_INSERT_LEDGER = insert_row(ledger_table)
_INSERT_CASE = insert_row(audit_case_table)
_INSERT_FUND = insert_row(audit_fund_table)
_INSERT_ACCOUNT = insert_row(audit_account_table)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


class AuditView(SQLView):
    name = "audit"
    metadata = metadata
    schema_version = 5  # 2: stable names; 3: audit_fund.position; 4: Merkle tree; 5: audit_account
    handles = frozenset(JOURNAL)
    ignores = frozenset()

    def __init__(self, engine: sa.Engine) -> None:
        super().__init__(engine)
        self._head: tuple[int, str, int] | None = None
        """(position, chain hash, tree size) this process last wrote."""

    def forget(self) -> None:
        self._head = None

    def write(self, conn: Connection, page: Sequence[Envelope], *, after: int | None) -> None:
        d = conn.dialect
        if self._head is not None and after is not None and self._head[0] == after:
            # the chain and tree are deterministic: a position's hashes never change
            _, previous, size = self._head
        else:
            last = conn.execute(
                sa.select(journal_table.c.hash, journal_table.c.leaf_index)
                .order_by(journal_table.c.position.desc())
                .limit(1)
            ).first()
            previous, size = (GENESIS, 0) if last is None else (last.hash, last.leaf_index + 1)
        start = size
        journal: list[dict[str, Any]] = []
        ledger: list[dict[str, Any]] = []
        cases: list[dict[str, Any]] = []
        funds: list[dict[str, Any]] = []
        accounts: list[dict[str, Any]] = []
        for envelope in self.wanted(page):
            event, cls = envelope.event, envelope.cls
            stream, summary = JOURNAL[cls]
            fields = event.__dict__
            previous = chain_step(previous, envelope.notification)
            at = envelope.at(d)
            actor = str(getattr(event, "actor", ""))
            leaf = leaf_text(
                envelope.notification,
                envelope.name,
                actor,
                envelope.detail_json,
                envelope.recorded_at,
            )
            journal.append(
                {
                    "position": envelope.position,
                    "recorded_at": at,
                    "actor": actor,
                    "stream": stream,
                    "aggregate_id": envelope.aggregate_id,
                    "version": event.originator_version,
                    "event_type": envelope.name,
                    "summary": summary(fields),
                    "detail": envelope.detail_json,
                    "hash": previous,
                    "leaf_index": size,
                    "leaf": leaf_hash(leaf.encode("utf-8")).hex(),
                }
            )
            size += 1
            if cls is C.Applied:
                cases.append(
                    {
                        "case_id": envelope.aggregate_id,
                        "family_category": event.family_category,
                        "town": event.town,
                        "year": event.year,
                    }
                )
                accounts.append(
                    {
                        "position": envelope.position,
                        "case_id": envelope.aggregate_id,
                        "person": pseudonym("person", event.student_id),
                        "account": pseudonym("account", event.account) if event.account else "",
                    }
                )
            elif cls is Fund.Opened:
                funds.append(
                    {
                        "fund_id": envelope.aggregate_id,
                        "name": event.name,
                        "kind": event.kind,
                        "position": envelope.position,
                    }
                )
            entry = LEDGER_ENTRIES.get(cls)
            if entry is None:
                continue
            on_fund = cls in _ON_FUND
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
        tree.extend(conn, start, size)
        bulk(conn, "audit.ledger", _INSERT_LEDGER, ledger)
        bulk(conn, "audit.case", _INSERT_CASE, cases)
        bulk(conn, "audit.fund", _INSERT_FUND, funds)
        bulk(conn, "audit.account", _INSERT_ACCOUNT, accounts)
        if journal:
            self._head = (page[-1].position, previous, size)
