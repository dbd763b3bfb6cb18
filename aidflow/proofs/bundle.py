"""Signed export bundles: events, their figures, their proofs, one signature.

A bundle (a zip) holds ``events.json`` (each event's leaf text, leaf number and
position), ``proofs.json`` (an audit path per event against the bundle's
digest), ``figures.json`` (what follows from those events: per-case figures and
status, per-fund movements, the rule checks over them, and the policy and fund
kinds the checks assumed), ``completeness.json`` (format 2: what shows that no
event of the case or period was left out, :mod:`aidflow.proofs.complete`),
``manifest.json`` (scope, digest, a case bundle's heads digest, the SHA-256 of
every other file) and ``manifest.sig`` (the Ed25519 signature of
``manifest.json``, hex). :func:`verify_bundle` needs only the zip and the public
key: it checks the signature, each file's hash, each event's proof against the
digest, recomputes the figures from the events, and tells whether the bundle is
complete (a format 1 bundle cannot tell).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from pydantic import Field

from aidflow.auditing import run_checks
from aidflow.domain.errors import InvalidInput, ProofInvalid, said
from aidflow.domain.policy import Policy
from aidflow.proofs.complete import (
    Bundled,
    Findings,
    Period,
    Source,
    case_completeness,
    check_case,
    check_period,
    period_events,
)
from aidflow.proofs.figures import figures_of
from aidflow.proofs.keys import fingerprint
from aidflow.proofs.merkle import leaf_hash, verify_inclusion
from aidflow.proofs.models import HeadsDigest, TreeHead, View

FORMAT = "aidflow-bundle/1"
"""The first format, without completeness.json: still verified, its completeness not told
(:func:`aidflow.projections.audit.bundles.export` writes it still)."""
COMPLETE_FORMAT = "aidflow-bundle/2"
"""What :func:`make_bundle` writes: the files of format 1, and completeness.json."""
FILES = ("events.json", "proofs.json", "figures.json")
COMPLETENESS = "completeness.json"


class BundleCheck(View):
    ok: bool
    intact: bool
    figures_follow: bool
    events: int
    digest: str
    scope: dict[str, Any]
    problems: list[str]
    format: str = COMPLETE_FORMAT
    complete: bool | None = None
    """Whether the bundle holds every event of its subject; None: format 1 cannot tell."""
    covered: list[str] = Field(default_factory=list)
    """What the bundle is shown to hold, whole (when complete)."""
    missing: list[str] = Field(default_factory=list)
    """What it leaves out, or why its completeness is not proved."""
    heads: str | None = None
    """A case bundle's heads digest (heads:TREE_SIZE:COUNT:ROOT)."""
    heads_checked: bool = False
    """Whether that heads digest was compared with one the auditor trusts (``--heads``)."""


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


@dataclass(frozen=True)
class Made:
    """A signed bundle, how many events it holds, and a case bundle's heads digest."""

    data: bytes
    events: int
    heads: HeadsDigest | None


def make_bundle(
    source: Source,
    head: TreeHead,
    positions: list[int],
    policy: dict[str, Any],
    key: Ed25519PrivateKey,
    *,
    case_id: str | None = None,
    period: Period | None = None,
) -> Made:
    """A signed bundle (format 2) of one case's events (``positions``: the case's and the
    openings of the funds it names) or a period's, proved against ``head``, with what shows
    that none of the case's or the period's events is missing."""
    heads: HeadsDigest | None = None
    if case_id is not None:
        scope: dict[str, Any] = {"case": case_id}
        made = (source.prove(p) for p in sorted(set(positions)))
        proofs = [p for p in made if p is not None]  # after the digest: not in its record
        material, heads = case_completeness(source, head, case_id)
    elif period is not None:
        scope = {
            "period": [period.start.isoformat(), period.end.isoformat()],
            "timezone": period.zone,
        }
        proofs, material = period_events(source, head, positions, period)
    else:
        raise InvalidInput(said("give --case CASE or --period FROM..TO"))
    events = [
        {"leaf_index": p["leaf_index"], "position": p["position"], "leaf": p["leaf"]}
        for p in proofs
    ]
    files = {
        "events.json": as_json(events),
        "proofs.json": as_json({str(p["position"]): p["path"] for p in proofs}),
        "figures.json": as_json(compute_figures([json.loads(e["leaf"]) for e in events], policy)),
        COMPLETENESS: as_json(material),
    }
    manifest: dict[str, Any] = {
        "format": COMPLETE_FORMAT,
        "scope": scope,
        "digest": str(head),
        "tree_size": head.size,
        "root": head.root,
        "events": len(events),
        **({"heads": str(heads)} if heads is not None else {}),
    }
    return Made(pack(files, manifest, key), len(events), heads)


def pack(files: dict[str, bytes], manifest: dict[str, Any], key: Ed25519PrivateKey) -> bytes:
    """The zip: ``files``, the manifest (with their hashes, when and by which key) signed."""
    manifest = {
        **manifest,
        "created_at": datetime.now(tz=UTC).isoformat(),
        "signed_by": fingerprint(key.public_key()),
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
    }
    manifest_bytes = as_json(manifest)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", manifest_bytes)
        z.writestr("manifest.sig", key.sign(manifest_bytes).hex())
        for name, data in files.items():
            z.writestr(name, data)
    return out.getvalue()


