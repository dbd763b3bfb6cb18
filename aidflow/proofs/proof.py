"""Proof files, checked from a digest alone (the audit view makes them:
:mod:`aidflow.projections.audit.proving`).

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

from aidflow.domain.errors import ProofInvalid, said
from aidflow.proofs.merkle import leaf_hash, verify_consistency, verify_inclusion
from aidflow.proofs.models import ProofCheck, TreeHead

FORMAT = "aidflow-proof/1"


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
        return _check_inclusion(proof, head)
    if kind == "consistency":
        return _check_consistency(proof, head, old)
    raise ProofInvalid(said("unknown kind of proof {kind!r}", kind=kind))


def _check_inclusion(proof: dict[str, Any], head: TreeHead) -> ProofCheck:
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


def _check_consistency(proof: dict[str, Any], head: TreeHead, old: TreeHead | None) -> ProofCheck:
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
