"""RFC 9162 hashing, proofs and checks: the test vectors, and properties over random trees."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aidflow.proofs.merkle import (
    EMPTY_ROOT,
    Stream,
    consistency_path,
    inclusion_path,
    leaf_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)
from aidflow.proofs.models import TreeHead
from tests.properties import examples

# The eight leaves and tree roots of the Certificate Transparency test vectors
# (certificate-transparency merkle tests; transparency-dev/merkle testdata).
LEAVES = [
    b"",
    bytes.fromhex("00"),
    bytes.fromhex("10"),
    bytes.fromhex("2021"),
    bytes.fromhex("3031"),
    bytes.fromhex("40414243"),
    bytes.fromhex("5051525354555657"),
    bytes.fromhex("606162636465666768696a6b6c6d6e6f"),
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "verify_proof.py"


def _script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("verify_proof", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def hashes(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def test_rfc_test_vectors() -> None:
    assert EMPTY_ROOT.hex() == hashlib.sha256(b"").hexdigest()
    leaves = [leaf_hash(x) for x in LEAVES]
    for n in range(1, 9):
        assert root_of(leaves[:n]).hex() == ROOTS[n - 1]
        stream = Stream()
        stream.extend(leaves[:n])
        assert stream.root().hex() == ROOTS[n - 1]


def test_known_inclusion_path() -> None:
    """Leaf 0 of the 8-leaf tree: the vectors' path (RFC 6962 test data)."""
    leaves = [leaf_hash(x) for x in LEAVES]
    path = inclusion_path(0, 8, lambda lo, hi: root_of(leaves[lo:hi]))
    assert [p.hex() for p in path] == [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ]


@settings(max_examples=examples(200))
@given(st.integers(1, 300), st.data())
def test_inclusion_proofs_verify_and_a_flipped_bit_fails(n: int, data: st.DataObject) -> None:
    leaves = hashes(n)
    root = root_of(leaves)
    i = data.draw(st.integers(0, n - 1))
    path = inclusion_path(i, n, lambda lo, hi: root_of(leaves[lo:hi]))
    assert verify_inclusion(i, n, leaves[i], path, root)
    assert _script().inclusion(i, n, i.to_bytes(4, "big"), path, root)
    if path:
        k = data.draw(st.integers(0, len(path) - 1))
        bit = data.draw(st.integers(0, 255))
        flipped = bytearray(path[k])
        flipped[bit // 8] ^= 1 << (bit % 8)
        bad = [*path[:k], bytes(flipped), *path[k + 1 :]]
        assert not verify_inclusion(i, n, leaves[i], bad, root)
    assert not verify_inclusion(i, n, leaf_hash(b"other"), path, root)


@settings(max_examples=examples(200))
@given(st.integers(1, 300), st.data())
def test_consistency_proofs_verify_and_a_flipped_bit_fails(n: int, data: st.DataObject) -> None:
    leaves = hashes(n)
    m = data.draw(st.integers(1, n))
    path = consistency_path(m, n, lambda lo, hi: root_of(leaves[lo:hi]))
    old, new = root_of(leaves[:m]), root_of(leaves)
    assert verify_consistency(m, n, old, new, path)
    assert _script().consistency(m, n, old, new, path)
    if path:
        k = data.draw(st.integers(0, len(path) - 1))
        flipped = bytearray(path[k])
        flipped[0] ^= 1
        assert not verify_consistency(m, n, old, new, [*path[:k], bytes(flipped), *path[k + 1 :]])
    other = hashes(n + 1)[1:]  # an unrelated log of the same size
    assert m == n or not verify_consistency(m, n, root_of(other[:m]), new, path)


@pytest.mark.parametrize(
    "text",
    [
        "tree:5:" + "a" * 64 + ":junk",  # trailing parts
        "tree:٥:" + "a" * 64,  # a look-alike (Arabic-Indic) digit
        "tree:5:" + "a" * 62 + "_a",  # int(..., 16) would take the underscore
        "tree:5: " + "a" * 63,  # nor a space
        "tree:5:" + "g" * 64,
        "tree::" + "a" * 64,
    ],
)
def test_a_digest_is_read_whole_or_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not tree:SIZE:SHA256HEX"):
        TreeHead.parse(text)


def test_a_digest_reads_back_as_it_was_written() -> None:
    head = TreeHead.parse("  tree:12:" + "AB" * 32 + " ")
    assert (head.size, head.root, str(head)) == (12, "ab" * 32, "tree:12:" + "ab" * 32)


@pytest.mark.parametrize(
    "text",
    ["٥:" + "a" * 64, "5:" + "a" * 62 + "_a", "5: " + "a" * 63, "5:" + "a" * 64 + ":x"],
)
def test_a_chain_digest_is_read_whole_or_refused(text: str) -> None:
    from aidflow.projections.models import Digest

    with pytest.raises(ValueError, match="is not POSITION:SHA256HEX"):
        Digest.parse(text)
