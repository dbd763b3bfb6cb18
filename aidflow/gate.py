# ruff: noqa: S608 -- DDL from constants and a schema that parse_url checked to be a lower-case
# identifier; no value reaches SQL any other way.
"""The database's own check on every append to a shared PostgreSQL store (issue 21 §1).

A person's login holds no write privilege on any table. Its events go in only through
``aidflow_append(events)``, a ``SECURITY DEFINER`` function owned by the store that, for
each event of a person's login (one holding no INSERT on the events table):

- looks its topic up in ``aidflow_rights`` (built by :func:`rights` from
  :data:`~aidflow.domain.staff.REQUIRED` and :data:`~aidflow.domain.events.COMMAND_OF`, so the
  database and the audit cannot disagree); an unknown topic is refused;
- requires its ``actor`` to be the login (NFKC, case-folded, as ``same_person``) and the login to
  hold, now, one of the roles that record it, re-derived at each call from the staff registry's
  own events (a revoked role is refused at once); another member's token or one's own role grant
  needs an admin; a batch with no act of the login's own is refused (a fund allocation or a
  voucher key never travels alone);
- refuses a stamp further than :data:`~aidflow.domain.clock.CLOCK_TOLERANCE` from the database's
  clock.

Every row, whoever wrote it, gets ``recorded_by`` (the login) and ``recorded_at`` (the
database's clock). A refusal is SQLSTATE 42501 with a message starting ``aidflow:``; nothing is
written. New students' keys go in through ``aidflow_put_key`` / ``aidflow_bind_key`` /
``aidflow_put_secret`` (insert if absent, never over another), erasure through
``aidflow_erase_key`` (an admin's login, or the service).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, fields
from typing import Any

from aidflow.domain.clock import CLOCK_TOLERANCE
from aidflow.domain.events import CATALOGUE, COMMAND_OF, STAFF_EVENTS, EventClass
from aidflow.domain.fund import Fund
from aidflow.domain.staff import REGISTRY_ID, REQUIRED, Role, StaffRegistry
from aidflow.keytables import key_table_ddl

DDL_LOCK_KEY = 0x41494446  # "AIDF"
"""The advisory lock every aidflow process holds while changing a store's schema; any constant
works, it only has to be the same in every process."""

EVENTS_TABLE = "aidflow_events"
RIGHTS_TABLE = "aidflow_rights"
APPEND = "aidflow_append"
"""The one way a person's login adds events (``SELECT * FROM aidflow_append(events)``)."""
SIGNATURES = {
    APPEND: "({s}.stored_event_uuid[])",
    "aidflow_put_key": "(text, text, text)",
    "aidflow_bind_key": "(text, text)",
    "aidflow_put_secret": "(text, text)",
    "aidflow_erase_key": "(text, text)",
}
"""The functions a writer may execute; nothing else of the store is theirs to change."""


@dataclass(frozen=True)
class StoreRoles:
    """The three roles of one store (database and schema in their names)."""

    auditor: str
    writer: str
    service: str


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "x"


def store_roles(database: str, schema: str | None) -> StoreRoles:
    """``aidflow_<database>_<schema>_{auditor,writer,service}``; shortened with a hash of the
    exact names when PostgreSQL's 63-character identifiers would cut them."""
    schema = schema or "public"
    base = f"aidflow_{_slug(database)}_{_slug(schema)}"
    if len(base) > 48:
        digest = hashlib.sha256(f"{database}/{schema}".encode()).hexdigest()[:10]
        base = f"{base[:37]}_{digest}"
    return StoreRoles(f"{base}_auditor", f"{base}_writer", f"{base}_service")


# -- which roles record which events (the database's copy of the registry's table) ----------


@dataclass(frozen=True)
class Right:
    """What the append function asks of a person's login for one event topic."""

    roles: tuple[str, ...] | None
    """The login holds one of these; None: a companion with no actor of its own (an
    enrolment key, a voucher, a register's first event) that rides with its command's event."""
    name_field: str = ""
    """A field naming the member the act concerns (a token's holder, a granted role's)."""
    another_roles: tuple[str, ...] | None = None
    """Needed when ``name_field`` names someone other than the login."""
    not_self: bool = False
    """Refused when ``name_field`` names the login itself (granting oneself a role)."""


def _roles(*commands: str) -> tuple[str, ...]:
    return tuple(sorted({role.value for c in commands for role in REQUIRED[c]}))


def _has(cls: EventClass, name: str) -> bool:
    return any(f.name == name for f in fields(cls))


