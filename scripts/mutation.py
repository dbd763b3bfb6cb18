#!/usr/bin/env python3
"""Mutation testing of the rule-bearing code with mutmut; writes the score into docs/testing.md.

    python scripts/mutation.py                      # every rule-bearing module (the full run)
    python scripts/mutation.py --modules aidflow/domain/case.py aidflow/domain/fund.py
    python scripts/mutation.py --changed origin/main  # only modules changed since that ref
    python scripts/mutation.py --no-docs --min-score 90

mutmut (a maintained tool, in the ``test`` extra) mutates a copy of the code, one small
change at a time (a ``<`` made ``<=``, a ``+`` made ``-``, a constant changed, a call's
argument dropped...), and runs the fast test subset against each mutant. A mutant the tests
do not notice "survived": either a rule no test pins down, or an *equivalent* mutant (one
that cannot change behaviour). Equivalent mutants are listed below, each with a reason,
and left out of the score.

The run happens in a scratch copy of the repository (the working tree is never touched);
``--keep`` leaves the copy for ``mutmut show NAME`` / ``mutmut browse`` inside it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MODULES = [
    "aidflow/domain/case.py",
    "aidflow/domain/fund.py",
    "aidflow/domain/keys.py",
    "aidflow/domain/canonical.py",
    "aidflow/domain/money.py",
    "aidflow/domain/policy.py",
    "aidflow/domain/values.py",
    "aidflow/projections/audit/checks.py",
    "aidflow/projections/audit/ledger.py",
    "aidflow/projections/audit/chain.py",
]
"""The rule-bearing code: aggregates and policy, canonical forms, money, masking, the audit."""

FAST_TESTS = [
    "tests/unit",
    "tests/integration/test_rules_audit.py",
    "tests/integration/test_rules_domain.py",
    "tests/integration/test_tamper.py",
    "tests/integration/test_application.py",
    "tests/integration/test_exactly_once.py",
    "tests/integration/test_chain.py",
    "tests/contract/test_schema.py",
    "tests/contract/test_v0_1_0_store.py",
]
"""The fast subset each mutant is run against (SQLite only; seconds, not minutes)."""

EQUIVALENT: dict[str, str] = {
    # name (as mutmut reports it) -> why no test can tell the mutant from the original.
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
pytest_add_cli_args = ["-p", "no:cacheprovider", "-p", "no:randomly", "-q", "-x", "-m", "not postgres"]
also_copy = ["tests", "scripts"]
timeout_multiplier = 5.0
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
    for name in ("aidflow", "tests", "scripts"):
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


def results(workdir: Path) -> dict[str, str]:
    out = mutmut(workdir, "results", "--all", "true").stdout
    found: dict[str, str] = {}
    for line in out.splitlines():
        match = re.fullmatch(r"\s*(\S+): (.+)", line)
        if match:
            found[match[1]] = match[2].strip()
    return found


def diff_of(workdir: Path, name: str) -> str:
    shown = mutmut(workdir, "show", name).stdout
    lines = [
        line
        for line in shown.splitlines()
        if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))
    ]
    return " / ".join(line.strip() for line in lines)[:160]


def report(
    status: dict[str, str], workdir: Path, modules: list[str], seconds: float
) -> tuple[str, float]:
    counts = Counter(status.values())
    equivalent = {n: r for n, r in EQUIVALENT.items() if status.get(n) == "survived"}
    survivors = sorted(n for n, s in status.items() if s == "survived" and n not in equivalent)
    killed = counts["killed"] + counts["timeout"] + counts["caught by type check"]
    judged = killed + len(survivors)
    score = 100.0 * killed / judged if judged else 100.0
    lines = [
        f"Mutation run of {time.strftime('%Y-%m-%d', time.gmtime())}: mutmut over "
        f"{len(modules)} module(s), {len(status)} mutants, {seconds / 60:.0f} min on this machine.",
        "",
        "| outcome | mutants |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in sorted(counts.items())),
        f"| equivalent (listed in `scripts/mutation.py`, not scored) | {len(equivalent)} |",
        "",
        f"**Score: {killed} of {judged} non-equivalent mutants killed = {score:.1f}%** "
        "(killed or timed out, over killed + survived; \"no tests\" mutants are code the fast "
        "subset never runs, listed separately).",
        "",
    ]
    if survivors:
        lines += ["Survivors (name: the change):", ""]
        lines += [f"- `{n}`: `{diff_of(workdir, n)}`" for n in survivors]
        lines.append("")
    untested = sorted(n for n, s in status.items() if s == "no tests")
    if untested:
        lines += [f"Not run by any fast test ({len(untested)}):", ""]
        lines += [f"- `{n}`" for n in untested]
        lines.append("")
    if equivalent:
        lines += ["Equivalent mutants:", ""]
        lines += [f"- `{n}`: {r}" for n, r in sorted(equivalent.items())]
        lines.append("")
    return "\n".join(lines), score


def write_docs(block: str) -> None:
    path = ROOT / "docs" / "testing.md"
    text = path.read_text(encoding="utf-8")
    if MARK_BEGIN not in text or MARK_END not in text:
        raise SystemExit(f"{path} lacks the mutation-score markers")
    head, rest = text.split(MARK_BEGIN, 1)
    _, tail = rest.split(MARK_END, 1)
    path.write_text(f"{head}{MARK_BEGIN}\n{block}\n{MARK_END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modules", nargs="+", help="paths to mutate (default: all of MODULES)")
    parser.add_argument("--changed", metavar="REF", help="only modules changed since REF")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/testing.md")
    parser.add_argument("--min-score", type=float, help="exit 1 when the score is below this")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy")
    args = parser.parse_args(argv)

    modules = args.modules or (changed_modules(args.changed) if args.changed else MODULES)
    unknown = [m for m in modules if not (ROOT / m).is_file()]
    if unknown:
        parser.error(f"no such module: {', '.join(unknown)}")
    if not modules:
        print("mutation: no rule-bearing module changed; nothing to mutate")
        return 0

    workdir = Path(tempfile.mkdtemp(prefix="aidflow-mutation-"))
    started = time.monotonic()
    try:
        prepare(workdir, modules)
        run = mutmut(workdir, "run", "--max-children", str(args.max_children))
        if run.returncode != 0 or "mutants" not in os.listdir(workdir):
            print(run.stdout[-4000:], run.stderr[-4000:], sep="\n")
            return 2
        status = results(workdir)
        block, score = report(status, workdir, modules, time.monotonic() - started)
        print(block)
        if not args.no_docs and not args.modules and not args.changed:
            write_docs(block)
        if args.min_score is not None and score < args.min_score:
            return 1
        return 0
    finally:
        if args.keep:
            print(f"mutation: scratch copy kept in {workdir} (cd there; mutmut browse)")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
