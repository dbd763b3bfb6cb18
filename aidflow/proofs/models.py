"""What the proofs return: the tree head (the digest), verification results, proof files."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from aidflow.domain.canonical import is_count, is_sha256_hex

TREE_PREFIX = "tree"


class View(BaseModel):
    """What the offline verifier answers: frozen, plain data."""

    model_config = ConfigDict(frozen=True)


class TreeHead(View):
    """The published digest: the Merkle tree's size and root (and its last event's position).

    Its text is ``tree:SIZE:ROOTHEX``; the position is informational (a proof
    names each event's position inside its leaf).
    """

    size: int
    root: str
    position: int = 0

    def __str__(self) -> str:
        return f"{TREE_PREFIX}:{self.size}:{self.root}"

    @classmethod
    def parse(cls, text: str) -> TreeHead:
        parts = text.strip().split(":")
        if (
            len(parts) != 3  # nothing trailing: a digest is published and compared whole
            or parts[0] != TREE_PREFIX
            or not is_count(parts[1])
            or not is_sha256_hex(parts[2])
        ):
            raise ValueError(f"digest {text!r} is not tree:SIZE:SHA256HEX")
        return cls(size=int(parts[1]), root=parts[2].lower())


HEADS_PREFIX = "heads"


class HeadsDigest(View):
    """The aggregate heads at a tree digest: each aggregate's last event among the tree's first
    ``tree_size`` leaves, as a Merkle tree of ``count`` entries in aggregate id order
    (:mod:`aidflow.proofs.complete`). Its text is ``heads:TREE_SIZE:COUNT:ROOTHEX``."""

    tree_size: int
    count: int
    root: str

    def __str__(self) -> str:
        return f"{HEADS_PREFIX}:{self.tree_size}:{self.count}:{self.root}"

    @classmethod
    def parse(cls, text: str) -> HeadsDigest:
        parts = text.strip().split(":")
        if (
            len(parts) != 4
            or parts[0] != HEADS_PREFIX
            or not is_count(parts[1])
            or not is_count(parts[2])
            or not is_sha256_hex(parts[3])
        ):
            raise ValueError(f"heads digest {text!r} is not heads:TREE_SIZE:COUNT:SHA256HEX")
        return cls(tree_size=int(parts[1]), count=int(parts[2]), root=parts[3].lower())


class TreeVerification(View):
    ok: bool
    head: TreeHead
    checked: int
    nodes_checked: int
    first_mismatch: int | None
    """The first position whose leaf no longer matches what the audit view recorded."""
    message: str


class ProofCheck(View):
    ok: bool
    kind: Literal["inclusion", "consistency"]
    message: str
