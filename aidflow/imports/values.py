"""Values as offices write them in their lists, turned into the domain's values.

One place for the Chinese and English spellings the bureau's files use, and for
comparing identifiers in one canonical form, so the same person written with
full-width digits is still the same person.
"""

from __future__ import annotations

import re
import unicodedata

from aidflow.domain import canonical
from aidflow.domain.errors import said
from aidflow.domain.values import FamilyCategory
from aidflow.i18n import messages as M
from aidflow.i18n import words

#: Excel's rendering of a long number it has already cut to 15 significant digits.
_SCIENTIFIC = re.compile(r"^[+-]?\d+(\.\d*)?[eE][+-]?\d+$")


canonical_label = words.label
"""A header or a category as compared (:func:`aidflow.i18n.words.label`)."""


def looks_like_excel_number(text: str) -> bool:
    """``5.20302E+17``: an ID or account Excel stored as a number and has already cut short."""
    if text.isascii() and "e" not in text and "E" not in text:
        return False  # the common case, without normalising
    return bool(_SCIENTIFIC.match(unicodedata.normalize("NFKC", text).strip()))


def excel_number_problem(column: str) -> str:
    """The one message for an ID or account that Excel turned into a number."""
    return said(
        "{column} is a number in the spreadsheet, and Excel keeps only 15 significant digits; format the column as text in Excel and type the numbers in again",
        column=column,
    )


def parse_national_id(text: str, *, by_year: int | None = None) -> str:
    """The canonical 18-character resident ID (:func:`aidflow.domain.canonical.national_id`;
    ``by_year``: of someone born by that programme year)."""
    return canonical.national_id(text, by_year=by_year)


def parse_account(text: str) -> str:
    """The student's bank account in canonical form, or "" when the list gives none."""
    return canonical.account(text) if text.strip() else ""


def parse_family_category(text: str) -> FamilyCategory:
    """A family category written in Chinese or English: 低保/dibao, 特困/tekun, 支出型困难家庭/expenditure,
    其他/other, or another spelling the catalogues list (低保户, 特困人员...)."""
    return words.parse_enum(FamilyCategory, text, what=M.WORD_FAMILY_CATEGORY)
