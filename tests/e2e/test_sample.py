"""A sample anyone can redraw (issue 22 §6): cases drawn by a seed derived from the digest
alone; the same digest draws the same cases on any copy of the store, and nobody else picks
them; the drawn cases' complete bundles verify."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from aidflow.cli import main
from aidflow.proofs.sample import draw


def _cli(url: str, *args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(
        main, ["--db", url, "--json", "--actor", "auditor", *args], catch_exceptions=False
    )
    assert result.exit_code == code, (args, result.output, result.stderr)
    return json.loads(result.stdout or result.stderr)


def test_the_algorithm_is_the_documented_one() -> None:
    """Written out again from docs/auditing.md in a few lines: the same cases, same order."""
    population = [f"{i:08x}-0000-0000-0000-000000000000" for i in range(50)]
    digest = "tree:9:" + "ab" * 32
    remaining = sorted(population)
    seed = hashlib.sha256(("aidflow-sample/1|" + digest).encode()).digest()
    mine = []
    for k in range(5):
        h = hashlib.sha256(seed + k.to_bytes(8, "big")).digest()
        mine.append(remaining.pop(int.from_bytes(h, "big") % len(remaining)))
    assert draw(digest, population, 5) == mine
    assert len(set(mine)) == 5
    assert draw(digest, population[:3], 10) == draw(digest, population[:3], 3)  # all of them


def test_the_same_digest_draws_the_same_cases_on_any_copy(demo_store: str, tmp_path: Path) -> None:
    digest = _cli(demo_store, "audit", "digest")["digest"]
    first = _cli(demo_store, "audit", "sample", "--digest", digest, "--size", "5")
    copy = tmp_path / "elsewhere.db"
    shutil.copy(demo_store.removeprefix("sqlite:///"), copy)
    again = _cli(f"sqlite:///{copy}", "audit", "sample", "--digest", digest, "--size", "5")
    assert first == again and len(set(first["cases"])) == 5
    size = digest.split(":")[1]
    other = "tree:" + size + ":" + "0" * 64  # not a head of this store: no sample from it
    refused = _cli(demo_store, "audit", "sample", "--digest", other, "--size", "5", code=1)
    assert refused["error"]["code"] == "proof_unavailable"


def test_the_drawn_cases_bundles_verify(demo_store: str, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    _cli(demo_store, "keys", "init-signing", "--dir", str(keys))
    digest = _cli(demo_store, "audit", "digest")
    out = tmp_path / "sample"
    drawn = _cli(
        demo_store, "audit", "sample", "--digest", digest["digest"], "--size", "2",
        "--keys", str(keys), "-o", str(out),
    )  # fmt: skip
    assert json.loads((out / "sample.json").read_text())["cases"] == drawn["cases"]
    for case in drawn["cases"]:
        checked = _cli(
            demo_store, "audit", "verify-bundle", str(out / f"case-{case}.zip"),
            "--digest", digest["digest"], "--public-key", str(keys / "signing.pub"),
            "--heads", digest["heads"],
        )  # fmt: skip
        assert checked["ok"]
