"""Throw-away PostgreSQL databases for tests: each one created fresh and dropped after."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

ADMIN_URL = os.environ.get("AIDFLOW_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRED = os.environ.get("AIDFLOW_REQUIRE_PG", "") not in ("", "0", "false", "no")


def _reachable() -> str | None:
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]


_REASON: str | None = _reachable()


def require_postgres() -> None:
    """Skip (on a laptop) or fail (in CI, AIDFLOW_REQUIRE_PG=1) when PostgreSQL is not there."""
    if _REASON is None:
        return
    message = f"PostgreSQL not reachable at {ADMIN_URL}: {_REASON}"
    if REQUIRED:
        pytest.fail(message + " (AIDFLOW_REQUIRE_PG is set, so this is a failure)")
    pytest.skip(message)


@contextmanager
def fresh_database() -> Iterator[str]:
    """Create an empty database and yield its URL; drop it afterwards."""
    require_postgres()
    name = f"aidflow_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(ADMIN_URL)
    url = urlunsplit(parts._replace(path="/" + name))
    try:
        yield url
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
