"""Canonical forms: one spelling per identifier, nothing that can forge a line or poison a column."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aidflow import commands as cmd
from aidflow.domain import canonical, money
from aidflow.domain.errors import InvalidAmount, InvalidInput, InvalidNationalId
from aidflow.domain.keys import Enrolment, Voucher
from aidflow.domain.money import parse_yuan
from tests.builders import national_id

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def test_issue8_1_full_width_national_id_is_the_same_student() -> None:
    ascii_id = national_id(11)
    full = ascii_id.translate(FULL_WIDTH)
    assert canonical.national_id(full) == ascii_id
    assert Enrolment.create_id(full, 2026) == Enrolment.create_id(ascii_id, 2026)
    assert Enrolment.create_id(ascii_id.lower(), 2026) == Enrolment.create_id(ascii_id, 2026)


def test_issue8_1_other_scripts_digits_are_refused_not_guessed() -> None:
    with pytest.raises(InvalidNationalId):
        canonical.national_id(national_id(11)[:17].translate(ARABIC_INDIC) + national_id(11)[17])


def test_issue8_1_vouchers_in_any_case_or_width_are_one_voucher() -> None:
    ids = {Voucher.create_id(v) for v in ("V1", "v1", "Ｖ１", " V1 ")}
    assert len(ids) == 1


def test_issue8_1_actor_spellings_are_one_person_and_invisible_characters_refused() -> None:
    assert canonical.actor("Wang") == canonical.actor("wang") == canonical.actor("ｗａｎｇ")
    for hidden in ("wang\u200b", "wa\u200dng", "wang\n", "wang\x00", "\u202ewang"):
        with pytest.raises(InvalidInput):
            canonical.actor(hidden)
    assert canonical.same_actor("Wang", "wang ")


def test_issue8_1_full_width_amount_is_read_deliberately() -> None:
    assert parse_yuan("１０００") == 100_000
    with pytest.raises(InvalidAmount):
        parse_yuan("١٠٠٠")


def test_issue8_3_amounts_beyond_the_limit_are_refused() -> None:
    with pytest.raises(InvalidAmount, match="limit"):
        parse_yuan("99999999999999999999")
    with pytest.raises(InvalidAmount, match="limit"):
        money.amount(money.MAX_AMOUNT_FEN + 1)
    assert money.amount(money.MAX_AMOUNT_FEN) == money.MAX_AMOUNT_FEN
    with pytest.raises(InvalidInput):
        cmd.Approve(
            case_id="00000000-0000-0000-0000-000000000001",  # type: ignore[arg-type]
            amount_fen=money.MAX_AMOUNT_FEN + 1,
            need="tuition",
            fund_id="00000000-0000-0000-0000-000000000002",  # type: ignore[arg-type]
            ref="A-1",
            actor="approver",
        )


def test_issue8_5_an_excel_mangled_account_is_refused_with_a_hint() -> None:
    with pytest.raises(InvalidInput, match="spreadsheet"):
        canonical.account("6.22202E+18")
    assert canonical.account("6222 0202 0011 2233 445") == "6222020200112233445"
    for bad in ("6222", "62220202001122334455667788", "６２２２abc", "6222\x000202001122"):
        with pytest.raises(InvalidInput):
            canonical.account(bad)


@pytest.mark.parametrize("forged", ["a\nb", "a\rb", "a\x1b[2Jb", "a\u2028b", "a\x00b", "a\u202eb"])
def test_issue8_5_free_text_cannot_forge_an_output_line(forged: str) -> None:
    with pytest.raises(InvalidInput, match="control character"):
        canonical.text(forged, "note")


def test_issue8_command_models_raise_the_aidflow_error_family() -> None:
    with pytest.raises(InvalidInput, match="student_id"):
        cmd.Apply(
            student_id="123",
            name="x",
            university="u",
            family_category="dibao",
            town="t",
            year=2026,
            actor="a",
        )


@given(st.text(max_size=40))
def test_canonical_functions_either_accept_or_raise_invalid_input(value: str) -> None:
    """Any text at all: a canonical form or an aidflow InvalidInput, never anything else."""
    for function in (
        canonical.national_id,
        canonical.account,
        canonical.actor,
        lambda v: canonical.document(v, "voucher"),
        lambda v: canonical.text(v, "note"),
        parse_yuan,
    ):
        try:
            result = function(value)
        except InvalidInput:
            continue
        if isinstance(result, str):
            assert function(result) == result, "a canonical form is its own canonical form"
            assert not any(ch in result for ch in "\n\r\x00\u2028\u2029")


@given(st.integers())
def test_amounts_either_fit_every_column_or_are_refused(fen: int) -> None:
    try:
        accepted = money.amount(fen)
    except InvalidAmount:
        assert fen <= 0 or fen > money.MAX_AMOUNT_FEN
    else:
        assert 0 < accepted <= money.MAX_AMOUNT_FEN < 2**63