def _open(path: Path) -> tuple[bytes, bytes, dict[str, Any], dict[str, bytes]]:
    """The manifest (as signed and parsed), its signature and the other files of a bundle."""
    try:
        z = zipfile.ZipFile(path)
        manifest_bytes = z.read("manifest.json")
        signature = bytes.fromhex(z.read("manifest.sig").decode("ascii").strip())
        manifest = json.loads(manifest_bytes)
        if not isinstance(manifest, dict):
            raise ValueError("manifest.json is not an object")
        names = FILES if manifest.get("format") == FORMAT else (*FILES, COMPLETENESS)
        files = {name: z.read(name) for name in names}
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ProofInvalid(
            said("{path} is not an aidflow bundle: {exc}", path=path, exc=exc)
        ) from None
    if manifest.get("format") not in (COMPLETE_FORMAT, FORMAT):
        raise ProofInvalid(
            said(
                "{path} is not an aidflow bundle ({format_name})",
                path=path,
                format_name=COMPLETE_FORMAT,
            )
        )
    return manifest_bytes, signature, manifest, files


def _proved(
    events: list[dict[str, Any]], proofs: dict[str, Any], head: TreeHead, problems: list[str]
) -> list[Bundled]:
    """The events whose proofs lead to the digest's root (a problem named for each other)."""
    root = bytes.fromhex(head.root)
    proved: list[Bundled] = []
    for e in events:
        path_ = [bytes.fromhex(h) for h in proofs.get(str(e["position"]), [])]
        leaf = json.loads(e["leaf"])
        if leaf.get("position") != e["position"] or not verify_inclusion(
            e["leaf_index"], head.size, leaf_hash(e["leaf"].encode("utf-8")), path_, root
        ):
            problems.append(f"the event at position {e['position']} is not proved in {head}")
        else:
            proved.append(Bundled(int(e["leaf_index"]), int(e["position"]), leaf))
    return proved


def verify_bundle(
    path: Path,
    public: Ed25519PublicKey,
    digest: TreeHead | None = None,
    heads: HeadsDigest | None = None,
) -> BundleCheck:
    """Is the bundle intact (signed, unaltered, every event proved), do its figures follow, and
    is it complete (``heads``: a heads digest the auditor trusts, for a case bundle)?"""
    manifest_bytes, signature, manifest, files = _open(path)
    problems: list[str] = []
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
    bundled = _proved(events, json.loads(files["proofs.json"]), head, problems)
    intact = not problems
    figures = json.loads(files["figures.json"])
    recomputed = compute_figures([json.loads(e["leaf"]) for e in events], figures.get("policy", {}))
    follow = recomputed == figures
    if not follow:
        differ = sorted(
            k for k in set(recomputed) | set(figures) if recomputed.get(k) != figures.get(k)
        )
        problems.append(f"figures.json does not follow from the events ({', '.join(differ)})")
    found, claimed = _completeness(manifest, files, bundled, head, heads)
    complete = None if found is None else not found.missing
    astray = [] if found is None else found.problems  # events the subject does not hold
    problems += astray
    return BundleCheck(
        ok=intact and follow and complete is not False and not astray,
        intact=intact,
        figures_follow=follow,
        events=len(events),
        digest=str(head),
        scope=manifest.get("scope", {}),
        problems=problems,
        format=str(manifest["format"]),
        complete=complete,
        covered=[] if found is None else found.covered,
        missing=[] if found is None else found.missing,
        heads=claimed,
        heads_checked=heads is not None and claimed == str(heads),
    )


def _completeness(
    manifest: dict[str, Any],
    files: dict[str, bytes],
    bundled: list[Bundled],
    head: TreeHead,
    trusted: HeadsDigest | None,
) -> tuple[Findings | None, str | None]:
    """What a format 2 bundle's completeness.json shows (None for format 1), and the heads
    digest a case bundle names."""
    if manifest["format"] == FORMAT:
        return None, None
    try:
        material = json.loads(files[COMPLETENESS])
    except ValueError:
        material = None
    material = material if isinstance(material, dict) else {}
    scope = manifest.get("scope") or {}
    if "case" in scope:
        try:
            claimed = HeadsDigest.parse(str(manifest.get("heads", "")))
        except ValueError:
            return Findings(missing=["the bundle names no heads digest"]), None
        found = check_case(str(scope["case"]), bundled, material, head, claimed)
        if trusted is not None and trusted != claimed:
            found.missing.insert(0, f"the bundle's heads digest is {claimed}, not {trusted}")
        return found, str(claimed)
    try:
        start, end = (date.fromisoformat(str(d)) for d in scope["period"])
    except (KeyError, TypeError, ValueError):
        return Findings(missing=["the bundle's scope is neither a case nor a period"]), None
    zone = str(scope.get("timezone", "UTC"))
    try:
        ZoneInfo(zone)
    except (ValueError, KeyError, OSError):
        return Findings(missing=[f"the bundle's period is on an unknown clock {zone!r}"]), None
    return check_period(Period(start, end, zone), bundled, material, head), None


def period_bounds(text: str, zone: str = "UTC") -> Period:
    """``FROM..TO`` as typed (``2026-09-01..2026-09-30``): whole days on the clock ``zone``."""
    start, sep, end = text.partition("..")
    try:
        if not sep:
            raise ValueError
        return Period(date.fromisoformat(start), date.fromisoformat(end), zone)
    except ValueError:
        raise InvalidInput(
            said("period {text!r} is not FROM..TO (dates, e.g. 2026-09-01..2026-09-30)", text=text)
        ) from None
