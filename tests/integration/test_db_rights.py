"""Issue 21 §1 with real PostgreSQL logins: the database, not the command's own check, decides
who writes what. A person's login holds no write privilege on any table; events go in only
through the store's ``aidflow_append``, which refuses acts recorded in another's name, by
someone without the role, or stamped off the database's clock, and stamps the login and the
database's time into the row. Roles are per store: a login of one reaches no other."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from aidflow import AidFlow
from aidflow import commands as cmd
from aidflow.application.locks import TURN_CLASS
from aidflow.config import parse_url
from aidflow.domain.case import StudentCase
from aidflow.domain.fund import Fund
from aidflow.domain.staff import REGISTRY_ID, Role, StaffRegistry
from aidflow.gate import StoreRoles, rights, store_roles
from aidflow.office import Office
from aidflow.roles import apply_roles
from tests.builders import government_fund, national_id, verification
from tests.pg import ADMIN_URL, create_database, drop_database, require_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("pg-roles")]


def roles_of(url: str) -> StoreRoles:
    store = parse_url(url)
    return store_roles(store.database, store.schema)


def as_login(url: str, login: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{login}@{parts.hostname}:{parts.port or 5432}"))


@dataclass
class Store:
    url: str
    clerk: str
    approver: str
    admin: str
    auditor: str
    case: uuid.UUID = field(default_factory=lambda: uuid.UUID(int=0))
    """A case the clerk opened, for events appended to an existing record."""
    extra_logins: list[str] = field(default_factory=list)

    def connect(self, login: str) -> psycopg.Connection[tuple[object, ...]]:
        bare = urlunsplit(urlsplit(self.url)._replace(query=""))
        return psycopg.connect(as_login(bare, login), autocommit=True)


def _apply(flow: AidFlow, actor: str, n: int) -> object:
    return flow.apply(
        cmd.Apply(
            student_id=national_id(n),
            name=f"学生{n}",
            university="Guizhou University",
            family_category="dibao",
            town="Dalian",
            year=2026,
            actor=actor,
        )
    )


def _make_store(url: str, suffix: str) -> Store:
    store = Store(url, f"zhou_{suffix}", f"wu_{suffix}", f"li_{suffix}", f"shen_{suffix}")
    owner = AidFlow.open(url)  # the DBA's login makes the tables (and the views' below)
    Office.open(url).close()
    owner.add_staff(cmd.AddStaff(name=store.admin, roles=[Role.ADMIN], actor=store.admin))
    for name, role in (
        (store.clerk, Role.SCREENING_CLERK),
        (store.approver, Role.APPROVER),
        (store.auditor, Role.AUDITOR),
    ):
        owner.add_staff(cmd.AddStaff(name=name, roles=[role], actor=store.admin))
    store.case = _apply(owner, store.clerk, 90)  # type: ignore[assignment]
    owner.close()
    apply_roles(url)
    roles = roles_of(url)
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        for login in (store.clerk, store.approver, store.admin):
            conn.execute(f"CREATE ROLE {login} LOGIN IN ROLE {roles.writer}".encode())
        conn.execute(f"CREATE ROLE {store.auditor} LOGIN IN ROLE {roles.auditor}".encode())
    return store


def _drop(store: Store) -> None:
    drop_database(store.url)
    roles = roles_of(store.url)
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        for login in (store.clerk, store.approver, store.admin, store.auditor, *store.extra_logins):
            conn.execute(f"DROP ROLE IF EXISTS {login}".encode())
        for role in (roles.service, roles.writer, roles.auditor):
            conn.execute(f"DROP ROLE IF EXISTS {role}".encode())


@pytest.fixture
def store() -> Iterator[Store]:
    require_postgres()
    made = _make_store(create_database(), uuid.uuid4().hex[:8])
    try:
        yield made
    finally:
        _drop(made)


HARDSHIP = {"kind": "illness", "detail": "d", "severity": "serious"}
"""A hardship report's own fields, as the clerk's role records them."""


def _state(actor: str | None, *, at: datetime | None = None, **fields: object) -> bytes:
    moment = (at or datetime.now(UTC)).isoformat()
    doc: dict[str, object] = {"timestamp": {"_type_": "datetime_iso", "_data_": moment}}
    if actor is not None:
        doc["actor"] = actor
    doc.update(fields)
    return json.dumps(doc).encode()


Row = tuple[str, bytes] | tuple[str, bytes, uuid.UUID]


def _append(conn: psycopg.Connection[tuple[object, ...]], *rows: Row) -> None:
    """Call the store's function the way a hand-written client would: each event at the next
    version of the record it names (a new record when it names none)."""
    values = ", ".join("ROW(%s::uuid, %s::bigint, %s, %s::bytea)" for _ in rows)
    params: list[object] = []
    for row in rows:
        topic, state = row[0], row[1]
        target = row[2] if len(row) == 3 else uuid.uuid4()
        found = conn.execute(
            "SELECT coalesce(max(originator_version), 0) FROM aidflow_events "
            "WHERE originator_id = %s",
            (target,),
        ).fetchone()
        params += [target, int(str(found[0])) + 1 if found else 1, topic, state]
    conn.execute(
        f"SELECT * FROM aidflow_append(ARRAY[{values}]::stored_event_uuid[])",
        params,
    ).fetchall()


def _count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM aidflow_events").fetchone()
        assert row is not None
        return int(str(row[0]))


# -- no table is a person's to write --------------------------------------------------------


@pytest.mark.parametrize("who", ["clerk", "admin", "auditor"])
def test_a_person_login_writes_no_table_directly(store: Store, who: str) -> None:
    """INSERT, UPDATE, DELETE and TRUNCATE on every table of the store are refused by the
    database itself (an admin's login included: an admin acts through commands too)."""
    login = getattr(store, who)
    before = _count(store.url)
    with psycopg.connect(store.url) as conn:  # every table, with a column to name
        tables = dict(
            conn.execute(
                "SELECT table_name, min(column_name) FROM information_schema.columns "
                "WHERE table_schema = 'public' GROUP BY table_name"
            ).fetchall()
        )
    assert {"aidflow_events", "aidflow_data_keys", "aidflow_rights", "aidflow_tracking"} <= set(
        tables
    )
    assert len(tables) > 10  # the views' tables too
    with store.connect(login) as conn:
        for table, column in tables.items():
            for statement in (
                f"INSERT INTO {table} SELECT * FROM {table} LIMIT 1",
                f"UPDATE {table} SET {column} = {column}",
                f"DELETE FROM {table}",
                f"TRUNCATE {table}",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement.encode())
    assert _count(store.url) == before


def test_an_auditor_login_may_not_even_call_the_append_function(store: Store) -> None:
    with (
        store.connect(store.auditor) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        _append(conn, (StudentCase.Applied.TOPIC, _state(store.auditor)))


# -- the append function: the forged approval and its cousins --------------------------------


def test_a_clerk_cannot_append_an_approval_in_an_approvers_name(store: Store) -> None:
    """The attack: a clerk login inserted a 3,000-yuan GrantApproved "by approver" plus its
    fund allocation; `audit check` passed. Now the database refuses it before it exists."""
    before = _count(store.url)
    with store.connect(store.clerk) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="only its own acts"):
            _append(
                conn,
                (StudentCase.GrantApproved.TOPIC, _state(store.approver, amount_fen=300_000)),
                (Fund.Allocated.TOPIC, _state(store.approver, amount_fen=300_000)),
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="holds none of the roles"):
            _append(conn, (StudentCase.GrantApproved.TOPIC, _state(store.clerk)))
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="holds none of the roles"):
            _append(conn, (Fund.Allocated.TOPIC, _state(store.clerk, amount_fen=300_000)))
    assert _count(store.url) == before


