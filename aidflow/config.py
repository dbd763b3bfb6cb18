"""Which store to open: one database URL chooses SQLite or PostgreSQL, and means one thing.

The URL is parsed here once, for the event store and the views alike. Every query
option has a meaning or is refused: ``sqlite:///q.db?mode=ro`` opens ``q.db``
read-only (it never creates a file named ``q.db?mode=ro``), and
``postgresql://…/db?schema=x`` puts everything in schema ``x``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import SplitResult, parse_qs, quote, unquote, urlsplit

from aidflow.domain.errors import (
    AidflowError,
    InvalidInput,
    NoSuchStore,
    StoreUnavailable,
    said,
)

DEFAULT_URL = "sqlite:///aidflow.db"
ENV_VAR = "AIDFLOW_DB"
CONNECT_TIMEOUT_S = 5
"""A PostgreSQL server that does not answer is reported within this many seconds."""

_SQLITE_OPTIONS = {"mode": ("ro", "rw", "rwc"), "busy_timeout": ()}
BUSY_TIMEOUT_S = 30
"""How long a command waits for another process's write lock before it is refused with
``store_busy`` (``?busy_timeout=SECONDS``, 1 to 300): SQLite's file lock, PostgreSQL's lock
on the events table (its ``lock_timeout``, one wait: the library's retries skip it)."""
_POSTGRES_OPTIONS = ("schema", "connect_timeout", "busy_timeout", "sslmode", "application_name")
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_SQLITE_HEADER = b"SQLite format 3\x00"

T = TypeVar("T")


def resolve_url(url: str | None = None) -> str:
    """An explicit URL wins, then ``AIDFLOW_DB``, then ``aidflow.db`` in the working directory."""
    return url or os.environ.get(ENV_VAR) or DEFAULT_URL


@dataclass(frozen=True)
class StoreURL:
    """A parsed store URL: where the events and the views live, and how to open them."""

    url: str
    backend: str  # "sqlite" | "postgresql"
    path: str = ""  # SQLite file, or ":memory:"
    read_only: bool = False
    host: str = ""
    port: int = 5432
    user: str = ""
    password: str = ""
    database: str = ""
    schema: str = ""
    options: tuple[tuple[str, str], ...] = ()

    @property
    def busy_timeout(self) -> int:
        """Seconds a command waits for another process's write lock."""
        return int(dict(self.options).get("busy_timeout", BUSY_TIMEOUT_S))

    @property
    def in_memory(self) -> bool:
        return self.backend == "sqlite" and self.path in (":memory:", "")

    @property
    def shown(self) -> str:
        """The URL without its password, for messages."""
        if self.backend == "sqlite":
            return f"sqlite:///{self.path}" + ("?mode=ro" if self.read_only else "")
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}"

    def sqlite_uri(self) -> str:
        """The ``file:`` URI that sqlite3 opens with ``uri=True``, mode included."""
        mode = "ro" if self.read_only else "rwc"
        return f"file:{quote(self.path)}?mode={mode}"

    def event_store_env(self) -> dict[str, str]:
        """The ``eventsourcing`` library's environment settings for this store."""
        if self.backend == "sqlite":
            env = {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": ":memory:" if self.in_memory else self.sqlite_uri(),
                "SQLITE_LOCK_TIMEOUT": str(self.busy_timeout),
            }
            if self.read_only:
                env["CREATE_TABLE"] = "false"
            return env
        env = {
            "PERSISTENCE_MODULE": "aidflow.store:SerialisedDDLFactory",
            "POSTGRES_DBNAME": self.database,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_POOL_SIZE": "2",
            "POSTGRES_LOCK_TIMEOUT": str(self.busy_timeout),
            "POSTGRES_CONNECT_TIMEOUT": dict(self.options).get(
                "connect_timeout", str(CONNECT_TIMEOUT_S)
            ),
            "POSTGRES_POOL_TIMEOUT": str(CONNECT_TIMEOUT_S),
        }
        if self.schema:
            env["POSTGRES_SCHEMA"] = self.schema
        return env

    def sqlalchemy_url(self) -> str:
        """The same database for SQLAlchemy (the views)."""
        if self.backend == "sqlite":
            if self.in_memory:
                return "sqlite+pysqlite://"
            return f"sqlite+pysqlite:///{self.sqlite_uri()}&uri=true"
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        return f"postgresql+psycopg://{auth}@{self.host}:{self.port}/{quote(self.database)}"

    def connect(self) -> Any:
        """A direct psycopg connection (autocommit) to this PostgreSQL store, for the few
        statements that are not the event store's or the views' (probes, roles)."""
        import psycopg

        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password or None,
            dbname=self.database,
            autocommit=True,
            **self.sqlalchemy_connect_args(),
        )

    def sqlalchemy_connect_args(self) -> dict[str, Any]:
        """Driver arguments: the connect timeout, the schema as the search path, and on
        PostgreSQL the lock wait (``busy_timeout``) of every connection aidflow opens itself
        (the views', the key vault's, the probes'): a session holding what one waits for (a
        stuck follower's positions, a DBA's open transaction) makes a question ``store_busy``,
        as SQLite's lock does, where it waited for ever and held the service's catch-up."""
        if self.backend == "sqlite":
            return {"timeout": self.busy_timeout}
        args: dict[str, Any] = {
            "connect_timeout": int(dict(self.options).get("connect_timeout", CONNECT_TIMEOUT_S))
        }
        for name in ("sslmode", "application_name"):
            if name in dict(self.options):
                args[name] = dict(self.options)[name]
        settings = [f"-c lock_timeout={self.busy_timeout}s"]
        if self.schema:
            settings.append(f"-c search_path={self.schema}")
        args["options"] = " ".join(settings)
        return args


