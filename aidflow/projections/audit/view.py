"""The audit view's writer: every event into the journal with its link in the chain, money into the ledger.

The journal covers every event class in the catalogue, each with its stream
and a one-line summary a person reads; the ledger has one row per movement of
money.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aidflow.domain.events import CATALOGUE, EventClass
from aidflow.domain.keys import pseudonym
from aidflow.domain.ledger import entry_of
from aidflow.projections.audit import tree
from aidflow.projections.audit.chain import GENESIS, chain_step
from aidflow.projections.audit.ledger import checkpoint_since, take_checkpoints
from aidflow.projections.audit.summaries import english_summary
from aidflow.projections.audit.tables import (
    audit_account_table,
    audit_case_table,
    audit_fund_table,
    journal_table,
    ledger_table,
    metadata,
)
from aidflow.projections.audit.tree import envelope_leaf
from aidflow.projections.base import bulk, execute_once, insert_row
from aidflow.projections.catalogue import (
    Enrolment,
    FindingsRegister,
    Fund,
    PaymentBook,
    PolicyRegister,
    ProgrammeYear,
    RequestKey,
    Search,
    StaffRegistry,
    StudentCase,
    Voucher,
    WitnessLog,
)
from aidflow.projections.view import Envelope, SQLView
from aidflow.proofs.merkle import leaf_hash

C = StudentCase

STREAMS: dict[type[Any], str] = {
    StudentCase: "case",
    Fund: "fund",
    Enrolment: "key",
    Voucher: "key",
    RequestKey: "key",
    StaffRegistry: "staff",
    PolicyRegister: "policy",
    PaymentBook: "payments",
    Search: "search",
    FindingsRegister: "findings",
    ProgrammeYear: "year",
    WitnessLog: "witness",
}
"""Each aggregate's stream in the journal (case, fund, key, staff or policy)."""

JOURNAL: dict[EventClass, str] = {
    cls: stream
    for cls in CATALOGUE
    for aggregate, stream in STREAMS.items()
    if issubclass(cls, aggregate.Event)
}
"""Every event class and its stream; its one-line summary comes from :mod:`.summaries`."""

_ON_FUND = frozenset({Fund.Deposited, Fund.DepositReversed, Fund.Allocated, Fund.Released})

_INSERT_JOURNAL = insert_row(journal_table)
_INSERT_LEDGER = insert_row(ledger_table)
_INSERT_CASE = insert_row(audit_case_table)
_INSERT_FUND = insert_row(audit_fund_table)
_INSERT_ACCOUNT = insert_row(audit_account_table)
_ACCOUNT_CHANGES = frozenset({C.AccountSet, C.AccountConfirmed})


def _person_of(conn: Connection, case_id: str) -> str:
    """The pseudonym of the person a case belongs to (its application's row)."""
    A = audit_account_table
    found = conn.execute(
        sa.select(A.c.person).where(A.c.case_id == case_id).order_by(A.c.position).limit(1)
    ).scalar_one_or_none()
    return str(found or "")


class AuditView(SQLView):
    name = "audit"
    metadata = metadata
    schema_version = 7  # 2: stable event names; 3: audit_fund.position; 4: the Merkle tree
    rebuild_weight = 4
    # 5: running totals of the ledger (audit_ledger_total), audit_ledger.case_id indexed;
    # 6: audit_account (pseudonyms of who holds which account); 7: confirmed money in the
    # running totals
    handles = frozenset(JOURNAL)
    ignores = frozenset()
    decodes = False  # its rows are the stored fields, its pseudonyms single opened fields
    personal_columns: ClassVar[dict[str, frozenset[str]]] = {
        "audit_account": frozenset({"account"}),  # a keyed hash: the person's is the key's id
    }
    opens: ClassVar[dict[EventClass, tuple[str, ...]]] = {
        C.Applied: ("student_id", "account"),
        C.AccountSet: ("account",),
        C.AccountConfirmed: ("account",),
    }

    def __init__(self, engine: sa.Engine) -> None:
        super().__init__(engine)
        self._head: tuple[int, str, int] | None = None
        """(position, chain hash, tree size) this process last wrote."""
        self._totals: tuple[int, int] | None = None
        """(last ledger checkpoint, ledger rows after it) as this process last wrote them."""

    def forget(self) -> None:
        self._head = None
        self._totals = None

    def write(self, conn: Connection, page: Sequence[Envelope], *, after: int | None) -> None:
        known, previous, size, totals = self._resume(conn, after)
        start = size
        rows = _Rows()
        for envelope in self.wanted(page):
            fields = envelope.detail  # the stored fields, masked, as text: no decoding needed
            previous = chain_step(previous, envelope.notification)
            at = envelope.at(conn.dialect)
            rows.journal.append(_journal_row(envelope, fields, at, previous, size))
            size += 1
            _gather(conn, rows, envelope, fields)
            entry = _ledger_row(envelope, fields, at)
            if entry is not None:
                rows.ledger.append(entry)
        _store(conn, rows, start, size)
        if rows.ledger or not known:  # running totals of the ledger (issue 10)
            self._totals = take_checkpoints(conn, totals, len(rows.ledger))
        if rows.journal:
            self._head = (page[-1].position, previous, size)

    def _resume(
        self, conn: Connection, after: int | None
    ) -> tuple[bool, str, int, tuple[int, int] | None]:
        """Where the chain, the tree and the ledger's running totals stand before a page:
        (known, last chain hash, tree size, (last checkpoint, ledger rows after it)).

        Known when this process wrote the position the page follows: the chain and tree
        are deterministic (a position's hashes never change), so they are not read back.
        Else (another process wrote last: every command, with several writers) all of it
        is read in one statement, where it took three through SQLAlchemy (four fifths of
        the view's time a command with two writers, issue 25 §2).
        """
        if self._head is not None and after is not None and self._head[0] == after:
            _, previous, size = self._head
            return True, previous, size, self._totals
        read = execute_once(conn, "audit.resume", _RESUME, {}).rows[0]
        last_hash, last_leaf, checkpoint, since = read
        totals = (int(checkpoint), int(since))
        if last_hash is None:
            return False, GENESIS, 0, totals
        return False, str(last_hash), int(last_leaf) + 1, totals


