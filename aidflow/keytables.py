"""The key tables' shape (SQLite and PostgreSQL alike): the wrapped lookup secret, the wrapped
data keys (a student's own, and those a person's login sealed with, filed under it; emptied on
erasure), which aggregate's personal data uses which key, and the keys handed out.

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
    "CREATE TABLE IF NOT EXISTS aidflow_key_reads ("
    " n INTEGER PRIMARY KEY, login TEXT NOT NULL, key_id TEXT NOT NULL, at TEXT NOT NULL)",
)
KEY_READS = "aidflow_key_reads"
"""Every data key the database handed to a person's login (issue 21 §5): its number, who,
which, when. Written by the store's function only (PostgreSQL); an auditor reads it, a
writer does not."""
KEY_HANDOUTS = "aidflow_key_handouts"
"""The sequence numbering the hand-outs (PostgreSQL): a sequence is never rolled back, so a
hand-out whose row a caller's own transaction rolled back still counts (``audit check``:
``key_handout_unrecorded``)."""


def key_table_ddl(schema: str = "") -> list[str]:
    """The key tables' DDL, qualified by ``schema`` when given (``aidflow admin roles``)."""
    prefix = f"{schema}." if schema else ""
    return [ddl.replace("EXISTS aidflow_", f"EXISTS {prefix}aidflow_") for ddl in DDL]
