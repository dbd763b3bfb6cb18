#!/usr/bin/env python3
"""Check an aidflow proof file against a digest, with nothing but hashlib and json.

    python verify_proof.py proof.json tree:SIZE:ROOT [tree:OLD_SIZE:OLD_ROOT]

RFC 9162 section 2.1: leaf SHA-256(0x00 || leaf), node SHA-256(0x01 || left || right).
Exit status 0 when the proof leads to the digest's root, 1 when it does not.
"""

import hashlib
import json
import sys


def h(prefix, *parts):
    return hashlib.sha256(prefix + b"".join(parts)).digest()


def head(text):
    tag, size, root = text.strip().split(":")
    assert tag == "tree" and len(root) == 64, f"not a tree digest: {text}"
    return int(size), bytes.fromhex(root)


def inclusion(index, size, leaf, path, root):  # RFC 9162 2.1.3.2
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, h(b"\x00", leaf)
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = h(b"\x01", p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = h(b"\x01", r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def consistency(m, n, old_root, root, path):  # RFC 9162 2.1.4.2
    if m == n:
        return old_root == root and not path
    if m == 0 or m > n:
        return m == 0 and not path
    path = ([old_root] if m & (m - 1) == 0 else []) + path
    if not path:
        return False
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = h(b"\x01", c, fr), h(b"\x01", c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = h(b"\x01", sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == root


def main(argv):
    with open(argv[1], encoding="utf-8") as f:
        proof = json.load(f)
    size, root = head(argv[2])
    path = [bytes.fromhex(x) for x in proof["path"]]
    if proof["tree_size"] != size or bytes.fromhex(proof["root"]) != root:
        print("FAIL: the proof is for another digest")
        return 1
    if proof["kind"] == "inclusion":
        leaf = proof["leaf"]
        event = json.loads(leaf)
        ok = event["position"] == proof["position"] and inclusion(
            proof["leaf_index"], size, leaf.encode("utf-8"), path, root
        )
        print(("OK: " if ok else "FAIL: ") + f"event at position {event['position']}:")
        print(json.dumps(event, indent=1, ensure_ascii=False))
        return 0 if ok else 1
    old_size, old_root = (
        head(argv[3])
        if len(argv) > 3
        else (proof["old"]["tree_size"], bytes.fromhex(proof["old"]["root"]))
    )
    if (proof["old"]["tree_size"], bytes.fromhex(proof["old"]["root"])) != (old_size, old_root):
        print("FAIL: the proof starts from another digest")
        return 1
    ok = consistency(old_size, size, old_root, root, path)
    print(
        ("OK: the record only grew" if ok else "FAIL: not an extension")
        + f" ({old_size} -> {size})"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
