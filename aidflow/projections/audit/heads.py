"""The digest an auditor publishes (the tree head), and verifying a store against it.

``tree_head`` reads it from the audit view in O(log n) rows. ``verify_tree``
trusts neither the view nor the digest's author: it recomputes every leaf from
the stored records, compares each with the leaf the audit view recorded when it
first saw the event (naming the first position that differs), every stored
subtree with its recomputed value, and the recomputed root with the digest's.
"""

from __future__ import annotations

from collections.abc import Iterator

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


def verify_tree(
    source: EventSource,
    head: TreeHead,
    leaves: dict[int, tuple[int, str]],
    nodes: dict[tuple[int, int], str],
    page_size: int,
) -> TreeVerification:
    """Recompute the tree from the store; compare it with the recorded one and the digest."""
    first: int | None = None
    why = ""
    bad_node: tuple[int, int] | None = None
    checked_nodes = 0

    def on_node(level: int, index: int, value: bytes) -> None:
        nonlocal bad_node, checked_nodes
        if level and level % STRIDE == 0 and (level, index) in nodes:
            checked_nodes += 1
            if bad_node is None and nodes[(level, index)] != value.hex():
                bad_node = (level, index)

    stream = Stream(on_node)
    for position, value in leaf_hashes(source, head.size, page_size):
        index = stream.size
        kept = leaves.get(index)
        if first is None:
            if value is None:
                first, why = position, "it cannot be decoded"
            elif kept is None:
                pass  # the view has not recorded it yet: checked against the digest alone
            elif kept[0] != position:
                first, why = min(position, kept[0]), "events were removed, inserted or reordered"
            elif kept[1] != value.hex():
                first, why = position, "it was altered (or events were reordered)"
        stream.add(value or b"\x00" * 32)
    root = stream.root().hex()
    ok = first is None and bad_node is None and stream.size == head.size and root == head.root
    if ok:
        message = (
            f"the store matches the digest: {stream.size} events in a tree of root "
            f"{root[:16]}..., {checked_nodes} stored subtrees checked"
        )
    elif first is not None:
        message = f"the store no longer matches from position {first}: {why}"
    elif stream.size < head.size:
        message = f"the store holds {stream.size} events; the digest is of a tree of {head.size}"
    elif bad_node is not None:
        message = (
            f"the audit view's stored subtree at level {bad_node[0]}, number {bad_node[1]} "
            "was altered (rebuild the audit view)"
        )
    else:
        message = (
            "the store does not match the digest, and the audit view was rewritten to match "
            f"the store: the change lies among the first {head.size} events"
        )
    return TreeVerification(
        ok=ok,
        head=head,
        checked=stream.size,
        nodes_checked=checked_nodes,
        first_mismatch=first,
        message=message,
    )
