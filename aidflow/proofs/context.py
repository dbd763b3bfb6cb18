"""Bundles carry their context (issue 22 §2): what the rules read besides the subject's own
events, each event proved against the digest and shown whole, so that a bundle's findings
are ``audit check``'s findings about its subject, and nothing else.

The rules judge an act by who held which post then (the staff registry), by the policy in
force (the policy register), by the fund it drew on (its kind, its balance), by the year's
close and by what has been explained (the findings register, the bank statements in the
payment book). A bundle without them once reported a thousand false findings. A bundle of
format ``aidflow-bundle/3`` therefore holds, beside its subject:

- **the registers** (staff, policy, findings, payment book, the programme years of its
  cases), each **whole**: versions 1..n, n proved to be its head at the digest by the
  heads tree (:mod:`aidflow.proofs.complete`); a register the record never started (a year
  never closed) is proved absent from the heads tree by its two neighbours there (the
  heads tree is ordered by aggregate id, so two adjacent entries around an id show it
  has none);
- **every fund a subject's case event names**, whole in the same way (its kind, every
  deposit and reservation, so its balance at any moment);
- for a period, **each record with events in the period from its first version**: its
  versions before the period, 1..v-1, so a case's approval in July is there for its
  payment in August (the state carried in, shown rather than asserted).

The verifier works out what must be there from the subject's own events (the registers'
ids are the domain's constants, the years and funds are named by the cases' events), so
an office cannot leave a register out by not mentioning it.

The rules are then run over the bundled events up to the subject's end (a case: the
digest; a period: its last event) at the bundle's moment (the digest's last event; a
period's end if sooner), and only the findings about the subject are kept: those naming
the case, or raised by an event of the subject. Rules that compare people with each other
(one bank account on two students: keyed pseudonyms of the audit view, not in any event)
are not judged in a bundle; :data:`ACROSS_PEOPLE` names them and the verdict says so.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from itertools import takewhile
from typing import Any

from aidflow.auditing import run_checks
from aidflow.auditing.moment import changed
from aidflow.auditing.timeliness import ACROSS_PEOPLE
from aidflow.domain.findings import FINDINGS_ID
from aidflow.domain.payments import BOOK_ID
from aidflow.domain.policy import REGISTER_ID, Policy
from aidflow.domain.staff import REGISTRY_ID
from aidflow.domain.year import year_id
from aidflow.projections.models import DisposedFinding, Violation
from aidflow.proofs.complete import (
    Bundled,
    Findings,
    HeadsTree,
    Source,
    _included,
    prove_into,
    span,
    version_gaps,
)
from aidflow.proofs.models import HeadsDigest

REGISTERS = {
    str(REGISTRY_ID): "the staff registry",
    str(REGISTER_ID): "the policy register",
    str(FINDINGS_ID): "the findings register",
    str(BOOK_ID): "the payment book",
}
"""The registers every bundle carries whole, by id; programme years are added per case."""


def needed(subject: Iterable[Bundled]) -> dict[str, str]:
    """The records a bundle of these subject events must carry whole: id → how it is named."""
    out = dict(REGISTERS)
    for event in subject:
        detail = event.leaf.get("detail")
        if not isinstance(detail, dict):
            continue
        if event.leaf.get("type") == "case.applied" and isinstance(detail.get("year"), int):
            out[str(year_id(detail["year"]))] = f"programme year {detail['year']}"
        if str(event.leaf.get("type", "")).startswith("case."):
            for key, value in detail.items():
                if key.endswith("fund_id") and isinstance(value, str) and value:
                    out.setdefault(value, f"fund {value}")
    return out


# -- making: the store's side --------------------------------------------------------------


def _absence(tree: HeadsTree, aggregate_id: str) -> list[dict[str, Any]]:
    """The heads entries on either side of an id the heads tree does not hold (one at an
    end): their being adjacent shows that no entry lies between them."""
    ids = sorted(tree.order)
    below = [a for a in ids if a < aggregate_id]
    above = [a for a in ids if a > aggregate_id]
    picked = ([below[-1]] if below else []) + ([above[0]] if above else [])
    return [p for p in (tree.proof(a) for a in picked) if p is not None]


def carry(
    source: Source, tree: HeadsTree, ids: dict[str, str], proved: dict[int, dict[str, Any]]
) -> dict[str, Any]:
    """Each of ``ids`` whole (its events' proofs added to ``proved``, by leaf number) with its
    heads entry, or the proof that it has no event: completeness.json's context."""
    heads: dict[str, Any] = {}
    absent: dict[str, Any] = {}
    for aggregate in sorted(ids):
        entry = tree.proof(aggregate)
        if entry is None:
            absent[aggregate] = _absence(tree, aggregate)
            continue
        heads[aggregate] = entry
        prove_into(source, source.positions_of(aggregate), proved)
    return {"heads": heads, "absent": absent}


def prior(
    source: Source, run: list[dict[str, Any]], first: int, proved: dict[int, dict[str, Any]]
) -> None:
    """Each record with events in a period's run, from its first version: its earlier events'
    proofs added to ``proved``."""
    if not first or not run:
        return  # the run starts the record, or holds nothing: no record to carry in
    start = source.position_of_leaf(first)  # positions grow with leaf numbers
    seen = {json.loads(e["leaf"])["aggregate_id"] for e in run}
    for aggregate in sorted(seen):
        before = takewhile(lambda position: position < start, source.positions_of(aggregate))
        prove_into(source, before, proved)


# -- checking: the verifier's side -----------------------------------------------------------


def _entry(entry: Any, heads: HeadsDigest) -> tuple[int, dict[str, Any]] | None:
    """A heads entry's place and leaf, when its path leads to the heads root."""
    leaf = _included(entry, "index", heads.count, bytes.fromhex(heads.root))
    return None if leaf is None else (int(entry["index"]), leaf)


def _proved_absent(aggregate: str, entries: Any, heads: HeadsDigest) -> bool:
    """Do the given heads entries stand on either side of ``aggregate`` with nothing between?"""
    if not isinstance(entries, list) or not 1 <= len(entries) <= 2:
        return False
    found = [_entry(e, heads) for e in entries]
    if any(f is None for f in found):
        return False
    places = sorted((k, str(leaf.get("aggregate_id"))) for k, leaf in (f for f in found if f))
    if len(places) == 2:
        (k1, low), (k2, high) = places
        return k2 == k1 + 1 and low < aggregate < high
    (k, other) = places[0]
    if aggregate < other:
        return k == 0
    return aggregate > other and k == heads.count - 1


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def check_whole(
    ids: dict[str, str],
    events: list[Bundled],
    material: dict[str, Any],
    heads: HeadsDigest | None,
) -> Findings:
    """Is each of ``ids`` in the bundle whole to its head at the digest, or proved to have no
    event at all?"""
    found = Findings()
    context = _object(material.get("context"))
    entries, absent = _object(context.get("heads")), _object(context.get("absent"))
    by_record: dict[str, list[Bundled]] = defaultdict(list)
    for event in sorted(events, key=lambda e: e.leaf_index):
        by_record[event.aggregate].append(event)
    for aggregate, name in sorted(ids.items()):
        held = by_record.get(aggregate, [])
        if heads is None:
            found.missing.append(f"{name}: no heads digest to show it whole")
            continue
        entry = _entry(entries.get(aggregate), heads)
        if entry is None:
            if not held and _proved_absent(aggregate, absent.get(aggregate), heads):
                found.covered.append(f"{name}: no event in the digest (proved absent)")
            else:
                found.missing.append(f"{name}: neither held whole nor proved absent")
            continue
        _, top = entry
        version, index = top.get("version"), top.get("leaf_index")
        if top.get("aggregate_id") != aggregate or not isinstance(version, int):
            found.missing.append(f"{name}: its heads entry is another record's")
            continue
        gaps = version_gaps(name, held, 1)
        last = held[-1] if held else None
        if gaps:
            found.missing += gaps
        elif last is None or (last.version, last.leaf_index) != (version, index):
            found.missing.append(
                f"{name}: the bundle holds it to version {last.version if last else 0}, "
                f"the digest to version {version}"
            )
        else:
            found.covered.append(f"{name}: {span(1, version)}, whole")
    return found


def check_prior(events: list[Bundled], run: tuple[int, int]) -> Findings:
    """Does each record with events in a period's run go back to its first version?"""
    found = Findings()
    by_record: dict[str, list[Bundled]] = defaultdict(list)
    for event in sorted(events, key=lambda e: e.leaf_index):
        if event.leaf_index < run[1]:
            by_record[event.aggregate].append(event)
    for held in by_record.values():
        if any(run[0] <= e.leaf_index < run[1] for e in held):
            found.missing += version_gaps(held[0].name(), held, 1)
    return found


def stray(
    events: list[Bundled], subject: set[str], whole: dict[str, str], run: tuple[int, int] | None
) -> list[str]:
    """Events the bundle has no reason to hold: neither its case, nor its context, nor (a
    period's) the run or a record of the run before its end."""
    in_run = {e.aggregate for e in events if run and run[0] <= e.leaf_index < run[1]}
    return [
        f"the event at position {e.position} ({e.name()}) is neither the bundle's subject "
        "nor its context"
        for e in events
        if e.aggregate not in subject
        and e.aggregate not in whole
        and not (run and e.aggregate in in_run and e.leaf_index < run[1])
    ]


def kinds_of(leaves: list[dict[str, Any]]) -> dict[str, str]:
    """Each bundled fund's kind, from its opening."""
    return {r["aggregate_id"]: r["detail"]["kind"] for r in leaves if r["type"] == "fund.opened"}


def rows_of(leaves: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Leaves as the rules read journal rows, in position order."""
    return [
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


@dataclass(frozen=True)
class Judged:
    """The findings about a bundle's subject (open, and explained), at ``moment``."""

    open: list[Violation]
    disposed: list[DisposedFinding]
    moment: str
    not_judged: tuple[str, ...] = ()


def judge(
    leaves: list[dict[str, Any]],
    about: Callable[[dict[str, Any]], bool],
    base: dict[str, Any],
    now: datetime,
    kinds: dict[str, str],
) -> Judged:
    """Every rule over ``leaves`` (the bundled events up to the subject's end, their funds of
    ``kinds``), the findings kept that ``about`` says concern the subject."""
    ordered = sorted(leaves, key=lambda r: r["position"])
    start = Policy(**base)
    policy = start
    for leaf in ordered:
        if leaf["type"] in ("policy.value_set", "policy.changed"):
            with suppress(TypeError, ValueError):  # the rules flag it (policy_unreadable)
                policy = changed(policy, leaf["detail"])
    actors = {int(r["position"]): str(r["actor"]) for r in ordered}
    result = run_checks(
        rows_of(ordered),
        kinds,
        policy,
        now,
        base=start,
        actors_at=lambda positions: {p: actors[p] for p in positions if p in actors},
    )
    return Judged(
        open=[v for v in result.violations if about(v.model_dump())],
        disposed=[d for d in result.disposed if about(d.violation.model_dump())],
        moment=now.isoformat(),
        not_judged=ACROSS_PEOPLE,
    )
