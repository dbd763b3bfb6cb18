"""Blue/green rebuilds: views built again in fresh tables, switched in at the end in one transaction.

A rebuild never empties the live tables. It builds the chosen views from the
events into a scratch database (SQLite: a file beside the store; PostgreSQL: a
schema beside the store's), with their tracking and failure records, and the
secondary indexes only once the rows are in (an index built over sorted data
once is cheaper than kept up through a million random inserts). Then one
transaction replaces the live tables, positions and failure records of those
views with the scratch ones and the scratch is removed:

- readers see the old views until that transaction commits, then the new ones;
- a rebuild that crashes or is killed before it commits leaves the live views as
  they were (the scratch is discarded by the next rebuild);
- events recorded while the rebuild ran are applied by the catch-up that follows.

SQLite copies the scratch tables into the store inside the switch transaction:
the indexes are built in the scratch file after the load, the live tables are
made empty with the same indexes, and ``INSERT INTO main.t SELECT * FROM
scratch.t`` lets SQLite's transfer optimisation copy table and index records in
order, without decoding rows or sorting index entries. PostgreSQL moves them
(``ALTER TABLE ... SET SCHEMA``) and analyses them. The tables, columns and
indexes come from each view's metadata, so views with new tables or columns need nothing here.
One rebuild of the same views at a time per store: a second one started meanwhile (another
admin, another process) waits for the first, then builds its own (on SQLite a lock on the
scratch file, on PostgreSQL an advisory lock named by the scratch schema; it discarded the
first one's scratch under it, which then crashed). Rebuilds of different views (``tag``: the views named)
have scratches of their own, so each view can be rebuilt in a process of its own
(``aidflow projections rebuild --jobs``): they share only the store's reads and, on SQLite,
take turns for the switch.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from aidflow.projections.base import (
    KEEP_DURING_REBUILD,
    _sqlite_transactions,
    sends_held_first,
    to_json,
    writing,
)
from aidflow.projections.tracking import (
    TRACKING_METADATA,
    _schema_change,
    tracking_table,
    view_table,
)
from aidflow.projections.view import SQLView

SCRATCH = "aidflow_rebuild"
"""The scratch database's name when attached (SQLite), the suffix of its schema (PostgreSQL)."""

Built = Callable[[Engine, dict[str, SQLView]], int]
"""Catches the scratch views up from the events; returns how many records were read."""


def rebuild(engine: Engine, chosen: dict[str, SQLView], build: Built, *, tag: str = "") -> int:
    """Build ``chosen`` (live views by name) aside, then switch them in; returns records read.

    ``tag`` names the scratch ("" for every view, else the views' names) so that
    rebuilds of different views in different processes do not share one."""
    if engine.dialect.name == "postgresql":
        return _rebuild_postgres(engine, chosen, build, tag)
    return _rebuild_sqlite(engine, chosen, build, tag)


def _tables(views: Sequence[SQLView]) -> list[sa.Table]:
    return [t for v in views for t in v.metadata.sorted_tables]


def _fresh(scratch: Engine, chosen: dict[str, SQLView]) -> dict[str, SQLView]:
    """The chosen views' classes on the scratch engine, tables made without secondary indexes."""
    fresh = {name: type(view)(scratch) for name, view in chosen.items()}
    with writing(scratch) as conn:
        TRACKING_METADATA.create_all(conn)
        for table in _tables(list(fresh.values())):
            conn.execute(sa.schema.CreateTable(table))
            _create_indexes(conn, [table], kept=True)
        conn.execute(
            sa.insert(view_table),
            [{"view": v.name, "schema_version": v.schema_version} for v in fresh.values()],
        )
    return fresh


def _create_indexes(conn: Connection, tables: Sequence[sa.Table], *, kept: bool = False) -> None:
    """The tables' secondary indexes: those a writer needs while loading (``kept``), or the rest."""
    for table in tables:
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            if bool(index.info.get(KEEP_DURING_REBUILD)) == kept:
                conn.execute(sa.schema.CreateIndex(index))


# -- SQLite: a scratch file, copied in ------------------------------------------------------


def _sqlite_path(engine: Engine) -> str:
    """The store's file ('' for an in-memory store)."""
    with engine.connect() as conn:
        for _seq, name, file in conn.exec_driver_sql("PRAGMA database_list"):
            if name == "main":
                return str(file or "")
    return ""