def rights() -> dict[str, Right]:
    """Every event topic a person's login may append, and what it needs."""
    admin = (Role.ADMIN.value,)
    companions: dict[EventClass, Right] = {
        # a fund's reservation moves with the command that makes or ends a grant
        Fund.Allocated: Right(_roles("approve", "secondary_aid", "approve_secondary_aid")),
        Fund.Released: Right(
            _roles("close_case", "confirm_correction", "approve_secondary_aid", "close_year")
        ),
        StaffRegistry.TokenIssued: Right(_roles("issue_token"), "name", admin),
        StaffRegistry.TokenRevoked: Right(_roles("issue_token"), "name", admin),
    }
    table: dict[str, Right] = {}
    for cls in CATALOGUE:
        if cls in companions:
            right = companions[cls]
        elif cls in STAFF_EVENTS:
            right = Right(admin, "name", None, not_self=cls is not StaffRegistry.MemberAdded)
        elif cls in COMMAND_OF:
            settled = ("resolve_payment",) if _has(cls, "resolved") else ()  # issue 23
            right = Right(_roles(COMMAND_OF[cls], *settled))
        elif _has(cls, "actor"):  # an idempotency record: whoever sent the command
            right = Right(tuple(sorted(r.value for r in Role)))
        else:
            right = Right(None)
        table[cls.TOPIC] = right
    return table


# -- the statements --------------------------------------------------------------------------


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _array(values: tuple[str, ...] | None) -> str:
    if values is None:
        return "NULL"
    return "ARRAY[" + ", ".join(_quote(v) for v in values) + "]::text[]"


def _same(expression: str) -> str:
    """How the database compares people (as :func:`aidflow.domain.canonical.same_person`)."""
    return f"lower(btrim(normalize({expression}, NFKC)))"


_DEFINER = "SECURITY DEFINER SET search_path = pg_catalog, pg_temp"
_REFUSE = "RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE ="

_ROLES_OF = """CREATE OR REPLACE FUNCTION {s}.aidflow_roles_of(who text) RETURNS text[]
LANGUAGE plpgsql STABLE {definer} AS $$
DECLARE held text[] := '{{}}'; r record; doc jsonb;
BEGIN
  FOR r IN SELECT topic, state FROM {events}
      WHERE originator_id = {registry}::uuid AND topic IN ({added}, {granted}, {revoked})
      ORDER BY originator_version
  LOOP
    doc := convert_from(r.state, 'UTF8')::jsonb;
    CONTINUE WHEN {same_name} <> {same_who};
    IF r.topic = {added} THEN
      held := ARRAY(SELECT jsonb_array_elements_text(doc->'roles'));
    ELSIF r.topic = {granted} THEN
      held := array_append(array_remove(held, doc->>'role'), doc->>'role');
    ELSE
      held := array_remove(held, doc->>'role');
    END IF;
  END LOOP;
  RETURN held;
END $$"""

_APPEND = """CREATE OR REPLACE FUNCTION {s}.{append}(events {s}.stored_event_uuid[])
RETURNS SETOF bigint LANGUAGE plpgsql {definer} AS $$
DECLARE
  who text := {same_login};
  stamp timestamptz := clock_timestamp();
  held text[];
  e {s}.stored_event_uuid;
  r {s}.{rights}%ROWTYPE;
  doc jsonb;
  moment timestamptz;
  named text;
  acted boolean := false;
BEGIN
  LOCK TABLE {events} IN EXCLUSIVE MODE;
  IF NOT has_table_privilege(session_user, {events_literal}, 'INSERT') THEN
    held := {s}.aidflow_roles_of(session_user::text);
    IF cardinality(held) = 0 THEN
      {refuse} format('aidflow: login %s is not registered staff holding a role', session_user);
    END IF;
    FOREACH e IN ARRAY events LOOP
      SELECT * INTO r FROM {s}.{rights} WHERE topic = e.topic;
      IF NOT FOUND THEN
        {refuse} format('aidflow: login %s may not record %s', session_user, e.topic);
      END IF;
      BEGIN
        doc := convert_from(e.state, 'UTF8')::jsonb;
        moment := (doc->'timestamp'->>'_data_')::timestamptz;
      EXCEPTION WHEN others THEN
        {refuse} format('aidflow: login %s sent a malformed %s', session_user, e.topic);
      END;
      IF moment IS NULL OR abs(extract(epoch FROM moment - stamp)) > {tolerance} THEN
        {refuse} format('aidflow: %s is stamped %s; the store''s clock says %s',
                        e.topic, moment, stamp);
      END IF;
      IF doc ? 'actor' THEN
        IF {same_actor} <> who THEN
          {refuse} format('aidflow: login %s records only its own acts, not %s''s',
                          session_user, doc->>'actor');
        END IF;
        acted := true;
      END IF;
      CONTINUE WHEN r.roles IS NULL;
      IF NOT doc ? 'actor' OR NOT (held && r.roles) THEN
        {refuse} format('aidflow: login %s holds none of the roles %s that record %s',
                        session_user, r.roles, e.topic);
      END IF;
      IF r.name_field IS NOT NULL THEN
        named := {same_named};
        IF named = who AND r.not_self THEN
          {refuse} format('aidflow: login %s may not change its own roles', session_user);
        END IF;
        IF named <> who AND r.another_roles IS NOT NULL AND NOT (held && r.another_roles) THEN
          {refuse} format('aidflow: login %s may not record %s for another member',
                          session_user, e.topic);
        END IF;
      END IF;
    END LOOP;
    IF NOT acted THEN
      {refuse} format('aidflow: login %s sent events with no act of its own', session_user);
    END IF;
  END IF;
  NOTIFY {channel};
  RETURN QUERY INSERT INTO {events} AS t
    (originator_id, originator_version, topic, state, recorded_by, recorded_at)
    SELECT x.originator_id, x.originator_version, x.topic, x.state, session_user, stamp
    FROM unnest(events) AS x
    RETURNING t.notification_id;
END $$"""

