"""RFC 9162 (Certificate Transparency 2.0, section 2.1) Merkle tree hashing, proofs and checks.

Leaf hash ``SHA-256(0x00 || leaf)``, interior node ``SHA-256(0x01 || left || right)``;
a tree of ``n`` leaves splits at ``k``, the largest power of two strictly less than
``n``; the empty tree's hash is SHA-256 of nothing. Proofs are built from any
``subtree(lo, hi)`` function returning the hash of leaves ``lo..hi-1`` (the store
answers it from a few stored nodes), and checked from the tree head alone.
``scripts/verify_proof.py`` is the same checking code with nothing but ``hashlib``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

Subtree = Callable[[int, int], bytes]
"""The hash of the tree over leaves ``lo`` (inclusive) to ``hi`` (exclusive)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    """The largest power of two strictly less than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes, by the definition (small trees, tests)."""
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = split(n)
    return node_hash(root_of(leaf_hashes[:k]), root_of(leaf_hashes[k:]))


class Stream:
    """The root of a growing tree, one leaf hash at a time, in O(log n) memory.

    ``on_node(level, index, hash)`` is told of every perfect subtree completed
    (level 0 are the leaves); verification compares those with the stored ones.
    """

    def __init__(self, on_node: Callable[[int, int, bytes], None] | None = None) -> None:
        self.stack: list[tuple[int, bytes]] = []  # (level, hash), levels strictly decreasing
        self.size = 0
        self.on_node = on_node

    def add(self, leaf: bytes) -> None:
        level, value, index = 0, leaf, self.size
        if self.on_node:
            self.on_node(0, index, value)
        while self.stack and self.stack[-1][0] == level:
            _, left = self.stack.pop()
            value = node_hash(left, value)
            level += 1
            index >>= 1
            if self.on_node:
                self.on_node(level, index, value)
        self.stack.append((level, value))
        self.size += 1

    def extend(self, leaves: Iterable[bytes]) -> None:
        for leaf in leaves:
            self.add(leaf)

    def root(self) -> bytes:
        if not self.stack:
            return EMPTY_ROOT
        value = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            value = node_hash(left, value)
        return value


# -- proofs (RFC 9162 2.1.3.1 and 2.1.4.1), over any subtree function ------------------------


def inclusion_path(index: int, size: int, subtree: Subtree) -> list[bytes]:
    """PATH(m, D[n]): the audit path of leaf ``index`` in the tree of ``size`` leaves."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    path: list[bytes] = []
    lo, hi, m = 0, size, index
    while hi - lo > 1:
        k = split(hi - lo)
        if m < k:
            path.append(subtree(lo + k, hi))
            hi = lo + k
        else:
            path.append(subtree(lo, lo + k))
            lo, m = lo + k, m - k
    path.reverse()  # RFC order: from the leaf's sibling up to the root's child
    return path


def consistency_path(old: int, size: int, subtree: Subtree) -> list[bytes]:
    """PROOF(m, D[n]): that the first ``old`` leaves of the tree of ``size`` are the old tree."""
    if not 0 <= old <= size:
        raise ValueError(f"a tree of {old} leaves cannot be a prefix of one of {size}")
    if old in (0, size):
        return []
    out: list[bytes] = []

    def subproof(m: int, lo: int, hi: int, whole: bool) -> None:
        n = hi - lo
        if m == n:
            if not whole:
                out.append(subtree(lo, hi))
            return
        k = split(n)
        if m <= k:
            subproof(m, lo, lo + k, whole)
            out.append(subtree(lo + k, hi))
        else:
            subproof(m - k, lo + k, hi, False)
            out.append(subtree(lo, lo + k))

    subproof(old, 0, size, True)
    return out


# -- checks (RFC 9162 2.1.3.2 and 2.1.4.2) ---------------------------------------------------


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """The root an inclusion proof leads to (compare it with the tree head's)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise ValueError("the audit path is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("the audit path is too short")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes
) -> bool:
    try:
        return root_from_inclusion(index, size, leaf, path) == root
    except ValueError:
        return False


def verify_consistency(
    old: int, size: int, old_root: bytes, root: bytes, path: Sequence[bytes]
) -> bool:
    """RFC 9162 2.1.4.2: the tree (``size``, ``root``) extends (``old``, ``old_root``)."""
    if old > size or old < 0:
        return False
    if old == size:
        return old_root == root and not path
    if old == 0:
        return not path  # the empty tree is a prefix of every tree
    proof = list(path)
    if old & (old - 1) == 0:  # a power of two: the old root is itself a node of the new tree
        proof.insert(0, old_root)
    if not proof:
        return False
    fn, sn = old - 1, size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == root