@contextmanager
def _scratch_file(engine: Engine, tag: str) -> Iterator[str]:
    store = _sqlite_path(engine)
    with ExitStack() as held:
        if store:
            path = f"{store}.{SCRATCH}{tag}"
            os.ftruncate(held.enter_context(_held(path)), 0)  # what a rebuild that crashed left
            Path(f"{path}-journal").unlink(missing_ok=True)
        else:
            handle, path = tempfile.mkstemp(suffix=f".{SCRATCH}{tag}.db")
            os.close(handle)
        try:
            yield path
        finally:  # removed while held: whoever waits takes the file anew
            for leftover in (path, f"{path}-journal"):
                Path(leftover).unlink(missing_ok=True)


@contextmanager
def _held(path: str) -> Iterator[int]:
    """The file at ``path``, made if need be, open and locked for this rebuild alone
    (``flock``: a lock of its own, which SQLite's locks on the file neither take nor drop).
    A file removed by the holder before us is not ours: it is opened again."""
    import fcntl

    while True:
        handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
            if os.fstat(handle).st_ino == os.stat(path).st_ino:
                break
        except FileNotFoundError:
            pass
        except BaseException:
            os.close(handle)
            raise
        os.close(handle)
    try:
        yield handle
    finally:
        os.close(handle)