_KEYS = (
    """CREATE OR REPLACE FUNCTION {s}.aidflow_put_key(k text, w text, at text) RETURNS void
LANGUAGE sql {definer} AS $$
  INSERT INTO {s}.aidflow_data_keys (key_id, wrapped, created_at) VALUES (k, w, at)
  ON CONFLICT (key_id) DO NOTHING $$""",
    """CREATE OR REPLACE FUNCTION {s}.aidflow_bind_key(o text, k text) RETURNS void
LANGUAGE sql {definer} AS $$
  INSERT INTO {s}.aidflow_key_owners (owner_id, key_id) VALUES (o, k)
  ON CONFLICT (owner_id) DO NOTHING $$""",
    """CREATE OR REPLACE FUNCTION {s}.aidflow_put_secret(n text, v text) RETURNS void
LANGUAGE sql {definer} AS $$
  INSERT INTO {s}.aidflow_keyring (name, value) VALUES (n, v) ON CONFLICT (name) DO NOTHING $$""",
    """CREATE OR REPLACE FUNCTION {s}.aidflow_erase_key(k text, at text) RETURNS void
LANGUAGE plpgsql {definer} AS $$
BEGIN
  IF NOT has_table_privilege(session_user, '{s}.aidflow_data_keys', 'UPDATE')
     AND NOT {admin} = ANY ({s}.aidflow_roles_of(session_user::text)) THEN
    {refuse} format('aidflow: login %s may not erase personal data: an admin''s act',
                    session_user);
  END IF;
  UPDATE {s}.aidflow_data_keys SET wrapped = NULL, erased_at = at WHERE key_id = k;
END $$""",
)


def _rights_rows() -> str:
    return ",\n".join(
        f"({_quote(topic)}, {_array(r.roles)}, {_quote(r.name_field) if r.name_field else 'NULL'},"
        f" {_array(r.another_roles)}, {'true' if r.not_self else 'false'})"
        for topic, r in sorted(rights().items())
    )


def gate_statements(schema: str = "public") -> list[str]:
    """The append function, the stamp columns, the rights table and the key functions; safe
    to run again (each replaced). Run by the owner when the tables are made, on opening an
    older store, and by ``aidflow admin roles``."""
    s = f'"{schema}"'
    events = f"{s}.{EVENTS_TABLE}"
    staff = {
        "added": _quote(StaffRegistry.MemberAdded.TOPIC),
        "granted": _quote(StaffRegistry.RoleGranted.TOPIC),
        "revoked": _quote(StaffRegistry.RoleRevoked.TOPIC),
    }
    common = {"s": s, "events": events, "definer": _DEFINER, "refuse": _REFUSE}
    admin = _quote(Role.ADMIN.value)
    return [
        f"ALTER TABLE {events} ADD COLUMN IF NOT EXISTS recorded_by text",
        f"ALTER TABLE {events} ADD COLUMN IF NOT EXISTS recorded_at timestamptz",
        f"CREATE TABLE IF NOT EXISTS {s}.{RIGHTS_TABLE} (topic text PRIMARY KEY, roles text[],"
        " name_field text, another_roles text[], not_self boolean NOT NULL)",
        f"DELETE FROM {s}.{RIGHTS_TABLE}",
        f"INSERT INTO {s}.{RIGHTS_TABLE} VALUES\n{_rights_rows()}",
        *key_table_ddl(s),
        _ROLES_OF.format(
            **common,
            **staff,
            registry=_quote(str(REGISTRY_ID)),
            same_name=_same("doc->>'name'"),
            same_who=_same("who"),
        ),
        _APPEND.format(
            **common,
            append=APPEND,
            rights=RIGHTS_TABLE,
            same_login=_same("session_user::text"),
            same_actor=_same("doc->>'actor'"),
            same_named=_same("coalesce(doc->>r.name_field, '')"),
            events_literal=_quote(events),
            tolerance=int(CLOCK_TOLERANCE.total_seconds()),
            channel=f'"{EVENTS_TABLE}"',
        ),
        *(template.format(**common, admin=admin) for template in _KEYS),
        *(
            f"REVOKE ALL ON FUNCTION {s}.{name}{signature.format(s=s)} FROM PUBLIC"
            for name, signature in {**SIGNATURES, "aidflow_roles_of": "(text)"}.items()
        ),
    ]


def install_gate(conn: Any, schema: str) -> None:
    """Install (or refresh) :func:`gate_statements` in one transaction, under the DDL lock."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK_KEY,))
        for statement in gate_statements(schema):
            conn.execute(statement.encode())
