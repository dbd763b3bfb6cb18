"""Free text is personal until shown otherwise (issue 21 §7): a bank's note "户名不符 王芳
身份证5201…" or a clerk's reason with a card number kept its digits in clear in the journal,
the exports, the feed and the dossier, beyond erasure. Reasons, notes and details now have
ID-, account- and phone-shaped digit runs masked before they are recorded; records written
before are masked wherever a person or a service reads them."""

from __future__ import annotations

import json

import pytest

from aidflow import Office
from aidflow import commands as cmd
from aidflow.domain.masking import mask_free_text
from aidflow.i18n import using
from tests.builders import verified

ID = "520102200001010018"
CARD = "6222 0202 0011 2233 445"
NOTE = f"户名不符 王芳 身份证{ID} 卡号{CARD} 电话13812345678"


def _raw_states(office: Office) -> str:
    """Every stored event's bytes, as a DBA reading the table would."""
    records = office.flow.recorder.select_notifications(start=1, limit=100_000)
    return "\n".join(r.state.decode("utf-8", "replace") for r in records)


def _everywhere(office: Office, case: object) -> list[str]:
    """What people and services read of the case: its history, the journal's summaries, the
    integration feed, the dossier's timeline."""
    with using("en"):
        history = [json.dumps(e.data, ensure_ascii=False) for e in office.history(case)]  # type: ignore[arg-type]
        summaries = [line.summary for line in office.journal(aggregate_id=case)]  # type: ignore[arg-type]
    feed = [json.dumps(e.model_dump(mode="json"), ensure_ascii=False) for e in office.events()]
    dossier = [
        json.dumps(e.detail, ensure_ascii=False)
        for e in office.dossier(case).timeline  # type: ignore[arg-type]
    ]
    assert history and summaries and feed and dossier
    return history + summaries + feed + dossier


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        (NOTE, "户名不符 王芳 身份证5201**********0018 卡号6222***********3445 电话1381***5678"),
        ("退回，见凭证 PL-20260812-00001，金额 3500 元，2026-12-05", None),  # nothing to mask
        ("ID:５２０１０２２０００１０１００１Ｘ", "ID:５２０１*********００１Ｘ"),
    ],
)
def test_free_text_keeps_its_words_not_the_numbers_that_name_someone(
    typed: str, kept: str | None
) -> None:
    assert mask_free_text(typed) == (typed if kept is None else kept)


def test_a_reason_is_masked_before_it_is_recorded(office: Office) -> None:
    case = verified(office.flow, 1)
    office.handle(cmd.Reject(case_id=case, reason=NOTE, actor="approver"))
    stored = _raw_states(office)
    assert ID not in stored and "13812345678" not in stored and "0011 2233" not in stored
    assert "户名不符 王芳 身份证5201**********0018" in stored  # the words stay
    for shown in _everywhere(office, case):
        assert ID not in shown and "13812345678" not in shown


def test_records_written_before_are_masked_wherever_they_are_read(office: Office) -> None:
    """An older record (written before input was masked) keeps its text at rest, where the
    hash chain covers it; no face shows its numbers."""
    case = verified(office.flow, 2)
    aggregate = office.flow.repository.get(case)
    aggregate._rejected(reason=NOTE, actor="approver")
    office.flow.save(aggregate)
    office.catch_up()
    assert ID in _raw_states(office)  # at rest, as it was written
    shown = _everywhere(office, case)
    assert any("5201**********0018" in line for line in shown)
    for line in shown:
        assert ID not in line and "13812345678" not in line


def test_a_bank_statements_note_is_masked_as_it_is_read() -> None:
    line = cmd.StatementLine(amount_fen=100, reference="V-1", status="returned", note=NOTE)
    assert ID not in line.note and "户名不符" in line.note
