"""Throw-away PostgreSQL databases for tests and benchmarks: each created fresh and dropped after."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg

ADMIN_URL = os.environ.get("AIDFLOW_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRED = os.environ.get("AIDFLOW_REQUIRE_PG", "") not in ("", "0", "false", "no")


def unreachable_reason(admin_url: str = ADMIN_URL) -> str | None:
    """Why PostgreSQL cannot be used, or None when it answers."""
    try:
        with psycopg.connect(admin_url, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]


_REASON: str | None = unreachable_reason()


def require_postgres() -> None:
    """Skip (on a laptop) or fail (in CI, AIDFLOW_REQUIRE_PG=1) when PostgreSQL is not there."""
    if _REASON is None:
        return
    import pytest

    message = f"PostgreSQL not reachable at {ADMIN_URL}: {_REASON}"
    if REQUIRED:
        pytest.fail(message + " (AIDFLOW_REQUIRE_PG is set, so this is a failure)")
    pytest.skip(message)


def create_database(admin_url: str = ADMIN_URL, prefix: str = "aidflow_t") -> str:
    """Create an empty database next to ``admin_url``'s and return its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(admin_url)._replace(path="/" + name))


def drop_database(url: str, admin_url: str = ADMIN_URL) -> None:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_database() -> Iterator[str]:
    """An empty database for one test; dropped afterwards."""
    require_postgres()
    url = create_database()
    try:
        yield url
    finally:
        drop_database(url)