def test_a_clerk_cannot_mint_another_members_token_or_grant_itself_a_role(store: Store) -> None:
    with store.connect(store.clerk) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="for another member"):
            _append(conn, (StaffRegistry.TokenIssued.TOPIC, _state(store.clerk, name=store.admin)))
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="holds none of the roles"):
            _append(
                conn,
                (
                    StaffRegistry.RoleGranted.TOPIC,
                    _state(store.clerk, name=store.clerk, role="approver"),
                ),
            )
    with (
        store.connect(store.admin) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="its own standing"),
    ):
        _append(
            conn,
            (
                StaffRegistry.RoleGranted.TOPIC,
                _state(store.admin, name=store.admin, role="cashier"),
            ),
        )


def test_look_alike_spellings_of_another_login_are_another_person(store: Store) -> None:
    """The application stores every actor in its one canonical form, so the database takes that
    form only: a Cyrillic look-alike of the approver's name, a full-width or upper-case spelling
    of one's own, a null or a number are refused; the login's own canonical name lands."""
    wide = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in store.clerk.upper())
    cyrillic = store.approver.replace("w", "ԝ").replace("u", "υ")
    with store.connect(store.clerk) as conn:
        for actor in (cyrillic, wide, store.clerk.upper(), None, 123):
            doc = json.loads(_state(None, **HARDSHIP))
            doc["actor"] = actor
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="only its own acts"):
                _append(
                    conn, (StudentCase.HardshipReported.TOPIC, json.dumps(doc).encode(), store.case)
                )
        _append(
            conn, (StudentCase.HardshipReported.TOPIC, _state(store.clerk, **HARDSHIP), store.case)
        )


