"""The rebuild benchmark (issue 25 §3): each view against its minimal pipeline, all views
serial and in processes against the slowest alone, a catch-up from nothing against a bare
read+parse pass. Every figure beside its baseline, measured in the same run; rounds
alternate the two sides of each ratio and the best round of each side is compared."""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aidflow.application import AidFlow
from aidflow.config import parse_url
from aidflow.office.apart import at_work, rebuild_apart
from aidflow.privacy import Vault
from aidflow.projections import ReadModels
from aidflow.projections.base import create_view_engine
from scripts.benchlib import minipipe

VIEWS = ("dossier", "queue", "audit")
_STORE_TABLES = ("stored_events", "stored_snapshots", "aidflow_data_keys", "aidflow_keyring")


def fresh_file(path: Path) -> Path:
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        leftover.unlink(missing_ok=True)
    return path


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    got = run()
    return time.perf_counter() - start, got


def _pipelines(store: str, vault: Vault) -> dict[str, Callable[[str], int]]:
    account, field = minipipe.account_opener(vault), minipipe.field_opener(vault)
    ahead = minipipe.keys_ahead(vault)
    return {
        "dossier": lambda out: minipipe.dossier(store, out, field, ahead),
        "queue": lambda out: minipipe.queue(store, out, field, ahead),
        "audit": lambda out: minipipe.audit(store, out, account, ahead=ahead),
    }


def _rebuild(url: str, names: list[str]) -> tuple[float, int]:
    """Seconds of one rebuild of ``names`` and the records it read, on a store opened just
    before, as a new ``aidflow projections rebuild`` process has it: no data key read yet (a
    store kept open from round to round read the keys once, and every later round found them
    in memory)."""
    flow = AidFlow.open(url)
    views = ReadModels(create_view_engine(url), names)
    try:
        took, read = timed(lambda: views.rebuild(flow, names))
        return took, int(read)
    finally:
        views.close()
        flow.close()


def per_view(url: str, scratch: Path, rounds: int) -> dict[str, dict[str, list[float]]]:
    """Each view: its minimal pipeline's seconds and aidflow's rebuild's, round by round; each
    side with a key layer opened for the round (neither has read a key before it starts)."""
    store = url.removeprefix("sqlite:///")
    times: dict[str, dict[str, list[float]]] = {v: {"mini": [], "ours": []} for v in VIEWS}
    for _ in range(rounds):
        for view in VIEWS:
            out = fresh_file(scratch / f"mini-{view}.db")
            vault = Vault(parse_url(url))
            try:
                pipeline = _pipelines(store, vault)[view]
                mini_s, mini_n = timed(lambda: pipeline(str(out)))  # noqa: B023
            finally:
                vault.db.close()
            ours_s, ours_n = _rebuild(url, [view])
            assert mini_n == ours_n, (view, mini_n, ours_n)
            times[view]["mini"].append(mini_s)
            times[view]["ours"].append(ours_s)
    return times


def all_views(url: str, rounds: int, jobs: int) -> dict[str, list[float]]:
    """Every view rebuilt: in one process (serial) and each in a process of its own."""
    times: dict[str, list[float]] = {"serial": [], "apart": []}
    for _ in range(rounds):
        times["serial"].append(_rebuild(url, list(VIEWS))[0])
        times["apart"].append(timed(lambda: rebuild_apart(url, VIEWS, jobs))[0])
    return times


def pristine(store: str, scratch: Path) -> Path:
    """A copy of the store holding its events and keys only: no view table, no position."""
    copy = fresh_file(scratch / "pristine.db")
    source = sqlite3.connect(store)
    target = sqlite3.connect(copy)
    try:
        source.backup(target)
        names = [n for (n,) in target.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for name in names:
            if name not in _STORE_TABLES and not name.startswith("aidflow_key"):
                target.execute(f'DROP TABLE "{name}"')
        target.commit()
        target.execute("VACUUM")
    finally:
        target.close()
        source.close()
    return copy


def catch_up(clean: Path, scratch: Path, rounds: int) -> dict[str, list[float]]:
    """Every view caught up from nothing (no rebuild: the incremental path, page by page)
    against a bare pass reading each record with sqlite3 and parsing its JSON with orjson."""
    times: dict[str, list[float]] = {"bare": [], "catch_up": []}
    for _ in range(rounds):
        times["bare"].append(timed(lambda: minipipe.read_and_parse(str(clean)))[0])
        work = fresh_file(scratch / "catching-up.db")
        shutil.copyfile(clean, work)
        url = f"sqlite:///{work}"
        flow = AidFlow.open(url, create=False)
        views = ReadModels(create_view_engine(url))
        try:
            times["catch_up"].append(timed(lambda: views.catch_up(flow))[0])  # noqa: B023
        finally:
            views.close()
            flow.close()
    return times


def report(events: int, views: dict[str, dict[str, list[float]]], together: dict[str, list[float]],
           caught: dict[str, list[float]], jobs: int) -> None:  # fmt: skip
    """Print one store's figures, each with its baseline."""
    print(f"\n{events:,} events (SQLite)")
    print("  view      minimal pipeline   aidflow rebuild   rebuild/pipeline   (rounds, s)")
    for view, t in views.items():
        mini, ours = min(t["mini"]), min(t["ours"])
        rounds = ", ".join(f"{m:.2f}/{o:.2f}" for m, o in zip(t["mini"], t["ours"], strict=True))
        print(f"  {view:<8}  {mini:>14.2f} s  {ours:>14.2f} s  {mini / ours:>15.0%}   ({rounds})")
    slowest = max(VIEWS, key=lambda v: min(views[v]["ours"]))
    alone = min(views[slowest]["ours"])
    serial, apart = min(together["serial"]), min(together["apart"])
    print(
        f"  all views, one process          {serial:>7.2f} s  {serial / alone:.2f}x the slowest alone"
        f" ({slowest}, {alone:.2f} s)   (rounds: {', '.join(f'{s:.2f}' for s in together['serial'])})"
    )
    at_once = at_work(jobs, len(VIEWS))  # as rebuild_apart runs them
    print(
        f"  all views, --jobs {jobs} ({at_once} at once) {apart:>7.2f} s  {apart / alone:.2f}x"
        f" the slowest alone   (rounds: {', '.join(f'{s:.2f}' for s in together['apart'])})"
    )
    bare, caught_s = min(caught["bare"]), min(caught["catch_up"])
    minis = sum(min(t["mini"]) for t in views.values())
    print(f"  bare read+parse (sqlite3 + orjson) {bare:>7.2f} s")
    print(
        f"  the three minimal pipelines        {minis:>7.2f} s  {minis / bare:.1f}x the bare pass"
    )
    print(f"  catch-up from nothing, all views   {caught_s:>7.2f} s  {caught_s / bare:.1f}x the bare pass"
          f"   (rounds: {', '.join(f'{s:.2f}' for s in caught['catch_up'])})")  # fmt: skip
