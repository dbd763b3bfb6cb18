"""Signed export bundles: events, their figures, their proofs, one signature.

A bundle (a zip) holds ``events.json`` (each event's leaf text, leaf number and
position), ``proofs.json`` (an audit path per event against the bundle's
digest), ``figures.json`` (what follows from those events: per-case figures and
status, per-fund movements, the rule checks over them, and the policy and fund
kinds the checks assumed), ``manifest.json`` (scope, digest, the SHA-256 of
every other file) and ``manifest.sig`` (the Ed25519 signature of
``manifest.json``, hex). :func:`verify_bundle` needs only the zip and the public
key: it checks the signature, each file's hash, each event's proof against the
digest, and recomputes the figures from the events.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from aidflow.auditing import run_checks
from aidflow.domain.errors import InvalidInput, ProofInvalid, said
from aidflow.domain.policy import Policy
from aidflow.proofs.figures import figures_of
from aidflow.proofs.merkle import leaf_hash, verify_inclusion
from aidflow.proofs.models import TreeHead, View

FORMAT = "aidflow-bundle/1"
FILES = ("events.json", "proofs.json", "figures.json")


class BundleCheck(View):
    ok: bool
    intact: bool
    figures_follow: bool
    events: int
    digest: str
    scope: dict[str, Any]
    problems: list[str]


def as_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")


def compute_figures(leaves: list[dict[str, Any]], policy: dict[str, Any]) -> dict[str, Any]:
    """The figures that follow from the bundled events (leaf dicts) under ``policy``."""
    kinds = {r["aggregate_id"]: r["detail"]["kind"] for r in leaves if r["type"] == "fund.opened"}
    rows = [
        (
            r["position"],
            datetime.fromisoformat(r["recorded_at"]),
            r["actor"],
            r["aggregate_id"],
            r["type"],
            r["detail"],
        )
        for r in sorted(leaves, key=lambda r: r["position"])
    ]
    now = rows[-1][1] if rows else datetime.now(tz=UTC)
    checks = run_checks(rows, kinds, Policy(**policy), now)
    return {
        **figures_of(leaves),
        "checks": [v.model_dump(mode="json") for v in checks.violations],
        "policy": policy,
        "fund_kinds": dict(sorted(kinds.items())),
    }


def verify_bundle(
    path: Path, public: Ed25519PublicKey, digest: TreeHead | None = None
) -> BundleCheck:
    """Is the bundle intact (signed, unaltered, every event proved), and do its figures follow?"""
    problems: list[str] = []
    try:
        z = zipfile.ZipFile(path)
        manifest_bytes = z.read("manifest.json")
        signature = bytes.fromhex(z.read("manifest.sig").decode("ascii").strip())
        manifest = json.loads(manifest_bytes)
        files = {name: z.read(name) for name in FILES}
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ProofInvalid(
            said("{path} is not an aidflow bundle: {exc}", path=path, exc=exc)
        ) from None
    if manifest.get("format") != FORMAT:
        raise ProofInvalid(
            said("{path} is not an aidflow bundle ({format_name})", path=path, format_name=FORMAT)
        )
    try:
        public.verify(signature, manifest_bytes)
    except InvalidSignature:
        problems.append(
            "the signature does not match the manifest (wrong key, or the manifest was altered)"
        )
    for name, data in files.items():
        if hashlib.sha256(data).hexdigest() != manifest["files"].get(name):
            problems.append(f"{name} was altered after signing")
    head = TreeHead(size=int(manifest["tree_size"]), root=str(manifest["root"]))
    if digest is not None and (digest.size, digest.root) != (head.size, head.root):
        problems.append(f"the bundle is proved against {head}, not the digest given ({digest})")
    events = json.loads(files["events.json"])
    proofs = json.loads(files["proofs.json"])
    root = bytes.fromhex(head.root)
    for e in events:
        path_ = [bytes.fromhex(h) for h in proofs.get(str(e["position"]), [])]
        leaf = json.loads(e["leaf"])
        if leaf.get("position") != e["position"] or not verify_inclusion(
            e["leaf_index"], head.size, leaf_hash(e["leaf"].encode("utf-8")), path_, root
        ):
            problems.append(f"the event at position {e['position']} is not proved in {head}")
    intact = not problems
    figures = json.loads(files["figures.json"])
    recomputed = compute_figures([json.loads(e["leaf"]) for e in events], figures.get("policy", {}))
    follow = recomputed == figures
    if not follow:
        differ = sorted(
            k for k in set(recomputed) | set(figures) if recomputed.get(k) != figures.get(k)
        )
        problems.append(f"figures.json does not follow from the events ({', '.join(differ)})")
    return BundleCheck(
        ok=intact and follow,
        intact=intact,
        figures_follow=follow,
        events=len(events),
        digest=str(head),
        scope=manifest.get("scope", {}),
        problems=problems,
    )


def period_bounds(text: str) -> tuple[date, date]:
    start, sep, end = text.partition("..")
    try:
        if not sep:
            raise ValueError
        return date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        raise InvalidInput(
            said("period {text!r} is not FROM..TO (dates, e.g. 2026-09-01..2026-09-30)", text=text)
        ) from None
