"""The audit trail's questions: the digests, the proofs and the signed bundles that an auditor
takes away and checks without the store (:mod:`aidflow.proofs`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy.engine import Engine

from aidflow.domain.policy import Policy
from aidflow.projections import audit
from aidflow.projections.audit import bundles, heads, proving
from aidflow.projections.audit.tree import aggregate_heads
from aidflow.projections.base import reading
from aidflow.projections.models import Digest, Verification
from aidflow.projections.runner import Runner
from aidflow.projections.source import EventSource
from aidflow.proofs.complete import HeadsTree, Period, period_moments
from aidflow.proofs.models import TreeHead, TreeVerification

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


class AuditTrail:
    """The audit view's chain and Merkle tree, asked through :class:`ReadModels`."""

    engine: Engine
    runner: Runner

    @property
    def page_size(self) -> int:
        """How many stored events the views read at a time."""
        return self.runner.page_size

    def digest(self) -> Digest:
        """The chain's head: publish it, and verify the store against it later."""
        with self.runner.query("audit") as conn:
            return audit.digest(conn)

    def verify(self, flow: EventSource, digest: Digest) -> Verification:
        """Recompute the chain from the store and compare it with the digest and the recorded chain.

        Works whatever state the audit view is in: links it has not recorded are
        checked against the digest alone.
        """
        with reading(self.engine) as conn:
            recorded = audit.recorded_links(conn, digest.position)
        return audit.verify(flow, digest, recorded, self.page_size)

    # -- the Merkle tree: digests, proofs and signed bundles --------------------------------

    def tree_head(self) -> TreeHead:
        """The tree's head: the digest to publish (``tree:SIZE:ROOT``)."""
        with reading(self.engine) as conn:
            return heads.tree_head(conn)

    def heads_digest(self, size: int) -> str:
        """The heads digest of the tree's first ``size`` leaves (each aggregate's last event
        among them): published beside the tree digest, it lets a case bundle prove itself
        complete (:mod:`aidflow.proofs.complete`)."""
        with reading(self.engine) as conn:
            return str(HeadsTree(aggregate_heads(conn, size)).digest(size))

    def verify_tree(self, flow: EventSource, head: TreeHead) -> TreeVerification:
        """Recompute the tree from the store and compare it with ``head`` and the stored tree."""
        with reading(self.engine) as conn:
            leaves, nodes = heads.recorded(conn, head.size)
        return heads.verify_tree(flow, head, leaves, nodes, self.page_size)

    def chain_link(self, head: TreeHead) -> Digest | None:
        """The v0.1 chain's link at the tree head's last event, when the journal holds it."""
        with reading(self.engine) as conn:
            leaves, _nodes = heads.recorded(conn, head.size)
            last = max((p for p, _ in leaves.values()), default=0)
            position = head.position or last
            links = audit.recorded_links(conn, position)
        return Digest(position=position, hash=links[position]) if position in links else None

    def prove(self, flow: EventSource, position: int, head: TreeHead) -> dict[str, Any]:
        """An inclusion proof of the event at ``position`` against the digest ``head``."""
        with reading(self.engine) as conn:
            return proving.inclusion(conn, flow, position, head)

    def prove_consistency(self, old: TreeHead, head: TreeHead) -> dict[str, Any]:
        """A consistency proof: the tree ``old`` names is a prefix of the one ``head`` names."""
        with reading(self.engine) as conn:
            return proving.consistency(conn, old, head)

    def cases_in_tree(self, size: int) -> list[str]:
        """Every case opened within the tree of ``size`` leaves: a sample's population."""
        with reading(self.engine) as conn:
            return audit.cases_in_tree(conn, size)

    def case_positions(self, case_id: UUID) -> list[int]:
        """A case's events and the openings of the funds they name: a case bundle's events."""
        with reading(self.engine) as conn:
            return audit.case_positions(conn, str(case_id))

    def period_positions(self, period: Period) -> list[int]:
        """Every event recorded in a period (whole days on its clock): a period bundle's."""
        with reading(self.engine) as conn:
            return audit.period_positions(conn, *period_moments(period))

    def export_bundle(
        self,
        flow: EventSource,
        head: TreeHead,
        positions: list[int],
        scope: dict[str, Any],
        policy: Policy,
        key: Ed25519PrivateKey,
    ) -> bytes:
        """A signed bundle of the events at ``positions``, each proved against ``head``."""
        with reading(self.engine) as conn:
            return bundles.export(conn, flow, head, positions, scope, policy, key)