def test_an_event_stamped_off_the_databases_clock_is_refused(store: Store) -> None:
    """The attack: an event stamped 2020 by the writer's clock was accepted after 2026
    events, and `audit ledger --as-of 2021` counted 2026 money."""
    with store.connect(store.clerk) as conn:
        for moment in (datetime(2020, 1, 1, tzinfo=UTC), datetime.now(UTC) + timedelta(hours=1)):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="the store's clock"):
                _append(conn, (StudentCase.HardshipReported.TOPIC, _state(store.clerk, at=moment)))


def test_companions_never_travel_alone_and_unknown_topics_are_refused(store: Store) -> None:
    with store.connect(store.clerk) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="no act of its own"):
            needs = rights()["aidflow:Enrolment.Registered"].needs
            _append(
                conn, ("aidflow:Enrolment.Registered", _state(None, **dict.fromkeys(needs, "x")))
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="may not record"):
            _append(conn, ("aidflow:Forged.Event", _state(store.clerk)))
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="malformed"):
            _append(conn, (StudentCase.HardshipReported.TOPIC, b"\xff not json"))


def test_a_login_whose_roles_were_revoked_appends_nothing(store: Store) -> None:
    owner = AidFlow.open(store.url)
    owner.revoke_role(
        cmd.RevokeRole(name=store.clerk, role=Role.SCREENING_CLERK, actor=store.admin)
    )
    owner.close()
    with (
        store.connect(store.clerk) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="not registered staff"),
    ):
        _append(conn, (StudentCase.HardshipReported.TOPIC, _state(store.clerk)))


# -- what a person's login does do: commands, stamped by the database ------------------------


def test_a_clerks_own_application_is_recorded_and_stamped_with_login_and_clock(
    store: Store,
) -> None:
    flow = AidFlow.open(as_login(store.url, store.clerk))
    try:
        before = datetime.now(UTC)
        _apply(flow, store.clerk, 1)
    finally:
        flow.close()
    with psycopg.connect(store.url) as conn:
        rows = conn.execute(
            "SELECT topic, recorded_by, recorded_at FROM aidflow_events "
            "WHERE recorded_by = %s ORDER BY notification_id",
            (store.clerk,),
        ).fetchall()
    assert [r[0] for r in rows][:2] == [StudentCase.Applied.TOPIC, "aidflow:Enrolment.Registered"]
    assert rows and all(before - timedelta(seconds=5) <= r[2] for r in rows)  # type: ignore[operator]