def sqlite_path(url: str) -> str:
    """The file a ``sqlite:`` URL names (without its query options)."""
    return parse_url(url).path


def parse_url(url: str) -> StoreURL:
    """Parse a store URL, refusing anything whose meaning is not certain."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput(
            said("the database URL is empty; use sqlite:///file.db or postgresql://…")
        )
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise InvalidInput(said("the database URL contains a control character"))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(
            said("database URL {url!r} is malformed: {exc}", url=url, exc=exc)
        ) from None
    scheme = parts.scheme.split("+", 1)[0]
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=False)
    if any(len(values) > 1 for values in query.values()):
        raise InvalidInput(said("database URL {url!r} repeats an option", url=url))
    options = {k: v[0] for k, v in query.items()}
    if parts.fragment:
        raise InvalidInput(
            said("database URL {url!r} has a fragment (#…), which means nothing here", url=url)
        )
    if scheme == "sqlite":
        return _parse_sqlite(url, parts.netloc, parts.path, options)
    if scheme in ("postgresql", "postgres"):
        return _parse_postgres(url, parts, port, options)
    raise InvalidInput(
        said(
            "database URL {url!r} is not supported; use sqlite:///file.db or postgresql://user@host:port/db",
            url=url,
        )
    )


def _parse_postgres(
    url: str, parts: SplitResult, port: int | None, options: dict[str, str]
) -> StoreURL:
    unknown = sorted(set(options) - set(_POSTGRES_OPTIONS))
    if unknown:
        raise InvalidInput(
            said(
                "database URL option {unknown} is not supported; PostgreSQL URLs take {options}",
                unknown=", ".join(unknown),
                options=", ".join(_POSTGRES_OPTIONS),
            )
        )
    database = unquote(parts.path.lstrip("/"))
    if not database or "/" in database:
        raise InvalidInput(said("database URL {url!r} names no database (…:5432/dbname)", url=url))
    schema = options.get("schema", "")
    if schema and not _IDENTIFIER.fullmatch(schema):
        raise InvalidInput(
            said(
                "schema {schema!r} must be a lower-case identifier (letters, digits, _)",
                schema=schema,
            )
        )
    _check_seconds(options, "connect_timeout")
    _check_seconds(options, "busy_timeout")
    return StoreURL(
        url=url,
        backend="postgresql",
        host=parts.hostname or "127.0.0.1",
        port=port or 5432,
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password or ""),
        database=database,
        schema=schema,
        options=tuple(sorted(options.items())),
    )


def _check_seconds(options: dict[str, str], name: str) -> None:
    """A wait given in the URL: whole seconds, 1 to 300."""
    given = options.get(name)
    if given is not None and not (given.isascii() and given.isdigit() and 1 <= int(given) <= 300):
        raise InvalidInput(said("{name} must be a whole number of seconds, 1 to 300", name=name))


def _parse_sqlite(url: str, netloc: str, path: str, options: dict[str, str]) -> StoreURL:
    unknown = sorted(set(options) - set(_SQLITE_OPTIONS))
    if unknown:
        raise InvalidInput(
            said(
                "database URL option {unknown} is not supported; SQLite URLs take mode=ro and busy_timeout",
                unknown=", ".join(unknown),
            )
        )
    _check_seconds(options, "busy_timeout")
    mode = options.get("mode", "rwc")
    if mode not in _SQLITE_OPTIONS["mode"]:
        raise InvalidInput(
            said("mode={mode} is not a SQLite mode; use mode=ro for read-only", mode=mode)
        )
    if netloc:
        raise InvalidInput(
            said(
                "database URL {url!r} names a host; a SQLite URL is sqlite:///relative.db or sqlite:////absolute/path.db",
                url=url,
            )
        )
    file = unquote(path.removeprefix("/"))
    if not file:
        raise InvalidInput(
            said("database URL {url!r} names no file; use sqlite:///path/to/aidflow.db", url=url)
        )
    return StoreURL(
        url=url,
        backend="sqlite",
        path=file,
        read_only=mode == "ro",
        options=(("busy_timeout", options["busy_timeout"]),) if "busy_timeout" in options else (),
    )


def _open_here(path: Path) -> bool:
    """Whether this process has the file open already: a connection of its own, checked when
    it was opened. Reading the header then would be harmful, not just needless: closing any
    descriptor of a file drops every POSIX lock the process holds on it, SQLite's included,
    and another process may then checkpoint the WAL and remove it from under this one's
    connections (seen: a view switched in while another process switched its own came out
    malformed). Linux tells through ``/proc/self/fd``; elsewhere the header is read."""
    try:
        target = path.stat()
        descriptors = os.listdir("/proc/self/fd")
    except OSError:
        return False
    for fd in descriptors:
        try:
            held = os.stat(f"/proc/self/fd/{fd}")
        except OSError:  # closed meanwhile, or the listing's own descriptor
            continue
        if (held.st_dev, held.st_ino) == (target.st_dev, target.st_ino):
            return True
    return False


def _check_header(store: StoreURL, path: Path) -> None:
    try:
        with path.open("rb") as handle:
            header = handle.read(len(_SQLITE_HEADER))
    except OSError as exc:
        raise StoreUnavailable(
            said("cannot read {path}: {strerror}", path=store.path, strerror=exc.strerror)
        ) from None
    if header and header != _SQLITE_HEADER:
        raise StoreUnavailable(said("{path} is not a SQLite database", path=store.path))


def check_sqlite_file(store: StoreURL) -> None:
    """Refuse, in one line, a path that is not (and cannot become) a SQLite database."""
    if store.in_memory:
        return
    path = Path(store.path)
    if path.is_dir():
        raise StoreUnavailable(said("{path} is a directory, not a database file", path=store.path))
    if path.exists():
        if not _open_here(path):  # else read when this process opened it first
            _check_header(store, path)
        if not store.read_only and not os.access(path, os.W_OK):
            raise StoreUnavailable(
                said(
                    "{path} is not writable; open it read-only with ?mode=ro to query it",
                    path=store.path,
                )
            )
    elif store.read_only:
        raise StoreUnavailable(
            said("{path} does not exist (read-only stores are never created)", path=store.path)
        )
    else:
        parent = path.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(
                said("cannot create {parent}: {strerror}", parent=parent, strerror=exc.strerror)
            ) from None
        if not os.access(parent, os.W_OK):
            raise StoreUnavailable(
                said("cannot create a database in {parent}: not writable", parent=parent)
            )


def store_env(url: str) -> dict[str, str]:
    """The ``eventsourcing`` environment for the store at ``url`` (parsed and checked)."""
    store = parse_url(url)
    if store.backend == "sqlite":
        check_sqlite_file(store)
    return store.event_store_env()


@dataclass(frozen=True)
class Login:
    """Who the database says is connected (PostgreSQL's ``session_user``)."""

    name: str
    may_name_staff: bool
    """A superuser or the store's owner (the DBA, who could rewrite the store anyway) or a
    member of the store's service role (:func:`aidflow.gate.store_roles`): it may act for
    any registered staff member and keeps the snapshots and views. Any other login is a
    person's: it acts only as itself, appends only through the store's function and
    writes nothing else (issue 21 §1)."""


def person(login: Login | None) -> str | None:
    """The name of a person's own login (neither the owner's nor the service's), else None:
    it acts only as itself, takes no snapshot, keeps no view, and reads as its roles allow."""
    return login.name if login is not None and not login.may_name_staff else None


@dataclass(frozen=True)
class PreparedStore:
    store: StoreURL
    env: dict[str, str]
    login: Login | None


def prepare_store(url: str | None, *, create: bool = True) -> PreparedStore:
    """Parse and check the URL; on PostgreSQL connect once to learn the login and the tables.

    ``create=False``: a store that does not exist yet is refused (:class:`NoSuchStore`) and
    nothing is made, neither a file nor a schema nor a table.
    """
    store = parse_url(resolve_url(url))
    if store.backend == "sqlite":
        if not create and not store.in_memory and not Path(store.path).exists():
            raise NoSuchStore(
                said(
                    "there is no store at {where}: nothing was created. Check --db (or AIDFLOW_DB); a new store is made by `aidflow keys init`, the first `aidflow staff add` or `aidflow demo`",
                    where=store.path,
                ),
                ids={"store": store.shown},
            )
        check_sqlite_file(store)
        return PreparedStore(store, store.event_store_env(), None)
    login, tables_exist = probe_postgres(store, create=create)
    if not tables_exist and not create:
        raise NoSuchStore(
            said(
                "there is no store at {where}: nothing was created. Check --db (or AIDFLOW_DB); a new store is made by `aidflow keys init`, the first `aidflow staff add` or `aidflow demo`",
                where=store.shown,
            ),
            ids={"store": store.shown},
        )
    env = store.event_store_env()
    if tables_exist:
        env["CREATE_TABLE"] = "false"  # a writer login needs no CREATE privilege
    return PreparedStore(store, env, login)


def open_prepared(prepared: PreparedStore, factory: Callable[[dict[str, str]], T]) -> T:
    """Call ``factory`` with the store's environment; opening failures become one line.

    A driver's error (no such database, refused connection, unknown host, a locked or
    corrupt file) is turned into :class:`StoreUnavailable` naming the URL (password
    left out) and the driver's own reason.
    """
    try:
        return factory(prepared.env)
    except AidflowError:
        raise
    except Exception as exc:
        raise StoreUnavailable(
            said("cannot open {store}: {reason}", store=prepared.store.shown, reason=one_line(exc))
        ) from exc


def probe_postgres(store: StoreURL, *, create: bool = True) -> tuple[Login, bool]:
    """Connect once, directly, so a wrong host, port, database or password is reported with
    the server's own reason within the connect timeout (a pool only says it timed out);
    create the URL's schema if it is not there yet; return the login and whether the
    event tables exist already."""
    import psycopg
    from psycopg import sql

    from aidflow.gate import APPEND, install_gate, store_roles

    schema = store.schema or "public"
    events = f'"{schema}".aidflow_events'
    try:
        with store.connect() as conn:
            row = conn.execute(
                "SELECT session_user::text, r.rolsuper, EXISTS ("
                "  SELECT 1 FROM pg_roles g WHERE g.rolname = %s"
                "  AND pg_has_role(session_user, g.oid, 'MEMBER')),"
                " to_regclass(%s) IS NOT NULL,"
                " EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = to_regclass(%s)"
                "  AND pg_has_role(session_user, c.relowner, 'MEMBER')),"
                " EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
                "  WHERE n.nspname = %s AND p.proname = %s)"
                " FROM pg_roles r WHERE r.rolname = session_user",
                (
                    store_roles(store.database, store.schema).service,
                    events,
                    events,
                    schema,
                    APPEND,
                ),
            ).fetchone()
            assert row is not None
            name, superuser, service, tables_exist, owner, gated = row
            if create and store.schema and not tables_exist:  # a district's schema, on first use
                conn.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(store.schema))
                )
            if tables_exist and not gated:  # a store made before the database checked logins
                if not (superuser or owner):
                    raise StoreUnavailable(
                        said(
                            "{store} predates the database's append check; its owner runs `aidflow admin roles --apply` once before anyone else opens it",
                            store=store.shown,
                        )
                    )
                install_gate(conn, schema)
    except psycopg.Error as exc:
        raise StoreUnavailable(
            said("cannot open {store}: {reason}", store=store.shown, reason=one_line(exc))
        ) from None
    trusted = bool(superuser or owner or service)
    return Login(name=str(name), may_name_staff=trusted), bool(tables_exist)


def one_line(exc: BaseException) -> str:
    """A driver's error as one line (psycopg and sqlite3 messages can span several)."""
    cause: BaseException = exc
    while cause.__cause__ is not None and not str(cause):
        cause = cause.__cause__
    text = " ".join(str(cause).split()) or type(cause).__name__
    return text[:300]
