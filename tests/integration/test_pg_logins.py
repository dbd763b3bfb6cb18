"""Issue 11 §2 on PostgreSQL, with real logins: the actor is the authenticated login; an
auditor login cannot write; a clerk login cannot act as someone else; the events table is
append-only even for a writer login."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from aidflow import AidFlow
from aidflow import commands as cmd
from aidflow.config import parse_url
from aidflow.domain.errors import NotAuthorised
from aidflow.domain.staff import Role
from aidflow.gate import store_roles
from aidflow.roles import apply_roles
from tests.builders import national_id
from tests.pg import ADMIN_URL, fresh_database

pytestmark = pytest.mark.xdist_group("pg-roles")
"""The cluster's shared roles are made by these tests: one worker makes them, in turn."""


def _as(url: str, login: str) -> str:
    return urlunsplit(urlsplit(url)._replace(netloc=f"{login}@{urlsplit(url).hostname}:5432"))


def _apply(flow: AidFlow, actor: str, n: int) -> None:
    flow.apply(
        cmd.Apply(
            student_id=national_id(n),
            name=f"Student {n}",
            university="Guizhou University",
            family_category="dibao",
            town="Dalian",
            year=2026,
            actor=actor,
        )
    )


@pytest.fixture
def office() -> Iterator[tuple[str, str, str, str]]:
    """A store with roles applied and two logins: a clerk (writer) and an auditor."""
    suffix = uuid.uuid4().hex[:8]
    clerk, auditor, admin = f"zhou_{suffix}", f"shen_{suffix}", f"li_{suffix}"
    with fresh_database() as url:
        owner = AidFlow.open(url)  # the DBA's superuser login creates the tables
        owner.add_staff(cmd.AddStaff(name=admin, roles=[Role.ADMIN], actor=admin))
        owner.add_staff(cmd.AddStaff(name=clerk, roles=[Role.SCREENING_CLERK], actor=admin))
        owner.add_staff(cmd.AddStaff(name=auditor, roles=[Role.AUDITOR], actor=admin))
        owner.close()
        apply_roles(url)
        roles = store_roles(parse_url(url).database, parse_url(url).schema)
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {clerk} LOGIN IN ROLE {roles.writer}".encode())
            conn.execute(f"CREATE ROLE {auditor} LOGIN IN ROLE {roles.auditor}".encode())
        try:
            yield url, clerk, auditor, admin
        finally:
            with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                name = urlsplit(url).path.lstrip("/")
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
                for login in (clerk, auditor, roles.service, roles.writer, roles.auditor):
                    conn.execute(f"DROP ROLE IF EXISTS {login}".encode())


@pytest.mark.postgres
def test_a_clerk_login_acts_only_as_itself(office: tuple[str, str, str, str]) -> None:
    url, clerk, _auditor, admin = office
    flow = AidFlow.open(_as(url, clerk))
    assert flow.login is not None and flow.login.name == clerk
    assert not flow.login.may_name_staff
    before = flow.recorder.max_notification_id()
    with pytest.raises(NotAuthorised, match=f"acts only as itself, not as {admin}"):
        _apply(flow, admin, 1)
    assert flow.recorder.max_notification_id() == before
    _apply(flow, clerk.upper(), 1)  # itself, in any spelling
    assert flow.recorder.max_notification_id() > (before or 0)
    flow.close()


@pytest.mark.postgres
def test_an_auditor_login_reads_but_cannot_write(office: tuple[str, str, str, str]) -> None:
    url, clerk, auditor, _admin = office
    writer = AidFlow.open(_as(url, clerk))
    _apply(writer, clerk, 2)
    writer.close()
    reader = AidFlow.open(_as(url, auditor))
    assert [m.name for m in reader.staff()]  # reads the record
    with pytest.raises(NotAuthorised):  # the registry says no ...
        _apply(reader, auditor, 3)
    with (  # ... and so does the database
        psycopg.connect(_as(url, auditor)) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("INSERT INTO aidflow_events (originator_id) VALUES (gen_random_uuid())")
    reader.close()


@pytest.mark.postgres
def test_the_events_table_is_append_only_for_a_writer_login(
    office: tuple[str, str, str, str],
) -> None:
    url, clerk, _auditor, _admin = office
    with (
        psycopg.connect(_as(url, clerk)) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),  # issue 21 §1: no UPDATE at all
    ):
        conn.execute("UPDATE aidflow_events SET state = state")
    with (
        psycopg.connect(_as(url, clerk)) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("DELETE FROM aidflow_events")


@pytest.mark.postgres
def test_a_clerk_login_naming_an_admin_mints_no_token(office: tuple[str, str, str, str]) -> None:
    """The attack: `aidflow --db postgresql://clerk@… --actor admin staff token admin` issued an
    admin token (the command checked the --actor text, not the login). A token is now a
    command (``IssueToken``) through the door of every command: the login acts only as
    itself, and only an admin issues another member's token. (A writer login cannot open an
    Office at all: the views' tables are the service's.)"""
    url, clerk, _auditor, admin = office
    flow = AidFlow.open(_as(url, clerk))
    try:
        head = flow.recorder.max_notification_id()
        with pytest.raises(NotAuthorised, match=f"acts only as itself, not as {admin}"):
            flow.handle(cmd.IssueToken(name=admin, actor=admin))
        with pytest.raises(NotAuthorised, match=f"only an admin manages staff and policy; {clerk}"):
            flow.handle(cmd.IssueToken(name=admin, actor=clerk))
        assert flow.recorder.max_notification_id() == head
        own = flow.handle(cmd.IssueToken(name=clerk, actor=clerk))  # their own: recorded
        assert own.name == clerk and own.token.startswith("afw_")
    finally:
        flow.close()


@pytest.mark.postgres
def test_a_persons_login_reads_only_what_its_posts_may_ask(
    office: tuple[str, str, str, str],
) -> None:
    """Issue 21 §3 through the database login, on the library and on the command line alike:
    a screening clerk's login reads cases, not the journal nor the money; an auditor's reads
    both. The refusal comes before any view is waited for."""
    from click.testing import CliRunner

    from aidflow import Office
    from aidflow.cli import main

    url, clerk, auditor, _admin = office
    writer = AidFlow.open(_as(url, clerk))
    _apply(writer, clerk, 4)
    writer.close()
    Office.open(url).close()  # the owner's office catches the views up
    as_clerk = Office.open(_as(url, clerk))
    try:
        assert len(as_clerk.cases()) == 1
        with pytest.raises(NotAuthorised, match=f"{clerk} may not read audit"):
            as_clerk.journal()
        with pytest.raises(NotAuthorised):
            as_clerk.funds()
    finally:
        as_clerk.close()
    as_auditor = Office.open(_as(url, auditor))
    try:
        assert as_auditor.journal() and as_auditor.funds() == []
    finally:
        as_auditor.close()
    runner = CliRunner()
    refused = runner.invoke(main, ["--db", _as(url, clerk), "audit", "journal", "--json"])
    assert refused.exit_code == 1
    assert '"not_authorised"' in refused.stderr
    shown = runner.invoke(main, ["--db", _as(url, auditor), "audit", "journal", "--json"])
    assert shown.exit_code == 0, shown.stderr