_J = journal_table
_LAST = _J.c.position == sa.select(sa.func.max(_J.c.position)).scalar_subquery()
_RESUME = sa.select(
    sa.select(_J.c.hash).where(_LAST).scalar_subquery(),
    sa.select(_J.c.leaf_index).where(_LAST).scalar_subquery(),
    *checkpoint_since(),
)
"""The chain's head, the tree's size and the ledger's totals' state, in one statement."""


@dataclass
class _Rows:
    """The rows one page adds to the audit tables, gathered in order and written in bulk."""

    journal: list[dict[str, Any]] = field(default_factory=list)
    ledger: list[dict[str, Any]] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)
    funds: list[dict[str, Any]] = field(default_factory=list)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    erased: list[str] = field(default_factory=list)
    """Cases whose personal data was erased in this page."""
    persons: dict[str, str] = field(default_factory=dict)
    """Case id → its person's pseudonym, for the cases applied in this page."""


def _journal_row(
    envelope: Envelope, fields: dict[str, Any], at: Any, chained: str, leaf_index: int
) -> dict[str, Any]:
    """The event's journal row: its summary, its link in the chain and its leaf in the tree."""
    leaf = envelope_leaf(envelope)  # before the summary: a record with no leaf fails here
    return {
        "position": envelope.position,
        "recorded_at": at,
        "actor": str(fields.get("actor", "")),
        "stream": JOURNAL[envelope.cls],
        "aggregate_id": envelope.aggregate_id,
        "version": envelope.notification.originator_version,
        "event_type": envelope.name,
        "summary": english_summary(envelope.name, fields),
        "detail": envelope.detail_json,
        "hash": chained,
        "leaf_index": leaf_index,
        "leaf": leaf_hash(leaf.encode("utf-8")).hex(),
    }


def _gather(conn: Connection, rows: _Rows, envelope: Envelope, fields: dict[str, Any]) -> None:
    """The rows an event adds besides the journal and the ledger: cases, funds, accounts, erasures."""
    cls = envelope.cls
    if cls is C.Applied:
        _applied(rows, envelope, fields)
    elif cls in _ACCOUNT_CHANGES and not fields.get("pending"):
        # the account the case now pays to: shared-account findings see corrections
        case_id = envelope.aggregate_id
        person = rows.persons.get(case_id) or _person_of(conn, case_id)
        rows.accounts.append(
            {
                "position": envelope.position,
                "case_id": case_id,
                "person": person,
                "account": pseudonym("account", envelope.personal("account")),
            }
        )
    elif cls is C.PersonalDataErased:
        rows.erased.extend(fields["cases"])
    elif cls is Fund.Opened:
        rows.funds.append(
            {
                "fund_id": envelope.aggregate_id,
                "name": fields["name"],
                "kind": fields["kind"],
                "position": envelope.position,
            }
        )


def _applied(rows: _Rows, envelope: Envelope, fields: dict[str, Any]) -> None:
    """A new case: its row, and who holds which account (as pseudonyms)."""
    case_id = envelope.aggregate_id
    rows.cases.append(
        {
            "case_id": case_id,
            "family_category": fields["family_category"],
            "town": fields["town"],
            "year": fields["year"],
        }
    )
    # decrypted: the pseudonyms are the data key's id and a keyed hash of the value
    rows.persons[case_id] = pseudonym("person", envelope.personal("student_id"))
    account = envelope.personal("account")
    rows.accounts.append(
        {
            "position": envelope.position,
            "case_id": case_id,
            "person": rows.persons[case_id],
            "account": pseudonym("account", account) if account else "",
        }
    )


def _ledger_row(envelope: Envelope, fields: dict[str, Any], at: Any) -> dict[str, Any] | None:
    """The ledger row of an event that moves money; None for any other."""
    cls = envelope.cls
    entry = entry_of(cls, fields)
    if entry is None:
        return None
    on_fund = cls in _ON_FUND
    return {
        "position": envelope.position,
        "recorded_at": at,
        "value_date": fields.get("value_date"),
        "entry": entry,
        "case_id": fields.get("case_id") if on_fund else envelope.aggregate_id,
        "fund_id": envelope.aggregate_id if on_fund else fields.get("fund_id"),
        "amount_fen": fields["amount_fen"],
        "need": fields.get("need"),
        "voucher": fields.get("voucher"),
        "receipt": fields.get("receipt"),
        "source": fields.get("source"),
        "actor": fields["actor"],
    }


def _store(conn: Connection, rows: _Rows, start: int, size: int) -> None:
    """Write a page's rows, and the tree's subtrees its leaves ``start`` to ``size - 1`` complete."""
    bulk(conn, "audit.journal", _INSERT_JOURNAL, rows.journal)
    tree.extend(conn, start, size)
    bulk(conn, "audit.ledger", _INSERT_LEDGER, rows.ledger)
    bulk(conn, "audit.case", _INSERT_CASE, rows.cases)
    bulk(conn, "audit.fund", _INSERT_FUND, rows.funds)
    bulk(conn, "audit.account", _INSERT_ACCOUNT, rows.accounts)
    if rows.erased:  # the erased student's accounts can no longer be compared (issue 11)
        conn.execute(
            sa.update(audit_account_table)
            .where(audit_account_table.c.case_id.in_(rows.erased))
            .values(account="")
        )
