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
from aidflow.projections.models import DisposedFinding, Violation
from aidflow.proofs.complete import (
    PROVED,
    Bundled,
    Findings,
    HeadsTree,
    Period,
    Source,
    case_completeness,
    check_case,
    check_period,
    period_events,
    period_moments,
    prove_into,
    proved_event,
)
from aidflow.proofs.context import (
    Judged,
    carry,
    check_prior,
    check_whole,
    judge,
    kinds_of,
    needed,
    prior,
    rows_of,
    stray,
)
from aidflow.proofs.figures import figures_of
from aidflow.proofs.keys import fingerprint
from aidflow.proofs.merkle import leaf_hash, verify_inclusion
from aidflow.proofs.models import HeadsDigest, TreeHead, View

FORMAT = "aidflow-bundle/1"
"""The first format, without completeness.json: still verified, its completeness not told
(:func:`aidflow.projections.audit.bundles.export` writes it still)."""
COMPLETE_FORMAT = "aidflow-bundle/2"
"""Format 1's files and completeness.json (issue 22 §1): still verified as it was."""
CONTEXT_FORMAT = "aidflow-bundle/3"
"""What :func:`make_bundle` writes: format 2 with the subject's context (the registers, its
funds, a period's records from their first version: :mod:`aidflow.proofs.context`), and
figures.json's findings those of ``audit check`` about the subject (issue 22 §2)."""
FORMATS = (FORMAT, COMPLETE_FORMAT, CONTEXT_FORMAT)
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
    findings: list[Violation] = Field(default_factory=list)
    """Format 3: the open findings about the subject, as ``audit check`` gives them."""
    disposed: list[DisposedFinding] = Field(default_factory=list)
    """Format 3: findings about the subject that were explained (``audit dispose``)."""
    judged_at: str | None = None
    """Format 3: the moment the findings were judged at (the digest's last event, or a
    period's end if sooner)."""
    not_judged: list[str] = Field(default_factory=list)
    """Format 3: the rules no bundle can judge (they compare people with each other)."""


def as_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")


def compute_figures(leaves: list[dict[str, Any]], policy: dict[str, Any]) -> dict[str, Any]:
    """The figures that follow from the bundled events (leaf dicts) under ``policy``."""
    kinds = kinds_of(leaves)
    rows = rows_of(leaves)
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
    base: dict[str, Any],
    key: Ed25519PrivateKey,
    *,
    case_id: str | None = None,
    period: Period | None = None,
) -> Made:
    """A signed bundle (format 3) of one case's events (``positions``) or a period's, proved
    against ``head``, with its context, what shows that none of it is missing, and the
    findings about it under the policy ``base`` changed by the recorded policy events."""
    tree = HeadsTree(source.heads())
    heads = tree.digest(head.size)
    proved: dict[int, dict[str, Any]] = {}
    if case_id is not None:
        scope: dict[str, Any] = {"case": case_id}
        material = _case_material(source, head, tree, case_id, positions, proved)
    elif period is not None:
        scope = {
            "period": [period.start.isoformat(), period.end.isoformat()],
            "timezone": period.zone,
        }
        run, material = period_events(source, head, positions, period)
        proved.update((e["leaf_index"], e) for e in run)
        prior(source, run, material["range"][0], proved)
    else:
        raise InvalidInput(said("give --case CASE or --period FROM..TO"))
    bundled = [Bundled(i, int(e["position"]), json.loads(e["leaf"])) for i, e in proved.items()]
    material["context"] = carry(source, tree, needed(bundled), proved)
    material["last"] = _last(source, head)
    events = [
        {"leaf_index": i, "position": proved[i]["position"], "leaf": proved[i]["leaf"]}
        for i in sorted(proved)
    ]
    every = [Bundled(e["leaf_index"], e["position"], json.loads(e["leaf"])) for e in events]
    files = {
        "events.json": as_json(events),
        "proofs.json": as_json({str(proved[i]["position"]): proved[i]["path"] for i in proved}),
        "figures.json": as_json(bundle_figures(scope, material, every, base, head)),
        COMPLETENESS: as_json(material),
    }
    manifest: dict[str, Any] = {
        "format": CONTEXT_FORMAT,
        "scope": scope,
        "digest": str(head),
        "tree_size": head.size,
        "root": head.root,
        "events": len(events),
        "heads": str(heads),
    }
    return Made(pack(files, manifest, key), len(events), heads)


def _case_material(
    source: Source,
    head: TreeHead,
    tree: HeadsTree,
    case_id: str,
    positions: list[int],
    proved: dict[int, dict[str, Any]],
) -> dict[str, Any]:
    """The case's events' proofs (into ``proved``) and its entry in the heads tree."""
    material = case_completeness(tree, head, case_id)
    prove_into(source, sorted(set(positions)), proved)
    return material


