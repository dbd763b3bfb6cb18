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
from dataclasses import MISSING, dataclass, fields, replace
from typing import Any

from eventsourcing.domain import Aggregate

from aidflow.domain.clock import CLOCK_TOLERANCE
from aidflow.domain.events import CATALOGUE, COMMAND_OF, STAFF_EVENTS, EventClass
from aidflow.domain.fund import Fund
from aidflow.domain.staff import REGISTRY_ID, REQUIRED, REVEALERS, Role, StaffRegistry
from aidflow.keytables import KEY_HANDOUTS, key_table_ddl

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
    "aidflow_get_key": "(text)",
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
    creates: bool = False
    """The aggregate's first event (version 1 only); any other is appended to an aggregate of
    its own kind (a case's event to a case)."""
    needs: tuple[str, ...] = ()
    """The fields it must carry (those without a default): a malformed event never lands."""
    rides_with: str = ""
    """A field naming an aggregate another event of the same batch is about: a fund's
    reservation moves only with its case's event."""


def _roles(*commands: str) -> tuple[str, ...]:
    return tuple(sorted({role.value for c in commands for role in REQUIRED[c]}))


def _has(cls: EventClass, name: str) -> bool:
    return any(f.name == name for f in fields(cls))


_BASE_FIELDS = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})


def _needs(cls: EventClass) -> tuple[str, ...]:
    return tuple(
        sorted(
            f.name
            for f in fields(cls)
            if f.name not in _BASE_FIELDS and f.default is MISSING and f.default_factory is MISSING
        )
    )


def _right(cls: EventClass) -> Right:
    admin = (Role.ADMIN.value,)
    companions: dict[EventClass, Right] = {
        # a fund's reservation moves with the command that makes or ends a grant
        Fund.Allocated: Right(
            _roles("approve", "secondary_aid", "approve_secondary_aid"), rides_with="case_id"
        ),
        Fund.Released: Right(
            _roles("close_case", "confirm_correction", "approve_secondary_aid", "close_year"),
            rides_with="case_id",
        ),
        StaffRegistry.TokenIssued: Right(_roles("issue_token"), "name", admin),
        StaffRegistry.TokenRevoked: Right(_roles("issue_token"), "name", admin),
    }
    if cls in companions:
        return companions[cls]
    if cls in STAFF_EVENTS:  # an admin's, never about themselves (the first admin: the owner)
        return Right(admin, "name", None, not_self=True)
    if cls in COMMAND_OF:
        settled = ("resolve_payment",) if _has(cls, "resolved") else ()  # issue 23
        return Right(_roles(COMMAND_OF[cls], *settled))
    if _has(cls, "actor"):  # an idempotency record: whoever sent the command
        return Right(tuple(sorted(r.value for r in Role)))
    return Right(None)


def rights() -> dict[str, Right]:
    """Every event topic a person's login may append, and what it needs."""
    return {
        cls.TOPIC: replace(
            _right(cls), creates=issubclass(cls, Aggregate.Created), needs=_needs(cls)
        )
        for cls in CATALOGUE
    }


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


