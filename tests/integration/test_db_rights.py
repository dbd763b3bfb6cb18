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
from aidflow.config import parse_url
from aidflow.domain.case import StudentCase
from aidflow.domain.fund import Fund
from aidflow.domain.staff import REGISTRY_ID, Role, StaffRegistry
from aidflow.gate import StoreRoles, store_roles
from aidflow.office import Office
from aidflow.roles import apply_roles
from tests.builders import national_id
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


def _state(actor: str | None, *, at: datetime | None = None, **fields: object) -> bytes:
    moment = (at or datetime.now(UTC)).isoformat()
    doc: dict[str, object] = {"timestamp": {"_type_": "datetime_iso", "_data_": moment}}
    if actor is not None:
        doc["actor"] = actor
    doc.update(fields)
    return json.dumps(doc).encode()


def _append(conn: psycopg.Connection[tuple[object, ...]], *rows: tuple[str, bytes]) -> None:
    """Call the store's function the way a hand-written client would."""
    values = ", ".join("ROW(%s::uuid, %s::bigint, %s, %s::bytea)" for _ in rows)
    params: list[object] = []
    for topic, state in rows:
        params += [uuid.uuid4(), 1, topic, state]
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
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="its own roles"),
    ):
        _append(
            conn,
            (
                StaffRegistry.RoleGranted.TOPIC,
                _state(store.admin, name=store.admin, role="cashier"),
            ),
        )


def test_look_alike_spellings_of_another_login_are_another_person(store: Store) -> None:
    """Full-width and upper-case spellings of one's own login are oneself (NFKC, case); a
    Cyrillic look-alike of the approver's name is not the approver — and not the clerk."""
    wide = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in store.clerk.upper())
    with store.connect(store.clerk) as conn:
        _append(conn, (StudentCase.HardshipReported.TOPIC, _state(wide)))  # itself
        cyrillic = store.approver.replace("w", "ԝ").replace("u", "υ")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="only its own acts"):
            _append(conn, (StudentCase.HardshipReported.TOPIC, _state(cyrillic)))


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
            _append(conn, ("aidflow:Enrolment.Registered", _state(None)))
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
    with store.connect(store.clerk) as conn:  # a key is put once; never over another
        conn.execute("SELECT aidflow_put_key(%s, 'forged', 'now')", (key_id,))
        row = conn.execute(
            "SELECT wrapped FROM aidflow_data_keys WHERE key_id = %s", (key_id,)
        ).fetchone()
        assert row is not None and row[0] not in (None, "forged")
    with store.connect(store.admin) as conn:
        conn.execute("SELECT aidflow_erase_key(%s, 'now')", (key_id,))
        row = conn.execute(
            "SELECT wrapped FROM aidflow_data_keys WHERE key_id = %s", (key_id,)
        ).fetchone()
        assert row is not None and row[0] is None


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
        assert len(json.loads(listed.stdout)) == 1
        other = [*args[:3], national_id(5), *args[4:]]
        named = runner.invoke(main, other, env={**env, "AIDFLOW_ACTOR": store.admin})
        assert named.exit_code == 1 and f"acts only as itself, not as {store.admin}" in named.stderr
    finally:
        follower.terminate()
        follower.wait(10)
