"""Complete bundles (issue 22 §1): proof that a bundle holds every event of its subject.

Inclusion proofs show that each bundled event is in the record; they cannot show that none
was left out, and the office signs whatever it exports. So a bundle (``aidflow-bundle/2``)
carries ``completeness.json``, made by :func:`case_completeness` or :func:`period_events`
and read by :func:`check_case` or :func:`check_period`:

- **A case bundle** holds the case's versions 1..n, none missing, and proves that version
  n is the case's *head* at the digest: its entry in the **heads tree**, an RFC 9162 tree
  with one leaf per aggregate (:func:`head_leaf`: its id, and the version and leaf number
  of its last event among the digest's leaves), in aggregate id order. The **heads digest**
  ``heads:TREE_SIZE:COUNT:ROOT`` names that tree. That no later event exists cannot be
  shown by inclusion proofs; the heads digest commits to it, anyone holding the store can
  recompute it, and one proof of a later version in the same tree refutes it.
- **A period bundle** holds a run of consecutive leaves, every event from the first
  recorded in the period to the last; the events just before and after the run are proved
  and were recorded outside the period. Consecutive leaves leave nothing out, so it needs
  no heads digest. Each record's versions in the run go on from the version it had before
  the period, which is proved too (the state carried in).

Everything here runs offline (the verifier layer): the store's side is a :class:`Source`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple, Protocol

from aidflow.domain.clock import day_end, day_start
from aidflow.domain.errors import ProofUnavailable, said
from aidflow.proofs.leaves import canonical_json
from aidflow.proofs.merkle import inclusion_path, leaf_hash, root_of, verify_inclusion
from aidflow.proofs.models import HeadsDigest, TreeHead

PROVED = ("leaf_index", "position", "leaf", "path")
"""What completeness.json keeps of an inclusion proof (the tree is the bundle's digest)."""


class Source(Protocol):
    """The store's answers a bundle is made from (the office's audit view gives them)."""

    def prove(self, position: int) -> dict[str, Any] | None:
        """The inclusion proof of the event at ``position``; None when it came after the digest."""

    def position_of_leaf(self, index: int) -> int:
        """The position of the event at leaf ``index``."""

    def position_of_version(self, aggregate_id: str, version: int) -> int | None:
        """The position of an aggregate's event at ``version``, if there is one."""

    def position_at(self, moment: datetime) -> int:
        """The position of the last event recorded at or before ``moment`` (0: none)."""

    def heads(self) -> list[tuple[str, int, int]]:
        """(aggregate id, version, leaf number) of each aggregate's last event in the digest."""

    def positions_of(self, aggregate_id: str) -> list[int]:
        """The positions of every event of an aggregate among the digest's leaves, in order."""


# -- the heads tree ---------------------------------------------------------------------------


def head_leaf(aggregate_id: str, version: int, leaf_index: int) -> str:
    """One leaf of the heads tree: canonical JSON of an aggregate's id and the version and leaf
    number of its last event (the leaf number binds the entry to one event of the record)."""
    return canonical_json(
        {"aggregate_id": aggregate_id, "leaf_index": leaf_index, "version": version}
    )


class HeadsTree:
    """The heads tree over ``entries`` (aggregate id, version, leaf number), one per aggregate."""

    def __init__(self, entries: Iterable[tuple[str, int, int]]) -> None:
        ordered = sorted(entries)
        self.order = {aggregate: k for k, (aggregate, _, _) in enumerate(ordered)}
        self.leaves = [head_leaf(*entry) for entry in ordered]
        self.hashes = [leaf_hash(text.encode("utf-8")) for text in self.leaves]
        self.root = root_of(self.hashes)

    def digest(self, tree_size: int) -> HeadsDigest:
        return HeadsDigest(tree_size=tree_size, count=len(self.leaves), root=self.root.hex())

    def proof(self, aggregate_id: str) -> dict[str, Any] | None:
        """The aggregate's entry and its audit path (None: no event of it in the tree)."""
        k = self.order.get(aggregate_id)
        if k is None:
            return None
        path = inclusion_path(k, len(self.hashes), lambda lo, hi: root_of(self.hashes[lo:hi]))
        return {"leaf": self.leaves[k], "index": k, "path": [h.hex() for h in path]}


# -- making the material ----------------------------------------------------------------------


def case_completeness(tree: HeadsTree, head: TreeHead, case_id: str) -> dict[str, Any]:
    """The case's entry in the heads tree of ``head``: completeness.json of a case bundle."""
    entry = tree.proof(case_id)
    if entry is None:
        raise ProofUnavailable(
            said(
                "case {case_id} has no event among the digest's {size}; take a newer digest",
                case_id=case_id,
                size=head.size,
            )
        )
    return {"heads": {case_id: entry}}


class Period(NamedTuple):
    """Whole days from ``start`` to ``end`` on the office's clock (``zone``, an IANA name;
    bundles made before the office had one say nothing and mean UTC)."""

    start: date
    end: date
    zone: str = "UTC"


def period_moments(period: Period) -> tuple[datetime, datetime]:
    """The first and last moment of a period of whole days on its clock, in UTC."""
    return day_start(period.start, period.zone), day_end(period.end, period.zone)


def _proved(source: Source, position: int) -> dict[str, Any]:
    proof = source.prove(position)
    if proof is None:
        raise ProofUnavailable(
            said("the event at position {position} came after the digest", position=position)
        )
    return {k: proof[k] for k in PROVED}


def prove_into(source: Source, positions: Iterable[int], proved: dict[int, dict[str, Any]]) -> None:
    """The proofs of the events at ``positions`` added to ``proved`` by leaf number (an event
    after the digest is in no proof: left out)."""
    for position in positions:
        proof = source.prove(position)
        if proof is not None:
            proved.setdefault(proof["leaf_index"], {k: proof[k] for k in PROVED})


def period_events(
    source: Source, head: TreeHead, positions: list[int], period: Period
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The proofs of a period's events, and what shows that none is missing.

    The events are every leaf from the first recorded in the period (``positions``) to the
    last, including any a concurrent writer stamped a moment outside it; with them, the
    events just before and after that run, and each record's version before it.
    """
    proved: dict[int, dict[str, Any]] = {}
    prove_into(source, sorted(set(positions)), proved)  # some recorded after the digest
    if proved:
        first, end = min(proved), max(proved) + 1
    else:  # an empty period: an empty run, after the last event recorded before its end
        last = source.position_at(period_moments(period)[1])
        before = source.prove(last) if last else None
        first = 0 if not last else head.size if before is None else before["leaf_index"] + 1
        end = first
    for index in range(first, end):
        if index not in proved:
            proved[index] = _proved(source, source.position_of_leaf(index))
    events = [proved[i] for i in sorted(proved)]
    material = {
        "range": [first, end],
        "before": _proved(source, source.position_of_leaf(first - 1)) if first else None,
        "after": _proved(source, source.position_of_leaf(end)) if end < head.size else None,
        "carried": _carried(source, events),
    }
    return events, material


def _carried(source: Source, events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """For each record with events in the run, the proof of its version just before it."""
    carried: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    for event in events:
        leaf = json.loads(event["leaf"])
        aggregate, version = leaf["aggregate_id"], int(leaf["version"])
        if aggregate in seen:
            continue
        seen.add(aggregate)
        position = source.position_of_version(aggregate, version - 1) if version > 1 else None
        if position is not None:
            carried[aggregate] = _proved(source, position)
    return carried


# -- checking it ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bundled:
    """One bundled event, its proof already checked: leaf number, position, leaf fields."""

    leaf_index: int
    position: int
    leaf: dict[str, Any]

    @property
    def version(self) -> int:
        v = self.leaf.get("version")
        return v if isinstance(v, int) else -1

    @property
    def aggregate(self) -> str:
        return str(self.leaf.get("aggregate_id"))

    def name(self) -> str:
        """How messages name its record: ``case 3f2a…``, ``fund …``."""
        return f"{str(self.leaf.get('type', '')).partition('.')[0] or 'record'} {self.aggregate}"


@dataclass
class Findings:
    """What a completeness check found: what the bundle is shown to hold, what is missing, and
    what is wrong with the proof of it."""

    covered: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def span(first: int, last: int) -> str:
    return f"version {first}" if first == last else f"versions {first}–{last}"


def version_gaps(name: str, run: list[Bundled], first: int) -> list[str]:
    """What is missing from one record's versions (its events in leaf order) from ``first``."""
    out: list[str] = []
    expect = first
    for event in run:
        v = event.version
        if v > expect:
            out.append(f"{name}: {span(expect, v - 1)} missing")
        elif v < expect:
            out.append(f"{name}: version {v} again at position {event.position}")
        expect = max(expect, v + 1)
    return out


def proved_event(entry: Any, head: TreeHead) -> Bundled | None:
    """The event of a proof ``{leaf_index, position, leaf, path}`` that leads to the root of
    ``head``; None for anything else."""
    leaf = _included(entry, "leaf_index", head.size, bytes.fromhex(head.root))
    if leaf is None or leaf.get("position") != entry.get("position"):
        return None
    return Bundled(int(entry["leaf_index"]), int(entry["position"]), leaf)


def _included(entry: Any, index_key: str, size: int, root: bytes) -> dict[str, Any] | None:
    """The leaf (JSON object) of ``entry`` when its audit path leads to ``root``."""
    if not isinstance(entry, dict):
        return None
    text, index, path = entry.get("leaf"), entry.get(index_key), entry.get("path")
    if not (isinstance(text, str) and isinstance(index, int) and isinstance(path, list)):
        return None
    try:
        hashes = [bytes.fromhex(h) for h in path if isinstance(h, str) and len(h) == 64]
        leaf = json.loads(text)
    except ValueError:
        return None
    if len(hashes) != len(path) or not isinstance(leaf, dict):
        return None
    if not verify_inclusion(index, size, leaf_hash(text.encode("utf-8")), hashes, root):
        return None
    return leaf


def check_case(
    case_id: str,
    events: list[Bundled],
    material: dict[str, Any],
    head: TreeHead,
    heads: HeadsDigest,
) -> Findings:
    """Does the bundle hold the case's versions 1..n, n its head in ``heads``?"""
    found = Findings()
    name = f"case {case_id}"
    run = sorted((e for e in events if e.aggregate == case_id), key=lambda e: e.leaf_index)
    found.missing += version_gaps(name, run, 1)
    if heads.tree_size != head.size:
        found.missing.append(f"{heads} is not of the bundle's digest ({head.size} events)")
        return found
    entries = material.get("heads")
    entry = entries.get(case_id) if isinstance(entries, dict) else None
    top = _included(entry, "index", heads.count, bytes.fromhex(heads.root))
    if top is None or top.get("aggregate_id") != case_id:
        found.missing.append(f"{name}: its head at the digest is not proved in {heads}")
        return found
    version, index = top.get("version"), top.get("leaf_index")
    last = run[-1] if run else None
    if not isinstance(version, int) or not isinstance(index, int):
        found.missing.append(f"{name}: its heads entry names no version")
        return found
    if last is None:
        found.missing.append(
            f"{name}: the bundle holds none of its events; the digest holds {span(1, version)}"
        )
    elif version > last.version:
        found.missing.append(
            f"{name}: the bundle ends at version {last.version}, the digest holds version {version}"
        )
    elif (version, index) != (last.version, last.leaf_index):
        found.missing.append(
            f"{name}: {heads} says its head is version {version} (leaf {index}), yet the bundle "
            f"proves version {last.version} (leaf {last.leaf_index}): the heads digest is false"
        )
    if not found.missing:
        found.covered.append(f"{name}: {span(1, version)}, the last its head in {heads}")
    return found


def check_period(
    period: Period, events: list[Bundled], material: dict[str, Any], head: TreeHead
) -> Findings:
    """Does the bundle hold a run of consecutive leaves that is the whole period, each record's
    versions going on from the one carried in?"""
    found = Findings()
    bounds = material.get("range")
    if not (
        isinstance(bounds, list)
        and len(bounds) == 2
        and all(isinstance(b, int) for b in bounds)
        and 0 <= bounds[0] <= bounds[1] <= head.size
    ):
        found.missing.append("the bundle does not say which run of events is the period's")
        return found
    first, end = bounds
    have = {e.leaf_index: e for e in events}
    found.problems += [
        f"the event at position {e.position} lies outside the bundle's run of leaves"
        for i, e in sorted(have.items())
        if not first <= i < end
    ]
    found.missing += _holes(have, first, end)
    _edges(found, period, have, material, head, (first, end))
    _carried_in(found, have, material, head, (first, end))
    if not found.missing and not found.problems:
        found.covered.append(_period_covered(period, have, material, head, (first, end)))
    return found


def _holes(have: dict[int, Bundled], first: int, end: int) -> list[str]:
    """The runs of leaves between ``first`` and ``end`` the bundle does not hold."""
    out: list[str] = []
    index = first
    while index < end:
        if index in have:
            index += 1
            continue
        last = index
        while last + 1 < end and last + 1 not in have:
            last += 1
        leaves = f"leaf {index}" if index == last else f"leaves {index}–{last}"
        after = f" after position {have[index - 1].position}" if index - 1 in have else ""
        out.append(f"{last - index + 1} event(s) missing{after} ({leaves})")
        index = last + 1
    return out


def _recorded_in(leaf: dict[str, Any], period: Period) -> bool:
    low, high = period_moments(period)
    try:
        at = datetime.fromisoformat(str(leaf.get("recorded_at")))
    except ValueError:
        return False
    return at.tzinfo is not None and low <= at <= high


def _edges(
    found: Findings,
    period: Period,
    have: dict[int, Bundled],
    material: dict[str, Any],
    head: TreeHead,
    run: tuple[int, int],
) -> None:
    """The run's first and last events are the period's; those just outside it are not."""
    first, end = run
    for index, which in ((first, "first"), (end - 1, "last")):
        event = have.get(index)
        if first < end and event is not None and not _recorded_in(event.leaf, period):
            found.problems.append(
                f"the bundle's {which} event (position {event.position}) "
                "was not recorded in the period"
            )
    for key, index, side, needed in (
        ("before", first - 1, "earlier", first > 0),
        ("after", end, "later", end < head.size),
    ):
        if not needed:
            continue
        event = proved_event(material.get(key), head)
        if event is None or event.leaf_index != index:
            found.missing.append(
                f"the event {key} the bundle's run is not proved: "
                f"the period's {side} events may be missing"
            )
        elif _recorded_in(event.leaf, period):
            found.missing.append(
                f"the event at position {event.position}, just {key} the bundle's run, "
                f"was recorded in the period: the period's {side} events are missing"
            )


def _carried_in(
    found: Findings,
    have: dict[int, Bundled],
    material: dict[str, Any],
    head: TreeHead,
    run: tuple[int, int],
) -> None:
    """Each record's versions in the run go on from its version before the run, proved."""
    carried = material.get("carried")
    carried = carried if isinstance(carried, dict) else {}
    runs: dict[str, list[Bundled]] = defaultdict(list)
    for index in sorted(have):
        if run[0] <= index < run[1]:
            runs[have[index].aggregate].append(have[index])
    for aggregate, events in runs.items():
        name, start = events[0].name(), events[0].version
        if start > 1:
            before = proved_event(carried.get(aggregate), head)
            if before is not None and before.aggregate == aggregate and before.leaf_index < run[0]:
                start = before.version + 1  # versions in the run follow it, none left out
            else:
                found.missing.append(
                    f"{name}: version {start - 1}, carried into the period, is not proved"
                )
        found.missing += version_gaps(name, events, start)


def _period_covered(
    period: Period,
    have: dict[int, Bundled],
    material: dict[str, Any],
    head: TreeHead,
    run: tuple[int, int],
) -> str:
    """What a complete period bundle holds, in a sentence."""
    first, end = run
    held = (
        "no event recorded in it"
        if first == end
        else f"all {end - first} events from position {have[first].position} "
        f"to {have[end - 1].position}"
    )
    before = (
        "nothing before in the record" if first == 0 else "the event before recorded outside it"
    )
    after = "the digest ends there" if end == head.size else "the event after recorded outside it"
    carried = material.get("carried")
    count = len(carried) if isinstance(carried, dict) else 0
    return (
        f"period {period.start}..{period.end} ({period.zone}): {held}; {before}, {after}; "
        f"{count} record(s) go on from a version before it"
    )
