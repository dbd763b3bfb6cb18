"""What the proofs return: the tree head (the digest), verification results, proof files."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

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
        prefix, size, root = ([*text.strip().split(":"), "", "", ""])[:3]
        if prefix != TREE_PREFIX or not size.isdigit() or len(root) != 64:
            raise ValueError(f"digest {text!r} is not tree:SIZE:SHA256HEX")
        int(root, 16)
        return cls(size=int(size), root=root.lower())


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
            or not (parts[1].isdigit() and parts[1].isascii())
            or not (parts[2].isdigit() and parts[2].isascii())
            or len(parts[3]) != 64
            or not set(parts[3].lower()) <= set("0123456789abcdef")
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
