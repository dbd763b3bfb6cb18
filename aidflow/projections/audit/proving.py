"""Proofs made from the store: an event's inclusion in the tree a digest names, and the
consistency of an older digest with a newer one. They are checked with nothing but the
file and the digest (:func:`aidflow.proofs.proof.check_proof`, ``scripts/verify_proof.py``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from aidflow.domain.errors import ProofUnavailable, StoreDamaged, said
from aidflow.projections.audit.tree import StoredTree, envelope_leaf
from aidflow.projections.source import EventSource
from aidflow.projections.view import envelopes
from aidflow.proofs.merkle import consistency_path, inclusion_path, leaf_hash
from aidflow.proofs.models import TreeHead
from aidflow.proofs.proof import FORMAT


def tree_at(conn: Connection, head: TreeHead) -> StoredTree:
    """The stored tree, once it is shown that ``head`` is one of its heads."""
    tree = StoredTree(conn)
    if head.size > tree.size:
        raise ProofUnavailable(
            said(
                "the digest names a tree of {size} events; this store's audit view has {size2}: it is of another store, or the view is behind",
                size=head.size,
                size2=tree.size,
            )
        )
    if tree.root(head.size).hex() != head.root:
        raise ProofUnavailable(
            said(
                "the digest {head} is not a head of this store's tree: its first {size} events have another root (another store, or the record was changed)",
                head=head,
                size=head.size,
            )
        )
    return tree


def event_leaf(source: EventSource, position: int) -> str:
    """The leaf text of the stored event at ``position``, read from the store itself."""
    records = source.recorder.select_notifications(start=position, limit=1, inclusive_of_start=True)
    if not records or records[0].id != position:
        raise ProofUnavailable(
            said("no event at position {position} in the store", position=position)
        )
    envelope = envelopes(list(records), source.mapper)[0]
    if envelope.error is not None:
        raise ProofUnavailable(str(envelope.error))
    try:
        return envelope_leaf(envelope)
    except StoreDamaged as exc:
        raise ProofUnavailable(str(exc)) from exc


def inclusion(
    conn: Connection,
    source: EventSource,
    position: int,
    head: TreeHead,
    tree: StoredTree | None = None,
) -> dict[str, Any]:
    """An inclusion proof of the event at ``position`` in the tree ``head`` names."""
    tree = tree or tree_at(conn, head)
    index, recorded = tree.leaf_of_position(position)
    if index >= head.size:
        raise ProofUnavailable(
            said(
                "the event at position {position} came after the digest's {size} events; take a newer digest",
                position=position,
                size=head.size,
            )
        )
    text = event_leaf(source, position)
    if leaf_hash(text.encode("utf-8")).hex() != recorded:
        raise ProofUnavailable(
            said(
                "the stored event at position {position} no longer matches the audit journal: run `aidflow audit verify`",
                position=position,
            )
        )
    return {
        "format": FORMAT,
        "kind": "inclusion",
        "tree_size": head.size,
        "root": head.root,
        "leaf_index": index,
        "position": position,
        "leaf": text,
        "path": [h.hex() for h in inclusion_path(index, head.size, tree.subtree)],
    }


def consistency(conn: Connection, old: TreeHead, head: TreeHead) -> dict[str, Any]:
    """A consistency proof: the tree ``old`` names is a prefix of the one ``head`` names."""
    if old.size > head.size:
        raise ProofUnavailable(
            said(
                "the older digest has {size} events, more than the newer one's {size2}",
                size=old.size,
                size2=head.size,
            )
        )
    tree = tree_at(conn, head)
    if tree.root(old.size).hex() != old.root:
        raise ProofUnavailable(
            said(
                "the older digest {old} is not a head of this store's tree: the record did not only grow since, or the digest is of another store",
                old=old,
            )
        )
    return {
        "format": FORMAT,
        "kind": "consistency",
        "old": {"tree_size": old.size, "root": old.root},
        "tree_size": head.size,
        "root": head.root,
        "path": [h.hex() for h in consistency_path(old.size, head.size, tree.subtree)],
    }
