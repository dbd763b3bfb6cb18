"""A screening batch looks up its students' earlier years in one read (issue 24 §6): each new
case is still linked to its student's case of the nearest earlier year, on both backends, and
a year nobody looked up is still asked of the store."""

from __future__ import annotations

from uuid import UUID

import pytest

from aidflow import AidFlow
from aidflow import commands as cmd
from aidflow.privacy import Vault
from tests.builders import national_id


def _application(n: int, year: int) -> cmd.Apply:
    return cmd.Apply(
        student_id=national_id(n),
        name=f"Student {n}",
        university="Guizhou University",
        family_category="dibao",
        town="Dalian",
        year=year,
        actor="screening",
    )


def test_a_batch_links_each_case_to_its_students_earlier_year(flow: AidFlow) -> None:
    first = flow.apply(_application(1, 2023))  # three years back: within the look-back
    later = flow.apply(_application(1, 2025))  # the nearest earlier year wins
    other = flow.apply(_application(2, 2019))  # seven years back: beyond it
    outcomes = flow.apply_many([_application(n, 2026) for n in (1, 2, 3)])
    cases = {n: flow.load_case(o.case_id) for n, o in zip((1, 2, 3), outcomes, strict=True)}
    assert [o.opened for o in outcomes] == [True, True, True]
    assert cases[1].previous_case == later != first
    assert cases[2].previous_case is None and other
    assert cases[3].previous_case is None


def test_which_ids_exist_is_one_answer_for_many(flow: AidFlow) -> None:
    case = flow.apply(_application(4, 2026))
    key = flow.enrolment_of(national_id(4), 2026)
    assert key is not None
    missing = UUID(int=7)
    assert flow.records.existing([case, key.id, missing]) == {case, key.id}
    assert flow.records.existing([]) == set()


def test_a_batch_reads_its_students_data_keys_together_and_keeps_a_returning_students(
    flow: AidFlow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each new student's data key was asked for alone (50,000 queries a screening); a batch
    now reads them in one. A student with a case of an earlier year keeps their key."""
    flow.apply(_application(5, 2025))
    vault = flow.vault
    returning = vault.key_id(national_id(5))
    (kept,) = vault._stored([returning]).values()
    asked: list[str] = []
    select = Vault._select

    def counted(self: Vault, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        asked.append(sql)
        return select(self, sql, params)

    monkeypatch.setattr(Vault, "_select", counted)
    outcomes = flow.apply_many([_application(n, 2026) for n in (5, 6, 7)])
    assert not [sql for sql in asked if "WHERE key_id = ?" in sql]
    assert vault._stored([returning]) == {returning: kept}
    new = [vault.key_id(national_id(n)) for n in (6, 7)]
    assert set(vault._stored(new)) == set(new)
    names = [flow.load_case(o.case_id).name for o in outcomes]
    assert names == ["Student 5", "Student 6", "Student 7"]


def test_a_key_another_process_stored_first_makes_the_save_run_again_with_it(
    flow: AidFlow, store_url: str
) -> None:
    """This process made a student's key and had not written it when another process stored
    its own: the save finds the key table did not take ours, and the command runs again
    with the stored key, so every case of the student opens with the one key."""
    mine = flow.vault
    student = mine.key_id(national_id(8))
    made_here = mine.data_key(student, create=True)  # made, not yet written
    other = AidFlow.open(store_url)
    try:
        theirs = other.apply(_application(8, 2019))  # beyond the look-back: not read here
    finally:
        other.close()
    (stored,) = mine._stored([student]).values()
    retried = flow.conflicts_retried
    case = flow.apply(_application(8, 2026))
    assert flow.conflicts_retried == retried + 1
    assert mine._stored([student]) == {student: stored}
    assert mine.data_key(student, create=False) != made_here
    fresh = AidFlow.open(store_url)
    try:
        assert [fresh.load_case(c).name for c in (theirs, case)] == ["Student 8", "Student 8"]
        assert fresh.load_case(case).previous_case is None
    finally:
        fresh.close()


def test_a_student_who_applied_before_the_batch_is_answered_with_their_case_in_the_batch(
    flow: AidFlow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One student of a screening batch who applied on their own before: their row is answered
    with that case, the others are opened in the batch's one save (the batch was redone row by
    row, 2,000 applications for one student); a re-run writes nothing."""
    own = flow.apply(_application(10, 2026))

    def row_by_row(c: cmd.Apply) -> UUID:
        raise AssertionError("the batch was redone row by row")

    monkeypatch.setattr(flow, "apply", row_by_row)
    outcomes = flow.apply_many([_application(n, 2026) for n in (9, 10, 11)])
    assert [o.opened for o in outcomes] == [True, False, True]
    assert outcomes[1].case_id == own
    assert [flow.load_case(o.case_id).name for o in outcomes] == [
        f"Student {n}" for n in (9, 10, 11)
    ]
    last = flow.recorder.max_notification_id()
    again = flow.apply_many([_application(n, 2026) for n in (9, 10, 11)])
    assert [(o.case_id, o.opened) for o in again] == [(o.case_id, False) for o in outcomes]
    assert flow.recorder.max_notification_id() == last


def test_a_student_twice_in_one_batch_gets_one_case(flow: AidFlow) -> None:
    """The batch's save conflicts with itself; redone row by row, the second row is answered
    with the first's case."""
    outcomes = flow.apply_many([_application(n, 2026) for n in (12, 13, 12)])
    assert [o.opened for o in outcomes] == [True, True, False]
    assert outcomes[2].case_id == outcomes[0].case_id != outcomes[1].case_id
