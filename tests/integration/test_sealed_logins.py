"""Issue 21 §5 with real PostgreSQL logins: recording an application does not give its clerk the
power to read other students' data. A person's login holds no ``SELECT`` on the wrapped data
keys, so the master key alone opens nothing: it seals new values with keys of its own (filed
under the student's), reads the rest sealed, writes a value it copies back as the stored
token, and opens a key only through ``aidflow_get_key`` — for a post that may reveal (verifier,
cashier), in a command that reveals, each key recorded by the database itself."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import psycopg
import pytest

from aidflow import AidFlow, Office
from aidflow import commands as cmd
from aidflow.domain.errors import NotAuthorised, PersonalDataGone
from aidflow.domain.staff import Role
from aidflow.privacy import KEYLESS
from tests.builders import account_of, application, national_id
from tests.integration.test_db_rights import Store, _drop, _make_store, as_login, roles_of
from tests.pg import ADMIN_URL, create_database, require_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("pg-roles")]


@pytest.fixture
def store() -> Iterator[Store]:
    require_postgres()
    suffix = uuid.uuid4().hex[:8]
    made = _make_store(create_database(), suffix)
    verifier, cashier = f"qian_{suffix}", f"sun_{suffix}"
    owner = AidFlow.open(made.url)
    owner.add_staff(
        cmd.AddStaff(name=verifier, roles=[Role.VERIFIER], town="Dalian", actor=made.admin)
    )
    owner.add_staff(cmd.AddStaff(name=cashier, roles=[Role.CASHIER], actor=made.admin))
    owner.close()
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        for login in (verifier, cashier):
            conn.execute(f"CREATE ROLE {login} LOGIN IN ROLE {roles_of(made.url).writer}".encode())
    made.extra_logins += [verifier, cashier]
    try:
        yield made
    finally:
        _drop(made)


def _as(store: Store, login: str) -> AidFlow:
    return AidFlow.open(as_login(store.url, login))


def _apply(store: Store, n: int, year: int = 2026) -> uuid.UUID:
    flow = _as(store, store.clerk)
    try:
        return flow.apply(application(n, year, actor=store.clerk, name=f"学生{n}"))
    finally:
        flow.close()


def test_a_clerks_login_with_the_master_key_opens_no_students_data(store: Store) -> None:
    other = _apply(store, 3)
    with store.connect(store.clerk) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT wrapped FROM aidflow_data_keys").fetchall()
        (key_id,) = conn.execute("SELECT key_id FROM aidflow_data_keys LIMIT 1").fetchone() or ("",)
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="may not open personal"):
            conn.execute("SELECT * FROM aidflow_get_key(%s)", (key_id,)).fetchall()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM aidflow_key_reads").fetchall()
    flow = _as(store, store.clerk)  # the library over the clerk's login, the key given
    try:
        case = flow.load_case(other)
        assert (str(case.name), str(case.student_id), str(case.account)) == (KEYLESS,) * 3
        opened = flow.load_case(store.case)  # a case the clerk did not record either
        assert str(opened.name) == KEYLESS
    finally:
        flow.close()
    with psycopg.connect(store.url) as owner:
        row = owner.execute("SELECT count(*) FROM aidflow_key_reads").fetchone()
    assert row == (0,)  # nothing was handed out


def test_a_verifier_opens_only_in_a_reveal_and_the_database_records_the_key(store: Store) -> None:
    case_id = _apply(store, 4)
    flow = _as(store, store.extra_logins[0])
    try:
        assert str(flow.load_case(case_id).name) == KEYLESS  # reading a case is not a reveal
        shown = flow.reveal(
            cmd.Reveal(case_id=case_id, reason="home visit", actor=store.extra_logins[0])
        )
    finally:
        flow.close()
    assert (shown.name, shown.student_id, shown.account) == ("学生4", national_id(4), account_of(4))
    with psycopg.connect(store.url) as owner:
        reads = owner.execute("SELECT login, key_id FROM aidflow_key_reads").fetchall()
    assert reads and {login for login, _ in reads} == {store.extra_logins[0]}
    with store.connect(store.auditor) as conn:  # the auditor reads who was handed which key
        rows = conn.execute("SELECT count(*) FROM aidflow_key_reads").fetchone()
    assert rows == (len(reads),)


def test_a_value_copied_unopened_is_the_value_itself(store: Store) -> None:
    """A cashier's payment copies the student's account into its event without opening it:
    the stored token is written back, so the office reads the very account."""
    case_id = _apply(store, 5)
    verifier, cashier = store.extra_logins
    owner = AidFlow.open(store.url)  # the owner may name the staff member it acts for
    fund = owner.open_fund(
        cmd.OpenFund(name="Temporary assistance", kind="government", actor=cashier)
    )
    owner.deposit(
        cmd.Deposit(
            fund_id=fund, amount_fen=10_000_000, source="budget", receipt="B-S", actor=cashier
        )
    )
    owner.close()
    steps = [
        (verifier, cmd.Verify(case_id=case_id, income_fen=1, tuition_fen=1, gap_fen=100_000,
                              needs=["tuition"], actor=verifier)),
        (store.approver, cmd.Approve(case_id=case_id, amount_fen=50_000, need="tuition",
                                     fund_id=fund, ref="MZ-S-1", actor=store.approver)),
        (cashier, cmd.Disburse(case_id=case_id, amount_fen=20_000, voucher="V-S-1",
                               actor=cashier)),  # outside a list: the account copied unopened
    ]  # fmt: skip
    for login, command in steps:
        flow = _as(store, login)
        try:
            flow.handle(command)
        finally:
            flow.close()
    with psycopg.connect(store.url) as owner_conn:
        reads = owner_conn.execute("SELECT count(*) FROM aidflow_key_reads").fetchone()
    assert reads == (0,)  # no key was opened for any of it
    with Office.open(store.url) as service:  # the service's views, which persons read
        service.catch_up_views()
    office = Office.open(as_login(store.url, cashier))  # the bank's list: a reveal, in full
    try:
        listed = office.handle(
            cmd.IssuePaymentList(fund_id=fund, list_date=date(2026, 8, 1), actor=cashier)
        )
        line = listed.lines[0]
        assert (line.name, line.student_id, line.account) == (
            "学生5", national_id(5), account_of(5),
        )  # fmt: skip
        assert line.amount_fen == 30_000  # the rest
    finally:
        office.close()
    with psycopg.connect(store.url) as owner_conn:
        reads = owner_conn.execute("SELECT count(*) FROM aidflow_key_reads").fetchone()
    assert reads == (1,)
    office = AidFlow.open(store.url)  # the owner's login: the whole store
    try:
        paid = office.load_case(case_id)
        assert [p["account"] for p in paid.payments.values()] == [account_of(5)] * 2
    finally:
        office.close()


def test_a_returning_student_is_sealed_under_their_key_and_erasure_takes_every_one(
    store: Store,
) -> None:
    first = _apply(store, 6, year=2025)
    second = _apply(store, 6, year=2026)  # another process: a key of its own
    office = AidFlow.open(store.url)  # the owner's login: the whole store
    student = office.vault.key_id(national_id(6))
    with psycopg.connect(store.url) as owner:
        ids = [r[0] for r in owner.execute("SELECT key_id FROM aidflow_data_keys").fetchall()]
    mine = sorted(k for k in ids if k.split("/")[0] == student)
    assert len(mine) == 2 and all(k.startswith(f"{student}/") for k in mine)
    verifier = store.extra_logins[0]
    flow = _as(store, verifier)
    try:
        for case_id in (first, second):
            shown = flow.reveal(cmd.Reveal(case_id=case_id, reason="check", actor=verifier))
            assert shown.student_id == national_id(6)
    finally:
        flow.close()
    try:
        office.vault.erase(student)
    finally:
        office.close()
    with psycopg.connect(store.url) as owner:
        left = owner.execute(
            "SELECT count(*) FROM aidflow_data_keys WHERE wrapped IS NOT NULL"
            " AND (key_id = %s OR starts_with(key_id, %s || '/'))",
            (student, student),
        ).fetchone()
    assert left == (0,)


def test_a_student_erased_before_applies_again_through_a_persons_login(store: Store) -> None:
    """A clerk's login seals a returning student's new application with a key of its own
    even when the student's earlier keys were erased (it was refused as "store damaged");
    the earlier keys stay erased, and a verifier opens the new case in a reveal."""
    first = _apply(store, 7, year=2024)
    office = AidFlow.open(store.url)
    student = office.vault.key_id(national_id(7))
    try:
        office.vault.erase(student)
    finally:
        office.close()
    again = _apply(store, 7, year=2026)
    verifier = store.extra_logins[0]
    flow = _as(store, verifier)
    try:
        shown = flow.reveal(cmd.Reveal(case_id=again, reason="visit", actor=verifier))
        assert (shown.student_id, shown.name) == (national_id(7), "学生7")
        with pytest.raises(PersonalDataGone):
            flow.reveal(cmd.Reveal(case_id=first, reason="visit", actor=verifier))
    finally:
        flow.close()


def test_a_key_taken_in_a_rolled_back_transaction_is_still_counted(store: Store) -> None:
    """The hand-out's row can be rolled back by the caller; its number cannot (a sequence)."""
    case_id = _apply(store, 7)
    verifier = store.extra_logins[0]
    flow = _as(store, verifier)
    try:
        flow.reveal(cmd.Reveal(case_id=case_id, reason="visit", actor=verifier))
    finally:
        flow.close()
    office = Office.open(store.url)
    try:
        assert office.flow.vault.key_handouts() == (1, 1)
        assert "key_handout_unrecorded" not in {v.rule for v in office.check().violations}
        with store.connect(verifier) as conn:
            (key_id,) = conn.execute("SELECT key_id FROM aidflow_data_keys LIMIT 1").fetchone() or (
                "",
            )
            conn.execute("BEGIN")
            taken = conn.execute("SELECT * FROM aidflow_get_key(%s)", (key_id,)).fetchall()
            conn.execute("ROLLBACK")
        assert taken and taken[0][0]  # it was given the wrapped key ...
        assert office.flow.vault.key_handouts() == (2, 1)  # ... and its row is gone, not its number
        found = [v for v in office.check().violations if v.rule == "key_handout_unrecorded"]
        assert len(found) == 1 and "2" in str(found[0].message)
    finally:
        office.close()
    auditor = Office.open(as_login(store.url, store.auditor))
    try:  # the auditor's own login sees it too
        assert auditor.flow.vault.key_handouts() == (2, 1)
    finally:
        auditor.close()


def test_finding_by_name_opens_names_only_for_a_post_that_may_find(store: Store) -> None:
    case_id = _apply(store, 8)
    with Office.open(store.url) as service:  # the service's views, which persons read
        service.catch_up_views()
    clerk = Office.open(as_login(store.url, store.clerk))
    try:
        with pytest.raises(NotAuthorised):  # refused before any name is opened
            clerk.find("学生8", actor=store.clerk)
    finally:
        clerk.close()
    verifier = store.extra_logins[0]
    office = Office.open(as_login(store.url, verifier))
    try:
        found = office.find("学生8", actor=verifier)
    finally:
        office.close()
    assert [c.case_id for c in found] == [str(case_id)]
    with psycopg.connect(store.url) as owner:
        reads = owner.execute("SELECT login FROM aidflow_key_reads").fetchall()
    assert reads and {r[0] for r in reads} == {verifier}
