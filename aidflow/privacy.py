"""Personal data encrypted at rest, one data key per student (issue 11 §3-§4).

Event classes declare their personal fields (``PERSONAL = ("student_id", "name",
"account")``). At the persistence edge, :class:`PrivacyMapper` replaces each such
value by a self-describing token before the event (or a snapshot) is stored::

    enc:v1:<key_id>:<base64url(nonce + AES-256-GCM ciphertext)>

and turns tokens back into :class:`~aidflow.domain.masking.Sealed` text when it
reads them, so aggregates and rules see plain text and never change.

- ``key_id`` is a keyed HMAC of the student's canonical national ID: one data key
  per student, across programme years.
- Data keys (random 256-bit) are kept in ``aidflow_data_keys``, a plain table in the
  same database (not the append-only event store), each wrapped by the master key.
  Destroying a row is erasure: the tokens stay in the store (the hash chain covers
  them, unchanged) but nobody can read them any more.
- The master key comes from ``AIDFLOW_KEY`` (base64 of 32 bytes) or a key file
  (``AIDFLOW_KEY_FILE``, else ``<database>.key`` beside a SQLite file, else
  ``aidflow.key``); ``aidflow keys init`` makes one. It wraps the data keys and the
  store's lookup secret (the HMAC key, random, kept wrapped in ``aidflow_keyring``),
  so rotating the master key only re-wraps rows (:meth:`Vault.rotate`).
- ``aidflow_key_owners`` maps each aggregate holding personal data (a case, an
  enrolment key) to its student's key, for events that carry no national ID.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from datetime import UTC, datetime
from enum import Enum
from functools import partial
from pathlib import Path
from typing import Any, ClassVar
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import EventStore, Mapper, RecordConflictError, StoredEvent
from eventsourcing.utils import register_topic, resolve_topic

from aidflow.config import StoreURL, one_line
from aidflow.domain import canonical
from aidflow.domain.errors import (
    INSUFFICIENT_PRIVILEGE,
    InvalidInput,
    KeysWithheld,
    MasterKeyError,
    MasterKeyMissing,
    MasterKeyWrong,
    NotAuthorised,
    StoreDamaged,
    StoreUnavailable,
    said,
    sqlstate,
)
from aidflow.domain.events import LEGACY_TOPICS
from aidflow.domain.masking import Sealed
from aidflow.keytables import DDL as _DDL

KEY_ENV = "AIDFLOW_KEY"
KEY_FILE_ENV = "AIDFLOW_KEY_FILE"
TOKEN = "enc:v1:"  # noqa: S105 - the prefix of a ciphertext token, not a secret

KEYLESS = "[sealed]"
"""What a sealed value reads as in a replay made without the master key (:func:`keyless`)."""

_KEYLESS: ContextVar[bool] = ContextVar("aidflow_keyless", default=False)


@contextmanager
def keyless() -> Iterator[None]:
    """Inside the block, a sealed value that the missing master key cannot open reads
    :data:`KEYLESS` (with its student's key id) instead of raising: an auditor's replay of the
    views, whose columns made from personal data are then left out of the comparison
    (issue 22 §3). Never for a write, nor for views kept live."""
    token = _KEYLESS.set(True)
    try:
        yield
    finally:
        _KEYLESS.reset(token)


_REVEALING: ContextVar[dict[str, bytes | None] | None] = ContextVar(
    "aidflow_revealing", default=None
)
"""Inside :func:`revealing`: the keys opened there (each handed out once per reveal)."""


@contextmanager
def revealing() -> Iterator[None]:
    """Inside the block, a command whose post may reveal personal data opens it (a reveal, a
    visit list, a payment list, a statement, a search by name). Outside, a person's login on
    a shared store never opens a sealed value: it reads :data:`KEYLESS` with the stored token,
    and a copy into a new event writes that token back (issue 21 §5)."""
    token = _REVEALING.set({})
    try:
        yield
    finally:
        _REVEALING.reset(token)


_FILED_UNDER = "(key_id = ? OR substr(key_id, 1, ?) = ?)"
"""A student's key and every key filed under it (:func:`_filed_under` gives the values)."""


def _filed_under(key_id: str) -> tuple[str, int, str]:
    return key_id, len(key_id) + 1, f"{key_id}/"


def student_key(key_id: str) -> str:
    """The student's key id of a token's key id: a person's login seals with a key of its
    own filed under the student's (``<student key id>/<16 hex>``), never reading theirs."""
    return key_id.split("/", 1)[0]


_NONCE = 12
_HOW = said(
    "give the store's master key: set AIDFLOW_KEY, or AIDFLOW_KEY_FILE to its key file, or "
    "keep the key file beside the database; a new store gets one with `aidflow keys init`"
)

# -- the master key ----------------------------------------------------------------------------


def key_file(store: StoreURL) -> Path:
    """Where the master key file is looked for: ``$AIDFLOW_KEY_FILE``, beside a SQLite file
    (``office.db`` -> ``office.db.key``), else ``aidflow.key`` in the working directory."""
    given = os.environ.get(KEY_FILE_ENV)
    if given:
        return Path(given)
    if store.backend == "sqlite" and not store.in_memory:
        return Path(store.path + ".key")
    return Path("aidflow.key")


def staged_key_file(store: StoreURL) -> Path | None:
    """Where ``keys rotate`` stages the new key before it replaces the key file (None when
    the key comes from ``AIDFLOW_KEY``, which rotation never rewrites)."""
    if os.environ.get(KEY_ENV):
        return None
    path = key_file(store)
    return path.with_name(path.name + ".new")


def parse_master(text: str, where: str) -> bytes:
    """A master key: base64 (standard or url-safe) of exactly 32 bytes."""
    raw = text.strip()
    try:
        key = base64.urlsafe_b64decode(raw.replace("+", "-").replace("/", "_") + "==")
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise MasterKeyWrong(
            said(
                "the master key in {where} is not base64 of 32 bytes; {how}",
                where=where,
                how=_HOW,
            ),
            ids={"key": where},
        )
    return key


def load_master(store: StoreURL) -> tuple[bytes | None, str]:
    """The master key and where it came from, or None when none was given."""
    env = os.environ.get(KEY_ENV)
    if env:
        return parse_master(env, KEY_ENV), KEY_ENV
    path = key_file(store)
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        if os.environ.get(KEY_FILE_ENV):
            raise MasterKeyMissing(
                said(
                    "the key file {path} named by {env} does not exist; {how}",
                    path=path,
                    env=KEY_FILE_ENV,
                    how=_HOW,
                ),
                ids={"key": str(path)},
            ) from None
        return None, str(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise MasterKeyWrong(
            said("cannot read the key file {path}: {exc}; {how}", path=path, exc=exc, how=_HOW)
        ) from None
    return parse_master(text, str(path)), str(path)


def key_fingerprint(master: bytes) -> str:
    """A master key's name on record: 16 hex digits of a value derived from it (never the key,
    and no shortcut to it)."""
    return hmac.new(master, b"aidflow/key-fingerprint", hashlib.sha256).hexdigest()[:16]


def new_master() -> str:
    """A new master key, as the text a key file or ``AIDFLOW_KEY`` holds."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def write_key_file(path: Path, text: str | None = None) -> bool:
    """Create ``path`` (owner-only) holding a new master key; False when it exists already."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write((text or new_master()) + "\n")
    except OSError as exc:  # a full disk: an empty key file would pass for the store's key
        path.unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    return True


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _token_key_id(token: Any) -> str:
    """The data key id a sealed field's token names ("" for anything else)."""
    return token[len(TOKEN) :].split(":", 1)[0] if _is_token(token) else ""


def _keyed(secret: bytes, kind: str, value: str) -> str:
    """HMAC-SHA256 (hex) of ``kind/value`` under the store's lookup secret."""
    return hmac.new(secret, f"{kind}/{value}".encode(), hashlib.sha256).hexdigest()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# -- the keys' tables --------------------------------------------------------------------------


class _Db:
    """A direct connection to the store's database for the key tables (autocommit)."""

    def __init__(self, store: StoreURL) -> None:
        self.store = store
        self.sqlite = store.backend == "sqlite"
        self._conn: Any = None
        self.ready = False
        self.lock = threading.RLock()
        """One statement (or transaction) at a time: a service calls from several threads."""

    def conn(self) -> Any:
        if self._conn is None:
            if self.sqlite:
                target = ":memory:" if self.store.in_memory else self.store.sqlite_uri()
                conn = sqlite3.connect(
                    target,
                    uri=not self.store.in_memory,
                    timeout=self.store.busy_timeout,
                    isolation_level=None,
                    check_same_thread=False,  # serialised by ``lock``
                )
                conn.execute("PRAGMA secure_delete = ON")
                self._conn = conn
            else:
                self._conn = self.store.connect()
        return self._conn

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if not self.sqlite:
            sql = sql.replace("?", "%s")
        with self.lock:
            try:
                cursor = self.conn().execute(sql, params)
            except Exception as exc:
                self._unless_lost(exc)
                self._unless_withheld(exc)
                raise
            try:
                return list(cursor.fetchall())
            except Exception:  # a statement without rows (psycopg raises, sqlite3 gives [])
                return []

    def run_many(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> int:
        """One SQLite statement for each of ``rows``, without a round of Python between;
        returns the rows it changed."""
        with self.lock:
            return int(self.conn().executemany(sql, rows).rowcount)

    def _unless_lost(self, exc: Exception) -> None:
        """A PostgreSQL connection that could not be made, or was lost (a restart, a DBA's
        kill, the server's connection limit): :class:`StoreUnavailable`, and the next
        statement connects again. It says nothing about a record being read: a view meeting
        it keeps its position and records no failure (it recorded the record as damaged,
        and kept the dead connection, so every view stopped until the process ended)."""
        if self.sqlite:
            return
        import psycopg

        if not isinstance(exc, psycopg.Error):
            return
        conn = self._conn
        lost = conn is None or conn.closed or conn.broken
        if not lost:
            return  # the connection is fine: the statement's own error (a lock wait, a refusal)
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
        self._conn = None
        raise StoreUnavailable(
            said(
                "lost the connection to {store}: {reason}; nothing was written by it, give the command again",
                store=self.store.shown,
                reason=one_line(exc),
            )
        ) from exc

    def _unless_withheld(self, exc: Exception) -> None:
        """The database's refusal of a key table to this login (no grant, not the store's
        own ``aidflow:`` refusals): :class:`KeysWithheld`, not an internal error. An auditor's
        login reads no key, even where the master key is set in its environment; an admin's
        own login re-wraps none (``keys rotate`` is the owner's or the service's to run)."""
        if sqlstate(exc) == INSUFFICIENT_PRIVILEGE and "aidflow: " not in str(exc):
            raise KeysWithheld(
                said(
                    "the database withholds the store's keys from this login ({store}), so what needs them was not done: ask under a login that holds them (the owner's or the service's), or without the master key for what can be answered without it",
                    store=self.store.shown,
                )
            ) from exc

    def create(self) -> None:
        if self.ready:
            return
        if not self.store.read_only:
            for ddl in _DDL:
                try:
                    self.run(ddl)
                except Exception:  # a writer login may not create: the owner made them
                    if self.sqlite:
                        raise
                    break
        self.ready = True

    def table_exists(self) -> bool:
        if self.sqlite:
            rows = self.run(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'aidflow_data_keys'"
            )
        else:
            rows = self.run("SELECT to_regclass('aidflow_data_keys') IS NOT NULL")
            rows = [r for r in rows if r[0]]
        return bool(rows)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def purge_old_copies(db: _Db, store: StoreURL, what: str) -> None:
    """After a key was destroyed or re-wrapped, leave no old copy in the database's files.

    SQLite: ``secure_delete`` zeroed the old cell; the WAL is checkpointed and the file
    rebuilt, so no free page keeps a copy. PostgreSQL: an UPDATE leaves the old tuple in the
    table's heap file until it is rewritten: ``VACUUM FULL`` of the key tables writes them
    anew and drops the old files (the owner's or the service's; what the WAL and backups still
    hold, and how to purge them, is in docs/security.md). Another process in the way only
    delays it: a warning says what to run again."""
    if store.in_memory:
        return
    statements = (
        ["PRAGMA wal_checkpoint(TRUNCATE)", "VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)"]
        if db.sqlite
        else [f"VACUUM (FULL) {table}" for table in ("aidflow_data_keys", "aidflow_keyring")]
    )
    try:
        for statement in statements:
            db.run(statement)
    except Exception as exc:  # a reader holding the file, or a login that may not rewrite it
        warnings.warn(
            f"{what} was destroyed, but an old copy may stay in the database's files until "
            f"they are rewritten ({one_line(exc)}); run `aidflow case erase` again (on "
            "PostgreSQL as the owner or the service) when no one else is using the store",
            stacklevel=3,
        )


_PG_PUT = {
    "aidflow_data_keys": "aidflow_put_key",
    "aidflow_key_owners": "aidflow_bind_key",
    "aidflow_keyring": "aidflow_put_secret",
}
"""On PostgreSQL, the store's function that inserts into each key table (issue 21 §1)."""
_CALLS_A_STATEMENT = 100


# -- the vault ---------------------------------------------------------------------------------


class Keyring:
    """The store's master key and what it wraps: the lookup secret, the snapshot key, every
    wrapped key's rotation, and the count of keys handed to persons (:class:`Vault` seals
    and opens personal values with them)."""

    def __init__(self, store: StoreURL) -> None:
        self.store = store
        self.db = _Db(store)
        self._master: bytes | None = None
        self._master_from = ""
        self._loaded = False
        self._lookup: bytes | None = None
        self._snapshot_key: bytes | None = None
        self._wrapping: bytes | None = None
        self._keys: dict[str, bytes | None] = {}
        """Data keys opened (or made) here, by key id; None: erased."""

    # the master key and the lookup secret

    def master(self) -> bytes:
        if not self._loaded:
            self._master, self._master_from = load_master(self.store)
            self._loaded = True
        if self._master is None:
            raise MasterKeyMissing(
                said(
                    "this store holds (or is about to hold) personal data, and no master key was given (looked in {env} and {source}); {how}",
                    env=KEY_ENV,
                    source=self._master_from,
                    how=_HOW,
                ),
                ids={"key": self._master_from},
            )
        return self._master

    def has_master(self) -> bool:  # an auditor need not be given it (issue 22 §3)
        with contextlib.suppress(MasterKeyMissing):
            return bool(self.master())
        return False

    def ensure_master(self) -> Path | None:
        """The demo's way in: use the master key given, else create the key file where
        :func:`key_file` looks (an in-memory store gets a key for this process only).
        Returns the key file created, if one was."""
        try:
            self.master()
            return None
        except MasterKeyMissing:
            if self.store.in_memory:
                self.use_master(secrets.token_bytes(32), "this process")
                return None
        path = key_file(self.store)
        write_key_file(path)
        self._loaded = False
        self.master()
        return path

    def use_master(self, master: bytes, where: str = "the caller") -> None:
        """Use this master key (a test, the demo, an embedding service) instead of looking."""
        self._master, self._master_from, self._loaded = master, where, True
        self._lookup = None
        self._snapshot_key = None
        self._wrapping = None
        self._keys.clear()

    def _wrapping_key(self, master: bytes | None) -> bytes:
        """The key data keys are wrapped with: derived once for the master key in force (a
        screening wraps 50,000 new keys), each time for another (a rotation's)."""
        if master is not None:
            return _derive(master, b"aidflow wrap v1")
        if self._wrapping is None:
            self._wrapping = _derive(self.master(), b"aidflow wrap v1")
        return self._wrapping

    def _wrap(self, secret: bytes, label: str, master: bytes | None = None) -> str:
        wrap = self._wrapping_key(master)
        nonce = secrets.token_bytes(_NONCE)
        return _b64(nonce + AESGCM(wrap).encrypt(nonce, secret, label.encode()))

    def _unwrap(self, text: str, label: str, master: bytes | None = None) -> bytes:
        wrap = self._wrapping_key(master)
        data = _unb64(text)
        try:
            return AESGCM(wrap).decrypt(data[:_NONCE], data[_NONCE:], label.encode())
        except InvalidTag:
            if master is None and self._staged_opens(text, label):  # a rotation cut short
                return self._unwrap(text, label)
            raise MasterKeyWrong(
                said(
                    "the master key from {source} does not open this store's keys (it is another store's key, or the key was changed); {how}",
                    source=self._master_from,
                    how=_HOW,
                ),
                ids={"key": self._master_from},
            ) from None

    def _staged_opens(self, text: str, label: str) -> bool:
        """A rotation killed after its commit and before its key file was renamed leaves the
        new key in ``<key file>.new``: when that key opens this store, use it (the store opens
        with the old key or the new one, never neither; ``keys rotate`` finishes the rename)."""
        staged = staged_key_file(self.store)
        if staged is None or self._master_from == str(staged) or not staged.is_file():
            return False
        try:
            candidate = parse_master(staged.read_text(encoding="ascii"), str(staged))
            data = _unb64(text)
            AESGCM(self._wrapping_key(candidate)).decrypt(
                data[:_NONCE], data[_NONCE:], label.encode()
            )
        except (MasterKeyWrong, InvalidTag, OSError, UnicodeDecodeError):
            return False
        self.use_master(candidate, str(staged))
        return True

    def opens(self, master: bytes) -> bool:
        """Whether ``master`` opens this store's keys (an empty store opens with any key)."""
        self.db.create()
        rows = self._select("SELECT value FROM aidflow_keyring WHERE name = 'lookup'")
        label = "lookup"
        if not rows:
            rows = self._select(
                "SELECT wrapped, key_id FROM aidflow_data_keys WHERE wrapped IS NOT NULL LIMIT 1"
            )
            if not rows:
                return True
            label = f"data/{rows[0][1]}"
        data = _unb64(str(rows[0][0]))
        try:
            AESGCM(self._wrapping_key(master)).decrypt(data[:_NONCE], data[_NONCE:], label.encode())
        except InvalidTag:
            return False
        return True

    def lookup_secret(self) -> bytes:
        """The HMAC key for lookups, made on first need and kept wrapped in the store."""
        if self._lookup is None:
            master = self.master()
            self.db.create()
            rows = self._select("SELECT value FROM aidflow_keyring WHERE name = 'lookup'")
            if not rows:
                if self.store.read_only:
                    raise MasterKeyMissing(
                        said("this read-only store has no lookup key yet; open it once for writing")
                    )
                secret = secrets.token_bytes(32)
                self._insert_all(
                    [
                        (
                            "aidflow_keyring",
                            ("name", "value"),
                            ("lookup", self._wrap(secret, "lookup")),
                        )
                    ]
                )
                rows = self._select("SELECT value FROM aidflow_keyring WHERE name = 'lookup'")
            self._lookup = self._unwrap(str(rows[0][0]), "lookup", master)
        return self._lookup

    def snapshot_key(self) -> bytes:
        """The key snapshots are sealed with (issue 21 §4), derived from the lookup secret.

        Only the master key unwraps that secret, so a database login without it cannot seal
        a snapshot; the secret is random per store, so another store's seal (even under the
        same master key) does not verify here; and ``keys rotate`` re-wraps the secret
        without changing it, so rotating does not turn every snapshot into a false alarm.
        """
        if self._snapshot_key is None:
            self._snapshot_key = _derive(self.lookup_secret(), b"aidflow snapshot v1")
        return self._snapshot_key

    def keyed(self, kind: str, value: str) -> str:
        """A keyed hash (HMAC-SHA256, hex) of a canonical value: found again, never reversed."""
        return _keyed(self.lookup_secret(), kind, value)

    def key_id(self, national_id: str) -> str:
        """The student's data key id: a keyed hash of the canonical national ID."""
        if isinstance(national_id, Sealed):
            return student_key(national_id.key_id)
        return canonical.remembered(f"key_id/{id(self)}", national_id, self._key_id)

    def _key_id(self, national_id: str) -> str:
        return self.keyed("student", canonical.national_id(national_id))[:32]

    # rows

    def _select(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if not self.db.ready:
            self.db.create()
        if self.store.read_only and not self.db.table_exists():
            return []
        return self.db.run(sql, params)

    def _insert_all(
        self, rows: Sequence[tuple[str, tuple[str, ...], tuple[Any, ...]]]
    ) -> dict[str, int] | None:
        """Insert each (table, columns, values) unless its key is there, all or none; returns
        how many rows each table took (SQLite; None on PostgreSQL, where it is not counted).

        On PostgreSQL a person's login writes no table: the store's functions do, called
        together in one statement (atomic by itself), so a new student's key and its two
        owners cost one round trip, not five (issue 25 §2); more than fit in one statement
        go in one transaction.
        """
        if self.db.sqlite:  # one statement a table for all its rows (a screening: 150,000)
            tables: dict[tuple[str, tuple[str, ...]], list[tuple[Any, ...]]] = {}
            for table, columns, values in rows:
                tables.setdefault((table, columns), []).append(values)
            taken: dict[str, int] = {}
            with self._transaction() if len(rows) > 1 else contextlib.nullcontext():
                for (table, columns), many in tables.items():
                    marks = ", ".join("?" for _ in columns)
                    insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
                    sql = f"{insert} ON CONFLICT ({columns[0]}) DO NOTHING"
                    taken[table] = taken.get(table, 0) + self.db.run_many(sql, many)
            return taken
        statements: list[tuple[str, tuple[Any, ...]]] = []
        for start in range(0, len(rows), _CALLS_A_STATEMENT):
            chunk = rows[start : start + _CALLS_A_STATEMENT]
            calls = (f"{_PG_PUT[t]}({', '.join('?' for _ in c)})" for t, c, _ in chunk)
            params = tuple(v for *_, values in chunk for v in values)
            statements.append((f"SELECT {', '.join(calls)}", params))
        with self._transaction() if len(statements) > 1 else contextlib.nullcontext():
            for sql, params in statements:
                self.db.run(sql, params)
        return None

    # rotation

    def rotate(self, new_master: bytes) -> int:
        """Re-wrap the lookup secret and every data key under ``new_master``; returns how many
        keys were re-wrapped. One transaction: a failure leaves the old master in force."""
        old = self.master()
        self.db.create()
        rows = self._select("SELECT key_id, wrapped FROM aidflow_data_keys")
        lookup = self._select("SELECT value FROM aidflow_keyring WHERE name = 'lookup'")
        updates: list[tuple[str, str]] = []
        for key_id, wrapped in rows:
            if wrapped is None:
                continue
            key = self._unwrap(str(wrapped), f"data/{key_id}", old)
            updates.append((self._wrap(key, f"data/{key_id}", new_master), str(key_id)))
        with self._transaction():
            for wrapped, key_id in updates:
                self.db.run(
                    "UPDATE aidflow_data_keys SET wrapped = ? WHERE key_id = ?", (wrapped, key_id)
                )
            if lookup:
                secret = self._unwrap(str(lookup[0][0]), "lookup", old)
                self.db.run(
                    "UPDATE aidflow_keyring SET value = ? WHERE name = 'lookup'",
                    (self._wrap(secret, "lookup", new_master),),
                )
        self.use_master(new_master, "the new key")
        purge_old_copies(self.db, self.store, "the old master key's wrapping")
        return len(updates)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self.db.lock:
            self.db.run("BEGIN")
            try:
                yield
            except BaseException:
                self.db.run("ROLLBACK")
                raise
            self.db.run("COMMIT")

    def key_handouts(self) -> tuple[int, int] | None:
        """How many data keys the database handed to persons' logins, and how many of those
        hand-outs are on record (PostgreSQL; None where there is no such count, or this login
        may not read it). Fewer on record than handed out: a caller's own transaction rolled
        a record back after it was given the key (issue 21 §5)."""
        if self.db.sqlite:
            return None
        try:
            rows = self.db.run(
                "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM aidflow_key_handouts"
            )
            recorded = self.db.run("SELECT count(*) FROM aidflow_key_reads")
        except Exception:  # an older store, or a login without the auditor's rights
            return None
        return int(rows[0][0]), int(recorded[0][0])


class Vault(Keyring):
    """The store's data keys: seal and open personal values, erasure, whose key is whose."""

    def __init__(self, store: StoreURL) -> None:
        super().__init__(store)
        self._owners: dict[str, str] = {}
        self._new_keys: dict[str, str] = {}
        """Data keys made for events being stored: written by :meth:`flush`, in one
        transaction, before the events themselves."""
        self._new_owners: dict[str, str] = {}
        self._lock = threading.Lock()
        self._sealed_only: bool | None = None
        self._own: dict[str, str] = {}
        """Student key id -> the key id this process seals that student's new values with,
        when it may not read the student's own key (:meth:`sealed_only`)."""
        self._anew: dict[str, str] = {}
        """Erased student key id -> the key this process seals a new application of theirs with."""

    def opens_values(self) -> bool:
        """Whether personal values are read in clear here: the master key given, and not a
        person's login, which opens a value only in a reveal (:meth:`sealed_only`). Where
        not, a replay compares without them (:func:`keyless`). An auditor's, an approver's or
        a cashier's login with the key set in its environment compared opened values with
        the views and reported a false drift (an auditor's first met the keyring's refusal)."""
        return self.has_master() and not self.sealed_only()

    def sealed_only(self) -> bool:
        """Whether this login seals without opening (issue 21 §5): a person's PostgreSQL login
        (one that writes no key table itself, as the gate tells persons apart) seals with keys
        of its own and opens a key only through ``aidflow_get_key``, in a command that may
        reveal, the database recording each key it hands out (``aidflow_key_reads``). The
        database holds it to that: such a login has no ``SELECT`` on the wrapped keys."""
        if self._sealed_only is None:
            self._sealed_only = False
            if not self.db.sqlite:
                self.db.create()
                if self.db.table_exists():
                    rows = self.db.run(
                        "SELECT has_table_privilege(current_user, 'aidflow_data_keys', 'INSERT')"
                    )
                    self._sealed_only = not (rows and rows[0][0])
        return self._sealed_only

    # data keys

    def data_key(self, key_id: str, *, create: bool) -> bytes | None:
        """The student's data key; None when it was erased. Made on first use if ``create``."""
        if key_id in self._keys and (create or key_id not in self._new_keys):
            return self._keys[key_id]  # read before; or made for this save, sealing again
        if self.sealed_only():  # its own keys, else only what the database hands out
            return self._keys[key_id] if key_id in self._keys else self._handed_out(key_id)
        rows = self._select("SELECT wrapped FROM aidflow_data_keys WHERE key_id = ?", (key_id,))
        if key_id in self._keys:  # made here and not yet written, and now a record to open
            if not rows:
                return self._keys[key_id]
            with self._lock:  # another process stored the student's key first: theirs holds
                self._new_keys.pop(key_id, None)
                self._keys.pop(key_id, None)
        if not rows and create:
            return self._make(key_id)
        key = self._unwrapped(key_id, rows)
        self._keys[key_id] = key
        return key

    def read_ahead(self, tokens: Iterable[str]) -> None:
        """Read the data keys these tokens are sealed with, 500 a statement (:meth:`_stored`),
        before they are opened one by one: a rebuild read each student's key alone (12,600
        statements at 100,000 events, a tenth of the queue's rebuild). Only where values are
        opened here (a person's login opens none outside a reveal, each hand-out recorded);
        a key not found, or not opening, is left for :meth:`data_key` to name."""
        wanted = sorted(
            {key_id for t in tokens if (key_id := _token_key_id(t)) and key_id not in self._keys}
        )
        if not wanted or not self.opens_values():
            return
        for key_id, wrapped in self._stored(wanted).items():
            if key_id in self._keys:  # made here meanwhile: data_key decides
                continue
            with contextlib.suppress(StoreDamaged):  # named when its field is opened
                self._keys[key_id] = self._unwrapped(key_id, [(wrapped,)])

    def _make(self, key_id: str) -> bytes:
        """A new data key for the student, written by the next :meth:`flush`."""
        made = secrets.token_bytes(32)
        with self._lock:
            self._new_keys[key_id] = self._wrap(made, f"data/{key_id}")
            self._keys[key_id] = made
        return made

    def make_ready(self, key_ids: Iterable[str]) -> None:
        """The data keys of many students about to be sealed for (a screening's batch of
        500): read in one query, made where none is stored, instead of one query each.
        A key another process stores meanwhile conflicts at :meth:`flush`, as for one."""
        wanted = sorted({k for k in key_ids if k not in self._keys})
        if not wanted or self.sealed_only():
            return
        stored = self._stored(wanted)
        for key_id in wanted:
            if key_id in stored:
                self._keys[key_id] = self._unwrapped(key_id, [(stored[key_id],)])
            else:
                self._make(key_id)

    def _stored(self, ids: list[str]) -> dict[str, Any]:
        """Key id -> its wrapped key (None once erased), for those of ``ids`` stored."""
        stored: dict[str, Any] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            for key_id, wrapped in self._select(
                f"SELECT key_id, wrapped FROM aidflow_data_keys WHERE key_id IN ({marks})",  # noqa: S608
                tuple(chunk),
            ):
                stored[str(key_id)] = wrapped
        return stored

    def _unwrapped(self, key_id: str, rows: list[tuple[Any, ...]]) -> bytes | None:
        """A data key from its row: None once erased; no row is damage (a lost table)."""
        if not rows:
            raise StoreDamaged(
                said(
                    "the data key {key_id} is not in this store's key table; restore the table from the backup taken with the events",
                    key_id=key_id,
                ),
                ids={"key_id": key_id},
            )
        wrapped = rows[0][0]
        return None if wrapped is None else self._unwrap(str(wrapped), f"data/{key_id}")

    def _handed_out(self, key_id: str) -> bytes | None:
        """A key opened by a person's login: by the store's function, which checks the login's
        post and records the hand-out (kept only until the reveal that asked ends)."""
        opened = _REVEALING.get()
        if opened is not None and key_id in opened:
            return opened[key_id]
        try:
            rows = self._select("SELECT wrapped FROM aidflow_get_key(?)", (key_id,))
        except Exception as exc:  # the function's refusal: a post that may not reveal
            if "aidflow: " not in str(exc):
                raise
            reason = str(exc).split("aidflow: ", 1)[1].splitlines()[0]
            raise NotAuthorised(
                said("the database opened no personal data: {reason}", reason=reason)
            ) from None
        key = self._unwrapped(key_id, rows)
        if opened is not None:
            opened[key_id] = key
        return key

    def _sealing_key(self, key_id: str, *, anew: bool = False) -> tuple[str, bytes | None]:
        """The key id to write and its key: the student's own, or, for a login that may not
        read it, one of this process's filed under it. None: the student's key was erased,
        and nothing more is written for their cases; but a new application of theirs
        (``anew``: a student who comes back after the erasure) is sealed with a new key filed
        under theirs, which erasing their data again destroys with the rest."""
        if anew and key_id in self._anew:
            own = self._anew[key_id]
        elif not self.sealed_only():
            key = self.data_key(key_id, create=True)
            if key is not None or not anew:
                return key_id, key
            own = self._anew[key_id] = self._filed_under(key_id)  # erased: a returning student
        elif key_id in self._own:
            own = self._own[key_id]
        elif not self.erased(key_id):
            own = self._own[key_id] = self._filed_under(key_id)
        elif anew:
            own = self._anew[key_id] = self._filed_under(key_id)
        else:
            return key_id, None
        return own, self._keys[own]

    def _filed_under(self, key_id: str) -> str:
        """A new data key filed under the student's (``<key id>/<16 hex>``), made here."""
        own = f"{key_id}/{secrets.token_hex(8)}"
        self._make(own)
        return own

    def seal(self, key_id: str, field: str, text: str, *, anew: bool = False) -> str:
        """``text`` sealed for the student ``key_id`` names (``anew``: in their new
        application, see :meth:`_sealing_key`)."""
        key_id, key = self._sealing_key(key_id, anew=anew)
        if key is None:
            raise StoreDamaged(
                said(
                    "the data key {key_id} was erased; nothing more is written with it",
                    key_id=key_id,
                )
            )
        nonce = secrets.token_bytes(_NONCE)
        data = AESGCM(key).encrypt(nonce, text.encode("utf-8"), f"{key_id}|{field}".encode())
        return f"{TOKEN}{key_id}:{_b64(nonce + data)}"

    def open(self, field: str, token: str) -> Sealed:
        try:
            key_id, body = token[len(TOKEN) :].split(":", 1)
            data = _unb64(body)
        except (ValueError, binascii.Error):
            raise StoreDamaged(
                said("a personal field ({field}) holds a malformed token", field=field)
            ) from None
        student = student_key(key_id)
        unopened = Sealed(KEYLESS, student, token=token, field=field)
        if self.sealed_only() and _REVEALING.get() is None and key_id not in self._keys:
            return unopened  # a person's login: sealed, never opened outside a reveal
        try:
            key = self.data_key(key_id, create=False)
        except MasterKeyMissing:
            if not _KEYLESS.get():
                raise
            return unopened  # an auditor's replay: compared without the text
        if key is None:
            return Sealed("", student, erased=True)
        try:
            text = AESGCM(key).decrypt(data[:_NONCE], data[_NONCE:], f"{key_id}|{field}".encode())
        except InvalidTag:
            raise StoreDamaged(
                said(
                    "a personal field ({field}) does not decrypt with its data key {key_id}; the record was altered: run `aidflow audit verify`",
                    field=field,
                    key_id=key_id,
                ),
                ids={"key_id": key_id},
            ) from None
        plain = text.decode("utf-8")
        # the secret read now, outside any view's write transaction; the hash made if asked
        return Sealed(plain, student, lookup=partial(_keyed, self.lookup_secret(), field, plain))

    def erased(self, key_id: str) -> bool:
        """Whether the student's key (or any key filed under it) was erased."""
        rows = self._select(
            f"SELECT 1 FROM aidflow_data_keys WHERE erased_at IS NOT NULL AND {_FILED_UNDER}",  # noqa: S608 - a constant
            _filed_under(key_id),
        )
        return bool(rows)

    def erase(self, key_id: str) -> None:
        """Destroy a student's data key (keep a tombstone: erased, not lost)."""
        erased_at = datetime.now(UTC).isoformat()
        if self.db.sqlite:  # the student's key and every key filed under it
            self.db.run(
                f"UPDATE aidflow_data_keys SET wrapped = NULL, erased_at = ? WHERE {_FILED_UNDER}",  # noqa: S608 - a constant
                (erased_at, *_filed_under(key_id)),
            )
        else:  # the store's function: an admin's login, or the service (issue 21 §1)
            self.db.run("SELECT aidflow_erase_key(?, ?)", (key_id, erased_at))
        for known in [k for k in self._keys if student_key(k) == key_id]:
            self._keys[known] = None
        self._own.pop(key_id, None)
        self._anew.pop(key_id, None)
        purge_old_copies(self.db, self.store, f"the data key {key_id}")

    # owners: which student's key an aggregate's personal data uses

    def owner(self, owner_id: UUID | str) -> str | None:
        found = self._owners.get(str(owner_id))
        if found is None:
            rows = self._select(
                "SELECT key_id FROM aidflow_key_owners WHERE owner_id = ?", (str(owner_id),)
            )
            found = str(rows[0][0]) if rows else None
            if found is not None:
                self._owners[str(owner_id)] = found
        return found

    def owners_of(self, key_id: str) -> list[str]:
        rows = self._select("SELECT owner_id FROM aidflow_key_owners WHERE key_id = ?", (key_id,))
        return sorted(str(r[0]) for r in rows)

    def bind(self, owner_id: UUID | str, key_id: str) -> None:
        """Remember which student key ``owner_id``'s personal data uses (written by
        :meth:`flush`, or at once when nothing is being stored)."""
        owner = str(owner_id)
        if self._owners.get(owner) == key_id or self.store.read_only:
            return
        with self._lock:
            self._new_owners[owner] = key_id
            self._owners[owner] = key_id

    def flush(self) -> None:
        """Write the data keys and owners made since the last flush, in one transaction,
        before the events sealed with them are stored. A key another process made first
        for the same student (two applications at once) makes this save conflict, so the
        command runs again with the stored key."""
        with self._lock:
            keys, owners = self._new_keys, self._new_owners
            self._new_keys, self._new_owners = {}, {}
        if not keys and not owners:
            return
        now = datetime.now(UTC).isoformat()
        try:
            self.db.create()
            taken = self._insert_all(
                [
                    *(
                        ("aidflow_data_keys", ("key_id", "wrapped", "created_at"), (k, w, now))
                        for k, w in keys.items()
                    ),
                    *(
                        ("aidflow_key_owners", ("owner_id", "key_id"), (o, k))
                        for o, k in owners.items()
                    ),
                ]
            )
        except BaseException:  # nothing written: no later save may seal with these keys
            with self._lock:
                for key_id in keys:
                    self._keys.pop(key_id, None)
                for owner in owners:
                    self._owners.pop(owner, None)
            raise
        if taken is not None and taken.get("aidflow_data_keys", 0) == len(keys):
            return  # every key went in as made here: none was there before (a screening's 500)
        lost = self._lost(keys)
        if lost:
            for key_id in lost:
                self._keys.pop(key_id, None)
            raise RecordConflictError(f"another process made the data key {lost[0]} first")

    def _lost(self, keys: dict[str, str]) -> list[str]:
        if self.sealed_only():
            return []  # keys of its own, under ids no one else makes
        stored = self._stored(list(keys))
        return [k for k, wrapped in keys.items() if stored.get(k) != wrapped]


# -- the persistence edge ----------------------------------------------------------------------


def _named_student(domain_event: Any) -> str | None:
    """The student an event names in clear: a new application (a case's or its key's); the
    events of a case read back name theirs sealed."""
    student = vars(domain_event).get("student_id")
    if type(student) is str and student and "student_id" in personal_fields(type(domain_event)):
        return student
    return None


def _named_students(vault: Vault, domain_events: Iterable[Any]) -> Iterator[str]:
    """The key ids of the students events name in clear: their events are sealed with
    those keys (:meth:`PrivacyMapper._key_for`)."""
    for domain_event in domain_events:
        student = _named_student(domain_event)
        if student is not None:
            yield vault.key_id(student)


def personal_fields(cls: type[Any]) -> tuple[str, ...]:
    """The fields an event class declares personal (``PERSONAL``), none by default."""
    return tuple(getattr(cls, "PERSONAL", ()))


def aggregate_personal(topic: str) -> tuple[str, ...]:
    """The personal attributes of an aggregate (for its snapshots): every field any of its
    event classes declares personal."""
    try:
        cls = resolve_topic(topic)
    except Exception:
        return ()
    found: list[str] = []
    for value in vars(cls).values():
        if isinstance(value, type):
            for name in personal_fields(value):
                if name not in found:
                    found.append(name)
    return tuple(found)


def _nested(value: Any, fields: tuple[str, ...], change: Any) -> Any:
    """``value`` with ``change(name, text)`` applied to every non-empty text under a personal
    field's name in its nested dicts and lists (a case's payments keep the account paid to)."""
    if isinstance(value, dict):
        return {
            k: change(k, v)
            if k in fields and isinstance(v, str) and v
            else _nested(v, fields, change)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_nested(v, fields, change) for v in value]
    return value


def _is_token(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(TOKEN)


# Topics written by earlier releases resolve to today's classes (docs/domain.md, "Versioning").
# The domain lists them; they are registered here, at the edge every stored event is read
# through (this mapper, the views' decoder), so the domain needs nothing of the library's
# topic registry.
for _topic, _cls in LEGACY_TOPICS.items():
    register_topic(_topic, _cls)


class PrivacyMapper(Mapper[UUID]):
    """Encrypts declared personal fields of events and snapshots on the way to the store,
    and decrypts them on the way back. Values stored in clear (v0.1.0) are read as they are."""

    vault: Vault | None = None
    _snapshot_cache: ClassVar[dict[str, tuple[str, ...]]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._prepared: dict[int, StoredEvent] = {}

    def _personal(self, domain_event: Any) -> tuple[tuple[str, ...], dict[str, Any] | None]:
        if isinstance(domain_event, Snapshot):
            topic = domain_event.topic
            if topic not in self._snapshot_cache:
                self._snapshot_cache[topic] = aggregate_personal(topic)
            return self._snapshot_cache[topic], dict(domain_event.state)
        return personal_fields(type(domain_event)), None

    def _key_for(self, vault: Vault, owner: Any, values: dict[str, Any]) -> str:
        student = values.get("student_id")
        if isinstance(student, Sealed):
            return student.key_id
        if isinstance(student, str) and student:
            key_id = vault.key_id(student)
            vault.bind(owner, key_id)
            return key_id
        for value in values.values():
            if isinstance(value, Sealed):
                return value.key_id
        found = vault.owner(owner)
        if found is None:
            raise StoreDamaged(
                said(
                    "personal data for {owner} has no student key (its application was not read or not recorded); load the case before writing to it",
                    owner=owner,
                ),
                ids={"aggregate_id": str(owner)},
            )
        return found

    def prepare(self, domain_events: Any) -> None:
        """Seal a save's events, then write the keys they need, before any is stored."""
        if self.vault is not None:
            self.vault.make_ready(_named_students(self.vault, domain_events))
        prepared = {id(e): self._seal(e) for e in domain_events}
        if self.vault is not None:
            self.vault.flush()
        self._prepared.update(prepared)

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        prepared = self._prepared.pop(id(domain_event), None)
        if prepared is not None:
            return prepared
        stored = self._seal(domain_event)
        if self.vault is not None:
            self.vault.flush()
        return stored

    def _seal(self, domain_event: Any) -> StoredEvent:
        fields, state = self._personal(domain_event)
        if not fields:  # a fund's, the registry's: nothing to look for (a fund's snapshot at
            return super().to_stored_event(domain_event)  # 5,000 receipts took 84 ms to walk)
        values = state if state is not None else vars(domain_event)
        wanted = [f for f in fields if isinstance(values.get(f), str) and values.get(f)]
        nested = state is not None and any(
            isinstance(v, dict | list) and _nested(v, fields, lambda _n, _v: "") != v
            for v in values.values()
        )
        if not wanted and not nested:
            return super().to_stored_event(domain_event)
        vault = self.vault
        if vault is None:
            raise MasterKeyMissing(
                said("personal data cannot be stored without a key vault; {how}", how=_HOW)
            )
        key_id = self._key_for(vault, domain_event.originator_id, values)
        anew = state is None and _named_student(domain_event) is not None

        def seal(name: str, value: Any) -> str:
            if isinstance(value, Sealed) and value.erased:
                return f"{TOKEN}{value.key_id}:"  # still erased when read back
            if isinstance(value, Sealed) and value.token:
                if value.field != name:  # its token opens only under the field it was made for
                    raise StoreDamaged(
                        said(
                            "a sealed {was} cannot be written as {now} without opening it",
                            was=value.field,
                            now=name,
                        )
                    )
                return value.token  # read unopened, written back unchanged
            return vault.seal(key_id, name, str(value), anew=anew)

        sealed = dict(values)
        for name in wanted:
            sealed[name] = seal(name, values[name])
        if state is not None:  # an aggregate keeps personal fields in nested records too
            for name, value in values.items():
                if isinstance(value, dict | list):
                    sealed[name] = _nested(value, fields, seal)
        clone = object.__new__(type(domain_event))
        if state is not None:
            object.__setattr__(clone, "__dict__", {**vars(domain_event), "state": sealed})
        else:
            object.__setattr__(clone, "__dict__", sealed)
        return super().to_stored_event(clone)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        domain_event = super().to_domain_event(stored_event)
        fields, state = self._personal(domain_event)
        if not fields:
            return domain_event
        values = state if state is not None else vars(domain_event)
        if not any(_is_token(values.get(f)) for f in fields) and not (
            state is not None and TOKEN in str(values)
        ):
            self._bind_legacy(domain_event.originator_id, values)
            return domain_event
        vault = self.vault
        if vault is None:
            raise MasterKeyMissing(
                said("personal data cannot be read without a key vault; {how}", how=_HOW)
            )
        for name in fields:
            if _is_token(values.get(name)):
                values[name] = vault.open(name, values[name])
        if state is not None:
            for name, value in list(values.items()):
                if isinstance(value, dict | list):
                    values[name] = _nested(
                        value, fields, lambda n, v: vault.open(n, v) if _is_token(v) else v
                    )
        if state is not None:
            object.__setattr__(domain_event, "__dict__", {**vars(domain_event), "state": values})
        return domain_event

    def _bind_legacy(self, owner: Any, values: dict[str, Any]) -> None:
        """A case written in clear (v0.1.0) gets its student's key on first read, so its new
        personal data is encrypted."""
        student = values.get("student_id")
        vault = self.vault
        if vault is None or vault.store.read_only or not isinstance(student, str) or not student:
            return
        if vault.owner(owner) is not None:
            return
        try:
            vault.bind(owner, vault.key_id(student))
        except (MasterKeyMissing, InvalidInput):
            return  # no key: reading in clear still works; writing will ask for it


class SealingEventStore(EventStore[UUID]):
    """An event store whose saves seal every event first, then write the student keys they
    need (one transaction), then the events: keys are always committed before their events."""

    def put(self, domain_events: Any, **kwargs: Any) -> Any:
        mapper = self.mapper
        if isinstance(mapper, PrivacyMapper):
            mapper.prepare(domain_events)
        return super().put(domain_events, **kwargs)


# -- snapshots: sealed on the way in, checked on the way out (issue 21 §4) ---------------------


class SealState(Enum):
    """What a stored snapshot's seal says about it."""

    SEALED = "sealed"
    """Its seal verifies: this store's key sealed exactly this id, version, topic and state."""
    UNSEALED = "unsealed"
    """No seal: written before snapshots were sealed (or an attacker took the seal off)."""
    BROKEN = "broken"
    """A seal that does not verify: forged, altered, or moved from another aggregate,
    version or store."""


_SEAL_LEAD = b',"seal":"v1:'
_SEAL_TAIL = b'"}'
_SEAL_SIZE = len(_SEAL_LEAD) + 64 + len(_SEAL_TAIL)


def _id_text(originator_id: Any) -> str:
    """An aggregate id as one text on both backends (SQLite keeps hex, PostgreSQL a uuid)."""
    try:
        return str(UUID(str(originator_id)))
    except ValueError:
        return str(originator_id)


def _split_seal(state: bytes) -> tuple[bytes, bytes | None]:
    """The stored state as the library wrote it, and the MAC appended to it (None if none)."""
    tail = state[-_SEAL_SIZE:]
    if len(state) <= _SEAL_SIZE or not (tail.startswith(_SEAL_LEAD) and tail.endswith(_SEAL_TAIL)):
        return state, None
    try:
        mac = bytes.fromhex(tail[len(_SEAL_LEAD) : -len(_SEAL_TAIL)].decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return state, None
    return state[:-_SEAL_SIZE] + b"}", mac


class SnapshotMapper(PrivacyMapper):
    """The snapshot store's mapper: every snapshot it writes carries a keyed MAC
    (HMAC-SHA256 under :meth:`Vault.snapshot_key`) over its aggregate id, version, topic and
    stored state, so a database login without the master key cannot write one a command
    would use, nor move one to another aggregate or version.

    The MAC is the last member of the stored JSON (``..., "seal": "v1:<hex>"}``): the row
    stays JSON that the library and any reader decode, and taking the member off gives back
    exactly the bytes the MAC covers. The vault is the event mapper's own (it follows
    ``AidFlow.vault``), so both always use the same keys.
    """

    def __init__(self, events: PrivacyMapper) -> None:
        super().__init__(transcoder=events.transcoder)
        self._events = events

    @property
    def vault(self) -> Vault | None:
        return self._events.vault

    @vault.setter
    def vault(self, vault: Vault | None) -> None:
        self._events.vault = vault

    def _mac(self, stored: StoredEvent, body: bytes) -> bytes:
        vault = self.vault
        if vault is None:
            raise MasterKeyMissing(
                said("snapshots cannot be sealed or checked without a key vault; {how}", how=_HOW)
            )
        parts = (
            _id_text(stored.originator_id).encode(),
            str(int(stored.originator_version)).encode(),
            stored.topic.encode(),
            body,
        )
        message = b"aidflow snapshot v1" + b"".join(len(p).to_bytes(8, "big") + p for p in parts)
        return hmac.new(vault.snapshot_key(), message, hashlib.sha256).digest()

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        """The snapshot as the library stores it, its seal appended (raises
        :class:`~aidflow.domain.errors.MasterKeyError` without the key: no snapshot then)."""
        stored = super().to_stored_event(domain_event)
        body = stored.state
        if not (body.startswith(b"{") and body.endswith(b"}") and len(body) > 2):
            raise TypeError("a snapshot's stored state should be a non-empty JSON object")
        seal = _SEAL_LEAD + self._mac(stored, body).hex().encode("ascii") + _SEAL_TAIL
        return replace(stored, state=body[:-1] + seal)

    def seal_of(self, stored: StoredEvent) -> SealState:
        """Whether ``stored`` is sealed by this store's key, unsealed, or broken. Raises
        :class:`~aidflow.domain.errors.MasterKeyError` when it has a seal and no key is given."""
        body, mac = _split_seal(stored.state)
        if mac is not None:
            good = hmac.compare_digest(mac, self._mac(stored, body))
            return SealState.SEALED if good else SealState.BROKEN
        try:
            top = json.loads(stored.state)
        except ValueError:  # undecodable: nothing to trust, and loading it fails anyway
            return SealState.UNSEALED
        # a seal member not where sealing puts it: the row was decoded and written back
        return SealState.BROKEN if isinstance(top, dict) and "seal" in top else SealState.UNSEALED

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        """The snapshot, refused with :class:`~aidflow.domain.errors.StoreDamaged` when its seal
        does not verify. An unsealed one (an older store) is decoded: whoever decides on it
        must ask :meth:`seal_of` first, as the snapshot store does."""
        if self.seal_of(stored_event) is SealState.BROKEN:
            raise StoreDamaged(
                said(
                    "the snapshot of {aggregate_id} at version {version}: its seal does not verify (it was forged or altered); run `aidflow audit verify`",
                    aggregate_id=_id_text(stored_event.originator_id),
                    version=stored_event.originator_version,
                ),
                ids={"aggregate_id": _id_text(stored_event.originator_id)},
            )
        return self.read_unchecked(stored_event)

    def read_unchecked(self, stored_event: StoredEvent) -> Any:
        """The snapshot decoded without checking its seal: for comparing it with its events
        when no key is given (``verify_snapshots``), never for deciding anything."""
        body, _ = _split_seal(stored_event.state)
        return super().to_domain_event(replace(stored_event, state=body))


def seal_checked(mapper: SnapshotMapper, stored: StoredEvent) -> SealState | None:
    """:meth:`SnapshotMapper.seal_of`, or None when a seal cannot be checked without the key."""
    try:
        return mapper.seal_of(stored)
    except MasterKeyError:
        return None
