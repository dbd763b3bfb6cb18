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
