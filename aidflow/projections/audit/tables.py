"""The audit slice's tables: the journal (with the chain), the money ledger, and grouping facts.

``audit_case`` and ``audit_fund`` keep the few facts the ledger's totals group
by (family category, town, fund kind), so money rows are pure inserts.

Every row carries the position at which it took effect and no row changes in
place, so the views as of a past position are the same queries filtered by
``position <= P`` (a case's facts precede every money row that joins them).
"""

from __future__ import annotations

import sqlalchemy as sa

from aidflow.projections.base import KEEP_DURING_REBUILD, UTCDateTime

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
    sa.Column("event_type", sa.String(40), nullable=False),  # the stable name: case.applied
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),  # the chain, see chain.chain_step()
    # The Merkle tree (aidflow.proofs): this event's leaf number and leaf hash.
    sa.Column("leaf_index", sa.BigInteger, nullable=False, unique=True),
    sa.Column("leaf", sa.String(64), nullable=False),
)

tree_table = sa.Table(
    "audit_tree",
    metadata,
    # Perfect subtrees of the Merkle tree at every fourth level (16, 256, 4096... leaves),
    # so a proof reads a few rows per level instead of every leaf.
    sa.Column("level", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.String(64), nullable=False),
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
    sa.Column("position", sa.BigInteger, nullable=False),  # opened at: past ledgers filter on it
)

# -- running totals of the ledger (issue 10) ------------------------------------------------
# Every CHECKPOINT_ROWS ledger rows (aidflow.projections.audit.ledger), the totals of each part
# of the ledger's queries up to that row: a ledger as of any position reads the last
# checkpoint at or before it and only the ledger rows after that.

ledger_total_table = sa.Table(
    "audit_ledger_total",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("part", sa.String(32), primary_key=True),
    sa.Column("grouping", sa.Text, primary_key=True),  # the group's key, as JSON
    sa.Column("total", sa.BigInteger, nullable=False),
)

# A case's ledger rows, for the cases a window of rows touches (kept while a rebuild loads).
sa.Index("ix_audit_ledger_case_id", ledger_table.c.case_id, info={KEEP_DURING_REBUILD: True})

audit_account_table = sa.Table(
    "audit_account",
    metadata,
    # Who holds which account, as pseudonyms (aidflow.domain.keys.pseudonym), never the
    # numbers: the same account on two people and one person's several cases are found by
    # comparing these. One row per case opened ("" for no account), and per account change.
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("case_id", sa.String(36), nullable=False),
    sa.Column("person", sa.String(32), nullable=False),
    sa.Column("account", sa.String(32), nullable=False),
)
# An account change reads the person of its case; an erasure blanks a case's accounts: kept
# while a rebuild loads, or each of those would scan the table.
sa.Index(
    "ix_audit_account_case_id", audit_account_table.c.case_id, info={KEEP_DURING_REBUILD: True}
)
