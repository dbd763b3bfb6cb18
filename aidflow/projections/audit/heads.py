"""The digest an auditor publishes (the tree head), and verifying a store against it.

``tree_head`` reads it from the audit view in O(log n) rows. ``verify_tree``
trusts neither the view nor the digest's author: it recomputes every leaf from
the stored records, compares each with the leaf the audit view recorded when it
first saw the event (naming the first position that differs), every stored
subtree with its recomputed value, and the recomputed root with the digest's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aidflow.domain.errors import StoreDamaged
from aidflow.projections.audit.tables import journal_table, tree_table
from aidflow.projections.audit.tree import STRIDE, StoredTree, envelope_leaf
from aidflow.projections.source import EventSource, pages
from aidflow.projections.view import envelopes
from aidflow.proofs.merkle import Stream, leaf_hash
from aidflow.proofs.models import TreeHead, TreeVerification


def tree_head(conn: Connection, size: int | None = None) -> TreeHead:
    """The head of the stored tree (of its first ``size`` leaves when given)."""
    tree = StoredTree(conn)
    size = tree.size if size is None else size
    root = tree.root(size).hex()
    position = tree.position_of_leaf(size - 1) if size else 0
    return TreeHead(size=size, root=root, position=position)


def recorded(
    conn: Connection, size: int
) -> tuple[dict[int, tuple[int, str]], dict[tuple[int, int], str]]:
    """What the audit view recorded: leaf number → (position, leaf hash), and its stored nodes."""
    j, t = journal_table, tree_table
    leaves = {
        int(i): (int(p), h)
        for i, p, h in conn.execute(
            sa.select(j.c.leaf_index, j.c.position, j.c.leaf).where(j.c.leaf_index < size)
        )
    }
    nodes = {
        (int(lv), int(ix)): h for lv, ix, h in conn.execute(sa.select(t.c.level, t.c.idx, t.c.hash))
    }
    return leaves, nodes


def leaf_hashes(
    source: EventSource, size: int | None, page_size: int
) -> Iterator[tuple[int, bytes | None]]:
    """(position, leaf hash) of every stored record in order; None for one that cannot be decoded."""
    count = 0
    for records in pages(source, None, None, page_size):
        for envelope in envelopes(records, source.mapper):
            if size is not None and count >= size:
                return
            count += 1
            if envelope.error is not None:
                yield envelope.position, None
                continue
            try:
                text = envelope_leaf(envelope)
            except StoreDamaged:
                yield envelope.position, None
                continue
            yield envelope.position, leaf_hash(text.encode("utf-8"))


@dataclass
class _Subtrees:
    """The audit view's stored subtrees met while the tree is recomputed: how many were
    compared, and the first whose stored hash differs from the recomputed one."""

    stored: dict[tuple[int, int], str]
    checked: int = 0
    altered: tuple[int, int] | None = None

    def see(self, level: int, index: int, value: bytes) -> None:
        """:class:`Stream`'s ``on_node``: compare a completed subtree with the stored one."""
        if level and level % STRIDE == 0 and (level, index) in self.stored:
            self.checked += 1
            if self.altered is None and self.stored[(level, index)] != value.hex():
                self.altered = (level, index)


def _mismatch(
    position: int, value: bytes | None, kept: tuple[int, str] | None
) -> tuple[int, str] | None:
    """Where and why a recomputed leaf differs from the one the audit view recorded (None: it
    agrees, or the view has not recorded it yet and the digest alone checks it)."""
    if value is None:
        return position, "it cannot be decoded"
    if kept is None:
        return None
    if kept[0] != position:
        return min(position, kept[0]), "events were removed, inserted or reordered"
    if kept[1] != value.hex():
        return position, "it was altered (or events were reordered)"
    return None


def _message(
    head: TreeHead,
    stream: Stream,
    root: str,
    first: tuple[int, str] | None,
    subtrees: _Subtrees,
    *,
    ok: bool,
) -> str:
    """The verdict in one sentence: the first cause found, in the order a reader fixes them."""
    if ok:
        return (
            f"the store matches the digest: {stream.size} events in a tree of root "
            f"{root[:16]}..., {subtrees.checked} stored subtrees checked"
        )
    if first is not None:
        return f"the store no longer matches from position {first[0]}: {first[1]}"
    if stream.size < head.size:
        return f"the store holds {stream.size} events; the digest is of a tree of {head.size}"
    if subtrees.altered is not None:
        level, number = subtrees.altered
        return (
            f"the audit view's stored subtree at level {level}, number {number} "
            "was altered (rebuild the audit view)"
        )
    return (
        "the store does not match the digest, and the audit view was rewritten to match "
        f"the store: the change lies among the first {head.size} events"
    )


def verify_tree(
    source: EventSource,
    head: TreeHead,
    leaves: dict[int, tuple[int, str]],
    nodes: dict[tuple[int, int], str],
    page_size: int,
) -> TreeVerification:
    """Recompute the tree from the store; compare it with the recorded one and the digest."""
    subtrees = _Subtrees(nodes)
    stream = Stream(subtrees.see)
    first: tuple[int, str] | None = None  # the first leaf that differs, and why
    for position, value in leaf_hashes(source, head.size, page_size):
        if first is None:
            first = _mismatch(position, value, leaves.get(stream.size))
        stream.add(value or b"\x00" * 32)
    root = stream.root().hex()
    ok = (
        first is None
        and subtrees.altered is None
        and stream.size == head.size
        and root == head.root
    )
    return TreeVerification(
        ok=ok,
        head=head,
        checked=stream.size,
        nodes_checked=subtrees.checked,
        first_mismatch=None if first is None else first[0],
        message=_message(head, stream, root, first, subtrees, ok=ok),
    )
