"""Signed export bundles made from the store: the events of a case or a period, each proved
against today's digest, their figures, one signature (the format and its offline check:
:mod:`aidflow.proofs.bundle`)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Connection

from aidflow.domain.policy import Policy
from aidflow.projections.audit.proving import inclusion, tree_at
from aidflow.projections.source import EventSource
from aidflow.proofs.bundle import FORMAT, as_json, compute_figures, pack
from aidflow.proofs.models import TreeHead


def export(
    conn: Connection,
    source: EventSource,
    head: TreeHead,
    positions: list[int],
    scope: dict[str, Any],
    policy: Policy,
    key: Ed25519PrivateKey,
) -> bytes:
    """A signed bundle of the events at ``positions``, proved against ``head``."""
    tree = tree_at(conn, head)
    proofs = [inclusion(conn, source, p, head, tree) for p in sorted(set(positions))]
    events = [
        {"leaf_index": p["leaf_index"], "position": p["position"], "leaf": p["leaf"]}
        for p in proofs
    ]
    leaves = [json.loads(e["leaf"]) for e in events]
    settings = {k: v for k, v in asdict(policy).items()}
    files = {
        "events.json": as_json(events),
        "proofs.json": as_json({str(p["position"]): p["path"] for p in proofs}),
        "figures.json": as_json(compute_figures(leaves, settings)),
    }
    manifest = {
        "format": FORMAT,
        "scope": scope,
        "digest": str(head),
        "tree_size": head.size,
        "root": head.root,
        "events": len(events),
    }
    return pack(files, manifest, key)
