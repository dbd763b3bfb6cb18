"""Named errors for broken rules. Each message tells a clerk what rule and what to do."""

from __future__ import annotations


class AidflowError(Exception):
    """Base of every error aidflow raises on purpose."""


class InvalidInput(AidflowError, ValueError):
    """A value given to a command is malformed (an amount, an ID, a date)."""


class InvalidAmount(InvalidInput):
    """An amount of money is not a valid yuan amount."""


class InvalidNationalId(InvalidInput):
    """An 18-character resident ID number failed its format or check digit."""


class NotFound(AidflowError, LookupError):
    """A case, fund, voucher or action that was named does not exist."""


class CaseNotFound(NotFound):
    pass


class FundNotFound(NotFound):
    pass


class RuleViolation(AidflowError):
    """A command was refused because it would break a rule of the programme."""


class DuplicateApplication(RuleViolation):
    """One case per student per programme year (一人一档)."""

    def __init__(self, student: str, year: int, case_id: object) -> None:
        self.case_id = case_id
        super().__init__(
            f"student {student} already has case {case_id} for programme year {year}; "
            "add to that case instead of opening another"
        )


class CaseNotOpen(RuleViolation):
    """A rejected or closed case takes no further money or verification events."""


class InvalidTransition(RuleViolation):
    """The case is not in a state where this step makes sense."""


class VerificationRequired(RuleViolation):
    """No approval before household verification (入户核实), also after new hardship."""


class SegregationOfDuties(RuleViolation):
    """The person who verified a case may not approve its grant."""


class CapExceeded(RuleViolation):
    """Temporary assistance per case per programme year is capped by policy."""


class OverDisbursement(RuleViolation):
    """More money would be paid than has been approved."""


class NoAccount(RuleViolation):
    """Money goes straight into the student's own account, so a case without one is not paid."""


class VoucherAlreadyUsed(RuleViolation):
    """A voucher number (凭证号) is unique across the whole store."""


class UnknownVoucher(NotFound):
    """A returned payment must name a voucher this case was paid with."""


class NoPaidGrant(RuleViolation):
    """Secondary aid (二次帮扶) only goes to a case already paid temporary assistance."""


class WrongFundKind(RuleViolation):
    """Government money pays grants, donated money pays secondary aid; never the other way."""


class InsufficientFunds(RuleViolation):
    """A fund's balance never goes below zero."""


class DuplicateReceipt(RuleViolation):
    """A receipt number is recorded once per fund."""


class UnknownAction(NotFound):
    """A consultation action item that this case does not have."""


class ConcurrencyConflict(AidflowError):
    """Other writers kept changing the same records; the command was not applied."""
