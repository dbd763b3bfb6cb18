# lower-case identifier, and a database name quoted by _ident().
"""Who may write what in a shared PostgreSQL store, enforced by the database (issue 21 §1):
``aidflow admin roles`` prints these statements (or applies them as the owner).

The store's owner keeps three roles **per store** (:func:`aidflow.gate.store_roles`: the
database and schema are in their names, so a login of one store reaches no other):

- ``…_auditor``: reads every table except the wrapped data keys; writes nothing.
- ``…_writer`` (a person's login, in the role): reads, and writes **nothing directly**: events
  only through the store's append function, keys through its key functions
  (:mod:`aidflow.gate`). Snapshots, tracking and views are not a person's to write.
- ``…_service``: a writer that may name the staff member it acts for (the HTTP service, the
  views' follower, a batch job): it inserts events (stamped, not second-guessed) and keeps
  snapshots, views, tracking and keys.

Each person's login is made by the DBA, e.g. ``CREATE ROLE wang LOGIN PASSWORD '…' IN ROLE
aidflow_bureau_public_writer``, with ``wang`` also registered as staff (``aidflow staff add wang
…``).
"""

from __future__ import annotations

from aidflow.config import StoreURL, parse_url
from aidflow.gate import EVENTS_TABLE, RIGHTS_TABLE, SIGNATURES, gate_statements, store_roles
from aidflow.keytables import KEY_HANDOUTS, KEY_READS
from aidflow.keytables import TABLES as KEY_TABLES


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _create(role: str, member_of: str = "") -> str:
    extra = f" IN ROLE {member_of}" if member_of else ""
    return (
        f"DO $$ BEGIN CREATE ROLE {role} NOLOGIN{extra}; "
        "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
    )


def role_statements(store: StoreURL) -> list[str]:
    """The statements, in order; safe to run again (roles, functions and triggers replaced)."""
    s = f'"{store.schema or "public"}"'
    roles = store_roles(store.database, store.schema)
    events = f"{s}.{EVENTS_TABLE}"
    everyone = f"{roles.auditor}, {roles.writer}"
    service = roles.service
    keys = ", ".join(f"{s}.{t}" for t in KEY_TABLES)
    dml = "SELECT, INSERT, UPDATE, DELETE"
    return [
        _create(roles.auditor),
        _create(roles.writer),
        _create(service, roles.writer),
        *gate_statements(store.schema or "public"),
        # no reach into another store: the database's door and the schema are this store's
        f"REVOKE CONNECT, TEMPORARY ON DATABASE {_ident(store.database)} FROM PUBLIC",
        f"GRANT CONNECT ON DATABASE {_ident(store.database)} TO {everyone}",
        f"REVOKE ALL ON SCHEMA {s} FROM PUBLIC",
        # a login that opens a transaction and sits on the events' lock stops everyone
        f"ALTER DATABASE {_ident(store.database)} SET idle_in_transaction_session_timeout = '60s'",
        f"GRANT USAGE ON SCHEMA {s} TO {everyone}",
        # earlier releases let a writer write every table
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA {s} FROM {roles.writer}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {everyone}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT SELECT ON TABLES TO {everyone}",
        f"REVOKE ALL ON {keys} FROM {roles.auditor}",  # the wrapped keys are no auditor's
        # a person seals without opening (issue 21 §5): which keys exist and whether erased,
        # never the wrapped key itself (aidflow_get_key hands one to a post that may reveal,
        # and records it); who was handed which key is the auditor's to read, not a writer's
        f"REVOKE SELECT ON {s}.aidflow_data_keys FROM {roles.writer}",  # noqa: S608 - names only
        f"GRANT SELECT (key_id, created_at, erased_at) ON {s}.aidflow_data_keys TO {roles.writer}",
        f"REVOKE ALL ON {s}.{KEY_READS} FROM {roles.writer}",
        f"GRANT SELECT ON {s}.{KEY_HANDOUTS} TO {roles.auditor}",
        *(
            f"GRANT EXECUTE ON FUNCTION {s}.{name}{signature.format(s=s)} TO {roles.writer}"
            for name, signature in SIGNATURES.items()
        ),
        # the service keeps what is derived (snapshots, views, tracking, keys) and appends
        f"GRANT {dml} ON ALL TABLES IN SCHEMA {s} TO {service}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT {dml} ON TABLES TO {service}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {service}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT USAGE, SELECT ON SEQUENCES TO {service}",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON {events} FROM {service}",
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {s}.{RIGHTS_TABLE} FROM {service}",
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
    """Run :func:`role_statements` on the store at ``url`` (as its owner); returns them.

    With the master key at hand, the store's lookup secret is made now too: a person's login
    may not make it (it would choose every student's pseudonym)."""
    from aidflow.domain.errors import MasterKeyMissing
    from aidflow.privacy import Vault

    store = parse_url(url)
    statements = role_statements(store)
    with store.connect() as conn:
        for statement in statements:
            conn.execute(statement.encode())
    vault = Vault(store)
    try:
        vault.lookup_secret()
    except MasterKeyMissing:
        pass  # made by the first command the owner or the service runs with the key
    finally:
        vault.db.close()
    return statements
