from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from aidflow import AidFlow, Office
from tests import properties  # noqa: F401 - loads the hypothesis profile in force
from tests.builders import register_staff
from tests.pg import Reused

os.environ.setdefault("AIDFLOW_LANG", "en")  # tests read English unless they ask otherwise
TEST_MASTER_KEY = "dGVzdHMtb25seS1tYXN0ZXIta2V5LTMyLWJ5dGVzISE="
"""The master key every test store is encrypted with (tests that test keys change it)."""
os.environ.setdefault("AIDFLOW_KEY", TEST_MASTER_KEY)


@pytest.fixture(scope="session")
def reused_database() -> Iterator[Reused]:
    """The session's PostgreSQL database, emptied for each test (see ``tests.pg``)."""
    reused = Reused()
    yield reused
    reused.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty store on each backend: a new SQLite file, and the session's PostgreSQL
    database emptied of every row (as new: positions start at 1 again)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'aidflow.db'}"
    else:
        yield request.getfixturevalue("reused_database").empty_store()


@pytest.fixture
def flow(store_url: str) -> Iterator[AidFlow]:
    """A fresh store with the test office registered (see ``tests.builders.register_staff``)."""
    app = AidFlow.open(store_url)
    register_staff(app)
    try:
        yield app
    finally:
        app.close()


@dataclass(frozen=True)
class DemoYear:
    """The article's programme year, built once per test session (views caught up)."""

    path: Path
    """The SQLite file: copy it, never write to it."""
    result: object
    """What :func:`aidflow.office.demo.run_demo` answered (its funds, cases, consultation)."""


DEMO_SEED = 2026
DEMO_TODAY = date(2026, 12, 1)
"""The demo's programme year follows "today": fixed, so every run builds the same year."""


@pytest.fixture
def office(store_url: str) -> Iterator[Office]:
    """An Office on a fresh store with the test office registered (views inline)."""
    office = Office.open(store_url)
    register_staff(office.flow)
    office.catch_up()
    yield office
    office.close()


@pytest.fixture(scope="session")
def demo_year(tmp_path_factory: pytest.TempPathFactory) -> DemoYear:
    from aidflow import Office
    from aidflow.office.demo import run_demo

    path = tmp_path_factory.mktemp("demo-year") / "demo.db"
    with Office.open(f"sqlite:///{path}", inline=False) as office:
        result = run_demo(office.flow, seed=DEMO_SEED, today=DEMO_TODAY)
        office.catch_up_views()
    return DemoYear(path, result)


@pytest.fixture
def demo_store(demo_year: DemoYear, tmp_path: Path) -> str:
    """A copy of the session's demo year, this test's own to write to."""
    copy = tmp_path / "demo.db"
    shutil.copy(demo_year.path, copy)
    return f"sqlite:///{copy}"
