"""The Merkle tree over the audit journal, as the audit view stores it.

Every journal row keeps its leaf number (``leaf_index``, 0-based, in position
order) and leaf hash; ``audit_tree`` keeps the perfect subtrees at every
``STRIDE``-th level (16, 256, 4096... leaves). Any perfect subtree is then at most
``2**(STRIDE-1)`` stored hashes combined, so the tree head and a proof cost
O(log n) small reads and hashes, whatever the size of the store.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aidflow.domain.errors import ProofUnavailable, said
from aidflow.projections.audit.tables import journal_table, tree_table
from aidflow.projections.base import bulk, execute_once, insert_row
from aidflow.projections.view import Envelope
from aidflow.proofs.leaves import leaf_text
from aidflow.proofs.merkle import EMPTY_ROOT, node_hash, root_of, split


def envelope_leaf(envelope: Envelope) -> str:
    """The leaf text of an event as the views read it: the one the audit view stores and a
    proof shows (the actor and fields as stored, masked). Raises ``StoreDamaged`` for a
    record that cannot be read."""
    detail = envelope.detail
    return leaf_text(
        envelope.notification,
        envelope.name,
        str(detail.get("actor", "")),
        envelope.detail_json,
        envelope.recorded_at_iso(),
    )


STRIDE = 4
"""Stored levels are the multiples of this (level 0, the leaves, are in the journal)."""


def tree_size(conn: Connection) -> int:
    """How many leaves the stored tree has (the journal's rows)."""
    top = conn.execute(sa.select(sa.func.max(journal_table.c.leaf_index))).scalar_one()
    return 0 if top is None else int(top) + 1


_LEAVES = (
    sa.select(journal_table.c.leaf)
    .where(
        journal_table.c.leaf_index >= sa.bindparam("lo"),
        journal_table.c.leaf_index < sa.bindparam("hi"),
    )
    .order_by(journal_table.c.leaf_index)
)
_NODES = (
    sa.select(tree_table.c.hash)
    .where(
        tree_table.c.level == sa.bindparam("level"),
        tree_table.c.idx >= sa.bindparam("lo"),
        tree_table.c.idx < sa.bindparam("hi"),
    )
    .order_by(tree_table.c.idx)
)
_INSERT_NODE = insert_row(tree_table)


def _level_rows(conn: Connection, level: int, lo: int, hi: int) -> list[bytes]:
    """Stored hashes at ``level`` with index ``lo`` to ``hi - 1``, in order."""
    if level == 0:
        result = execute_once(conn, "tree.leaves", _LEAVES, {"lo": lo, "hi": hi})
    else:
        result = execute_once(conn, "tree.nodes", _NODES, {"level": level, "lo": lo, "hi": hi})
    found = [bytes.fromhex(h) for (h,) in result.rows]
    if len(found) != hi - lo:
        raise ProofUnavailable(
            said(
                "the audit view's tree is incomplete at level {level} ({found_count} of {hi} hashes from {lo}); rebuild the audit view",
                level=level,
                found_count=len(found),
                hi=hi - lo,
                lo=lo,
            )
        )
    return found


def extend(conn: Connection, old: int, new: int) -> None:
    """Store the perfect subtrees completed by leaves ``old`` to ``new - 1`` (already in the journal)."""
    level = STRIDE
    while new >> level:
        first, last = old >> level, new >> level
        if first < last:
            fan = 1 << STRIDE
            children = _level_rows(conn, level - STRIDE, first * fan, last * fan)
            rows = [
                {
                    "level": level,
                    "idx": first + i,
                    "hash": root_of(children[i * fan : (i + 1) * fan]).hex(),
                }
                for i in range(last - first)
            ]
            bulk(conn, "tree.insert", _INSERT_NODE, rows)
        level += STRIDE


def aggregate_heads(conn: Connection, size: int) -> list[tuple[str, int, int]]:
    """Each aggregate's last event among the first ``size`` leaves: (aggregate id, version,
    leaf number), by aggregate id; what the heads digest of a tree of ``size`` leaves commits
    to (:class:`aidflow.proofs.complete.HeadsTree`). One grouped read of the journal."""
    j = journal_table
    last = (
        sa.select(sa.func.max(j.c.leaf_index).label("leaf"))
        .where(j.c.leaf_index < size)
        .group_by(j.c.aggregate_id)
        .subquery()
    )
    rows = conn.execute(
        sa.select(j.c.aggregate_id, j.c.version, j.c.leaf_index).join(
            last, j.c.leaf_index == last.c.leaf
        )
    )
    return sorted((str(a), int(v), int(i)) for a, v, i in rows)


class StoredTree:
    """Subtree hashes read from the audit view (one connection, cached for one proof)."""

    def __init__(self, conn: Connection, size: int | None = None) -> None:
        self.conn = conn
        self.size = tree_size(conn) if size is None else size
        self._cache: dict[tuple[int, int], bytes] = {}

    def perfect(self, level: int, index: int) -> bytes:
        key = (level, index)
        if key not in self._cache:
            base = level - level % STRIDE
            span = 1 << (level - base)
            self._cache[key] = root_of(
                _level_rows(self.conn, base, index * span, (index + 1) * span)
            )
        return self._cache[key]

    def subtree(self, lo: int, hi: int) -> bytes:
        """MTH of leaves ``lo`` to ``hi - 1``."""
        n = hi - lo
        if n <= 0:
            return EMPTY_ROOT
        if n & (n - 1) == 0 and lo % n == 0:
            return self.perfect(n.bit_length() - 1, lo // n)
        k = split(n)
        return node_hash(self.subtree(lo, lo + k), self.subtree(lo + k, hi))

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        if size > self.size:
            raise ProofUnavailable(
                said("the tree has {size} leaves, not {size2}", size=self.size, size2=size)
            )
        return self.subtree(0, size)

    def leaf_of_position(self, position: int) -> tuple[int, str]:
        """(leaf number, leaf hash) of the event at ``position``."""
        j = journal_table
        row = self.conn.execute(
            sa.select(j.c.leaf_index, j.c.leaf).where(j.c.position == position)
        ).first()
        if row is None:
            raise ProofUnavailable(
                said("no event at position {position} in the audit journal", position=position)
            )
        return int(row.leaf_index), str(row.leaf)

    def position_of_leaf(self, index: int) -> int:
        j = journal_table
        found = self.conn.execute(
            sa.select(j.c.position).where(j.c.leaf_index == index)
        ).scalar_one_or_none()
        if found is None:
            raise ProofUnavailable(said("no leaf {index} in the audit journal", index=index))
        return int(found)
