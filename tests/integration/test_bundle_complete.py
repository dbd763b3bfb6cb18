"""Issue 22 §1: a bundle proves that it holds every event of its case or period.

The office holds the signing key and the store: it can re-sign any bundle and make any
heads tree it likes. Each of its tricks is kept here as a test: versions left out of a case
bundle (the account change), the close left out, a gap in a period bundle, the period cut
short, a boundary or carried-in proof swapped or forged, a heads entry forged, a whole
heads tree forged (caught against the published heads digest, and only then), a bundle
made against an older digest. An honest bundle is complete; an old (format 1) bundle is
still intact and says that its completeness cannot be told.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aidflow import Office
from aidflow import commands as cmd
from aidflow.cli import main
from aidflow.office.auditing import _StoreSource
from aidflow.projections.audit import bundles
from aidflow.projections.audit.heads import tree_head
from aidflow.projections.audit.tree import aggregate_heads
from aidflow.projections.base import reading
from aidflow.proofs import bundle as B
from aidflow.proofs import keys as K
from aidflow.proofs.complete import Bundled, HeadsTree
from aidflow.proofs.context import _absence
from aidflow.proofs.models import HeadsDigest, TreeHead
from tests.builders import account_of, applied, followed_up, government_fund, new_ref, paid
from tests.builders import register_staff as register

AUG_1 = datetime(2026, 8, 1, 9, tzinfo=UTC)
AUG_20 = datetime(2026, 8, 20, 9, tzinfo=UTC)
SEP_10 = datetime(2026, 9, 10, 9, tzinfo=UTC)
OCT_5 = datetime(2026, 10, 5, 9, tzinfo=UTC)
PERIOD = "2026-08-20..2026-09-30"


@dataclass
class Story:
    """Case A: paid and followed up (versions 1-5, 1 August), its account changed (6-7,
    20 August), followed up twice (8-9, September), closed (10-12, October). Case B and
    the fund have events in the period too."""

    office: Office
    clock: list[datetime]
    a: str
    b: str
    fund: str
    keys: Path
    key: Ed25519PrivateKey
    public: Path
    tmp: Path


@pytest.fixture
def story(store_url: str, tmp_path: Path) -> Iterator[Story]:
    clock = [AUG_1]
    office = Office.open(store_url, clock=lambda: clock[0])
    flow = office.flow
    register(flow)
    fund = government_fund(flow)
    a = paid(flow, fund, 1)
    followed_up(flow, a)
    b = applied(flow, 2)
    clock[0] = AUG_20
    flow.verify(
        cmd.Verify(
            case_id=b,
            income_fen=1_200_000,
            tuition_fen=600_000,
            gap_fen=500_000,
            needs=["tuition"],
            actor="visitor",
        )
    )
    flow.set_account(
        cmd.SetAccount(case_id=a, account=account_of(3), reason="new card", actor="clerk")
    )
    flow.confirm_account(cmd.ConfirmAccount(case_id=a, actor="boss"))
    clock[0] = SEP_10
    followed_up(flow, a)
    flow.approve(
        cmd.Approve(
            ref=new_ref(),
            case_id=b,
            amount_fen=300_000,
            need="tuition",
            fund_id=fund,
            actor="approver",
        )
    )
    followed_up(flow, a)
    clock[0] = OCT_5
    followed_up(flow, a)
    followed_up(flow, a)
    flow.close_case(cmd.CloseCase(case_id=a, reason="graduated", actor="clerk"))
    keys = tmp_path / "keys"
    _, public, _ = K.init_signing(keys)
    try:
        yield Story(
            office, clock, str(a), str(b), str(fund), keys, K.load_private(keys), public, tmp_path
        )
    finally:
        office.close()


def export(story: Story, name: str, **scope: Any) -> Path:
    made = story.office.export(keys_dir=story.keys, **scope)
    path = story.tmp / name
    path.write_bytes(made.data)
    return path


def verify(story: Story, path: Path, **given: Any) -> B.BundleCheck:
    return B.verify_bundle(path, K.load_public(story.public), **given)


def versions(path: Path, aggregate: str, *, run: bool = False) -> list[int]:
    """The versions of a record a bundle holds (``run``: only in a period bundle's run)."""
    events = json.loads(zipfile.ZipFile(path).read("events.json"))
    if run:
        first, end = json.loads(zipfile.ZipFile(path).read("completeness.json"))["range"]
        events = [e for e in events if first <= e["leaf_index"] < end]
    leaves = [json.loads(e["leaf"]) for e in events]
    return [x["version"] for x in leaves if x["aggregate_id"] == aggregate]


def run_events(path: Path) -> int:
    """How many events of a period bundle are the period's run (the rest is context)."""
    first, end = json.loads(zipfile.ZipFile(path).read("completeness.json"))["range"]
    return int(end - first)


Files = dict[str, Any]


def resign(
    story: Story,
    path: Path,
    name: str,
    drop: Callable[[dict[str, Any]], bool] = lambda leaf: False,
    edit: Callable[[Files, dict[str, Any]], None] = lambda files, manifest: None,
) -> Path:
    """The office's trick: leave out the events ``drop`` picks, change anything else
    (``edit``), recompute the figures so that they follow, and sign again with its key."""
    with zipfile.ZipFile(path) as z:
        manifest = json.loads(z.read("manifest.json"))
        names = [n for n in manifest["files"] if n != "figures.json"]
        files: Files = {n: json.loads(z.read(n)) for n in names}
        base = json.loads(z.read("figures.json"))["policy_base"]
    kept = [e for e in files["events.json"] if not drop(json.loads(e["leaf"]))]
    files["events.json"] = kept
    files["proofs.json"] = {
        k: v for k, v in files["proofs.json"].items() if int(k) in {e["position"] for e in kept}
    }
    edit(files, manifest)
    manifest["events"] = len(kept)
    data = {n: B.as_json(v) for n, v in files.items()}
    head = TreeHead(size=manifest["tree_size"], root=manifest["root"])
    held = [Bundled(e["leaf_index"], e["position"], json.loads(e["leaf"])) for e in kept]
    material = files["completeness.json"]
    figures = B.bundle_figures(manifest["scope"], material, held, base, head)
    data["figures.json"] = B.as_json(figures)
    for stale in ("files", "created_at", "signed_by"):
        manifest.pop(stale)
    out = story.tmp / name
    out.write_bytes(B.pack(data, manifest, story.key))
    return out


def reheads(files: Files, tree: HeadsTree, case: str) -> None:
    """Every heads entry of a bundle (its case's, its context's) taken from ``tree``: what
    an office forging a whole heads tree does."""
    material = files["completeness.json"]
    material["heads"] = {case: tree.proof(case)}
    context = material["context"]
    context["heads"] = {a: tree.proof(a) for a in context["heads"]}
    context["absent"] = {a: _absence(tree, a) for a in context["absent"]}


def of(aggregate: str, *numbers: int) -> Callable[[dict[str, Any]], bool]:
    return lambda leaf: leaf["aggregate_id"] == aggregate and leaf["version"] in numbers


def heads_recomputed(story: Story, size: int) -> HeadsDigest:
    """The heads digest recomputed from the stored events alone (not the audit view)."""
    last: dict[str, tuple[int, int]] = {}
    records = story.office.flow.recorder.select_notifications(start=1, limit=size)
    for index, record in enumerate(records):
        last[str(record.originator_id)] = (int(record.originator_version), index)
    return HeadsTree((a, v, i) for a, (v, i) in last.items()).digest(size)


# -- honest bundles -------------------------------------------------------------------------


def test_an_honest_case_bundle_is_complete_against_the_heads_digest(story: Story) -> None:
    path = export(story, "a.zip", case_id=UUID(story.a))
    assert versions(path, story.a) == list(range(1, 13))
    result = verify(story, path)
    assert result.ok and result.complete and result.format == B.CONTEXT_FORMAT, result.missing
    assert (
        result.covered[0] == f"case {story.a}: versions 1–12, the last its head in {result.heads}"
    )
    context = result.covered[1:]  # issue 22 §2: what the rules read, whole
    assert any(c.startswith("the staff registry: versions 1–") for c in context), context
    assert any(c.startswith(f"fund {story.fund}: versions 1–") for c in context), context
    assert "programme year 2026: no event in the digest (proved absent)" in context
    assert not result.heads_checked
    size = int(result.digest.split(":")[1])
    published = heads_recomputed(story, size)
    assert result.heads == str(published)  # the heads digest follows from the events
    checked = verify(story, path, heads=published)
    assert checked.ok and checked.complete and checked.heads_checked


def test_an_honest_period_bundle_is_complete_with_the_state_carried_in(story: Story) -> None:
    path = export(story, "p.zip", period=PERIOD)
    result = verify(story, path)
    assert result.ok and result.complete, result.missing
    journal = story.office.journal()
    inside = [x.position for x in journal if AUG_20 <= x.recorded_at <= SEP_10]
    assert run_events(path) == len(inside) == 8
    assert result.covered[:1] == [
        f"period 2026-08-20..2026-09-30 (Asia/Shanghai): all 8 events from position {inside[0]} to "
        f"{inside[-1]}; the event before recorded outside it, the event after recorded "
        "outside it; 3 record(s) go on from a version before it"
    ]
    material = json.loads(zipfile.ZipFile(path).read("completeness.json"))
    manifest = json.loads(zipfile.ZipFile(path).read("manifest.json"))
    assert manifest["scope"]["timezone"] == "Asia/Shanghai"  # whole days on the office's clock
    carried = {k: json.loads(v["leaf"])["version"] for k, v in material["carried"].items()}
    assert carried == {story.a: 5, story.b: 1, story.fund: 3}
    assert versions(path, story.a) == list(range(1, 10))  # from its first version (§2)
    assert versions(path, story.a, run=True) == [6, 7, 8, 9]


def test_a_period_with_no_event_is_complete_and_so_is_one_past_the_digest(story: Story) -> None:
    empty = verify(story, export(story, "e.zip", period="2026-08-10..2026-08-15"))
    assert (
        empty.ok
        and empty.complete
        and run_events(export(story, "e.zip", period="2026-08-10..2026-08-15")) == 0
    )
    assert "no event recorded in it" in empty.covered[0]
    later = verify(story, export(story, "l.zip", period="2026-10-01..2026-12-31"))
    assert later.ok and later.complete
    assert "the digest ends there" in later.covered[0]
    first = verify(story, export(story, "f.zip", period="2026-01-01..2026-08-01"))
    assert first.ok and first.complete and "nothing before in the record" in first.covered[0]
    after = verify(story, export(story, "x.zip", period="2026-12-01..2026-12-31"))
    assert after.ok and after.complete
    assert after.covered[0].startswith(
        "period 2026-12-01..2026-12-31 (Asia/Shanghai): no event recorded in it"
    )
    assert "the digest ends there" in after.covered[0]


def test_an_event_a_lagging_clock_stamped_before_the_period_is_in_its_run(story: Story) -> None:
    """Writers stamp their own time: a case applied between two of the period's events by a
    writer whose clock lagged a minute is in the run (every leaf between the first and the
    last), so the bundle is complete by position."""
    flow = story.office.flow
    story.clock[0] = datetime(2026, 11, 2, 9, tzinfo=UTC)
    fund = flow.open_fund(cmd.OpenFund(name="Winter aid", kind="government", actor="finance"))
    story.clock[0] = datetime(2026, 11, 1, 23, 59, tzinfo=UTC)
    late = applied(flow, 5)
    story.clock[0] = datetime(2026, 11, 2, 10, tzinfo=UTC)
    flow.deposit(
        cmd.Deposit(fund_id=fund, amount_fen=100, source="s", receipt="R-11", actor="finance")
    )
    path = export(story, "n.zip", period="2026-11-02..2026-11-02")
    result = verify(story, path)
    assert result.ok and result.complete, result.missing
    assert versions(path, str(late)) == [1]
    assert versions(path, str(fund)) == [1, 2]


# -- the office leaves events out of a case bundle ------------------------------------------


def test_a_case_bundle_without_the_account_change_names_the_versions(story: Story) -> None:
    honest = export(story, "a.zip", case_id=UUID(story.a))
    forged = resign(story, honest, "no-6-7.zip", drop=of(story.a, 6, 7))
    result = verify(story, forged)
    assert result.intact and result.figures_follow  # signed by the office, proofs hold
    assert not result.ok and result.complete is False
    assert result.missing == [f"case {story.a}: versions 6–7 missing"]


def test_a_case_bundle_without_the_close_names_the_head_it_left_out(story: Story) -> None:
    honest = export(story, "a.zip", case_id=UUID(story.a))
    forged = resign(story, honest, "no-close.zip", drop=of(story.a, 10, 11, 12))
    result = verify(story, forged)
    assert result.intact and not result.ok
    assert result.missing == [
        f"case {story.a}: the bundle ends at version 9, the digest holds version 12"
    ]
    nothing = verify(story, resign(story, honest, "none.zip", drop=of(story.a, *range(1, 13))))
    assert nothing.missing == [
        f"case {story.a}: the bundle holds none of its events; the digest holds versions 1–12"
    ]


def test_a_forged_heads_entry_does_not_lead_to_the_heads_root(story: Story) -> None:
    honest = export(story, "a.zip", case_id=UUID(story.a))

    def say_nine(files: Files, manifest: dict[str, Any]) -> None:
        entry = files["completeness.json"]["heads"][story.a]
        leaf = json.loads(entry["leaf"])
        entry["leaf"] = json.dumps({**leaf, "version": 9}, separators=(",", ":"))

    result = verify(
        story, resign(story, honest, "f.zip", drop=of(story.a, 10, 11, 12), edit=say_nine)
    )
    assert not result.ok
    assert result.missing == [
        f"case {story.a}: its head at the digest is not proved in {result.heads}"
    ]


def test_a_forged_heads_tree_is_caught_by_the_published_heads_digest(story: Story) -> None:
    """The office can build a whole heads tree in which the case ends at version 9 and sign
    it: the bundle is then complete by its own word, and the verdict says whose word that
    is. Against the heads digest published beside the tree digest it fails."""
    honest = export(story, "a.zip", case_id=UUID(story.a))
    published = HeadsDigest.parse(verify(story, honest).heads or "")
    size = published.tree_size
    with reading(story.office.views.engine) as conn:
        entries = aggregate_heads(conn, size)
    at_nine = json.loads(zipfile.ZipFile(honest).read("events.json"))
    leaf_of_nine = next(e["leaf_index"] for e in at_nine if of(story.a, 9)(json.loads(e["leaf"])))
    fake = HeadsTree((a, 9, leaf_of_nine) if a == story.a else (a, v, i) for a, v, i in entries)

    def fake_heads(files: Files, manifest: dict[str, Any]) -> None:
        reheads(files, fake, story.a)
        manifest["heads"] = str(fake.digest(size))

    forged = resign(story, honest, "fake.zip", drop=of(story.a, 10, 11, 12), edit=fake_heads)
    alone = verify(story, forged)
    assert alone.ok and alone.complete and not alone.heads_checked  # the office's word
    assert alone.heads == str(fake.digest(size)) != str(published)
    against = verify(story, forged, heads=published)
    assert not against.ok and against.complete is False and not against.heads_checked
    assert against.missing == [f"the bundle's heads digest is {fake.digest(size)}, not {published}"]
    # a heads digest of another tree size than the bundle's digest is no proof either
    other = HeadsTree(entries).digest(size - 1)

    def other_size(files: Files, manifest: dict[str, Any]) -> None:
        manifest["heads"] = str(other)

    wrong = verify(story, resign(story, honest, "size.zip", edit=other_size))
    assert wrong.missing == [f"{other} is not of the bundle's digest ({size} events)"]


def test_a_heads_tree_that_contradicts_the_bundle_is_named_false(story: Story) -> None:
    """Version 12 proved in the tree, version 9 its head by the heads tree: the heads tree
    lies, and any proof of a later version is the evidence."""
    honest = export(story, "a.zip", case_id=UUID(story.a))
    size = int(verify(story, honest).digest.split(":")[1])
    with reading(story.office.views.engine) as conn:
        entries = aggregate_heads(conn, size)
    fake = HeadsTree((a, 9, 0) if a == story.a else (a, v, i) for a, v, i in entries)

    def fake_heads(files: Files, manifest: dict[str, Any]) -> None:
        reheads(files, fake, story.a)
        manifest["heads"] = str(fake.digest(size))

    result = verify(story, resign(story, honest, "lie.zip", edit=fake_heads))
    assert not result.ok and len(result.missing) == 1
    assert result.missing[0].endswith("the heads digest is false")

    def others(files: Files, manifest: dict[str, Any]) -> None:
        """The true heads tree, and case B's entry in it standing for case A's."""
        true = HeadsTree(entries)
        files["completeness.json"]["heads"] = {story.a: true.proof(story.b)}

    result = verify(story, resign(story, honest, "b.zip", edit=others))
    assert result.missing == [
        f"case {story.a}: its head at the digest is not proved in {result.heads}"
    ]


def test_a_bundle_against_an_older_digest_fails_against_the_newest(story: Story) -> None:
    """Complete as of the digest it names (before the close); the auditor who gives the
    newest published digest is told it is proved against another."""
    office = story.office
    newest = TreeHead.parse(office.digest().digest)
    honest = export(story, "a.zip", case_id=UUID(story.a))
    nine = next(
        e["leaf_index"]
        for e in json.loads(zipfile.ZipFile(honest).read("events.json"))
        if of(story.a, 9)(json.loads(e["leaf"]))
    )
    with reading(office.views.engine) as conn:
        old = tree_head(conn, nine + 1)
        made = B.make_bundle(
            _StoreSource(conn, office.flow, old),
            old,
            office.views.case_positions(UUID(story.a)),
            dict(asdict(office.flow.policy)),
            story.key,
            case_id=story.a,
        )
    path = story.tmp / "old.zip"
    path.write_bytes(made.data)
    as_of_then = verify(story, path)
    assert as_of_then.ok and as_of_then.complete and versions(path, story.a) == list(range(1, 10))
    assert not verify(story, path, digest=newest).ok


# -- the office leaves events out of a period bundle ----------------------------------------


def test_a_period_bundle_with_a_gap_names_the_versions_and_the_leaves(story: Story) -> None:
    honest = export(story, "p.zip", period=PERIOD)
    result = verify(story, resign(story, honest, "gap.zip", drop=of(story.a, 6, 7)))
    assert result.intact and not result.ok
    events = json.loads(zipfile.ZipFile(honest).read("events.json"))
    six = next(k for k, e in enumerate(events) if of(story.a, 6)(json.loads(e["leaf"])))
    before, first, last = events[six - 1], events[six], events[six + 1]
    assert of(story.a, 7)(json.loads(last["leaf"]))
    assert result.missing == [
        f"2 event(s) missing after position {before['position']} "
        f"(leaves {first['leaf_index']}–{last['leaf_index']})",
        f"case {story.a}: versions 6–7 missing",
    ]


def test_a_period_bundle_cut_short_is_caught_by_the_event_after_it(story: Story) -> None:
    honest = export(story, "p.zip", period=PERIOD)
    with zipfile.ZipFile(honest) as z:
        last = json.loads(z.read("events.json"))[-1]
        path = json.loads(z.read("proofs.json"))[str(last["position"])]
        after_period = json.loads(z.read("completeness.json"))["after"]

    def cut(after: dict[str, Any]) -> B.BundleCheck:
        """The period's last event left out, the run ended before it, ``after`` after it."""

        def shorter(files: Files, manifest: dict[str, Any]) -> None:
            files["completeness.json"]["range"][1] -= 1
            files["completeness.json"]["after"] = after

        name = f"cut-{after['position']}.zip"
        drop = {"drop": lambda leaf: leaf["position"] == last["position"]}
        return verify(story, resign(story, honest, name, edit=shorter, **drop))

    # the honest proof of the event after the run: it was recorded in the period
    assert cut({**last, "path": path}).missing == [
        f"the event at position {last['position']}, just after the bundle's run, was recorded "
        "in the period: the period's later events are missing"
    ]
    # the proof of another event, recorded after the period, stands in for it: not the next
    assert cut(after_period).missing == [
        "the event after the bundle's run is not proved: the period's later events may be missing"
    ]


def test_a_forged_boundary_or_carried_proof_fails(story: Story) -> None:
    honest = export(story, "p.zip", period=PERIOD)

    def earlier(files: Files, manifest: dict[str, Any]) -> None:
        """The event before the run restamped a day earlier: its proof no longer holds."""
        before = files["completeness.json"]["before"]
        leaf = json.loads(before["leaf"])
        before["leaf"] = json.dumps({**leaf, "recorded_at": "2026-07-31T09:00:00+00:00"})

    result = verify(story, resign(story, honest, "b.zip", edit=earlier))
    assert result.missing == [
        "the event before the bundle's run is not proved: the period's earlier events may be "
        "missing"
    ]

    def without_five(files: Files, manifest: dict[str, Any]) -> None:
        del files["completeness.json"]["carried"][story.a]

    result = verify(story, resign(story, honest, "c.zip", edit=without_five))
    assert result.missing == [f"case {story.a}: version 5, carried into the period, is not proved"]

    def inside(files: Files, manifest: dict[str, Any]) -> None:
        """The case's own version 7, from inside the run, passed off as carried in."""
        seven = next(e for e in files["events.json"] if of(story.a, 7)(json.loads(e["leaf"])))
        path = files["proofs.json"][str(seven["position"])]
        files["completeness.json"]["carried"][story.a] = {**seven, "path": path}

    result = verify(story, resign(story, honest, "i.zip", drop=of(story.a, 6), edit=inside))
    assert f"case {story.a}: version 6, carried into the period, is not proved" in result.missing

    def dropped(files: Files, manifest: dict[str, Any]) -> None:
        """Versions 6-7 left out, and version 6 (from the run's leaves) passed off as carried."""
        six = next(e for e in honest_events if of(story.a, 6)(json.loads(e["leaf"])))
        files["completeness.json"]["carried"][story.a] = {
            **six,
            "path": honest_paths[str(six["position"])],
        }

    with zipfile.ZipFile(honest) as z:
        honest_events = json.loads(z.read("events.json"))
        honest_paths = json.loads(z.read("proofs.json"))
    result = verify(story, resign(story, honest, "d.zip", drop=of(story.a, 6, 7), edit=dropped))
    assert f"case {story.a}: version 7, carried into the period, is not proved" in result.missing
    # and, from the case's first version (issue 22 §2), what is truly missing
    assert result.missing[-1] == f"case {story.a}: versions 6–7 missing"

    def another(files: Files, manifest: dict[str, Any]) -> None:
        """Case B's version carried in, standing for case A's."""
        material = files["completeness.json"]["carried"]
        material[story.a] = material[story.b]

    result = verify(story, resign(story, honest, "o.zip", edit=another))
    assert result.missing == [f"case {story.a}: version 5, carried into the period, is not proved"]


def test_a_period_bundle_stretched_over_an_earlier_event_is_a_problem(story: Story) -> None:
    """The event before the period slipped in at the run's start, the one before that shown
    as the event before the run: the run no longer starts with the period's first event."""
    honest = export(story, "p.zip", period=PERIOD)
    wider = export(story, "w.zip", period="2026-08-01..2026-09-30")
    with zipfile.ZipFile(wider) as z:
        events = {e["leaf_index"]: e for e in json.loads(z.read("events.json"))}
        paths = json.loads(z.read("proofs.json"))
    first = json.loads(zipfile.ZipFile(honest).read("completeness.json"))["range"][0]
    slipped, before = events[first - 1], events[first - 2]

    def stretch(files: Files, manifest: dict[str, Any]) -> None:
        files["events.json"].insert(0, slipped)
        files["proofs.json"][str(slipped["position"])] = paths[str(slipped["position"])]
        files["completeness.json"]["range"][0] -= 1
        files["completeness.json"]["before"] = {**before, "path": paths[str(before["position"])]}

    result = verify(story, resign(story, honest, "s.zip", edit=stretch))
    assert result.intact and not result.ok and result.complete
    assert result.problems == [
        f"the bundle's first event (position {slipped['position']}) was not recorded in the period"
    ]


def test_an_event_outside_the_period_slipped_in_is_a_problem(story: Story) -> None:
    honest = export(story, "p.zip", period=PERIOD)
    whole = export(story, "a.zip", case_id=UUID(story.a))
    twelve = next(
        e
        for e in json.loads(zipfile.ZipFile(whole).read("events.json"))
        if of(story.a, 12)(json.loads(e["leaf"]))
    )
    path = json.loads(zipfile.ZipFile(whole).read("proofs.json"))[str(twelve["position"])]

    def slip(files: Files, manifest: dict[str, Any]) -> None:
        files["events.json"].append(twelve)
        files["proofs.json"][str(twelve["position"])] = path

    result = verify(story, resign(story, honest, "slip.zip", edit=slip))
    assert result.intact and not result.ok and result.complete
    assert result.problems == [
        f"the event at position {twelve['position']} (case {story.a}) is neither the "
        "bundle's subject nor its context"
    ]


# -- old bundles, and the command line ------------------------------------------------------


def test_a_format_1_bundle_is_intact_and_its_completeness_cannot_be_told(story: Story) -> None:
    office = story.office
    head = TreeHead.parse(office.digest().digest)
    with reading(office.views.engine) as conn:
        data = bundles.export(
            conn,
            office.flow,
            head,
            office.views.case_positions(UUID(story.a)),
            {"case": story.a},
            office.flow.current_policy(),
            story.key,
        )
    old = story.tmp / "v1.zip"
    old.write_bytes(data)
    result = verify(story, old, digest=head)
    assert result.ok and result.intact and result.complete is None
    assert result.format == "aidflow-bundle/1" and result.missing == []
    code, out = cli("audit", "verify-bundle", str(old), "--public-key", str(story.public))
    assert code == 0
    assert out.splitlines()[1] == (
        "completeness cannot be told: format aidflow-bundle/1 carries no proof of it "
        "(export the bundle again)"
    )
    assert out.splitlines()[2] == (  # issue 22 §2: nor are its checks the audit's
        "format aidflow-bundle/1 carries no context (staff, policy, funds): its rule checks are "
        "not the audit's; export the bundle again for the findings about its subject"
    )


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_verify_bundle_says_complete_or_names_what_is_missing(story: Story) -> None:
    a = story.a
    db = story.office.url
    keys = ("--keys", str(story.keys))
    path = str(story.tmp / "cli.zip")
    code, out = cli("--db", db, "--json", "audit", "export", "--case", a, *keys, "-o", path)
    assert code == 0, out
    heads = json.loads(out)["heads"]
    assert heads and HeadsDigest.parse(heads)
    pub = ("--public-key", str(story.public))
    code, out = cli("audit", "verify-bundle", path, *pub, "--heads", heads)
    assert code == 0 and out.splitlines()[1].startswith(f"complete: case {a}: versions 1–12")
    assert "own word" not in out
    code, out = cli("audit", "verify-bundle", path, *pub)
    assert code == 0 and f"the heads digest {heads} is the bundle's own word" in out
    forged = resign(story, Path(path), "cli-forged.zip", drop=of(a, 6, 7, 10, 11, 12))
    code, out = cli("audit", "verify-bundle", str(forged), *pub, "--heads", heads)
    intact, incomplete = out.splitlines()[:2]
    assert code == 1 and intact.startswith("the bundle is intact")  # the office signed it
    assert incomplete == (
        f"the bundle is incomplete: case {a}: versions 6–7 missing; "
        f"case {a}: the bundle ends at version 9, the digest holds version 12"
    )
    code, out = cli("audit", "verify-bundle", path, *pub, "--heads", "heads:1:2:zz")
    assert code == 2 and "heads:TREE_SIZE:COUNT:SHA256HEX" in out


def test_audit_digest_publishes_the_heads_digest_a_case_bundle_is_checked_against(
    story: Story,
) -> None:
    published = story.office.digest()
    head = TreeHead.parse(published.digest)
    assert published.heads == str(heads_recomputed(story, head.size))
    path = export(story, "d.zip", case_id=UUID(story.a))
    checked = verify(story, path, heads=HeadsDigest.parse(published.heads))
    assert checked.ok and checked.complete and checked.heads_checked


def test_a_period_bundle_without_a_records_earlier_versions_names_them(story: Story) -> None:
    """Issue 22 §2: a record with events in the period is carried from its first version;
    the office dropping its history before the period (its approval) is named."""
    honest = export(story, "p.zip", period=PERIOD)
    assert versions(honest, story.a) == list(range(1, 10))
    result = verify(story, resign(story, honest, "early.zip", drop=of(story.a, 1, 2, 3, 4, 5)))
    assert result.intact and not result.ok and result.figures_follow
    assert f"case {story.a}: versions 1–5 missing" in result.missing
