"""Value vocabulary of the programme: categories, kinds, departments, a case's status."""

from __future__ import annotations

from enum import StrEnum

INT64_MAX = 2**63 - 1
"""The largest whole number a store keeps (positions, versions, line numbers): 64 bits, where
Python's integers are unbounded. Every face refuses a larger one as bad input."""


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


class AppealOutcome(StrEnum):
    """How an appeal (复核) ends: the rejection upheld, or overturned (back to verification)."""

    UPHELD = "upheld"  # 维持
    OVERTURNED = "overturned"  # 撤销


class ReceiptAnswer(StrEnum):
    """Whether the student confirms the money arrived (post-payment verification, 回访)."""

    YES = "yes"  # 已收到
    NO = "no"  # 未收到


class Settlement(StrEnum):
    """How a person settles a disputed payment (`pay resolve --as`): the bank paid it, or
    the money came back."""

    PAID = "paid"  # 已支付
    RETURNED = "returned"  # 退回


class Disagreement(StrEnum):
    """How a bank statement line disagrees with its voucher; each holds the payment."""

    AMOUNT = "amount_mismatch"  # 金额不符
    ACCOUNT = "account_mismatch"  # 账号不符
    NAME = "name_mismatch"  # 户名不符


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
