"""Which event store to open: one database URL chooses SQLite or PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from aidflow.domain.errors import InvalidInput

DEFAULT_URL = "sqlite:///aidflow.db"
ENV_VAR = "AIDFLOW_DB"


def resolve_url(url: str | None = None) -> str:
    """An explicit URL wins, then ``AIDFLOW_DB``, then ``aidflow.db`` in the working directory."""
    return url or os.environ.get(ENV_VAR) or DEFAULT_URL


def sqlite_path(url: str) -> str:
    """The file a ``sqlite:`` URL names; the one reading shared by the event store and the views."""
    return unquote(url.split(":", 1)[1].removeprefix("///").removeprefix("//"))


def store_env(url: str) -> dict[str, str]:
    """Translate a database URL into the ``eventsourcing`` library's environment settings."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme == "sqlite":
        path = sqlite_path(url)
        if not path:
            raise InvalidInput(
                f"database URL {url!r} names no file; use sqlite:///path/to/aidflow.db"
            )
        if path != ":memory:" and "mode=memory" not in path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "30",
        }
    if scheme in ("postgresql", "postgres"):
        dbname = parts.path.lstrip("/")
        if not dbname:
            raise InvalidInput(f"database URL {url!r} names no database")
        query = parse_qs(parts.query)
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": unquote(dbname),
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_POOL_SIZE": "2",
            "POSTGRES_LOCK_TIMEOUT": "10",
            "APPLICATION_RECORDER_TOPIC": "aidflow.store:SerialisedDDLApplicationRecorder",
        }
        if "schema" in query:
            env["POSTGRES_SCHEMA"] = query["schema"][0]
        return env
    raise InvalidInput(
        f"database URL {url!r} is not supported; use sqlite:///file.db or postgresql://user@host:port/db"
    )
