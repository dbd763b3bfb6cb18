"""PostgreSQL roles for a shared office store: auditors read, writers append, services speak
for staff. ``aidflow admin roles`` prints these statements (or applies them as the owner).

- ``aidflow_auditor``: SELECT on every table of the store's schema, nothing else.
- ``aidflow_writer``: what the engine needs: read everything, insert events and snapshots,
  keep the views (insert/update/delete their rows). The library takes an ``EXCLUSIVE`` lock
  on the events table to order inserts, which PostgreSQL grants only with UPDATE, so the
  events table gets UPDATE **and** a trigger that refuses every UPDATE and DELETE: the
  record stays append-only whatever a writer login tries.
- ``aidflow_service``: a writer that may name the staff member it acts for (the HTTP
  service, a batch job, the demo). Any other login acts only as the staff member whose
  registered name is the login's name.

Each person's login is made by the DBA, e.g. ``CREATE ROLE wang LOGIN PASSWORD '…' IN ROLE
aidflow_writer``, with ``wang`` also registered as staff (``aidflow staff add wang …``).
"""

from __future__ import annotations

from aidflow.config import SERVICE_ROLE, parse_url
from aidflow.privacy import TABLES as KEY_TABLES
from aidflow.privacy import key_table_ddl

AUDITOR_ROLE = "aidflow_auditor"
WRITER_ROLE = "aidflow_writer"
EVENTS_TABLE = "aidflow_events"


def _create(role: str, member_of: str = "") -> str:
    extra = f" IN ROLE {member_of}" if member_of else ""
    return (
        f"DO $$ BEGIN CREATE ROLE {role} NOLOGIN{extra}; "
        "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
    )


def role_statements(schema: str = "public") -> list[str]:
    """The statements, in order; safe to run again (roles and triggers are replaced)."""
    s = f'"{schema}"'
    events = f"{s}.{EVENTS_TABLE}"
    return [
        _create(AUDITOR_ROLE),
        _create(WRITER_ROLE),
        _create(SERVICE_ROLE, WRITER_ROLE),
        *key_table_ddl(s),  # issue 11: made here so that the grants below cover them
        f"GRANT USAGE ON SCHEMA {s} TO {AUDITOR_ROLE}, {WRITER_ROLE}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {AUDITOR_ROLE}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT SELECT ON TABLES TO {AUDITOR_ROLE}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {WRITER_ROLE}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {WRITER_ROLE}",
        f"REVOKE DELETE, TRUNCATE ON {events} FROM {WRITER_ROLE}",
        # issue 11: the wrapped data keys are no auditor's business (the views are masked)
        *(f"REVOKE ALL ON {s}.{table} FROM {AUDITOR_ROLE}" for table in KEY_TABLES),
        (
            f"CREATE OR REPLACE FUNCTION {s}.aidflow_append_only() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION "
            "'aidflow events are append-only: % refused', TG_OP; END $$"
        ),
        f"DROP TRIGGER IF EXISTS aidflow_append_only ON {events}",
        (
            f"CREATE TRIGGER aidflow_append_only BEFORE UPDATE OR DELETE ON {events} "
            f"FOR EACH ROW EXECUTE FUNCTION {s}.aidflow_append_only()"
        ),
    ]


def apply_roles(url: str) -> list[str]:
    """Run :func:`role_statements` on the store at ``url`` (as its owner); returns them."""
    store = parse_url(url)
    statements = role_statements(store.schema or "public")
    with store.connect() as conn:
        for statement in statements:
            conn.execute(statement.encode())
    return statements