def _last(source: Source, head: TreeHead) -> dict[str, Any] | None:
    """The proof of the digest's last event: its time is the moment findings are judged at."""
    if not head.size:
        return None
    proof = source.prove(source.position_of_leaf(head.size - 1))
    return None if proof is None else {k: proof[k] for k in PROVED}


def bundle_figures(
    scope: dict[str, Any],
    material: dict[str, Any],
    events: list[Bundled],
    base: dict[str, Any],
    head: TreeHead,
) -> dict[str, Any]:
    """What follows from a format 3 bundle's events: the figures of its cases and funds as of
    the subject's end, and the findings about its subject at the bundle's moment."""
    return _followed(scope, material, events, base, head)[0]


def _followed(
    scope: dict[str, Any],
    material: dict[str, Any],
    events: list[Bundled],
    base: dict[str, Any],
    head: TreeHead,
) -> tuple[dict[str, Any], Judged]:
    """figures.json of a format 3 bundle, and the findings it lists as the rules found them."""
    last = proved_event(material.get("last"), head)
    moment = (
        datetime.fromisoformat(str(last.leaf["recorded_at"]))
        if last is not None and last.leaf_index == head.size - 1
        else max(
            (datetime.fromisoformat(str(e.leaf["recorded_at"])) for e in events),
            default=datetime.fromtimestamp(0, tz=UTC),
        )
    )
    if "case" in scope:
        case = str(scope["case"])
        upto = head.size
        subject = {e.position for e in events if e.aggregate == case}

        def about(v: dict[str, Any]) -> bool:
            return v.get("case_id") == case or bool(subject & set(v.get("positions") or ()))
    else:
        first, upto = _run(material)
        subject = {e.position for e in events if first <= e.leaf_index < upto}
        period = _period(scope)
        if period is not None:
            moment = min(moment, period_moments(period)[1])

        def about(v: dict[str, Any]) -> bool:
            return bool(subject & set(v.get("positions") or ()))

    leaves = [e.leaf for e in sorted(events, key=lambda e: e.leaf_index) if e.leaf_index < upto]
    kinds = kinds_of(leaves)
    judged = judge(leaves, about, base, moment, kinds)
    figures = {
        **figures_of(leaves),
        "findings": [v.model_dump(mode="json") for v in judged.open],
        "disposed": [d.model_dump(mode="json") for d in judged.disposed],
        "judged_at": judged.moment,
        "not_judged": list(judged.not_judged),
        "policy_base": base,
        "fund_kinds": dict(sorted(kinds.items())),
    }
    return figures, judged


def _run(material: dict[str, Any]) -> tuple[int, int]:
    bounds = material.get("range")
    if isinstance(bounds, list) and len(bounds) == 2 and all(isinstance(b, int) for b in bounds):
        return int(bounds[0]), int(bounds[1])
    return 0, 0