_DEFINER = "SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET TimeZone = 'UTC'"
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
    CONTINUE WHEN {same_name} IS DISTINCT FROM {same_who};
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
  first text;
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
        IF doc->'timestamp'->>'_type_' IS DISTINCT FROM 'datetime_iso'
           OR doc->'timestamp'->>'_data_' !~ '(Z|[+-][0-9]{{2}}:[0-9]{{2}})$' THEN
          RAISE EXCEPTION 'no explicit offset';
        END IF;
        moment := (doc->'timestamp'->>'_data_')::timestamptz;
      EXCEPTION WHEN others THEN
        {refuse} format('aidflow: login %s sent a malformed %s', session_user, e.topic);
      END;
      IF abs(extract(epoch FROM moment - stamp)) > {tolerance} THEN
        {refuse} format('aidflow: %s is stamped %s; the store''s clock says %s',
                        e.topic, moment, stamp);
      END IF;
      IF doc ? 'actor' THEN
        IF jsonb_typeof(doc->'actor') IS DISTINCT FROM 'string' OR doc->>'actor' <> who THEN
          {refuse} format('aidflow: login %s records only its own acts, not %s''s',
                          session_user, doc->>'actor');
        END IF;
        acted := true;
      END IF;
      IF r.roles IS NOT NULL THEN
        IF NOT doc ? 'actor' OR NOT (held && r.roles) THEN
          {refuse} format('aidflow: login %s holds none of the roles %s that record %s',
                          session_user, r.roles, e.topic);
        END IF;
        IF r.name_field IS NOT NULL THEN
          IF jsonb_typeof(doc->r.name_field) IS DISTINCT FROM 'string'
             OR btrim(doc->>r.name_field) = '' THEN
            {refuse} format('aidflow: login %s sent a %s naming no one', session_user, e.topic);
          END IF;
          named := {same_named};
          IF named = who AND r.not_self THEN
            {refuse} format('aidflow: login %s may not change its own standing', session_user);
          END IF;
          IF named <> who AND r.another_roles IS NOT NULL AND NOT (held && r.another_roles) THEN
            {refuse} format('aidflow: login %s may not record %s for another member',
                            session_user, e.topic);
          END IF;
        END IF;
      END IF;
      -- the event belongs to an aggregate of its own kind: created at version 1, or
      -- appended to a record whose first event is of the same aggregate
      IF r.creates THEN
        IF e.originator_version <> 1 THEN
          {refuse} format('aidflow: %s starts a record; it is not version %s', e.topic,
                          e.originator_version);
        END IF;
      ELSIF e.originator_version < 2 THEN
        {refuse} format('aidflow: %s cannot start a record', e.topic);
      ELSE
        SELECT x.topic INTO first FROM unnest(events) AS x
          WHERE x.originator_id = e.originator_id AND x.originator_version = 1;
        IF first IS NULL THEN
          SELECT t.topic INTO first FROM {events} AS t
            WHERE t.originator_id = e.originator_id AND t.originator_version = 1;
        END IF;
        IF first IS NULL OR split_part(first, '.', 1) <> split_part(e.topic, '.', 1) THEN
          {refuse} format('aidflow: %s does not belong to record %s', e.topic, e.originator_id);
        END IF;
      END IF;
      IF NOT doc ?& r.needs THEN
        {refuse} format('aidflow: login %s sent a malformed %s', session_user, e.topic);
      END IF;
      IF r.rides_with IS NOT NULL AND NOT EXISTS (
          SELECT 1 FROM unnest(events) AS x
          WHERE x.originator_id::text = doc->r.rides_with->>'_data_'
             OR replace(x.originator_id::text, '-', '') = doc->r.rides_with->>'_data_') THEN
        {refuse} format('aidflow: %s moves money only with its case''s own event', e.topic);
      END IF;
    END LOOP;
    IF NOT acted THEN
      {refuse} format('aidflow: login %s sent events with no act of its own', session_user);
    END IF;
  END IF;
  NOTIFY {channel};
  RETURN QUERY INSERT INTO {events} AS t (originator_id, originator_version, topic, state)
    SELECT x.originator_id, x.originator_version, x.topic, x.state
    FROM unnest(events) AS x
    RETURNING t.notification_id;
END $$"""

_STAMP = """CREATE OR REPLACE FUNCTION {s}.aidflow_stamp() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.recorded_by := session_user;
  NEW.recorded_at := clock_timestamp();
  RETURN NEW;
END $$"""
"""Every row's login and time, from the database whoever inserts it (the service included)."""

_STAFF_ONLY = """IF NOT has_table_privilege(session_user, '{s}.aidflow_data_keys', 'INSERT')
     AND cardinality({s}.aidflow_roles_of(session_user::text)) = 0 THEN
    {refuse} format('aidflow: login %s is not registered staff holding a role', session_user);
  END IF;"""

