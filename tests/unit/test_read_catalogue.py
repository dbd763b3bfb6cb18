"""Every view, and the audit checks, declare every event class of the catalogue; none reads names.

A view either handles or ignores each class in ``aidflow.domain.events.CATALOGUE``;
a class it has not declared stops it at run time (tests/integration/test_view_failures.py).
"""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aidflow.auditing import rules as checks
from aidflow.domain import Policy
from aidflow.domain.events import CATALOGUE, NAMES, EventClass
from aidflow.projections import ReadModels, dossier, queue
from aidflow.projections.catalogue import StudentCase
from aidflow.projections.view import SQLView

PROJECTIONS = Path(__file__).resolve().parents[2] / "aidflow" / "projections"
READERS = (PROJECTIONS, PROJECTIONS.parent / "auditing")
"""The code that reads stored events by class: the views and the audit rules."""

DECLARERS: dict[str, tuple[frozenset[EventClass], frozenset[EventClass]]] = {
    **{name: (cls.handles, cls.ignores) for name, cls in ReadModels.VIEWS.items()},
    "audit checks": (checks.handles, checks.ignores),
}


@pytest.mark.parametrize("name", sorted(DECLARERS))
def test_each_catalogue_class_is_handled_or_ignored(name: str) -> None:
    handles, ignores = DECLARERS[name]
    undeclared = [NAMES[c] for c in CATALOGUE if c not in handles and c not in ignores]
    both = [NAMES[c] for c in handles & ignores]
    strangers = [f"{c.__qualname__}" for c in (handles | ignores) - set(CATALOGUE)]
    assert not undeclared, f"{name} neither handles nor ignores {undeclared}"
    assert not both, f"{name} both handles and ignores {both}"
    assert not strangers, f"{name} declares classes outside the catalogue: {strangers}"


def test_the_audit_view_reads_every_class() -> None:
    """A record that cannot be read stops only the views that handle its class (the others skip
    it by its topic); the audit view handles every class, so it always stops on one, and the
    journal never passes a damaged record over (docs/read-models.md)."""
    audit = ReadModels.VIEWS["audit"]
    assert set(audit.handles) == set(CATALOGUE) and not audit.ignores


@pytest.mark.parametrize(
    ("view", "steps"),
    [(dossier.DossierView, dossier._STEPS), (queue.ConsultationQueueView, queue._STEPS)],
)
def test_each_handled_class_has_a_writer_step(
    view: type[SQLView], steps: dict[EventClass, object]
) -> None:
    """The writers dispatch through a dict of steps: a handled class without one would stop the
    view at run time (a KeyError), a step for a class the view does not handle never runs."""
    assert set(steps) == set(view.handles)


def _string_literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def test_no_view_module_names_an_event_by_string() -> None:
    """Views dispatch on classes and record ``event_name()``: no qualname or stable-name literal."""
    qualnames = {c.__qualname__ for c in CATALOGUE}
    prefixes = tuple({q.split(".")[0] + "." for q in qualnames})  # "StudentCase.", "Fund.", ...
    stable = set(NAMES.values())
    readers = sorted(p for root in READERS for p in root.rglob("*.py"))
    offenders = [
        f"{path.relative_to(PROJECTIONS.parent)}:{line}: {text!r}"
        for path in readers
        for line, text in _string_literals(path)
        if text in stable or text.startswith(prefixes)
    ]
    assert not offenders, "event names as strings in the read side:\n" + "\n".join(offenders)
    sources = "\n".join(p.read_text(encoding="utf-8") for p in readers)
    assert "__qualname__" not in sources.replace("cls.__qualname__", "")
    assert qualnames and stable  # the test has something to look for


# -- the checks never say "all rules hold" over events they did not read ---------------------

MOMENT = datetime(2026, 9, 1, tzinfo=UTC)


def _row(position: int, name: str, detail: dict[str, object] | None = None) -> checks.Row:
    return (position, MOMENT, "clerk", "case-1", name, detail or {})


def test_checks_count_what_they_read_and_flag_unknown_kinds() -> None:
    rows = [
        _row(1, NAMES[StudentCase.Applied]),
        _row(2, NAMES[StudentCase.FollowedUp]),
        _row(3, "case.from_a_newer_release"),
        _row(4, "case.from_a_newer_release"),
    ]
    result = checks.run_checks(rows, {}, Policy(), MOMENT)
    assert result.checked == {
        NAMES[StudentCase.Applied]: 1,
        NAMES[StudentCase.FollowedUp]: 1,
        "case.from_a_newer_release": 2,
    }
    assert result.position == 4 and result.events == 4
    found = [(v.rule, v.positions) for v in result.violations if v.rule != "unauthorised_actor"]
    assert found == [("unknown_event", [3, 4])]  # (the rows' actor is no registered staff)
    assert not result.ok


def test_checks_flag_a_catalogue_kind_no_rule_declares(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks, "ignores", checks.ignores - {StudentCase.PersonalDataRevealed})
    result = checks.run_checks(
        [_row(7, NAMES[StudentCase.PersonalDataRevealed])], {}, Policy(), MOMENT
    )
    found = [(v.rule, v.positions) for v in result.violations if v.rule != "unauthorised_actor"]
    assert found == [("unchecked_event", [7])]
    assert checks.run_checks([], {}, Policy(), MOMENT).ok


def test_the_read_side_does_not_import_the_application() -> None:
    """It reads a store through ``EventSource``; the dependency points one way."""
    importers = []
    for path in sorted(PROJECTIONS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n == "aidflow.application" or n.startswith("aidflow.cli") for n in names):
                importers.append(str(path.relative_to(PROJECTIONS)))
    assert not importers
