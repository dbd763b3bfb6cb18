"""Personal data at rest (issue 11 §3-§4), on SQLite and PostgreSQL.

A full lifecycle leaves no national ID, name or account in the store's bytes (events,
snapshots, views, key tables); the views show them masked and an authorised reveal in
full, recorded. Erasure destroys the student's data key and leaves the chain, the checks
and the ledger as they were.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from aidflow import AidFlow
from aidflow import commands as cmd
from aidflow.config import parse_url
from aidflow.domain.errors import (
    DuplicateApplication,
    ErasureRefused,
    MasterKeyMissing,
    MasterKeyWrong,
    NotAuthorised,
    PersonalDataGone,
    StoreDamaged,
)
from aidflow.domain.keys import Enrolment
from aidflow.domain.masking import ENCRYPTED, ERASED, mask_identifier
from aidflow.privacy import TOKEN, new_master, parse_master
from aidflow.projections.read_models import ReadModels
from tests.builders import followed_up, government_fund, national_id, new_ref

NAME = "王小明"
ACCOUNT = "6222020200998877665"
STUDENT = national_id(417)
FIXTURES = Path(__file__).resolve().parents[1] / "contract" / "fixtures" / "v0.1.0"


def needles(*values: str) -> list[bytes]:
    """Each value as UTF-8 and as JSON would escape it (a name must be in neither)."""
    found = []
    for value in values:
        found.append(value.encode("utf-8"))
        found.append(json.dumps(value)[1:-1].encode("ascii"))
    return found


def _table_files(url: str, table: str) -> bytes:
    """The bytes of a PostgreSQL table's heap file, as the server keeps it on disk (read as the
    superuser the tests connect as: what someone copying the data folder would get)."""
    with parse_url(url).connect() as conn:
        conn.execute("CHECKPOINT")  # the pages on disk, not only in the server's buffers
        row = conn.execute(
            "SELECT pg_read_binary_file(pg_relation_filepath(%s))", (table,)
        ).fetchone()
    assert row is not None
    return bytes(row[0])


def raw_store(url: str) -> bytes:
    """Every byte the store keeps: the SQLite file and its WAL, or every PostgreSQL table."""
    store = parse_url(url)
    if store.backend == "sqlite":
        data = b""
        for suffix in ("", "-wal", "-journal"):
            path = Path(store.path + suffix)
            if path.exists():
                data += path.read_bytes()
        return data
    chunks: list[bytes] = []
    with store.connect() as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            )
        ]
        assert "aidflow_events" in tables and "aidflow_data_keys" in tables
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        chunks.append(bytes(value))
                    elif isinstance(value, dict | list):
                        chunks.append(json.dumps(value, ensure_ascii=False).encode())
                    else:
                        chunks.append(str(value).encode("utf-8"))
    return b"\n".join(chunks)


@pytest.fixture
def views(flow: AidFlow, store_url: str) -> Iterator[ReadModels]:
    models = ReadModels.attach(flow, store_url)
    try:
        yield models
    finally:
        models.close()


def apply(flow: AidFlow, *, year: int = 2026, name: str = NAME) -> UUID:
    return flow.apply(
        cmd.Apply(
            student_id=STUDENT,
            name=name,
            university="Guizhou University",
            family_category="dibao",
            town="Dalian",
            year=year,
            account=ACCOUNT,
            actor="screening",
        )
    )


def lifecycle(flow: AidFlow, *, year: int = 2026) -> UUID:
    """Apply, verify, approve, pay and close one case; snapshots of the case and its fund."""
    fund = government_fund(flow)
    case = apply(flow, year=year)
    flow.verify(
        cmd.Verify(
            case_id=case,
            income_fen=1_200_000,
            tuition_fen=600_000,
            gap_fen=400_000,
            needs=["tuition"],
            actor="visitor",
        )
    )
    flow.approve(
        cmd.Approve(
            ref=new_ref(),
            case_id=case,
            amount_fen=300_000,
            need="tuition",
            fund_id=fund,
            actor="approver",
        )
    )
    flow.disburse(
        cmd.Disburse(case_id=case, amount_fen=300_000, voucher=f"V-{year}", actor="cashier")
    )
    followed_up(flow, case, actor="visitor")  # a paid case is followed up before it closes
    flow.close_case(cmd.CloseCase(case_id=case, reason="graduated", actor="approver"))
    flow.take_snapshot(case)
    flow.take_snapshot(fund)
    return case


def test_a_lifecycle_leaves_no_personal_data_in_the_stores_bytes(
    flow: AidFlow, views: ReadModels, store_url: str
) -> None:
    case = lifecycle(flow)
    flow.reveal(cmd.Reveal(case_id=case, reason="payment check", actor="cashier"))
    views.catch_up(flow)

    raw = raw_store(store_url)
    assert raw.count(TOKEN.encode()) >= 4  # the application's three fields and the key's ID
    for needle in needles(STUDENT, NAME, ACCOUNT):
        assert needle not in raw, needle

    # What people read: masked; the snapshot and the replay agree on the plain values.
    dossier = views.dossier(str(case))
    assert (dossier.name, dossier.student_id_masked) == ("王**", mask_identifier(STUDENT))
    assert dossier.account_masked == "6222***********7665"
    assert flow.case(case).name == "王**"
    assert all(ENCRYPTED in e.detail.values() for e in dossier.timeline[:1])
    assert [c.case_id for c in views.find_cases(STUDENT, confirm=_enrolled(flow))] == [str(case)]
    found = views.find_cases(f"  {NAME} ", confirm_name=lambda n, c: flow.is_named(c.case_id, n))
    assert [c.case_id for c in found] == [str(case)]
    assert views.find_cases("王小亮", confirm_name=lambda n, c: flow.is_named(c.case_id, n)) == []

    # The revealed values are whole, and the reveal is in the record.
    shown = flow.reveal(cmd.Reveal(case_id=case, reason="home visit", actor="visitor"))
    assert (shown.student_id, shown.name, shown.account) == (STUDENT, NAME, ACCOUNT)
    reveals = [r for r in flow.history(case) if r.type == "case.personal_data_revealed"]
    assert [(r.actor, r.data["reason"]) for r in reveals] == [
        ("cashier", "payment check"),
        ("visitor", "home visit"),
    ]
    assert all(
        NAME not in json.dumps(r.data, ensure_ascii=False, default=str) for r in flow.history(case)
    )
    views.catch_up(flow)
    assert views.check_report(flow.current_policy()).ok


def _enrolled(flow: AidFlow):  # type: ignore[no-untyped-def]
    return lambda sid, c: (
        (key := flow.enrolment_of(sid, c.year)) is not None and str(key.case_id) == c.case_id
    )


def test_a_reveal_needs_a_role_that_needs_it_and_writes_nothing_when_refused(
    flow: AidFlow,
) -> None:
    from aidflow.domain.staff import Role

    case = apply(flow)
    flow.add_staff(cmd.AddStaff(name="reader", roles=[Role.AUDITOR], actor="admin"))
    before = flow.recorder.max_notification_id()
    with pytest.raises(NotAuthorised):
        flow.reveal(cmd.Reveal(case_id=case, reason="curious", actor="reader"))
    with pytest.raises(ValueError, match="reason"):
        flow.reveal(cmd.Reveal(case_id=case, reason="  ", actor="cashier"))
    assert flow.recorder.max_notification_id() == before


def test_enrolment_keys_are_keyed_and_the_id_is_not_their_name(flow: AidFlow) -> None:
    case = apply(flow)
    key = flow.enrolment_of(STUDENT, 2026)
    assert key is not None and key.case_id == case
    assert key.id != Enrolment.create_id(STUDENT, 2026)  # not derivable from the ID alone
    assert key.id == flow.enrolment_id(STUDENT, 2026)
    with pytest.raises(DuplicateApplication):
        apply(flow, name="王小明")
    spelled = STUDENT[:-1] + STUDENT[-1].lower()  # the check letter, if any, in either case
    assert flow.enrolment_of(spelled, 2026) is not None


def test_erasure_keeps_the_chain_the_checks_and_the_ledger(
    flow: AidFlow, views: ReadModels, store_url: str
) -> None:
    case = lifecycle(flow)
    views.catch_up(flow)
    digest = views.digest()
    check_before = views.check_report(flow.current_policy())
    ledger_before = views.ledger().model_dump(mode="json")

    key_id = flow.load_case(case).student_id.key_id  # type: ignore[attr-defined]
    [(wrapped,)] = flow.vault.db.run(
        "SELECT wrapped FROM aidflow_data_keys WHERE key_id = ?", (key_id,)
    )
    assert wrapped.encode() in raw_store(store_url)
    if parse_url(store_url).backend == "postgresql":  # the file check below can see it
        assert wrapped.encode() in _table_files(store_url, "aidflow_data_keys")
    with pytest.raises(ErasureRefused, match="retention"):
        flow.erase(cmd.EraseCase(case_id=case, reason="retention over", actor="admin"))
    flow.set_policy(cmd.SetPolicy(key="retention-years", value="0", actor="admin"))
    with pytest.raises(NotAuthorised):
        flow.erase(cmd.EraseCase(case_id=case, reason="retention over", actor="approver"))
    assert flow.erase(cmd.EraseCase(case_id=case, reason="retention over", actor="admin")) == [case]
    views.catch_up(flow)

    assert views.verify(flow, digest).ok
    after = views.check_report(flow.current_policy())
    assert after.violations == check_before.violations and after.ok
    ledger_after = views.ledger().model_dump(mode="json")
    assert ledger_after.pop("position") > ledger_before.pop("position")  # only the erasure
    assert ledger_after == ledger_before

    dossier = views.dossier(str(case))
    assert (dossier.name, dossier.student_id_masked, dossier.account_masked) == (ERASED,) * 3
    assert (dossier.approved_fen, dossier.disbursed_fen) == (300_000, 300_000)
    assert flow.case(case).name == ERASED
    with pytest.raises(PersonalDataGone):
        flow.reveal(cmd.Reveal(case_id=case, reason="look", actor="cashier"))
    with pytest.raises(ErasureRefused, match="erased already"):
        flow.erase(cmd.EraseCase(case_id=case, reason="again", actor="admin"))
    assert all(d.ok for d in views.verify_views(flow)), "rebuilt views equal the live ones"
    from aidflow.application.snapshots import verify_snapshots

    assert verify_snapshots(flow).ok  # the case's encrypted snapshot, read as erased
    flow.take_snapshot(case)  # a snapshot taken after erasure holds no plain text either
    assert flow.case(case).name == ERASED and verify_snapshots(flow).ok
    assert views.find_cases(NAME, confirm_name=lambda n, c: flow.is_named(c.case_id, n)) == []

    raw = raw_store(store_url)
    for needle in needles(STUDENT, NAME, ACCOUNT):
        assert needle not in raw, needle
    # The data key is gone: from the table, and on SQLite from every page of the file.
    assert flow.vault.db.run(
        "SELECT wrapped FROM aidflow_data_keys WHERE key_id = ?", (key_id,)
    ) == [(None,)]
    if parse_url(store_url).backend == "sqlite":
        assert wrapped.encode() not in raw
    else:  # issue 21 §5: nor in the table's files (the old tuple is gone with VACUUM FULL)
        assert wrapped.encode() not in _table_files(store_url, "aidflow_data_keys")


def test_erasure_waits_for_the_end_of_every_case_of_the_student(flow: AidFlow) -> None:
    flow.set_policy(cmd.SetPolicy(key="retention-years", value="0", actor="admin"))
    first = lifecycle(flow, year=2025)
    second = apply(flow, year=2026)
    with pytest.raises(ErasureRefused, match="still open"):
        flow.erase(cmd.EraseCase(case_id=first, reason="done", actor="admin"))
    flow.reject(cmd.Reject(case_id=second, reason="moved away", actor="approver"))
    erased = flow.erase(cmd.EraseCase(case_id=first, reason="done", actor="admin"))
    assert sorted(erased) == sorted([first, second])  # one key per student, every year
    assert flow.case(second).name == ERASED


def test_a_student_whose_data_was_erased_can_apply_again_and_be_erased_again(
    flow: AidFlow, store_url: str
) -> None:
    """Erased after the retention period, a student applies again in a later year: the new
    application is recorded under a new key filed under theirs (it was refused as "store
    damaged", for good). The old case stays erased, nothing more is written for it, and
    erasing their data again destroys the new key with the old."""
    flow.set_policy(cmd.SetPolicy(key="retention-years", value="0", actor="admin"))
    old = lifecycle(flow, year=2024)
    flow.erase(cmd.EraseCase(case_id=old, reason="retention over", actor="admin"))
    again = apply(flow, year=2026, name="王小明")
    for app in (flow, AidFlow.open(store_url)):  # this process, and one that made no key
        shown = app.reveal(cmd.Reveal(case_id=again, reason="visit", actor="cashier"))
        assert (shown.name, shown.account) == (NAME, ACCOUNT)
        assert app.load_case(again).previous_case == old
        assert app.case(old).name == ERASED
    student = flow.vault.key_id(STUDENT)
    [(renewed,)] = flow.vault.db.run(
        "SELECT key_id FROM aidflow_data_keys WHERE key_id LIKE ? AND wrapped IS NOT NULL",
        (f"{student}/%",),
    )
    with pytest.raises(StoreDamaged, match="erased"):  # the old case's key: nothing more
        flow.vault.seal(student, "name", NAME)
    with pytest.raises(ErasureRefused, match="erased already"):  # a retry of the old erasure
        flow.erase(cmd.EraseCase(case_id=old, reason="retention over", actor="admin"))
    assert flow.reveal(cmd.Reveal(case_id=again, reason="r", actor="cashier")).name == NAME
    flow.reject(cmd.Reject(case_id=again, reason="moved away", actor="approver"))
    assert flow.erase(cmd.EraseCase(case_id=again, reason="again", actor="admin")) == [again]
    assert flow.case(again).name == ERASED
    assert flow.vault.db.run(
        "SELECT wrapped FROM aidflow_data_keys WHERE key_id = ?", (renewed,)
    ) == [(None,)]
    for needle in needles(NAME, ACCOUNT):
        assert needle not in raw_store(store_url), needle


def test_an_erasure_cut_short_after_its_record_is_finished_by_giving_it_again(
    flow: AidFlow, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process died between recording the erasure and destroying the key: the key still
    opens the data. Giving the command again says it is erased already and destroys the key."""
    flow.set_policy(cmd.SetPolicy(key="retention-years", value="0", actor="admin"))
    case = lifecycle(flow, year=2024)
    student = flow.vault.key_id(STUDENT)

    def killed(self: object, key_id: str) -> None:
        raise SystemExit("killed before the key was destroyed")

    with monkeypatch.context() as patched:
        patched.setattr(type(flow.vault), "erase", killed)
        with pytest.raises(SystemExit):
            flow.erase(cmd.EraseCase(case_id=case, reason="retention over", actor="admin"))
    assert flow.vault.db.run(
        "SELECT wrapped IS NULL FROM aidflow_data_keys WHERE key_id = ?", (student,)
    ) in ([(0,)], [(False,)])  # on record, not yet destroyed
    with pytest.raises(ErasureRefused, match="erased already"):
        flow.erase(cmd.EraseCase(case_id=case, reason="retention over", actor="admin"))
    assert flow.vault.db.run(
        "SELECT wrapped FROM aidflow_data_keys WHERE key_id = ?", (student,)
    ) == [(None,)]
    other = AidFlow.open(store_url)  # a process that never held the key
    try:
        with pytest.raises(PersonalDataGone):
            other.reveal(cmd.Reveal(case_id=case, reason="r", actor="cashier"))
    finally:
        other.close()


def test_a_refused_erasure_writes_nothing_and_keeps_the_key(flow: AidFlow) -> None:
    case = apply(flow)
    before = flow.recorder.max_notification_id()
    with pytest.raises(ErasureRefused):
        flow.erase(cmd.EraseCase(case_id=case, reason="early", actor="admin"))
    assert flow.recorder.max_notification_id() == before
    assert flow.reveal(cmd.Reveal(case_id=case, reason="r", actor="cashier")).name == NAME


def test_a_missing_or_wrong_master_key_is_named(
    flow: AidFlow, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = apply(flow)
    monkeypatch.delenv("AIDFLOW_KEY")
    monkeypatch.setenv("AIDFLOW_KEY_FILE", "/nonexistent/aidflow.key")
    other = AidFlow.open(store_url)
    try:
        with pytest.raises(MasterKeyMissing, match="AIDFLOW_KEY"):
            other.case(case)
    finally:
        other.close()
    monkeypatch.setenv("AIDFLOW_KEY", new_master())
    other = AidFlow.open(store_url)
    try:
        with pytest.raises(MasterKeyWrong, match="does not open"):
            other.case(case)
        with pytest.raises(MasterKeyWrong):
            apply(other, name="李四")  # nothing is written under a wrong key
    finally:
        other.close()
    monkeypatch.setenv("AIDFLOW_KEY", "c2hvcnQ=")
    with pytest.raises(MasterKeyWrong, match="32 bytes"):
        AidFlow.open(store_url).case(case)


def test_a_tampered_token_is_damage_not_a_name(flow: AidFlow, store_url: str) -> None:
    if parse_url(store_url).backend != "sqlite":
        pytest.skip("tampering is shown on the SQLite file; PostgreSQL refuses updates by trigger")
    import sqlite3

    case = apply(flow)
    conn = sqlite3.connect(parse_url(store_url).path)
    state = conn.execute(
        "SELECT state FROM stored_events WHERE originator_id = ? AND originator_version = 1",
        (case.hex,),
    ).fetchone()[0]
    body = json.loads(state)
    token = body["name"]
    body["name"] = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    conn.execute(
        "UPDATE stored_events SET state = ? WHERE originator_id = ? AND originator_version = 1",
        (json.dumps(body).encode(), case.hex),
    )
    conn.commit()
    conn.close()
    reopened = AidFlow.open(store_url)
    try:
        with pytest.raises(StoreDamaged, match="does not decrypt"):
            reopened.case(case)
    finally:
        reopened.close()


def test_rotating_the_master_key_rewraps_every_data_key(
    flow: AidFlow, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = apply(flow)
    text = new_master()
    assert flow.vault.rotate(parse_master(text, "test")) >= 1
    with pytest.raises(MasterKeyWrong):
        AidFlow.open(store_url).case(case)  # the old key (AIDFLOW_KEY) no longer opens them
    monkeypatch.setenv("AIDFLOW_KEY", text)
    reopened = AidFlow.open(store_url)
    try:
        assert reopened.reveal(cmd.Reveal(case_id=case, reason="r", actor="cashier")).name == NAME
        assert reopened.enrolment_of(STUDENT, 2026) is not None  # lookups survive rotation
    finally:
        reopened.close()


def test_a_v0_1_0_store_keeps_working_and_new_cases_in_it_are_encrypted(tmp_path: Path) -> None:
    from tests.builders import register_staff

    copy = tmp_path / "v0.1.0.db"
    shutil.copyfile(FIXTURES / "v0.1.0.db", copy)
    url = f"sqlite:///{copy}"
    flow = AidFlow.open(url)
    try:
        old = json.loads((FIXTURES / "cases.json").read_text(encoding="utf-8"))[0]
        old_case = UUID(old["case_id"])
        legacy = flow.load_case(old_case)
        assert legacy.name == old["name"]  # read in clear, as written
        register_staff(flow)
        flow.set_policy(cmd.SetPolicy(key="retention-years", value="0", actor="admin"))
        with pytest.raises(DuplicateApplication):  # its enrolment is found by the legacy id
            flow.apply(
                cmd.Apply(
                    student_id=legacy.student_id,
                    name=legacy.name,
                    university="x",
                    family_category="dibao",
                    town="y",
                    year=legacy.year,
                    actor="screening",
                )
            )
        with pytest.raises(ErasureRefused, match="before personal data was encrypted"):
            flow.erase(cmd.EraseCase(case_id=old_case, reason="r", actor="admin"))
        assert flow.vault.owner(old_case) is not None  # new data for it gets the student key
        case = apply(flow)
        assert flow.reveal(cmd.Reveal(case_id=case, reason="r", actor="cashier")).name == NAME
    finally:
        flow.close()
    assert all(n not in copy.read_bytes() for n in needles(NAME, ACCOUNT))


def test_the_clock_decides_retention(flow: AidFlow) -> None:
    """Retention counts from the closing event's time, by the application's clock."""
    case = lifecycle(flow)
    with pytest.raises(ErasureRefused, match=str(datetime.now(UTC).year + 3)):
        flow.erase(cmd.EraseCase(case_id=case, reason="early", actor="admin"))


def test_two_processes_making_one_students_key_agree_on_it(flow: AidFlow, store_url: str) -> None:
    """B made the student's key in memory before A stored it: B seals with A's stored key
    (a key made here and not yet written is checked against the table first), and both
    years read back (never a token sealed with a key that was lost)."""
    other = AidFlow.open(store_url)
    try:
        key_id = other.vault.key_id(STUDENT)
        other.vault.data_key(key_id, create=True)  # made, not yet written
        first = apply(flow, year=2026)
        second = apply(other, year=2025)
        for app in (flow, other):
            for case in (first, second):
                shown = app.reveal(cmd.Reveal(case_id=case, reason="r", actor="cashier"))
                assert shown.name == NAME
    finally:
        other.close()


def test_an_opened_values_lookup_is_its_keyed_hash_in_this_store_and_no_other(
    flow: AidFlow, store_url: str, tmp_path: Path
) -> None:
    """The audit view's account pseudonym is an opened value's lookup: the keyed hash under
    this store's secret, made when asked, the same in another process of the store."""
    apply(flow)
    key_id = flow.vault.key_id(STUDENT)
    token = flow.vault.seal(key_id, "account", ACCOUNT)
    flow.vault.flush()
    opened = flow.vault.open("account", token)
    assert opened.lookup == flow.vault.keyed("account", ACCOUNT) != ""
    other = AidFlow.open(store_url)
    try:
        assert other.vault.open("account", token).lookup == opened.lookup
    finally:
        other.close()
    elsewhere = AidFlow.open(f"sqlite:///{tmp_path / 'elsewhere.db'}")
    try:
        assert elsewhere.vault.keyed("account", ACCOUNT) != opened.lookup
    finally:
        elsewhere.close()


def test_a_key_another_process_stored_between_seal_and_flush_makes_the_save_conflict(
    flow: AidFlow, store_url: str
) -> None:
    """The narrow race: B sealed with its own new key, then A stored the student's key
    before B's flush. B's flush must refuse (a conflict the command retries), not keep a
    token whose key was never stored."""
    from eventsourcing.persistence import RecordConflictError

    other = AidFlow.open(store_url)
    try:
        key_id = other.vault.key_id(STUDENT)
        token = other.vault.seal(key_id, "name", NAME)  # B's own key, in memory only
        apply(flow, year=2026)  # A stores the student's key
        with pytest.raises(RecordConflictError):
            other.vault.flush()
        assert other.vault.data_key(key_id, create=False) == flow.vault.data_key(
            key_id, create=False
        )
        with pytest.raises(StoreDamaged):  # B's token is under the key that lost
            flow.vault.open("name", token)
    finally:
        other.close()


def test_a_payment_list_is_never_kept_as_a_requests_result(flow: AidFlow, store_url: str) -> None:
    """The list holds full names and accounts: given an idempotency key, it used to be kept
    whole in the key's event, in clear and beyond erasure. Now the key is ignored for it,
    and a second issue still gives the unsettled line its same voucher."""
    fund = government_fund(flow)
    case = apply(flow)
    flow.verify(
        cmd.Verify(
            case_id=case, income_fen=1, tuition_fen=1, gap_fen=400_000, needs=["tuition"],
            actor="visitor",
        )
    )  # fmt: skip
    flow.approve(
        cmd.Approve(
            ref=new_ref(), case_id=case, amount_fen=300_000, need="tuition", fund_id=fund,
            actor="approver",
        )
    )  # fmt: skip
    issue = cmd.IssuePaymentList(
        fund_id=fund, list_date=datetime(2026, 9, 1).date(), actor="cashier", idempotency_key="k1"
    )
    first = flow.issue_payment_list(issue, candidates=[case])
    again = flow.issue_payment_list(issue, candidates=[case])
    assert [(x.name, x.account) for x in first.lines] == [(NAME, ACCOUNT)]
    assert [x.voucher for x in again.lines] == [x.voucher for x in first.lines]
    raw = raw_store(store_url)
    for needle in needles(STUDENT, NAME, ACCOUNT):
        assert needle not in raw, needle


@pytest.mark.parametrize("owners", [2, 150])
def test_keys_and_owners_are_written_all_or_none(flow: AidFlow, owners: int) -> None:
    """A save's new keys and owners go in together: one statement on PostgreSQL (one
    transaction past a statement's worth); a row refused at the end leaves none written."""
    vault = flow.vault
    vault.db.create()
    rows: list[tuple[str, tuple[str, ...], tuple[Any, ...]]] = [
        ("aidflow_key_owners", ("owner_id", "key_id"), (f"owner-{n}", "k-all-or-none"))
        for n in range(owners)
    ]
    rows.append(("aidflow_data_keys", ("key_id", "wrapped", "created_at"), ("k", "w", None)))
    with pytest.raises(Exception, match=r"(?i)null"):
        vault._insert_all(rows)
    assert vault.owners_of("k-all-or-none") == []
    vault._insert_all(rows[:-1])  # the same rows without the refused one
    assert len(vault.owners_of("k-all-or-none")) == owners
