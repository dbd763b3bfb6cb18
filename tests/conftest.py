from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from aidflow import AidFlow
from tests.builders import register_staff
from tests.pg import fresh_database

os.environ.setdefault("AIDFLOW_LANG", "en")  # tests read English unless they ask otherwise
TEST_MASTER_KEY = "dGVzdHMtb25seS1tYXN0ZXIta2V5LTMyLWJ5dGVzISE="
"""The master key every test store is encrypted with (tests that test keys change it)."""
os.environ.setdefault("AIDFLOW_KEY", TEST_MASTER_KEY)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store on each backend: a SQLite file, and a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'aidflow.db'}"
    else:
        with fresh_database() as url:
            yield url


@pytest.fixture
def flow(store_url: str) -> Iterator[AidFlow]:
    """A fresh store with the test office registered (see ``tests.builders.register_staff``)."""
    app = AidFlow.open(store_url)
    register_staff(app)
    try:
        yield app
    finally:
        app.close()
