"""Input that is well-formed but cannot be true (issue 21 §8): an ID with no region or a
birth year outside the possible, a name of only spaces or invisible characters, a value
date decades away. Each is refused with what is wrong; the edges just inside are kept."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import pytest

from aidflow import commands as cmd
from aidflow.domain import canonical
from aidflow.domain.case import StudentCase
from aidflow.domain.clock import using_clock
from aidflow.domain.errors import InvalidInput, InvalidNationalId
from aidflow.domain.values import FamilyCategory


def an_id(region: str = "520302", birth: str = "20070315", serial: str = "001") -> str:
    first17 = f"{region}{birth}{serial}"
    return first17 + canonical.national_id_check_digit(first17)


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (an_id(region="000000"), "names no region (its first six digits)"),
        (an_id(region="012345"), "names no region (its first six digits)"),
        (an_id(birth="18991231"), "gives a birth year of 1899, before 1900"),
    ],
)
def test_an_implausible_id_is_refused(raw: str, says: str) -> None:
    with pytest.raises(InvalidNationalId) as refused:
        canonical.national_id(raw)
    shown = raw[:4] + "*" * 10 + raw[-4:]  # masked: the refusal may be logged
    assert str(refused.value) == f"national ID {shown} {says}; re-type it from the card"


def test_the_plausible_edges_are_kept() -> None:
    assert canonical.national_id(an_id(region="110101", birth="19000101")).startswith("110101")
    assert canonical.national_id(an_id(birth="20261231"), by_year=2026)


def test_a_student_born_after_the_programme_year_cannot_apply() -> None:
    born = an_id(birth="20270101")
    says = (
        f"national ID {born[:4]}{'*' * 10}{born[-4:]} gives a birth year of 2027, after "
        "programme year 2026; re-type it from the card"
    )
    with pytest.raises(InvalidNationalId, match=f"^{re.escape(says)}$"):
        StudentCase.open(
            student_id=born,
            name="王芳",
            university="贵州大学",
            family_category=FamilyCategory.DIBAO,
            town="高坪",
            year=2026,
            account="",
            source="application",
            actor="clerk",
        )


def test_the_command_refuses_a_birth_after_its_year_before_any_store_is_asked() -> None:
    """Over HTTP a 2030 birth on a 2026 case got as far as the master key (503
    ``master_key_missing`` on a store without one) before the case refused it."""
    born = an_id(birth="20270101")
    says = f"year: national ID {born[:4]}{'*' * 10}{born[-4:]} gives a birth year of 2027"
    with pytest.raises(InvalidInput, match=f"^{re.escape(says)}"):
        cmd.Apply(
            student_id=born, name="王芳", university="贵州大学", family_category="dibao",
            town="高坪", year=2026, actor="clerk",
        )  # fmt: skip
    kept = cmd.Apply(
        student_id=born, name="王芳", university="贵州大学", family_category="dibao",
        town="高坪", year=2027, actor="clerk",
    )  # fmt: skip
    assert kept.year == 2027


@pytest.mark.parametrize(
    "blank", ["\u3000\u3000", "\u200b", " \u00a0 ", "\u2060\u200d", "\u0301", "\u20dd", "\u2003"]
)
def test_a_name_of_only_spaces_or_invisible_characters_is_refused(blank: str) -> None:
    with pytest.raises(InvalidInput, match=r"^name holds only spaces or invisible characters$"):
        canonical.text(blank, "name")
    assert canonical.text(blank, "note", required=False) == ""
    assert canonical.text(f"王{blank}芳", "name") == f"王{blank}芳"  # inside a name: as typed


CASE = UUID(int=1)
TODAY = datetime(2026, 9, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (date(1999, 12, 31), False),
        (date(2000, 1, 1), True),
        (TODAY.date() + timedelta(days=366), True),
        (TODAY.date() + timedelta(days=367), False),
        (date(2062, 8, 29), False),
    ],
)
def test_a_value_date_is_plausible_or_refused(value: date, ok: bool) -> None:
    with using_clock(lambda: TODAY):
        if ok:
            paid = cmd.Disburse(
                case_id=CASE, amount_fen=1, voucher="V1", value_date=value, actor="c"
            )
            assert paid.value_date == value
            return
        with pytest.raises(InvalidInput, match=f"value date {value.isoformat()} is not plausible"):
            cmd.Disburse(case_id=CASE, amount_fen=1, voucher="V1", value_date=value, actor="c")
        with pytest.raises(InvalidInput, match="is not plausible"):
            cmd.StatementLine(amount_fen=1, reference="V1", status="paid", value_date=value)


@pytest.mark.parametrize("blank", [" ", "\u3000", "\u200b", "\u200b\u3000"])
@pytest.mark.parametrize("field", ["town", "department"])
def test_a_reach_given_as_only_spaces_or_invisible_characters_is_refused(
    blank: str, field: str
) -> None:
    """A verifier registered for the town "\\u200b" was registered for none, which means every
    town: a pasted blank widened a member's reach. Given and blank is refused; not given is
    still every town."""
    with pytest.raises(
        InvalidInput, match=f"^{field}: {field} holds only spaces or invisible characters$"
    ):
        cmd.AddStaff(name="bob", roles=["verifier"], actor="admin", **{field: blank})
    assert getattr(cmd.AddStaff(name="bob", roles=["verifier"], actor="admin"), field) == ""
    placed = cmd.AddStaff(name="bob", roles=["verifier"], actor="admin", **{field: " 高坪 "})
    assert getattr(placed, field) == "高坪"
