"""Values as offices write them: one person is one canonical ID, whatever digits the file used."""

from __future__ import annotations

import pytest

from aidflow.domain.errors import InvalidInput, InvalidNationalId, render
from aidflow.domain.values import FamilyCategory
from aidflow.i18n import tr, using
from aidflow.imports import (
    canonical_label,
    parse_account,
    parse_family_category,
    parse_national_id,
)

ID = "52030220070220011X"
FULL_WIDTH = (
    "５２０３０２２００７０２２００１１ｘ"  # full-width digits and a full-width lower-case x
)


def test_a_full_width_id_is_the_same_person() -> None:
    assert parse_national_id(FULL_WIDTH) == ID
    assert parse_national_id(" 5203 0220 0702 2001 1x ") == ID
    assert parse_national_id("\u3000" + ID) == ID  # an ideographic space


def test_arabic_indic_digits_are_refused_not_guessed() -> None:
    arabic = "".join(chr(0x0660 + int(d)) for d in ID[:17]) + "X"
    with pytest.raises(InvalidNationalId, match="other than ASCII digits"):
        parse_national_id(arabic)


def test_excel_numbers_are_refused_with_a_hint() -> None:
    with pytest.raises(InvalidNationalId, match="format the column as text"):
        parse_national_id("5.20302E+17")
    with pytest.raises(InvalidInput, match="format the column as text"):
        parse_account("6.22202E+18")


def test_accounts() -> None:
    assert parse_account("") == ""
    assert parse_account("6222 0202 1795 9811 144") == "6222020217959811144"
    assert parse_account("６２２２０２０２１７９５９８１１１４４") == "6222020217959811144"
    assert parse_account("6222-0202-1795-9811-144") == "6222020217959811144"
    for bad in ("12345", "62220202179598111440000", "6222abc0202179598111"):
        with pytest.raises(InvalidInput, match=r"16 to 21|digits only"):
            parse_account(bad)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("低保", FamilyCategory.DIBAO),
        ("dibao", FamilyCategory.DIBAO),
        (" DiBao ", FamilyCategory.DIBAO),
        ("ＤＩＢＡＯ", FamilyCategory.DIBAO),
        ("低保户", FamilyCategory.DIBAO),
        ("特困", FamilyCategory.TEKUN),
        ("tekun", FamilyCategory.TEKUN),
        ("特困人员", FamilyCategory.TEKUN),
        ("支出型困难家庭", FamilyCategory.EXPENDITURE),
        ("支出型", FamilyCategory.EXPENDITURE),
        ("expenditure", FamilyCategory.EXPENDITURE),
        ("其他", FamilyCategory.OTHER),
        ("other", FamilyCategory.OTHER),
    ],
)
def test_family_categories_in_chinese_and_english(text: str, category: FamilyCategory) -> None:
    assert parse_family_category(text) is category


def test_an_unknown_category_names_the_choices() -> None:
    with pytest.raises(
        InvalidInput, match="write one of dibao, tekun, expenditure, other"
    ) as refused:
        parse_family_category("残疾")
    with using("zh"):
        assert "低保 (dibao), 特困 (tekun)" in render(refused.value.args[0], tr)


def test_labels_compare_in_one_form() -> None:
    assert canonical_label("乡镇（街道）") == canonical_label(" 乡镇(街道) ")
    assert canonical_label("National_ID") == canonical_label("ｎａｔｉｏｎａｌ＿ｉｄ")
