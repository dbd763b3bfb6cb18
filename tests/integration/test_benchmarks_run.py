"""Every ``scripts/bench.py`` target runs on a fresh clone (issue 25 §4): each at a tiny size, as
a process of its own, the way `python scripts/bench.py TARGET` is run. A benchmark that no
longer runs (``cli`` once stopped at ``UnknownStaff``: it registered no staff) fails here, not
in the hands of whoever next measures. No figure is asserted: timed assertions do not belong
in tests; what is asserted is that each prints its comparison with its baseline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pg import require_postgres

ROOT = Path(__file__).resolve().parents[2]

TARGETS = {
    "commands": (["--lifecycles", "3", "--backend", "sqlite"], "bare library"),
    "split": (["--lifecycles", "3", "--backend", "sqlite"], "bare"),
    "screening": (["--rows", "100"], "bare library"),
    "timetravel": (["--cases", "20"], "bare repository.get"),
    "inline": (["--lifecycles", "3", "--rounds", "1"], "inline views add"),
    "cli": ([], "python -c pass"),
    "rebuild": (["--events", "200", "--rounds", "1", "--jobs", "2"], "the bare pass"),
    "proof": (["--events", "200"], "rebuild ev/s"),
    "sizes": (["--events", "200", "--rounds", "1"], "bare read+decode"),
    "pastledger": (["--events", "200", "--backend", "sqlite"], "the live ledger"),
    "http": (["--requests", "5", "--backend", "sqlite"], "bare FastAPI"),
    "deposits": (["--sizes", "5", "20", "--backend", "sqlite"], "bare ms"),
    "contention": (
        ["--seconds", "1", "--clients", "2", "--processes", "2", "--backend", "sqlite"],
        "vs 1 writer",
    ),
}
ON_POSTGRES = {
    "commands-postgres": (
        "commands",
        ["--lifecycles", "3", "--backend", "postgres"],
        "bare library",
    ),
    "scale": ("scale", ["--seconds", "1", "--writers", "1"], "follower lag"),
    "writers": ("writers", ["--seconds", "1", "--writers", "1", "--rounds", "1"], "bare cmd/s"),
}


def _run(target: str, args: list[str]) -> str:
    done = subprocess.run(
        [sys.executable, "scripts/bench.py", target, *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_each_benchmark_runs_at_a_tiny_size(target: str) -> None:
    args, baseline = TARGETS[target]
    assert baseline in _run(target, args)


@pytest.mark.postgres
@pytest.mark.parametrize("name", sorted(ON_POSTGRES))
def test_each_postgresql_benchmark_runs_at_a_tiny_size(name: str) -> None:
    require_postgres()
    target, args, shown = ON_POSTGRES[name]
    assert shown in _run(target, args)