def test_erasure_by_a_login_is_an_admins_and_only_through_the_function(store: Store) -> None:
    flow = AidFlow.open(as_login(store.url, store.clerk))
    case_id = _apply(flow, store.clerk, 2)
    key_id = flow.vault.owner(case_id)  # type: ignore[arg-type]
    flow.close()
    assert key_id is not None
    with (
        store.connect(store.clerk) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="an admin's act"),
    ):
        conn.execute("SELECT aidflow_erase_key(%s, 'now')", (key_id,))
    under = "key_id = %s OR starts_with(key_id, %s || '/')"
    with psycopg.connect(store.url) as owner:  # the clerk sealed with a key filed under it
        (own,) = owner.execute(
            f"SELECT key_id FROM aidflow_data_keys WHERE {under}",
            (key_id, key_id),
        ).fetchone() or ("",)
    assert own.startswith(f"{key_id}/")
    with store.connect(store.clerk) as conn:  # a key is put once; never over another
        conn.execute("SELECT aidflow_put_key(%s, 'forged', 'now')", (own,))
    with psycopg.connect(store.url) as owner:
        row = owner.execute("SELECT wrapped FROM aidflow_data_keys WHERE key_id = %s", (own,))
        assert row.fetchone() not in (None, ("forged",), (None,))
    with store.connect(store.admin) as conn:
        conn.execute("SELECT aidflow_erase_key(%s, 'now')", (key_id,))
    with psycopg.connect(store.url) as owner:
        rows = owner.execute(
            f"SELECT wrapped, erased_at FROM aidflow_data_keys WHERE {under}",
            (key_id, key_id),
        ).fetchall()
    assert rows and all(w is None and at == "now" for w, at in rows)


def test_a_person_login_takes_no_snapshot(store: Store) -> None:
    flow = AidFlow.open(as_login(store.url, store.clerk))
    try:
        assert flow.login is not None and not flow.login.may_name_staff
        flow.take_snapshot(REGISTRY_ID)  # silently the service's job, never a permission error
    finally:
        flow.close()
    with psycopg.connect(store.url) as conn:
        row = conn.execute("SELECT count(*) FROM aidflow_snapshots").fetchone()
    assert row is not None and row[0] == 0


# -- per store: no reach into another ---------------------------------------------------------


def test_a_login_of_one_store_reaches_no_other(store: Store) -> None:
    other = _make_store(create_database(), uuid.uuid4().hex[:8])
    try:
        assert roles_of(store.url) != roles_of(other.url)
        with pytest.raises(psycopg.OperationalError, match="permission denied"):
            psycopg.connect(as_login(other.url, store.clerk)).close()
        with pytest.raises(psycopg.OperationalError, match="permission denied"):
            psycopg.connect(as_login(other.url, store.auditor)).close()
    finally:
        _drop(other)


def test_district_schemas_in_one_database_are_apart() -> None:
    require_postgres()
    url = create_database()
    suffix = uuid.uuid4().hex[:8]
    north = _make_store(url + "?schema=north", f"n{suffix}")
    south = _make_store(url + "?schema=south", f"s{suffix}")
    try:
        with north.connect(north.clerk) as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT count(*) FROM south.aidflow_events")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(
                    "SELECT * FROM south.aidflow_append(ARRAY[]::south.stored_event_uuid[])"
                )
            assert conn.execute("SELECT count(*) FROM north.aidflow_events").fetchone()
    finally:
        _drop(north)
        _drop(south)


def test_a_person_login_with_a_clock_gone_wrong_gets_a_named_refusal(store: Store) -> None:
    """Through the application, a writer whose clock says 2020 is refused by the database
    (``StoreRefused``, exit 1 at the CLI), not by an internal error; nothing is recorded."""
    from aidflow.domain.clock import fixed
    from aidflow.domain.errors import StoreRefused

    flow = AidFlow.open(
        as_login(store.url, store.clerk), clock=fixed(datetime(2020, 1, 1, tzinfo=UTC))
    )
    before = _count(store.url)
    try:
        with pytest.raises(StoreRefused, match="the store's clock"):
            _apply(flow, store.clerk, 3)
    finally:
        flow.close()
    assert _count(store.url) == before