def _scratch_sqlite_engine(path: str) -> Engine:
    """A disposable database: nothing in it survives a crash, so it need not be durable.

    One connection serves the whole load (disposed at the end): its page cache stays
    warm from page to page, where a connection per page read the indexes again."""
    scratch = sa.create_engine(
        f"sqlite+pysqlite:///{path}", poolclass=sa.pool.StaticPool, json_serializer=to_json
    )
    _sqlite_transactions(scratch)

    @sa.event.listens_for(scratch, "connect")
    def _fast(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=MEMORY")  # runs after the WAL pragma: it wins
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.close()

    return scratch


def _rebuild_sqlite(engine: Engine, chosen: dict[str, SQLView], build: Built, tag: str) -> int:
    with _scratch_file(engine, tag) as path:
        scratch = _scratch_sqlite_engine(path)
        try:
            fresh = _fresh(scratch, chosen)
            read = build(scratch, fresh)
            with writing(scratch) as conn:  # over the loaded rows, in the scratch file
                _create_indexes(conn, _tables(list(fresh.values())))
        finally:
            scratch.dispose()
        _switch_sqlite(engine, path, list(chosen.values()))
    return read


def _switch_sqlite(engine: Engine, path: str, views: Sequence[SQLView]) -> None:
    names = [v.name for v in views]
    tables = _tables(views)
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        raw.execute(f"ATTACH DATABASE ? AS {SCRATCH}", (path,))  # not allowed inside a transaction
        try:
            conn.execution_options(aidflow_write=True)  # BEGIN IMMEDIATE: see base.writing
            with conn.begin():
                for table in reversed(tables):
                    conn.exec_driver_sql(f'DROP TABLE IF EXISTS main."{table.name}"')
                for table in tables:
                    # Empty tables with every index, then `INSERT INTO t SELECT * FROM twin`:
                    # SQLite's transfer optimisation copies the table's and its indexes'
                    # records in order, with no row decoded into values and no index sort.
                    conn.execute(sa.schema.CreateTable(table))
                    _create_indexes(conn, [table], kept=True)
                    _create_indexes(conn, [table])
                    name = table.name  # from the views' metadata
                    copy = f'INSERT INTO main."{name}" SELECT * FROM {SCRATCH}."{name}"'  # noqa: S608
                    conn.exec_driver_sql(copy)
                _copy_records(conn, names, SCRATCH)
        finally:
            raw.execute(f"DETACH DATABASE {SCRATCH}")


def _copy(table: sa.Table, schema: str, *, views: Sequence[str] = ()) -> sa.Insert:
    """INSERT INTO the live ``table`` every row (of ``views``, if named) of its scratch twin."""
    twin = table.to_metadata(sa.MetaData(), schema=schema)
    rows = sa.select(*twin.columns)
    if views:
        rows = rows.where(twin.c.view.in_(views))
    return sa.insert(table).from_select([c.name for c in table.columns], rows)


def _copy_records(conn: Connection, names: Sequence[str], schema: str) -> None:
    """The chosen views' positions and version/failure records, replaced by the scratch ones."""
    for table in (tracking_table, view_table):
        conn.execute(sa.delete(table).where(table.c.view.in_(names)))
        conn.execute(_copy(table, schema, views=names))


# -- PostgreSQL: a scratch schema, moved in -------------------------------------------------


def _rebuild_postgres(engine: Engine, chosen: dict[str, SQLView], build: Built, tag: str) -> int:
    with engine.connect() as conn:
        home = str(conn.exec_driver_sql("SELECT current_schema()").scalar_one())
    scratch_schema = f"{home}_{SCRATCH}{tag.replace('.', '_')}"[:63]
    with _advisory(engine, scratch_schema):
        return _rebuild_in(engine, chosen, build, home, scratch_schema)


@contextmanager
def _advisory(engine: Engine, name: str) -> Iterator[None]:
    """This rebuild alone in the scratch schema ``name``: a session's advisory lock, on a
    connection of its own outside any transaction (a transaction held that long would be
    cut by ``idle_in_transaction_session_timeout``), waited for as long as it takes."""
    guard = sa.create_engine(engine.url, poolclass=sa.pool.NullPool)
    try:
        with guard.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("SET lock_timeout = 0")
            conn.execute(
                sa.text("SELECT pg_advisory_lock(:space, hashtext(:name))"),
                {"space": _REBUILD_LOCKS, "name": name},
            )
            yield  # the lock goes with the connection (not pooled: closed, not kept)
    finally:
        guard.dispose()


_REBUILD_LOCKS = 0x61696466  # "aidf": the two-key advisory locks' space for rebuilds


def _rebuild_in(
    engine: Engine, chosen: dict[str, SQLView], build: Built, home: str, scratch_schema: str
) -> int:
    with _schema_change(engine) as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{scratch_schema}" CASCADE')
        conn.exec_driver_sql(f'CREATE SCHEMA "{scratch_schema}"')
    scratch = sa.create_engine(  # one connection for the load, as on SQLite
        engine.url, poolclass=sa.pool.StaticPool, json_serializer=to_json, pool_pre_ping=True
    )

    @sa.event.listens_for(scratch, "connect")
    def _search_path(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f'SET search_path TO "{scratch_schema}"')
        dbapi_connection.commit()

    sends_held_first(scratch)  # its pages' rows sent together, as the live views' are

    try:
        fresh = _fresh(scratch, chosen)
        read = build(scratch, fresh)
        with writing(scratch) as conn:
            _create_indexes(conn, _tables(list(fresh.values())))
    except BaseException:
        scratch.dispose()
        with _schema_change(engine) as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{scratch_schema}" CASCADE')
        raise
    scratch.dispose()
    views = list(chosen.values())
    with _schema_change(engine) as conn:
        grants = _grants(conn, home, [t.name for t in _tables(views)])
        for table in reversed(_tables(views)):
            conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{home}"."{table.name}" CASCADE')
        for table in _tables(views):
            conn.exec_driver_sql(
                f'ALTER TABLE "{scratch_schema}"."{table.name}" SET SCHEMA "{home}"'
            )
        for grant in grants:  # what the DBA granted on the old tables (aidflow admin roles)
            conn.exec_driver_sql(grant)
        _copy_records(conn, [v.name for v in views], scratch_schema)
        conn.exec_driver_sql(f'DROP SCHEMA "{scratch_schema}" CASCADE')
    _analyse(engine, home, [t.name for t in _tables(views)])
    return read


def _analyse(engine: Engine, schema: str, tables: Sequence[str]) -> None:
    """Statistics for the switched-in tables, which have none yet: PostgreSQL plans the
    ledger's joins by them, and without them chose scans of whole tables (measured: the live
    ledger 3x slower at 200k events) until autovacuum got round to them."""
    try:
        with writing(engine) as conn:
            for table in tables:
                conn.exec_driver_sql(f'ANALYZE "{schema}"."{table}"')
    except sa.exc.DBAPIError as exc:  # e.g. a login that may rebuild but not analyse
        warnings.warn(f"rebuilt views not analysed ({exc.orig}); autovacuum will", stacklevel=2)


def _grants(conn: Connection, schema: str, tables: Sequence[str]) -> list[str]:
    """GRANT statements reproducing the privileges others hold on these tables (not the owner's).

    A moved table keeps none of the old one's grants, and default privileges apply only
    to tables created in their schema: without this, a rebuild would take the auditor's
    SELECT and the writers' INSERT on the views away.
    """
    rows = conn.execute(
        sa.text(
            "SELECT c.relname, a.grantee, a.privilege_type,"
            " CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,"
            " LATERAL aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee"
            " WHERE n.nspname = :schema AND c.relname = ANY(:tables) AND a.grantee <> c.relowner"
            " ORDER BY 1, 2, 3"
        ),
        {"schema": schema, "tables": list(tables)},
    )
    return [
        f'GRANT {privilege} ON "{schema}"."{table}" TO {grantee}'
        for table, _oid, privilege, grantee in rows
    ]
