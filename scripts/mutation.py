#!/usr/bin/env python3
"""Mutation testing of the rule-bearing code with mutmut; writes the score into docs/testing.md.

    python scripts/mutation.py                      # every rule-bearing module (the full run)
    python scripts/mutation.py --modules aidflow/domain/case.py aidflow/domain/fund.py
    python scripts/mutation.py --changed origin/main --min-score 90   # what a change touched
    python scripts/mutation.py --from-workdir DIR   # re-report a kept scratch copy

mutmut (a maintained tool, in the ``test`` extra) mutates a copy of the code, one small
change at a time (a ``<`` made ``<=``, a ``+`` made ``-``, a constant changed, a call's
argument dropped...), and runs the fast test subset against each mutant. A mutant the tests
do not notice "survived": either a rule no test pins down, or an *equivalent* mutant (one
that cannot change behaviour). Equivalent mutants are listed below, each with a reason,
and left out of the score. Each run's modules replace their rows in docs/testing.md's table
(``--no-docs``: print only); the other modules keep their last results.

The run happens in a scratch copy of the repository (the working tree is never touched);
``--keep`` leaves the copy for ``mutmut show NAME`` / ``mutmut browse`` inside it.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MODULES = [
    "aidflow/domain/case/aggregate.py",
    "aidflow/domain/case/state.py",
    "aidflow/domain/case/intake.py",
    "aidflow/domain/case/grants.py",
    "aidflow/domain/case/money_loop.py",
    "aidflow/domain/case/consultation.py",
    "aidflow/domain/case/personal_data.py",
    "aidflow/domain/fund.py",
    "aidflow/domain/keys.py",
    "aidflow/domain/canonical.py",
    "aidflow/domain/masking.py",
    "aidflow/domain/money.py",
    "aidflow/domain/policy.py",
    "aidflow/domain/values.py",
    "aidflow/auditing/state.py",
    "aidflow/auditing/moment.py",
    "aidflow/auditing/money.py",
    "aidflow/auditing/loop.py",
    "aidflow/auditing/lifecycle.py",
    "aidflow/auditing/timeliness.py",
    "aidflow/auditing/authority.py",
    "aidflow/auditing/rules.py",
    "aidflow/projections/audit/checks.py",
    "aidflow/projections/audit/ledger.py",
    "aidflow/projections/audit/chain.py",
]
"""The rule-bearing code: aggregates and policy, canonical forms, money, masking, the audit."""

FAST_TESTS = [
    "tests/unit",
    "tests/integration/test_rules_audit.py",
    "tests/integration/test_rules_domain.py",
    "tests/integration/test_rules_ledger.py",
    "tests/integration/test_ledger_exact.py",
    "tests/integration/test_loop_rules.py",
    "tests/integration/test_money_loop.py",
    "tests/integration/test_statement_property.py",
    "tests/integration/test_privacy.py",
    "tests/integration/test_staff.py",
    "tests/integration/test_tamper.py",
    "tests/integration/test_application.py",
    "tests/integration/test_exactly_once.py",
    "tests/integration/test_chain.py",
    "tests/integration/test_chain_verify.py",
    "tests/integration/test_projections.py",
    "tests/contract/test_schema.py",
    "tests/contract/test_v0_1_0_store.py",
]
"""The fast subset each mutant is run against (SQLite only; seconds, not minutes)."""

EQUIVALENT: dict[str, str] = {
    # name (as mutmut reports it) -> why no test can tell the mutant from the original.
    "aidflow.auditing.authority.xǁAuthorityǁcommand_event__mutmut_4": (
        "reading `department` for every command changes nothing: only ActionCompleted "
        "(complete_action) carries a `department` field, so it is None for every other event"
    ),
    "aidflow.auditing.authority.xǁAuthorityǁstaff_event__mutmut_47": (
        "a member granted a role without being added has department '' or 'XXXX': neither is "
        "a department an action can carry (departments are non-empty lower-case slugs), so "
        "both match no action"
    ),
    "aidflow.auditing.rules.x_run_checks__mutmut_46": (
        "`RULES.get(None)` is None, as the guarded branch gives"
    ),
    **{
        f"aidflow.auditing.lifecycle.xǁLifecycleRulesǁ{name}": (
            "False made None: the flag is only ever read as a truth value"
        )
        for name in (
            "followed_up__mutmut_9",
            "hardship__mutmut_2",
            "hardship__mutmut_4",
            "hardship__mutmut_6",
        )
    },
    **{
        f"aidflow.auditing.loop.xǁLoopRulesǁsecondary_approved__mutmut_{n}": (
            "`secondary_aid` takes `at` and `actor` to share the rules' signature but reads neither"
        )
        for n in (30, 31)
    },
    "aidflow.domain.canonical.x__describe__mutmut_3": (
        "`unicodedata.name(char, None)` gives None where the original gives '': both are false "
        "in the `if name` that follows, so the description is the same"
    ),
    "aidflow.domain.canonical.x__identifier__mutmut_18": (
        "`allow_invisible=None` is only ever read as a truth value, like False"
    ),
    "aidflow.domain.masking.x_plain__mutmut_1": (
        "with `kind = None`, str and int values still return unchanged at the "
        "`isinstance(value, str | int)` check, and float and None fall through to `return value`"
    ),
    "aidflow.domain.money.x_parse_yuan__mutmut_69": (
        "the pattern matches ASCII digits and '.' only, so non-ASCII text never fully matches "
        "and `match` is None either way"
    ),
    "aidflow.domain.policy.x__tiers__mutmut_3": (
        "text that strips to '' gives `_items` no items, so the tiers are () with or without "
        "the shortcut"
    ),
    "aidflow.domain.policy.x_encode_value__mutmut_2": (
        "`json.dumps` reads `ensure_ascii=None` as false, as False"
    ),
    **{
        f"aidflow.domain.policy.xǁPolicyRegisterǁset_values__mutmut_{n}": (
            "every ValueError a Policy raises here carries a message (`said(...)` or Python's "
            "own), so the branch for one without arguments never runs"
        )
        for n in (14, 16)
    },
    **{
        f"aidflow.projections.audit.checks.x_check__mutmut_{n}": (
            "`yield_per` sets only the fetch batch size: the same rows in the same order"
        )
        for n in (45, 46)
    },
    **{
        f"aidflow.projections.audit.ledger.x_{name}": (
            "the subquery's alias appears only in the SQL text; its columns are reached through "
            "the subquery object and read by name"
        )
        for name in (
            "_rows__mutmut_10",
            "_rows__mutmut_11",
            "_rows__mutmut_12",
            "_lines__mutmut_5",
            "_lines__mutmut_9",
            "_lines__mutmut_10",
            "_fund_totals__mutmut_5",
            "_fund_totals__mutmut_9",
            "_fund_totals__mutmut_10",
        )
    },
    "aidflow.projections.audit.ledger.x__window__mutmut_20": (
        "the extra cases it counts have no paying rows in the window: their sums before and "
        "after are equal and add 0"
    ),
    "aidflow.projections.audit.ledger.x__window__mutmut_21": (
        "paying rows always have a case, and a NULL in `IN (...)` never matches anyway"
    ),
    "aidflow.projections.audit.ledger.x__window__mutmut_47": (
        "cases untouched in the window have no paying rows in it: before equals after, adding 0"
    ),
    "aidflow.projections.audit.ledger.x__window__mutmut_48": (
        "rows that pay nothing add 0 to all four sums (every CASE's else is 0), and a touched "
        "case has its group anyway"
    ),
    "aidflow.projections.audit.ledger.x__confirmed_change__mutmut_10": (
        "an untouched case's confirming rows all lie at or before the window's start, so they "
        "replay alike in both totals and cancel (a sum over independent (case, voucher) keys)"
    ),
    "aidflow.projections.audit.ledger.x__confirmed_change__mutmut_11": (
        "the extra rows are payments (each voucher used once, before its confirmation) or "
        "approvals, allocations and releases (no voucher): none meets a confirmed key in any "
        "history the store can record"
    ),
    "aidflow.projections.audit.ledger.x_donor_trace__mutmut_56": (
        "a return takes back one whole payment once: the net is 0 in the original and negative "
        "in the mutant, both skipped by `owed > 0`"
    ),
    **{
        f"aidflow.projections.audit.ledger.x_payable_cases__mutmut_{n}": (
            "SUM skips NULL and an all-NULL group is NULL, which is not > 0, as 0 is not"
        )
        for n in (7, 12)
    },
    "aidflow.projections.audit.ledger.x_payable_cases__mutmut_40": (
        "only deposits have no case, and they fall into `else 0`: a NULL-case group sums to 0"
    ),
    "aidflow.projections.audit.ledger.x_take_checkpoints__mutmut_36": (
        "`last` is always the newest stored checkpoint, so 'at or before last' is 'the newest'"
    ),
    **{
        f"aidflow.projections.audit.ledger.x__grouped__mutmut_{n}": (
            "group keys are unique non-null strings, so sorting the ((key,), total) tuples "
            "orders them as sorting by the text"
        )
        for n in (2, 4)
    },
    **{
        name: "`canonical.text` reads `required` only as a truth value: None acts as False"
        for name in (
            "aidflow.domain.case.consultation.xǁConsultationǁconvene_review__mutmut_58",
            "aidflow.domain.case.intake.xǁIntakeǁverify__mutmut_45",
            "aidflow.domain.case.money_loop.xǁMoneyLoopǁallocate_secondary_aid__mutmut_15",
            "aidflow.domain.case.money_loop.xǁMoneyLoopǁpropose_secondary_aid__mutmut_18",
            "aidflow.domain.case.money_loop.xǁMoneyLoopǁset_account__mutmut_26",
            "aidflow.domain.fund.xǁFundǁopen__mutmut_19",
        )
    },
    **{
        f"aidflow.projections.audit.chain.x_digest__mutmut_{n}": (
            "`.first()` reads one row: the limit only spares the database the rest"
        )
        for n in (4, 10)
    },
    "aidflow.projections.audit.chain.x_verify__mutmut_43": (
        "a missing position was never seen and a mismatch always was: the two are never "
        "equal, so `<` and `<=` choose alike"
    ),
    "aidflow.domain.money.x_parse_yuan__mutmut_33": (
        "dropping `stripped.isascii()` changes nothing: the pattern `[0-9]` matches ASCII "
        "digits only, so non-ASCII text never fully matches either way"
    ),
}
"""Mutants that cannot change behaviour, each with the reason; left out of the score."""

MARK_BEGIN = "<!-- mutation-score:begin (scripts/mutation.py writes this block) -->"
MARK_END = "<!-- mutation-score:end -->"

MUTMUT_CONFIG = """
[tool.mutmut]
source_paths = ["aidflow"]
only_mutate = {only}
pytest_add_cli_args_test_selection = {tests}
pytest_add_cli_args = ["-p", "no:cacheprovider", "-n", "0", "-q", "-x", "-m", "not postgres", "--ignore=tests/unit/test_import_hostile.py", "--ignore=tests/unit/test_architecture.py", "--deselect=tests/unit/test_i18n.py::test_every_message_has_a_chinese_translation", "--deselect=tests/integration/test_projections.py::test_rebuild_equals_incremental_sqlite"]
also_copy = ["tests", "scripts", "docs"]
timeout_multiplier = 3.0
use_git_change_detection = false
"""


def changed_modules(ref: str) -> list[str]:
    out = subprocess.run(
        ["git", "diff", "--name-only", ref, "--", *MODULES],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [m for m in MODULES if m in out.split()]


def prepare(workdir: Path, modules: list[str]) -> None:
    """A scratch copy of the code, the tests and a pyproject carrying mutmut's settings."""
    for name in ("aidflow", "tests", "scripts", "docs"):
        shutil.copytree(
            ROOT / name, workdir / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    # The suite's own pytest settings stay; mutmut's are added for the copy only.
    config = MUTMUT_CONFIG.format(
        only=_toml_list(modules),
        tests=_toml_list(FAST_TESTS),
    )
    (workdir / "pyproject.toml").write_text(pyproject + config, encoding="utf-8")


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{i}"' for i in items) + "]"


