"""The key tables' shape (SQLite and PostgreSQL alike): the wrapped lookup secret, one wrapped
data key per student (emptied on erasure), and which aggregate's personal data uses which key.

Kept apart from :mod:`aidflow.privacy` (which seals and opens with them) so that the
database's own functions guarding them (:mod:`aidflow.gate`) can be made without it.
"""

from __future__ import annotations

TABLES = ("aidflow_keyring", "aidflow_data_keys", "aidflow_key_owners")
DDL = (
    "CREATE TABLE IF NOT EXISTS aidflow_keyring (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS aidflow_data_keys ("
    " key_id TEXT PRIMARY KEY, wrapped TEXT, created_at TEXT NOT NULL, erased_at TEXT)",
    "CREATE TABLE IF NOT EXISTS aidflow_key_owners ("
    " owner_id TEXT PRIMARY KEY, key_id TEXT NOT NULL)",
)


def key_table_ddl(schema: str = "") -> list[str]:
    """The key tables' DDL, qualified by ``schema`` when given (``aidflow admin roles``)."""
    prefix = f"{schema}." if schema else ""
    return [ddl.replace("EXISTS aidflow_", f"EXISTS {prefix}aidflow_") for ddl in DDL]
