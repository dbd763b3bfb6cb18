"""Proof files: made from a store, checked from a digest alone.

An inclusion proof (``kind: inclusion``) carries one event's leaf text (its
masked content and the hash of its stored record), its leaf number and
position, and the audit path to the root of a tree of ``tree_size`` leaves. A
consistency proof (``kind: consistency``) shows that the tree an older digest
names is the first ``old.tree_size`` leaves of the newer one: the record only
grew. :func:`check_proof` (and ``scripts/verify_proof.py``, the same checks in a
page of plain Python) needs nothing but the file and the digest.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.engine import Connection

from aidflow.domain.errors import ProofInvalid, ProofUnavailable, StoreDamaged, said
from aidflow.projections.source import EventSource
from aidflow.projections.view import envelopes
from aidflow.proofs.leaves import envelope_leaf
from aidflow.proofs.merkle import (
    consistency_path,
    inclusion_path,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from aidflow.proofs.models import ProofCheck, TreeHead
from aidflow.proofs.tree import StoredTree

FORMAT = "aidflow-proof/1"


def _tree_at(conn: Connection, head: TreeHead) -> StoredTree:
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
    tree = tree or _tree_at(conn, head)
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
    tree = _tree_at(conn, head)
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


def _hashes(values: Any) -> list[bytes]:
    if not isinstance(values, list) or not all(isinstance(v, str) and len(v) == 64 for v in values):
        raise ProofInvalid(said("the proof's path is not a list of SHA-256 hex hashes"))
    try:
        return [bytes.fromhex(v) for v in values]
    except ValueError:
        raise ProofInvalid(said("the proof's path is not a list of SHA-256 hex hashes")) from None


def load(text: str) -> dict[str, Any]:
    try:
        proof = json.loads(text)
    except ValueError as exc:
        raise ProofInvalid(said("the proof is not JSON: {exc}", exc=exc)) from None
    if not isinstance(proof, dict) or proof.get("format") != FORMAT:
        raise ProofInvalid(said("not an aidflow proof (format {format_name})", format_name=FORMAT))
    return proof


def check_proof(proof: dict[str, Any], head: TreeHead, old: TreeHead | None = None) -> ProofCheck:
    """Check a proof against the digest ``head`` (and, for consistency, the older ``old``).

    Touches no store: only the proof and the digests.
    """
    kind = proof.get("kind")
    if kind == "inclusion":
        if proof.get("tree_size") != head.size or proof.get("root") != head.root:
            return ProofCheck(
                ok=False, kind="inclusion", message=f"the proof is for another digest than {head}"
            )
        leaf = proof.get("leaf")
        index = proof.get("leaf_index")
        if not isinstance(leaf, str) or not isinstance(index, int):
            raise ProofInvalid(said("the proof has no leaf text or leaf number"))
        ok = verify_inclusion(
            index,
            head.size,
            leaf_hash(leaf.encode("utf-8")),
            _hashes(proof.get("path")),
            bytes.fromhex(head.root),
        )
        try:
            position = json.loads(leaf).get("position")
        except (ValueError, AttributeError):
            position = None
        if ok and position != proof.get("position"):
            ok = False
        message = (
            f"the event at position {position} (leaf {index}) is in the record of digest {head}"
            if ok
            else f"the proof does not lead to the root of digest {head}: the event or a hash was changed"
        )
        return ProofCheck(ok=ok, kind="inclusion", message=message)
    if kind == "consistency":
        first = proof.get("old") or {}
        old = old or TreeHead(size=int(first.get("tree_size", -1)), root=str(first.get("root", "")))
        if first.get("tree_size") != old.size or first.get("root") != old.root:
            return ProofCheck(
                ok=False,
                kind="consistency",
                message=f"the proof starts from another digest than {old}",
            )
        if proof.get("tree_size") != head.size or proof.get("root") != head.root:
            return ProofCheck(
                ok=False, kind="consistency", message=f"the proof is for another digest than {head}"
            )
        try:
            old_root = bytes.fromhex(old.root)
        except ValueError:
            raise ProofInvalid(said("the older digest's root is not hex")) from None
        ok = verify_consistency(
            old.size, head.size, old_root, bytes.fromhex(head.root), _hashes(proof.get("path"))
        )
        message = (
            f"the record of digest {head} extends that of {old}: it only grew"
            if ok
            else f"the record of digest {head} does not extend that of {old}"
        )
        return ProofCheck(ok=ok, kind="consistency", message=message)
    raise ProofInvalid(said("unknown kind of proof {kind!r}", kind=kind))
