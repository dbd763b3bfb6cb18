"""Views rebuilt apart (issue 25 §3: all of them within 1.2× the slowest view alone): the
heaviest in the calling process, the others in processes started meanwhile, heaviest first;
never more at work than cores nor views. The real processes are run by
``tests/integration/test_bluegreen.py``; here the pool and the rebuilds are recorded."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, ClassVar

import pytest

from aidflow.office import apart
from aidflow.projections import ReadModels


class _Pool:
    """A pool that runs nothing and remembers its size and the order it was given the views."""

    made: ClassVar[list[int]] = []
    given: ClassVar[list[str]] = []

    def __init__(self, max_workers: int, mp_context: Any) -> None:
        self.made.append(max_workers)

    def __enter__(self) -> _Pool:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def submit(self, task: Callable[[str, str], int], url: str, name: str) -> Future[int]:
        self.given.append(name)
        done: Future[int] = Future()
        done.set_result(100 + len(self.given))
        return done


@pytest.fixture(autouse=True)
def pool(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The pool recorded, and the views rebuilt in this process (in order)."""
    _Pool.made, _Pool.given = [], []
    monkeypatch.setattr(apart, "ProcessPoolExecutor", _Pool)
    here: list[str] = []

    def rebuild_here(url: str, name: str) -> int:
        here.append(name)
        return 200 + len(here)

    monkeypatch.setattr(apart, "rebuild_one", rebuild_here)
    return here


def _run(monkeypatch: pytest.MonkeyPatch, jobs: int, cores: int) -> tuple[int, list[int]]:
    monkeypatch.setattr(apart, "cores", lambda: cores)
    told: list[int] = []
    names = ["queue", "dossier", "audit"]
    read = apart.rebuild_apart("sqlite:///x.db", names, jobs, progress=told.append)
    assert len(told) == 3  # each view's share, as each is done
    return read, told


def test_the_heaviest_view_is_rebuilt_here_the_others_start_heaviest_first(
    monkeypatch: pytest.MonkeyPatch, pool: list[str]
) -> None:
    read, told = _run(monkeypatch, jobs=3, cores=2)
    assert pool == ["audit"]  # no interpreter to start on the heaviest view's path
    assert _Pool.given == ["dossier", "queue"]
    assert read == 201  # the most any of them read
    assert sorted(told) == sorted([201 // 3, 101 // 3, 102 // 3])
    weights = [ReadModels.VIEWS[name].rebuild_weight for name in [*pool, *_Pool.given]]
    assert weights == sorted(weights, reverse=True) and len(set(weights)) == 3


@pytest.mark.parametrize(
    ("jobs", "cores", "processes"), [(3, 2, 1), (3, 8, 2), (8, 4, 2), (2, 8, 1), (8, 3, 2)]
)
def test_no_more_at_work_than_cores_nor_views(
    monkeypatch: pytest.MonkeyPatch, pool: list[str], jobs: int, cores: int, processes: int
) -> None:
    _run(monkeypatch, jobs, cores)
    assert _Pool.made == [processes]  # beside this process
    assert pool == ["audit"]


@pytest.mark.parametrize(("jobs", "cores"), [(3, 1), (1, 8)])
def test_one_at_a_time_is_all_here(
    monkeypatch: pytest.MonkeyPatch, pool: list[str], jobs: int, cores: int
) -> None:
    read, _told = _run(monkeypatch, jobs, cores)
    assert _Pool.made == [] and pool == ["audit", "dossier", "queue"]
    assert read == 203
