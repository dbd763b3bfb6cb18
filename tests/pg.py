"""PostgreSQL databases for tests and benchmarks: a fresh one per use, or the session's own,
emptied between tests.

Creating a database and its tables costs about a second on two cores; emptying the rows
of one that holds the tables already costs a few milliseconds. :class:`Reused` keeps one
database for the test session and, between tests, deletes every row and restarts the
notification sequence, so each test starts from an empty store exactly as from a new
database. A test that changed the database itself (a table altered, dropped or added, a
trigger, a schema, a role's grant) leaves a catalogue that differs from the pristine one:
the database is then dropped and made again before the next test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg

from aidflow.keytables import key_table_ddl

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


def create_database(
    admin_url: str = ADMIN_URL, prefix: str = "aidflow_t", *, durable: bool = False
) -> str:
    """Create an empty database next to ``admin_url``'s and return its URL.

    Its commits do not wait for the disk (``synchronous_commit = off``): a test's
    database outlives no server crash, and the suite spends far less time waiting.
    ``durable``: the server's defaults, as a bureau's database has them (the benchmarks').
    """
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        if not durable:
            conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    return urlunsplit(urlsplit(admin_url)._replace(path="/" + name))


def drop_database(url: str, admin_url: str = ADMIN_URL) -> None:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_database() -> Iterator[str]:
    """An empty database of its own (dropped afterwards): for a test about the database
    itself (first use by several processes, roles, schemas)."""
    require_postgres()
    url = create_database()
    try:
        yield url
    finally:
        drop_database(url)


_CATALOGUE = """
SELECT n.nspname, c.relname, c.relkind,
       coalesce(string_agg(a.attname || ':' || format_type(a.atttypid, a.atttypmod), ','
                           ORDER BY a.attnum), '')
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
GROUP BY n.nspname, c.relname, c.relkind
UNION ALL
SELECT 'trigger', tgname, 't', tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal
UNION ALL
SELECT 'grant', relname, 'g', coalesce(relacl::text, '') FROM pg_class
WHERE relnamespace = 'public'::regnamespace
ORDER BY 1, 2, 3
"""


class Reused:
    """The test session's database: made once, with every table a store makes; emptied
    between tests (see the module's docstring)."""

    def __init__(self) -> None:
        self.url: str | None = None
        self._pristine: list[tuple[object, ...]] = []

    def _make(self) -> str:
        from aidflow import Office

        url = create_database(prefix="aidflow_s")
        Office.open(url).close()  # every table: the events', the views'
        with psycopg.connect(url, autocommit=True) as conn:
            for ddl in key_table_ddl():  # and the keys' (a store makes them on first use)
                conn.execute(ddl.encode())
            self._empty(conn)
            self._pristine = list(conn.execute(_CATALOGUE))
        return url

    @staticmethod
    def _empty(conn: psycopg.Connection[tuple[object, ...]]) -> None:
        conn.execute("SET lock_timeout = '5s'")
        tables = [
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        sequences = [
            r[0]
            for r in conn.execute(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"
            )
        ]
        with conn.transaction():
            for table in tables:
                conn.execute(f'DELETE FROM "{table}"')
            for sequence in sequences:
                conn.execute(f'ALTER SEQUENCE "{sequence}" RESTART')

    def empty_store(self) -> str:
        """The database, with no rows in it: an empty store."""
        require_postgres()
        if self.url is None:
            self.url = self._make()
            return self.url
        try:
            with psycopg.connect(self.url, autocommit=True) as conn:
                if list(conn.execute(_CATALOGUE)) != self._pristine:
                    raise LookupError("the test changed the database itself")
                # what earlier tests left open (an office never closed) goes: the server's
                # connection limit is shared by both workers and their subprocesses
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                self._empty(conn)
        except (LookupError, psycopg.Error):
            self.close()
            self.url = self._make()
        return self.url

    def close(self) -> None:
        if self.url is not None:
            drop_database(self.url)
            self.url = None