def _period(scope: dict[str, Any]) -> Period | None:
    """A bundle's period as its scope names it (None: it does not, or not readably)."""
    try:
        start, end = (date.fromisoformat(str(d)) for d in scope["period"])
        zone = str(scope.get("timezone", "UTC"))
        ZoneInfo(zone)
    except (KeyError, TypeError, ValueError, OSError):
        return None
    return Period(start, end, zone)


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
    if manifest.get("format") not in FORMATS:
        raise ProofInvalid(
            said(
                "{path} is not an aidflow bundle ({format_name})",
                path=path,
                format_name=CONTEXT_FORMAT,
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
    """Is the bundle intact (signed, unaltered, every event proved), do its figures and
    findings follow, and is it complete (``heads``: a heads digest the auditor trusts)?"""
    manifest_bytes, signature, manifest, files = _open(path)
    problems = _unsigned(manifest_bytes, signature, manifest, files, public)
    head = TreeHead(size=int(manifest["tree_size"]), root=str(manifest["root"]))
    if digest is not None and (digest.size, digest.root) != (head.size, head.root):
        problems.append(f"the bundle is proved against {head}, not the digest given ({digest})")
    events = json.loads(files["events.json"])
    bundled = _proved(events, json.loads(files["proofs.json"]), head, problems)
    intact = not problems
    material = _material(manifest, files)
    figures = json.loads(files["figures.json"])
    figures = figures if isinstance(figures, dict) else {}
    recomputed, judged = _recomputed(manifest, material, events, bundled, figures, head)
    follow = recomputed == figures
    if not follow:
        differ = sorted(
            k for k in set(recomputed) | set(figures) if recomputed.get(k) != figures.get(k)
        )
        problems.append(f"figures.json does not follow from the events ({', '.join(differ)})")
    found, claimed = _completeness(manifest, material, bundled, head, heads)
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
        **_judged(judged),
    )


def _recomputed(
    manifest: dict[str, Any],
    material: dict[str, Any] | None,
    events: list[dict[str, Any]],
    bundled: list[Bundled],
    figures: dict[str, Any],
    head: TreeHead,
) -> tuple[dict[str, Any], Judged | None]:
    """What figures.json should say, recomputed from the events (format 3: with the findings
    about the subject); nothing when the policy it names cannot be a policy (then it does
    not follow)."""
    try:
        if manifest["format"] == CONTEXT_FORMAT:
            base = figures.get("policy_base")
            scope = manifest.get("scope") or {}
            base = base if isinstance(base, dict) else {}
            return _followed(scope, material or {}, bundled, base, head)
        leaves = [json.loads(e["leaf"]) for e in events]
        policy = figures.get("policy")
        return compute_figures(leaves, policy if isinstance(policy, dict) else {}), None
    except (TypeError, ValueError):  # a policy base with fields no policy has, or bad values
        return {}, None


def _unsigned(
    manifest_bytes: bytes,
    signature: bytes,
    manifest: dict[str, Any],
    files: dict[str, bytes],
    public: Ed25519PublicKey,
) -> list[str]:
    """What is wrong with the signature and the files' hashes (nothing: an empty list)."""
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
    return problems


def _material(manifest: dict[str, Any], files: dict[str, bytes]) -> dict[str, Any] | None:
    """completeness.json as an object (None for format 1, which has none)."""
    if manifest["format"] == FORMAT:
        return None
    try:
        material = json.loads(files[COMPLETENESS])
    except ValueError:
        material = None
    return material if isinstance(material, dict) else {}


def _judged(judged: Judged | None) -> dict[str, Any]:
    """A format 3 bundle's findings as the verifier recomputed them (nothing for older ones)."""
    if judged is None:
        return {}
    return {
        "findings": judged.open,
        "disposed": judged.disposed,
        "judged_at": judged.moment,
        "not_judged": list(judged.not_judged),
    }


def _completeness(
    manifest: dict[str, Any],
    material: dict[str, Any] | None,
    bundled: list[Bundled],
    head: TreeHead,
    trusted: HeadsDigest | None,
) -> tuple[Findings | None, str | None]:
    """What completeness.json shows (None for format 1), and the heads digest the bundle
    names (a case bundle's; a format 3 bundle's of either kind)."""
    if material is None:
        return None, None
    scope = manifest.get("scope") or {}
    claimed: HeadsDigest | None = None
    if "case" in scope or manifest["format"] == CONTEXT_FORMAT:
        try:
            claimed = HeadsDigest.parse(str(manifest.get("heads", "")))
        except ValueError:
            return Findings(missing=["the bundle names no heads digest"]), None
    if "case" in scope and claimed is not None:
        found = check_case(str(scope["case"]), bundled, material, head, claimed)
    else:
        period = _period(scope)
        if period is None:
            return Findings(missing=["the bundle's scope is neither a case nor a period"]), None
        first, end = _run(material)
        run = bundled
        if manifest["format"] == CONTEXT_FORMAT:  # the rest is context, checked below
            run = [e for e in bundled if first <= e.leaf_index < end]
        found = check_period(period, run, material, head)
    if manifest["format"] == CONTEXT_FORMAT:
        _context(found, scope, material, bundled, head, claimed)
    if claimed is not None and trusted is not None and trusted != claimed:
        found.missing.insert(0, f"the bundle's heads digest is {claimed}, not {trusted}")
    return found, None if claimed is None else str(claimed)


def _context(
    found: Findings,
    scope: dict[str, Any],
    material: dict[str, Any],
    bundled: list[Bundled],
    head: TreeHead,
    heads: HeadsDigest | None,
) -> None:
    """A format 3 bundle's context: whole, from each record's first version, nothing else."""
    if heads is not None and heads.tree_size != head.size:
        message = f"{heads} is not of the bundle's digest ({head.size} events)"
        found.missing += [] if message in found.missing else [message]
        return
    run = None if "case" in scope else _run(material)
    whole = needed(bundled)
    context = check_whole(whole, bundled, material, heads)
    found.covered += context.covered
    found.missing += context.missing
    if run is not None:
        found.missing += [m for m in check_prior(bundled, run).missing if m not in found.missing]
    subject = {str(scope["case"])} if "case" in scope else set()
    found.problems += stray(bundled, subject, whole, run)
    last = proved_event(material.get("last"), head)
    if head.size and (last is None or last.leaf_index != head.size - 1):
        found.missing.append(
            "the digest's last event is not proved: the moment the findings are judged at "
            "rests on the bundle's word"
        )


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