def test_a_clerk_works_from_the_cli_under_their_own_login_with_the_service_keeping_views(
    store: Store,
) -> None:
    """The day as it runs on a shared store: the clerk's own login records at the CLI; its
    reads wait for the service's follower and never answer from stale views."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    from click.testing import CliRunner

    from aidflow.cli import main

    service = f"svc_{store.clerk}"
    roles = roles_of(store.url)
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {service} LOGIN IN ROLE {roles.service}".encode())
    store.extra_logins.append(service)
    clerk_url = as_login(store.url, store.clerk)
    env = {"AIDFLOW_DB": clerk_url, "AIDFLOW_ACTOR": store.clerk, "AIDFLOW_VIEW_WAIT": "0.5"}
    runner = CliRunner()
    args = ["case", "apply", "--student-id", national_id(4), "--name", "王芳"]
    args += ["--university", "GZU", "--category", "dibao", "--town", "Dalian"]
    applied = runner.invoke(main, args, env=env)
    assert applied.exit_code == 0, applied.output
    stale = runner.invoke(main, ["case", "list"], env=env)
    assert stale.exit_code == 1 and "kept by the office's service" in stale.stderr
    follower = subprocess.Popen(
        [str(Path(sys.executable).parent / "aidflow"), "projections", "follow", "--poll", "0.1"],
        env={**os.environ, "AIDFLOW_DB": as_login(store.url, service)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            listed = runner.invoke(main, ["case", "list", "--json"], env=env)
            if listed.exit_code == 0 or time.monotonic() > deadline:
                break
        assert listed.exit_code == 0, listed.stderr
        assert len(json.loads(listed.stdout)) == 2  # the store's own case, and this one
        other = [*args[:3], national_id(5), *args[4:]]
        named = runner.invoke(main, other, env={**env, "AIDFLOW_ACTOR": store.admin})
        assert named.exit_code == 1 and f"acts only as itself, not as {store.admin}" in named.stderr
    finally:
        follower.terminate()
        follower.wait(10)


# -- the reviewer's attacks (issue 21 §1, a second pass) ---------------------------------------


def test_an_approver_cannot_release_money_into_a_fund_out_of_nothing(store: Store) -> None:
    """A lone ``Fund.Released`` of 10 million yuan by an approver, at the next version of a
    fund, grew its balance and passed the audit. Now it must ride with its case's own event;
    and a release beyond what the case had reserved is a finding of the audit."""
    owner = AidFlow.open(store.url)
    owner.add_staff(cmd.AddStaff(name="finance", roles=[Role.CASHIER], actor=store.admin))
    fund = government_fund(owner, 1000)
    owner.close()
    release = _state(
        store.approver,
        case_id={"_type_": "uuid_hex", "_data_": uuid.uuid4().hex},
        amount_fen=1_000_000_000,
        reason="r",
    )
    with (
        store.connect(store.approver) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="only with its case"),
    ):
        _append(conn, (Fund.Released.TOPIC, release, fund))
    # written around the database (the owner's own login could): the audit names it
    owner = AidFlow.open(store.url)
    forged = owner.repository.get(fund)
    forged._released(case_id=uuid.uuid4(), amount_fen=1_000_000_000, reason="r", actor="wu")
    owner.save(forged)
    owner.close()
    with Office.open(store.url) as office:
        assert "release_beyond_reservation" in {v.rule for v in office.check().violations}


def test_an_admin_cannot_re_add_itself_nor_grant_a_role_to_no_one(store: Store) -> None:
    member = {"department": "", "town": ""}
    with store.connect(store.admin) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="its own standing"):
            _append(
                conn,
                (
                    StaffRegistry.MemberAdded.TOPIC,
                    _state(store.admin, name=store.admin, roles=["admin", "cashier"], **member),
                    REGISTRY_ID,
                ),
            )
        for nameless in ({}, {"name": None}, {"name": "  "}):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="naming no one"):
                _append(
                    conn,
                    (
                        StaffRegistry.RoleGranted.TOPIC,
                        _state(store.admin, role="cashier", **nameless),
                        REGISTRY_ID,
                    ),
                )


def test_events_land_only_on_records_of_their_own_kind_and_whole(store: Store) -> None:
    """A clerk's own hardship report appended to the staff registry, a registry's first event
    at a later version, a case event that starts a record, or one missing its fields would
    have broken every later command or check: each refused."""
    with store.connect(store.clerk) as conn:
        own = _state(store.clerk, **HARDSHIP)
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="does not belong"):
            _append(conn, (StudentCase.HardshipReported.TOPIC, own, REGISTRY_ID))
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="cannot start a record"):
            _append(conn, (StudentCase.HardshipReported.TOPIC, own))
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="starts a record"):
            _append(
                conn,
                (StudentCase.HardshipReported.TOPIC, own, store.case),
                (StaffRegistry.Started.TOPIC, _state(None), REGISTRY_ID),
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="malformed"):
            _append(conn, (StudentCase.HardshipReported.TOPIC, _state(store.clerk), store.case))


def test_a_session_time_zone_cannot_move_a_stamp(store: Store) -> None:
    """``SET TIME ZONE 'UTC+167'`` and a stamp with no offset read "now" by the database and a
    week ago by the application: refused (the function runs in UTC and wants an offset)."""
    naive = (datetime.now(UTC) - timedelta(hours=167)).replace(tzinfo=None).isoformat()
    doc = json.loads(_state(store.clerk, **HARDSHIP))
    doc["timestamp"]["_data_"] = naive
    with store.connect(store.clerk) as conn:
        conn.execute("SET TIME ZONE 'UTC+167'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="malformed"):
            _append(
                conn, (StudentCase.HardshipReported.TOPIC, json.dumps(doc).encode(), store.case)
            )


def test_keys_a_person_may_not_plant(store: Store) -> None:
    """An empty data key for a future student (an erasure before the application), or the
    store's lookup secret chosen by a clerk: refused."""
    with store.connect(store.clerk) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="stored wrapped"):
            conn.execute("SELECT aidflow_put_key('feedfeedfeedfeedfeedfeedfeedfeed', NULL, 'now')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="owner or service"):
            conn.execute("SELECT aidflow_put_secret('lookup', 'AAAA')")
        # a key of the clerk's own as a future student's key: the office would seal that
        # student's later data (an account set over HTTP) with a key the clerk knows
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="never as the student"):
            conn.execute(
                "SELECT aidflow_put_key('feedfeedfeedfeedfeedfeedfeedfeed', 'AAAA', 'now')"
            )
    with store.connect(store.auditor) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT aidflow_bind_key('x', 'y')")