_KEYS = (
    """CREATE OR REPLACE FUNCTION {s}.aidflow_put_key(k text, w text, at text) RETURNS void
LANGUAGE plpgsql {definer} AS $$
BEGIN
  {staff_only}
  IF w IS NULL OR w = '' THEN
    {refuse} 'aidflow: a data key is stored wrapped; an empty one is an erasure, an admin''s act';
  END IF;
  IF NOT has_table_privilege(session_user, '{s}.aidflow_data_keys', 'INSERT')
     AND position('/' in k) = 0 THEN
    {refuse} 'aidflow: a person''s login files its keys under a student''s (key id/…), never as the student''s own';
  END IF;
  INSERT INTO {s}.aidflow_data_keys (key_id, wrapped, created_at) VALUES (k, w, at)
  ON CONFLICT (key_id) DO NOTHING;
END $$""",
    """CREATE OR REPLACE FUNCTION {s}.aidflow_bind_key(o text, k text) RETURNS void
LANGUAGE plpgsql {definer} AS $$
BEGIN
  {staff_only}
  INSERT INTO {s}.aidflow_key_owners (owner_id, key_id) VALUES (o, k)
  ON CONFLICT (owner_id) DO NOTHING;
END $$""",
    """CREATE OR REPLACE FUNCTION {s}.aidflow_put_secret(n text, v text) RETURNS void
LANGUAGE plpgsql {definer} AS $$
BEGIN
  IF NOT has_table_privilege(session_user, '{s}.aidflow_keyring', 'INSERT') THEN
    {refuse} 'aidflow: the store''s lookup secret is made by its owner or service (`aidflow admin roles --apply` with the master key)';
  END IF;
  INSERT INTO {s}.aidflow_keyring (name, value) VALUES (n, v) ON CONFLICT (name) DO NOTHING;
END $$""",
    """CREATE OR REPLACE FUNCTION {s}.aidflow_erase_key(k text, at text) RETURNS void
LANGUAGE plpgsql {definer} AS $$
BEGIN
  IF NOT has_table_privilege(session_user, '{s}.aidflow_data_keys', 'UPDATE')
     AND NOT {admin} = ANY ({s}.aidflow_roles_of(session_user::text)) THEN
    {refuse} format('aidflow: login %s may not erase personal data: an admin''s act',
                    session_user);
  END IF;
  UPDATE {s}.aidflow_data_keys SET wrapped = NULL, erased_at = at
  WHERE key_id = k OR starts_with(key_id, k || '/');
END $$""",
    """CREATE OR REPLACE FUNCTION {s}.aidflow_get_key(k text) RETURNS TABLE (wrapped text)
LANGUAGE plpgsql {definer} AS $$
BEGIN
  IF NOT has_table_privilege(session_user, '{s}.aidflow_data_keys', 'INSERT')
     AND NOT ({s}.aidflow_roles_of(session_user::text) && {revealers}) THEN
    {refuse} format('aidflow: login %s may not open personal data: a post that reveals it '
                    '(%s) does, and each key it opens is recorded', session_user,
                    array_to_string({revealers}, ', '));
  END IF;
  INSERT INTO {s}.aidflow_key_reads (n, login, key_id, at)
  VALUES (nextval('{s}.aidflow_key_handouts'), session_user, k, to_char(clock_timestamp() AT TIME ZONE 'UTC',
                                   'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'));
  RETURN QUERY SELECT d.wrapped FROM {s}.aidflow_data_keys AS d WHERE d.key_id = k;
END $$""",
)


def _text(value: str) -> str:
    return _quote(value) if value else "NULL"


_REVEALERS = {"revealers": _array(tuple(role.value for role in REVEALERS))}
"""The posts ``aidflow_get_key`` hands a data key to (issue 21 §5)."""


def _rights_rows() -> str:
    return ",\n".join(
        f"({_quote(topic)}, {_array(r.roles)}, {_text(r.name_field)}, {_array(r.another_roles)},"
        f" {'true' if r.not_self else 'false'}, {'true' if r.creates else 'false'},"
        f" {_array(r.needs)}, {_text(r.rides_with)})"
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
    common = {"s": s, "events": events, "definer": _DEFINER, "refuse": _REFUSE, **_REVEALERS}
    admin = _quote(Role.ADMIN.value)
    return [
        f"ALTER TABLE {events} ADD COLUMN IF NOT EXISTS recorded_by text",
        f"ALTER TABLE {events} ADD COLUMN IF NOT EXISTS recorded_at timestamptz",
        f"DROP TABLE IF EXISTS {s}.{RIGHTS_TABLE} CASCADE",  # its shape follows this release
        f"CREATE TABLE {s}.{RIGHTS_TABLE} (topic text PRIMARY KEY, roles text[],"
        " name_field text, another_roles text[], not_self boolean NOT NULL,"
        " creates boolean NOT NULL, needs text[] NOT NULL, rides_with text)",
        f"INSERT INTO {s}.{RIGHTS_TABLE} VALUES\n{_rights_rows()}",
        *key_table_ddl(s),
        f"CREATE SEQUENCE IF NOT EXISTS {s}.{KEY_HANDOUTS}",
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
            same_named=_same("coalesce(doc->>r.name_field, '')"),
            events_literal=_quote(events),
            tolerance=int(CLOCK_TOLERANCE.total_seconds()),
            channel=f'"{EVENTS_TABLE}"',
        ),
        *(
            template.format(**common, admin=admin, staff_only=_STAFF_ONLY.format(**common))
            for template in _KEYS
        ),
        _STAMP.format(s=s),
        f"DROP TRIGGER IF EXISTS aidflow_stamp ON {events}",
        f"CREATE TRIGGER aidflow_stamp BEFORE INSERT ON {events} "
        f"FOR EACH ROW EXECUTE FUNCTION {s}.aidflow_stamp()",
        *(
            f"REVOKE ALL ON FUNCTION {s}.{name}{signature.format(s=s)} FROM PUBLIC"
            for name, signature in {
                **SIGNATURES,
                "aidflow_roles_of": "(text)",
                "aidflow_stamp": "()",
            }.items()
        ),
    ]


def install_gate(conn: Any, schema: str) -> None:
    """Install (or refresh) :func:`gate_statements` in one transaction, under the DDL lock
    (waited for however long another process's DDL takes: no ``busy_timeout`` here)."""
    with conn.transaction():
        conn.execute("SET LOCAL lock_timeout = 0")
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK_KEY,))
        for statement in gate_statements(schema):
            conn.execute(statement.encode())