def mutmut(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("mutmut")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "mutmut"]
    env = {**os.environ, "AIDFLOW_REQUIRE_PG": "", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [*command, *args], cwd=workdir, env=env, capture_output=True, text=True, check=False
    )


STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped"}
TIMEOUTS = {36, 24, -24, 152, 255}


def results(workdir: Path) -> dict[str, str]:
    """Each mutant's outcome, read from mutmut's own records (``mutants/**/*.meta``)."""
    found: dict[str, str] = {}
    for meta in sorted((workdir / "mutants").rglob("*.py.meta")):
        data = json.loads(meta.read_text(encoding="utf-8"))
        for name, code in data.get("exit_code_by_key", {}).items():
            if code is None:
                found[name] = "not checked"
            elif code in TIMEOUTS:
                found[name] = "timeout"
            else:
                found[name] = STATUS.get(code, "suspicious")
    return found


def module_of(name: str) -> str:
    """``aidflow.domain.case.xǁStudentCaseǁverify__mutmut_3`` -> ``aidflow/domain/case.py``."""
    dotted = name.split(".x")[0]
    return dotted.replace(".", "/") + ".py"


@functools.cache
def _functions(path: Path) -> dict[str, list[str]]:
    """Every function of a mutated file, by name, as its source lines (body only)."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    found: dict[str, list[str]] = {}
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            found[node.name] = lines[node.body[0].lineno - 1 : node.end_lineno]
    return found


def diff_of(workdir: Path, name: str) -> str:
    """A mutant's change as ``-old / +new`` lines, read from the mutated file itself (asking
    ``mutmut show`` costs a process per survivor: minutes for a few hundred)."""
    module = module_of(name)
    function = name.rsplit(".", 1)[1]  # xǁClassǁmethod__mutmut_3, or x_function__mutmut_3
    functions = _functions(workdir / "mutants" / module)
    original = functions.get(function.rsplit("__mutmut_", 1)[0] + "__mutmut_orig", [])
    mutant = functions.get(function, [])
    lines = [
        line
        for line in difflib.unified_diff(original, mutant, lineterm="", n=0)
        if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))
    ]
    return " / ".join(line.strip() for line in lines)[:160]


def summarise(status: dict[str, str], workdir: Path) -> dict[str, dict[str, object]]:
    """Per module: counts by outcome, survivors with their change, equivalents, untested."""
    modules: dict[str, dict[str, object]] = {}
    for name, outcome in sorted(status.items()):
        entry = modules.setdefault(
            module_of(name),
            {"counts": {}, "survivors": {}, "equivalent": {}, "untested": []},
        )
        counts: dict[str, int] = entry["counts"]  # type: ignore[assignment]
        if outcome == "survived" and name in EQUIVALENT:
            entry["equivalent"][name] = EQUIVALENT[name]  # type: ignore[index]
            outcome = "equivalent"
        elif outcome == "survived":
            entry["survivors"][name] = diff_of(workdir, name)  # type: ignore[index]
        elif outcome == "no tests":
            entry["untested"].append(name)  # type: ignore[attr-defined]
        counts[outcome] = counts.get(outcome, 0) + 1
    return modules


def score_of(counts: dict[str, int]) -> tuple[int, int]:
    killed = counts.get("killed", 0) + counts.get("timeout", 0)
    return killed, killed + counts.get("survived", 0)


def render(data: dict[str, dict[str, object]], when: str) -> tuple[str, float]:
    rows, survivors, untested, equivalent = [], [], [], []
    total_killed = total_judged = total = 0
    for module, entry in sorted(data.items()):
        counts: dict[str, int] = entry["counts"]  # type: ignore[assignment]
        killed, judged = score_of(counts)
        total_killed, total_judged = total_killed + killed, total_judged + judged
        total += sum(counts.values())
        rows.append(
            f"| `{module}` | {sum(counts.values())} | {killed} | {counts.get('survived', 0)} "
            f"| {counts.get('equivalent', 0)} | {counts.get('no tests', 0)} "
            f"| {counts.get('not checked', 0)} | {100.0 * killed / judged if judged else 100:.1f}% |"
        )
        survivors += [f"- `{n}`: `{d}`" for n, d in entry["survivors"].items()]  # type: ignore[attr-defined]
        untested += [f"- `{n}`" for n in entry["untested"]]  # type: ignore[attr-defined]
        equivalent += [f"- `{n}`: {r}" for n, r in entry["equivalent"].items()]  # type: ignore[attr-defined]
    score = 100.0 * total_killed / total_judged if total_judged else 100.0
    lines = [
        f"Last run: {when}. {total} mutants over {len(data)} modules.",
        "",
        "| module | mutants | killed | survived | equivalent | no tests | not checked | score |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"**Score: {total_killed} of {total_judged} non-equivalent mutants killed = {score:.1f}%** "
        '(killed or timed out, over killed + survived; "no tests" mutants are code the fast '
        'subset never runs and "not checked" ones a run stopped before, both listed apart).',
        "",
    ]
    for title, items in (
        ("Survivors (name: the change)", survivors),
        ("Equivalent mutants (not scored)", equivalent),
        ("Not run by any fast test", untested),
    ):
        if items:
            lines += [f"{title}, {len(items)}:", "", *items, ""]
    data_json = json.dumps(data, ensure_ascii=False, sort_keys=True)
    lines.append(f"<!-- mutation-data {data_json} -->")
    return "\n".join(lines), score


def stored_data() -> dict[str, dict[str, object]]:
    """The per-module results docs/testing.md holds from earlier runs."""
    text = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- mutation-data (\{.*\}) -->", text)
    return json.loads(match[1]) if match else {}


def write_docs(block: str) -> None:
    path = ROOT / "docs" / "testing.md"
    text = path.read_text(encoding="utf-8")
    if MARK_BEGIN not in text or MARK_END not in text:
        raise SystemExit(f"{path} lacks the mutation-score markers")
    head, rest = text.split(MARK_BEGIN, 1)
    _, tail = rest.split(MARK_END, 1)
    path.write_text(f"{head}{MARK_BEGIN}\n{block}\n{MARK_END}{tail}", encoding="utf-8")


def finish(args: argparse.Namespace, workdir: Path, seconds: float) -> int:
    """Score this run; merge its modules into docs/testing.md's table (others stay as they were)."""
    fresh = summarise(results(workdir), workdir)
    when = f"{time.strftime('%Y-%m-%d', time.gmtime())}" + (
        f", {seconds / 60:.0f} min for {', '.join(sorted(fresh))}" if seconds else ""
    )
    _, score = render(fresh, when)
    kept = {m: row for m, row in stored_data().items() if m in MODULES}  # moved ones go
    merged = {**kept, **fresh}
    block, total = render(merged, when)
    print(block.rsplit("<!--", 1)[0])
    print(f"this run: {score:.1f}%; all modules: {total:.1f}%")
    if not args.no_docs:
        write_docs(block)
    if args.min_score is not None and score < args.min_score:
        return 1
    return 0


