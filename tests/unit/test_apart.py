"""Views rebuilt in processes of their own (issue 25 §3: all of them within 1.2× the slowest
view alone) start heaviest first, never more processes than cores nor views. The real
processes are run by ``tests/integration/test_bluegreen.py``; here the pool is recorded."""

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
def pool(monkeypatch: pytest.MonkeyPatch) -> None:
    _Pool.made, _Pool.given = [], []
    monkeypatch.setattr(apart, "ProcessPoolExecutor", _Pool)


def _run(monkeypatch: pytest.MonkeyPatch, jobs: int, cores: int) -> int:
    monkeypatch.setattr(apart, "cores", lambda: cores)
    told: list[int] = []
    names = ["queue", "dossier", "audit"]
    read = apart.rebuild_apart("sqlite:///x.db", names, jobs, progress=told.append)
    assert sorted(told) == [101 // 3, 102 // 3, 103 // 3]  # each view's share, as each is done
    return read


def test_the_heaviest_view_starts_first(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _run(monkeypatch, jobs=3, cores=2) == 103  # the most any of them read
    assert _Pool.given == ["audit", "dossier", "queue"]
    weights = [ReadModels.VIEWS[name].rebuild_weight for name in _Pool.given]
    assert weights == sorted(weights, reverse=True) and len(set(weights)) == 3


@pytest.mark.parametrize(
    ("jobs", "cores", "at_once"), [(3, 2, 2), (3, 8, 3), (8, 4, 3), (2, 8, 2), (3, 1, 1)]
)
def test_no_more_processes_than_cores_nor_views(
    monkeypatch: pytest.MonkeyPatch, jobs: int, cores: int, at_once: int
) -> None:
    _run(monkeypatch, jobs, cores)
    assert _Pool.made == [at_once]