def test_the_stamp_is_the_databases_even_for_the_service(store: Store) -> None:
    roles = roles_of(store.url)
    service = f"svc2_{store.clerk}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {service} LOGIN IN ROLE {roles.service}".encode())
    store.extra_logins.append(service)
    with store.connect(service) as conn:
        conn.execute(
            "INSERT INTO aidflow_events (originator_id, originator_version, topic, state,"
            " recorded_by, recorded_at) VALUES (%s, 1, 'x', '\\x00', %s, '2020-01-01')",
            (uuid.uuid4(), store.approver),
        )
    with psycopg.connect(store.url) as conn:
        row = conn.execute(
            "SELECT recorded_by, recorded_at FROM aidflow_events WHERE topic = 'x'"
        ).fetchone()
    assert row is not None and row[0] == service
    assert row[1] > datetime.now(UTC) - timedelta(minutes=5)  # type: ignore[operator]


def test_a_transaction_left_open_is_cut_off(store: Store) -> None:
    """A login that begins, appends and sits on the events' lock would stop everyone."""
    with store.connect(store.clerk) as conn:
        row = conn.execute("SHOW idle_in_transaction_session_timeout").fetchone()
    assert row is not None and row[0] == "1min"


def test_a_programme_years_work_runs_under_each_persons_own_login(store: Store) -> None:
    """The database's checks refuse forgeries, not the office's day: each step of a case,
    recorded by the person whose post it is, through their own login."""
    suffix = store.clerk.split("_")[1]
    verifier, cashier = f"lan_{suffix}", f"qian_{suffix}"
    owner = AidFlow.open(store.url)
    owner.add_staff(cmd.AddStaff(name=verifier, roles=[Role.VERIFIER], actor=store.admin))
    owner.add_staff(cmd.AddStaff(name=cashier, roles=[Role.CASHIER], actor=store.admin))
    owner.close()
    roles = roles_of(store.url)
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        for login in (verifier, cashier):
            conn.execute(f"CREATE ROLE {login} LOGIN IN ROLE {roles.writer}".encode())
    store.extra_logins += [verifier, cashier]

    def as_(login: str) -> AidFlow:
        return AidFlow.open(as_login(store.url, login))

    with_cashier = as_(cashier)
    fund = with_cashier.open_fund(cmd.OpenFund(name="gov", kind="government", actor=cashier))
    with_cashier.deposit(
        cmd.Deposit(
            fund_id=fund, amount_fen=1_000_000, source="budget", receipt="B-9", actor=cashier
        )
    )
    case = store.case
    with_verifier = as_(verifier)
    with_verifier.verify(verification(case, verifier))
    with_clerk = as_(store.clerk)
    with_clerk.handle(
        cmd.SetAccount(
            case_id=case, account="6222020200112233445", reason="the form", actor=store.clerk
        )
    )
    with_approver = as_(store.approver)
    with_approver.approve(
        cmd.Approve(
            case_id=case,
            amount_fen=300_000,
            need="tuition",
            fund_id=fund,
            ref="SP-DB-1",
            actor=store.approver,
        )
    )
    with_cashier.disburse(
        cmd.Disburse(case_id=case, amount_fen=100_000, voucher="V-DB-1", actor=cashier)
    )
    with_verifier.handle(
        cmd.FollowUp(
            case_id=case,
            study="ok",
            living="ok",
            hardship_trend="unchanged",
            received="yes",
            actor=verifier,
        )
    )
    with_approver.handle(cmd.CloseCase(case_id=case, reason="withdrawn", actor=store.approver))
    with_clerk.handle(
        cmd.ReportHardship(case_id=case, kind="illness", detail="d", actor=store.clerk)
    )
    for flow in (with_cashier, with_verifier, with_approver, with_clerk):
        flow.close()
    with Office.open(store.url) as office:  # the service's view of it: every rule holds
        assert office.check().violations == []
        assert office.flow.fund(fund).balance_fen == 1_000_000 - 100_000


def test_a_person_login_takes_turns_on_a_hot_record_with_its_own_rights(store: Store) -> None:
    """Issue 25 §1: turns between processes are advisory locks any login may take (they
    write nothing); a clerk's command on a record that conflicted lately takes the record's
    turn under the clerk's own login and is recorded, and the turn is given back."""
    flow = AidFlow.open(as_login(store.url, store.clerk))
    try:
        flow.pipeline.heat({store.case})
        flow.handle(
            cmd.ReportHardship(
                case_id=store.case,
                kind="illness",
                detail="d",
                severity="serious",
                actor=store.clerk,
            )
        )
    finally:
        flow.close()
    with psycopg.connect(store.url) as conn:
        held = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (TURN_CLASS,),
        ).fetchone()
        hardship = conn.execute(
            "SELECT recorded_by FROM aidflow_events WHERE topic LIKE %s", ("%HardshipReported",)
        ).fetchall()
    assert held == (0,)
    assert hardship == [(store.clerk,)]
