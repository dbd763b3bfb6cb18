"""Issue 22 §2: a bundle carries its context, so its findings are ``audit check``'s findings
about its subject, no fewer and none false.

Before, an August bundle of the demo year reported 1,058 findings of which 2 were real
(no staff registry, no policy, no fund openings or balances in it). Here every bundle of a
sample of cases and of each month is compared, finding by finding id, with ``audit check``
as of the bundle's moment restricted to the same subject; and the office's tricks with the
context (a register left out or cut short, an absence forged, a findings list edited, an
event of no concern slipped in) are each caught.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from aidflow import Office
from aidflow import commands as cmd
from aidflow.auditing.timeliness import ACROSS_PEOPLE
from aidflow.commands import StatementLine
from aidflow.domain.findings import FINDINGS_ID
from aidflow.domain.staff import REGISTRY_ID
from aidflow.domain.year import year_id
from aidflow.projections.models import DisposedFinding, Violation
from aidflow.proofs import bundle as B
from aidflow.proofs import keys as K
from aidflow.proofs.complete import Bundled
from aidflow.proofs.models import TreeHead
from tests.builders import national_id, new_ref

MONTHS = (
    "2026-07-01..2026-07-31",
    "2026-08-01..2026-08-31",
    "2026-09-01..2026-09-30",
    "2026-12-01..2026-12-31",
)


def _export(office: Office, keys: Path, out: Path, **scope: Any) -> Path:
    out.write_bytes(office.export(keys_dir=keys, **scope).data)
    return out


def _store_findings(
    office: Office, at: str, about: Callable[[dict[str, Any]], bool]
) -> tuple[set[str], set[str]]:
    """``audit check`` as of ``at``, restricted to a subject (the rules across people aside)."""
    checked = office.check(as_of=datetime.fromisoformat(at))
    open_ = {
        v.id
        for v in checked.violations
        if v.rule not in ACROSS_PEOPLE and v.rule != "snapshot_damaged" and about(v.model_dump())
    }
    disposed = {d.violation.id for d in checked.disposed if about(d.violation.model_dump())}
    return open_, disposed


def _ids(found: list[Violation] | list[DisposedFinding]) -> set[str]:
    return {f.violation.id if isinstance(f, DisposedFinding) else f.id for f in found}


@pytest.fixture
def signed(demo_store: str, tmp_path: Path) -> tuple[Office, Path, Path]:
    """The demo year (which the rules find clean), then in December: a case approved and
    left unpaid past a policy shortened to one day (a finding about the case, raised by the
    policy register's change and the clock), the bank's salary line on a statement (a finding
    raised by the payment book), explained by an approver (a disposed finding)."""
    keys = tmp_path / "keys"
    _, public, _ = K.init_signing(keys)
    clock = [datetime(2026, 12, 2, 9, tzinfo=UTC)]
    office = Office.open(demo_store, clock=lambda: clock[0])
    fund = next(f.fund_id for f in office.funds() if f.kind == "government")
    case = office.handle(
        cmd.Apply(
            student_id=national_id(9001), name="Late Student", university="GZU",
            family_category="dibao", town="Gaoping", year=2026,
            account="6222020200112299001", actor="screening-office",
        )
    )  # fmt: skip
    office.handle(
        cmd.Verify(
            case_id=case, income_fen=1_200_000, tuition_fen=600_000, gap_fen=500_000,
            needs=["tuition"], actor="village-officer",
        )
    )  # fmt: skip
    office.handle(
        cmd.Approve(
            ref=new_ref(), case_id=case, amount_fen=300_000, need="tuition",
            fund_id=fund, actor="bureau-approver-1",
        )
    )  # fmt: skip
    clock[0] = datetime(2026, 12, 3, 9, tzinfo=UTC)
    salary = StatementLine(line=1, amount_fen=120_000, reference="SALARY-DEC", status="paid")
    office.handle(cmd.Reconcile(name="dec.csv", lines=[salary], actor="finance-cashier"))
    office.handle(cmd.SetPolicy(key="max-unpaid-days", value="1", actor="district-admin"))
    clock[0] = datetime(2026, 12, 5, 9, tzinfo=UTC)
    line = next(v for v in office.check().violations if v.rule == "statement_no_voucher")
    office.handle(
        cmd.DisposeFinding(finding=line.id, reason="the bank's salary", actor="bureau-approver-1")
    )
    return office, keys, public


def test_a_case_bundles_findings_are_audit_checks_about_the_case(
    signed: tuple[Office, Path, Path], tmp_path: Path
) -> None:
    office, keys, public = signed
    flagged = {v.case_id for v in office.check().violations if v.case_id}
    cases = [c.case_id for c in office.cases()]
    sample = sorted(flagged)[:4] + [c for c in cases if c not in flagged][:2]
    real = 0
    for case in sample:
        path = _export(office, keys, tmp_path / f"{case}.zip", case_id=UUID(case))
        result = B.verify_bundle(path, K.load_public(public))
        assert result.ok and result.complete, (case, result.problems, result.missing)
        positions = {line.position for line in office.journal(aggregate_id=UUID(case))}

        def about(v: dict[str, Any], case: str = case, positions: set[int] = positions) -> bool:
            return v.get("case_id") == case or bool(positions & set(v.get("positions") or ()))

        assert result.judged_at is not None
        expected = _store_findings(office, result.judged_at, about)
        assert (_ids(result.findings), _ids(result.disposed)) == expected, case
        real += len(result.findings)
    assert real > 0, "the sample holds a case with a finding: the comparison is not empty"
    office.close()


def test_a_months_bundle_has_audit_checks_findings_about_that_month(
    signed: tuple[Office, Path, Path], tmp_path: Path
) -> None:
    office, keys, public = signed
    compared, seen, explained = 0, 0, 0
    for month in MONTHS:
        path = _export(office, keys, tmp_path / "month.zip", period=month)
        result = B.verify_bundle(path, K.load_public(public))
        assert result.ok and result.complete, (month, result.problems, result.missing)
        first, end = json.loads(zipfile.ZipFile(path).read("completeness.json"))["range"]
        events = json.loads(zipfile.ZipFile(path).read("events.json"))
        run = {e["position"] for e in events if first <= e["leaf_index"] < end}

        def about(v: dict[str, Any], run: set[int] = run) -> bool:
            return bool(run & set(v.get("positions") or ()))

        assert result.judged_at is not None
        expected = _store_findings(office, result.judged_at, about)
        assert (_ids(result.findings), _ids(result.disposed)) == expected, month
        compared += len(run)
        seen += len(result.findings)
        explained += len(result.disposed)
    assert compared > 500  # the demo's busy months, not empty ones
    assert seen and explained  # December's findings, open and explained, are compared too
    office.close()


# -- the office's tricks with the context ------------------------------------------------------


Files = dict[str, Any]


def _resign(
    path: Path,
    keys: Path,
    edit: Callable[[Files], None],
    *,
    figures: bool = True,
) -> Path:
    """Change a bundle, recompute what follows (unless ``figures`` is False) and sign again."""
    with zipfile.ZipFile(path) as z:
        manifest = json.loads(z.read("manifest.json"))
        files: Files = {n: json.loads(z.read(n)) for n in manifest["files"]}
    edit(files)
    kept = {e["position"] for e in files["events.json"]}
    files["proofs.json"] = {k: v for k, v in files["proofs.json"].items() if int(k) in kept}
    manifest["events"] = len(files["events.json"])
    if figures:
        head = TreeHead(size=manifest["tree_size"], root=manifest["root"])
        held = [
            Bundled(e["leaf_index"], e["position"], json.loads(e["leaf"]))
            for e in files["events.json"]
        ]
        base = files["figures.json"]["policy_base"]
        files["figures.json"] = B.bundle_figures(
            manifest["scope"], files["completeness.json"], held, base, head
        )
    for stale in ("files", "created_at", "signed_by"):
        manifest.pop(stale)
    out = path.with_name("resigned-" + path.name)
    out.write_bytes(
        B.pack({n: B.as_json(v) for n, v in files.items()}, manifest, K.load_private(keys))
    )
    return out


def _drop(files: Files, pick: Callable[[dict[str, Any]], bool]) -> None:
    files["events.json"] = [e for e in files["events.json"] if not pick(json.loads(e["leaf"]))]


def _flagged_case(office: Office) -> str:
    """A case with an authorisation finding: the staff registry decides it."""
    return next(
        str(v.case_id)
        for v in office.check().violations
        if v.case_id and v.rule != "shared_account"
    )


def test_a_register_cut_short_or_left_out_is_named(
    signed: tuple[Office, Path, Path], tmp_path: Path
) -> None:
    office, keys, public = signed
    case = _flagged_case(office)
    honest = _export(office, keys, tmp_path / "case.zip", case_id=UUID(case))
    registry = str(REGISTRY_ID)

    def last_registry_event(files: Files) -> None:
        versions = [
            json.loads(e["leaf"])["version"]
            for e in files["events.json"]
            if json.loads(e["leaf"])["aggregate_id"] == registry
        ]
        _drop(files, lambda x: x["aggregate_id"] == registry and x["version"] == max(versions))

    cut = B.verify_bundle(_resign(honest, keys, last_registry_event), K.load_public(public))
    assert not cut.ok and cut.intact and cut.figures_follow
    assert any(
        m.startswith("the staff registry: the bundle holds it to version") for m in cut.missing
    )

    def no_findings_register(files: Files) -> None:
        _drop(files, lambda x: x["aggregate_id"] == str(FINDINGS_ID))
        files["completeness.json"]["context"]["heads"].pop(str(FINDINGS_ID), None)

    gone = B.verify_bundle(_resign(honest, keys, no_findings_register), K.load_public(public))
    assert "the findings register: neither held whole nor proved absent" in gone.missing
    office.close()


def test_a_forged_absence_is_no_proof(signed: tuple[Office, Path, Path], tmp_path: Path) -> None:
    """The demo's year was never closed: its absence is proved by its two neighbours in the
    heads tree. Neighbours that are not adjacent prove nothing."""
    office, keys, public = signed
    case = office.cases()[0].case_id
    honest = _export(office, keys, tmp_path / "case.zip", case_id=UUID(case))
    year = str(year_id(2026))
    material = json.loads(zipfile.ZipFile(honest).read("completeness.json"))
    assert len(material["context"]["absent"][year]) == 2

    def far_apart(files: Files) -> None:
        context = files["completeness.json"]["context"]
        low, _high = context["absent"][year]
        context["absent"][year] = [low, next(iter(context["heads"].values()))]

    forged = B.verify_bundle(_resign(honest, keys, far_apart), K.load_public(public))
    assert "programme year 2026: neither held whole nor proved absent" in forged.missing
    office.close()


def test_findings_edited_out_of_a_bundle_do_not_follow(
    signed: tuple[Office, Path, Path], tmp_path: Path
) -> None:
    office, keys, public = signed
    case = _flagged_case(office)
    honest = _export(office, keys, tmp_path / "case.zip", case_id=UUID(case))
    assert B.verify_bundle(honest, K.load_public(public)).findings

    def clean(files: Files) -> None:
        files["figures.json"]["findings"] = []

    edited = B.verify_bundle(_resign(honest, keys, clean, figures=False), K.load_public(public))
    assert not edited.ok and not edited.figures_follow
    assert edited.findings  # the verifier's own recomputation, not the office's word
    office.close()


def test_an_event_of_no_concern_slipped_in_is_a_problem(
    signed: tuple[Office, Path, Path], tmp_path: Path
) -> None:
    office, keys, public = signed
    one, other = (c.case_id for c in office.cases()[:2])
    honest = _export(office, keys, tmp_path / "one.zip", case_id=UUID(one))
    theirs = _export(office, keys, tmp_path / "other.zip", case_id=UUID(other))
    with zipfile.ZipFile(theirs) as z:
        stranger = next(
            e
            for e in json.loads(z.read("events.json"))
            if json.loads(e["leaf"])["aggregate_id"] == other
        )
        path = json.loads(z.read("proofs.json"))[str(stranger["position"])]

    def slip(files: Files) -> None:
        files["events.json"].append(stranger)
        files["proofs.json"][str(stranger["position"])] = path

    result = B.verify_bundle(_resign(honest, keys, slip), K.load_public(public))
    assert not result.ok and result.intact
    assert result.problems == [
        f"the event at position {stranger['position']} (case {other}) is neither the bundle's "
        "subject nor its context"
    ]
    office.close()


def test_verify_bundle_prints_the_findings_in_the_readers_language(
    signed: tuple[Office, Path, Path], tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from aidflow.cli import main

    office, keys, public = signed
    case = _flagged_case(office)
    path = _export(office, keys, tmp_path / "case.zip", case_id=UUID(case))
    finding = B.verify_bundle(path, K.load_public(public)).findings[0]
    office.close()
    runner = CliRunner()
    text = runner.invoke(main, ["audit", "verify-bundle", str(path), "--public-key", str(public)])
    assert text.exit_code == 0, text.output
    assert "findings about the bundle's subject" in text.stdout and ": 1 open" in text.stdout
    assert f"{finding.id} {finding.rule}:" in text.stdout
    assert "not judged in a bundle" in text.stdout and "shared_account" in text.stdout
    zh = runner.invoke(
        main, ["--lang", "zh", "audit", "verify-bundle", str(path), "--public-key", str(public)]
    )
    assert "数据包所涉对象的审计发现" in zh.stdout and finding.id in zh.stdout
    as_json = runner.invoke(
        main, ["--json", "audit", "verify-bundle", str(path), "--public-key", str(public)]
    )
    assert [f["id"] for f in json.loads(as_json.stdout)["findings"]] == [finding.id]


def test_a_policy_base_that_is_no_policy_is_refused_not_an_error(
    signed: tuple[Office, Path, Path], tmp_path: Path
) -> None:
    """A signed figures.json naming a policy base with a field no policy has (or not an
    object at all) once raised TypeError in the verifier; it does not follow."""
    office, keys, public = signed
    honest = _export(office, keys, tmp_path / "case.zip", case_id=UUID(office.cases()[0].case_id))

    def no_policy(files: Files) -> None:
        files["figures.json"]["policy_base"] = {"no-such-setting": 1}

    def not_an_object(files: Files) -> None:
        files["figures.json"] = []

    for edit in (no_policy, not_an_object):
        result = B.verify_bundle(_resign(honest, keys, edit, figures=False), K.load_public(public))
        assert result.intact and not result.figures_follow and not result.ok
    office.close()