def rerun_survivors(args: argparse.Namespace, workdir: Path) -> int:
    """After adding tests: the survivors of a kept run, run again against today's tests.

    Only when the code is the kept run's: the mutants were made from that source, and
    today's tests may need today's code (the rerun would then fail to start, and report the
    old verdicts as new). A changed source is refused: make a fresh run."""
    changed = (
        [
            str(path.relative_to(ROOT))
            for path in sorted((ROOT / "aidflow").rglob("*.py"))
            if (workdir / path.relative_to(ROOT)).read_bytes() != path.read_bytes()
        ]
        if (workdir / "aidflow").is_dir()
        else ["aidflow"]
    )
    if changed:
        print(f"mutation: the code changed since that run ({', '.join(changed[:5])}); run afresh")
        return 2
    survivors = [n for n, s in results(workdir).items() if s == "survived" and n not in EQUIVALENT]
    if args.modules:  # only these modules' survivors (the tests added were for them)
        survivors = [n for n in survivors if module_of(n) in args.modules]
    # The fast-test list stays as the kept run had it: changing mutmut's settings makes it
    # forget every verdict. New test *files* count only in a new full run.
    for target in (workdir / "tests", workdir / "mutants" / "tests"):
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(
            ROOT / "tests", target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    started = time.monotonic()
    for start in range(0, len(survivors), 200):
        ran = mutmut(
            workdir,
            "run",
            "--max-children",
            str(args.max_children),
            *survivors[start : start + 200],
        )
        if "failed to collect stats" in ran.stdout + ran.stderr:
            print("mutation: the tests do not pass on that run's code; run afresh")
            return 2
    return finish(args, workdir, time.monotonic() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modules", nargs="+", help="paths to mutate (default: all of MODULES)")
    parser.add_argument("--changed", metavar="REF", help="only modules changed since REF")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/testing.md")
    parser.add_argument("--min-score", type=float, help="exit 1 when the score is below this")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy")
    parser.add_argument(
        "--from-workdir", metavar="DIR", help="report a kept scratch copy's results (no new run)"
    )
    parser.add_argument(
        "--rerun-survivors",
        metavar="DIR",
        help="in a kept scratch copy, take today's tests and run its surviving mutants again (with --modules: those modules' only)",
    )
    args = parser.parse_args(argv)

    modules = args.modules or (changed_modules(args.changed) if args.changed else MODULES)
    unknown = [m for m in modules if not (ROOT / m).is_file()]
    if unknown:
        parser.error(f"no such module: {', '.join(unknown)}")
    if not modules:
        print("mutation: no rule-bearing module changed; nothing to mutate")
        return 0

    if args.from_workdir:
        return finish(args, Path(args.from_workdir), 0.0)
    if args.rerun_survivors:
        return rerun_survivors(args, Path(args.rerun_survivors))
    workdir = Path(tempfile.mkdtemp(prefix="aidflow-mutation-"))
    started = time.monotonic()
    try:
        prepare(workdir, modules)
        run = mutmut(workdir, "run", "--max-children", str(args.max_children))
        if run.returncode != 0 or "mutants" not in os.listdir(workdir):
            print(run.stdout[-4000:], run.stderr[-4000:], sep="\n")
            return 2
        return finish(args, workdir, time.monotonic() - started)
    finally:
        if args.keep:
            print(f"mutation: scratch copy kept in {workdir} (cd there; mutmut browse)")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
