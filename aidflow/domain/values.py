"""Value vocabulary of the programme: categories, kinds, departments, personal IDs."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

# Resident IDs are canonicalised in one place; these names are kept for callers.
from aidflow.domain.canonical import national_id as validate_national_id
from aidflow.domain.canonical import national_id_check_digit

__all__ = ["national_id_check_digit", "validate_national_id"]  # and the vocabulary below


class NeedCategory(StrEnum):
    """The ledger's (台账) classes of need found at household verification."""

    TUITION = "tuition"  # 学费难筹
    TRAVEL = "travel"  # 路费不够
    LIVING = "living"  # 生活拮据
    SUPPLIES = "supplies"  # 学习用品不全


class FamilyCategory(StrEnum):
    """Why the household is on the assistance registry."""

    DIBAO = "dibao"  # 低保 minimum living guarantee
    TEKUN = "tekun"  # 特困 extreme poverty support
    EXPENDITURE = "expenditure"  # 支出型困难家庭
    OTHER = "other"


class HardshipKind(StrEnum):
    ILLNESS = "illness"
    FAMILY_CHANGE = "family-change"
    ACCIDENT = "accident"
    OTHER = "other"


class Severity(StrEnum):
    """How serious a new hardship is; serious and critical ones call for a consultation."""

    MINOR = "minor"
    SERIOUS = "serious"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    @property
    def needs_consultation(self) -> bool:
        return self is not Severity.MINOR


_SEVERITY_RANK = {Severity.MINOR: 1, Severity.SERIOUS: 2, Severity.CRITICAL: 3}


class Department(StrEnum):
    """The departments a consultation (多部门会商) convenes by default, with their translations.

    The list in force is the policy's (``Policy.departments``, ``aidflow policy set
    departments``): a bureau adds its own; these are the defaults."""

    CIVIL_AFFAIRS = "civil-affairs"  # 民政: further assistance
    EDUCATION = "education"  # 教育: tuition reduction
    HEALTH = "health"  # 卫健: medical assistance
    COUNSELLING = "counselling"  # psychological counselling
    HUMAN_RESOURCES = "human-resources"  # 人社: work-study, employment
    FEDERATION = "federation"  # 工商联: chamber of commerce
    MEDICAL_INSURANCE = "medical-insurance"  # 医保: medical insurance
    DISABLED_PERSONS_FEDERATION = "disabled-persons-federation"  # 残联
    SCHOOL = "school"  # the student's university or school
    COMMUNITY = "community"  # 社区 / 村委会


class FundKind(StrEnum):
    GOVERNMENT = "government"  # budget line for temporary assistance (临时救助)
    DONATION = "donation"  # social donations for secondary aid (二次帮扶)


class HardshipTrend(StrEnum):
    """How the family's hardship develops, recorded at a follow-up."""

    IMPROVED = "improved"
    UNCHANGED = "unchanged"
    WORSE = "worse"


class CaseStatus(StrEnum):
    APPLIED = "applied"
    VERIFIED = "verified"
    APPROVED = "approved"
    PAID = "paid"
    REOPENED = "reopened"  # new hardship: awaiting re-verification
    REJECTED = "rejected"
    CLOSED = "closed"


def derive_status(
    *,
    rejected: bool,
    closed: bool,
    verified_once: bool,
    awaiting_verification: bool,
    approved_fen: int,
    disbursed_fen: int,
) -> CaseStatus:
    """The one definition of a case's status, shared by the aggregate and the dossier view."""
    if rejected:
        return CaseStatus.REJECTED
    if closed:
        return CaseStatus.CLOSED
    if awaiting_verification:
        return CaseStatus.REOPENED if verified_once else CaseStatus.APPLIED
    if approved_fen == 0:
        return CaseStatus.VERIFIED
    if disbursed_fen < approved_fen:
        return CaseStatus.APPROVED
    return CaseStatus.PAID


def mask_identifier(value: str, head: int = 4, tail: int = 4) -> str:
    """Mask personal data for display: ``5203**********1234``. Short values are fully masked."""
    if not value:
        return ""
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[-tail:]


# -- personal data at rest (issue 11 §3-§4) ------------------------------------------------------

PERSONAL_FIELDS = ("student_id", "name", "account")
"""The personal fields events carry today; each event class declares its own in ``PERSONAL``."""

ERASED = "[erased]"
"""What an erased personal field reads as; people see the message catalogue's word for it."""

ENCRYPTED = "[encrypted]"
"""How a field stored encrypted appears in views' event details and the chain's leaves: the
same with or without its key, so erasing a key changes no leaf, digest or view detail."""


class Sealed(str):
    """A personal value that was stored encrypted, decrypted for this process.

    It is the plain text to every rule (``==``, canonical forms); views and the
    chain see :data:`ENCRYPTED` instead (what the store holds does not depend on
    the key). ``key_id`` names the student's data key; ``erased`` is true when
    that key was destroyed and the text is :data:`ERASED`.
    """

    key_id: str
    erased: bool
    lookup: str
    """A keyed hash of the text (the privacy layer's lookup key): compared, never reversed."""

    def __new__(cls, text: str, key_id: str, *, erased: bool = False, lookup: str = "") -> Sealed:
        value = super().__new__(cls, ERASED if erased else text)
        value.key_id = key_id
        value.erased = erased
        value.lookup = "" if erased else lookup
        return value

    def __reduce__(self) -> Any:
        return (_sealed, (str(self), self.key_id, self.erased, self.lookup))


def _sealed(text: str, key_id: str, erased: bool, lookup: str = "") -> Sealed:
    return Sealed(text, key_id, erased=erased, lookup=lookup)


def mask_name(value: str) -> str:
    """A name for display without revealing it: its first character, then ``*``s (王**)."""
    if not value or value == ERASED:
        return value
    return value[0] + "*" * max(len(value) - 1, 1)


def mask_personal(field: str, value: Any) -> Any:
    """A personal field masked for display; an erased one stays :data:`ERASED`."""
    if not isinstance(value, str):
        return value
    if value == ERASED:
        return ERASED  # plain text, never the sealed value itself
    return mask_name(value) if field == "name" else mask_identifier(value)


def stored_form(field: str, value: Any) -> Any:
    """A field as views and the chain keep it: encrypted ones as :data:`ENCRYPTED` (the same
    before and after erasure), national ID and account masked, everything else as is (a name
    stored in clear by v0.1.0 stays in its leaves: its digest was taken over it)."""
    if isinstance(value, Sealed):
        return ENCRYPTED
    if field in ("student_id", "account") and isinstance(value, str):
        return mask_identifier(value)
    return value
