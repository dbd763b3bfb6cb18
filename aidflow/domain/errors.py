"""Named errors for broken rules. Each message tells a clerk what rule and what to do."""

from __future__ import annotations

from uuid import UUID


class AidflowError(Exception):
    """Base of every error aidflow raises on purpose.

    ``code`` is stable and machine-readable (the CLI's ``--json`` errors, the HTTP
    API); ``ids`` names the records involved (``{"case_id": "…"}``). Both are part of
    the public API: a code is never renamed.
    """

    code: str = "aidflow_error"

    def __init__(self, message: str = "", *, ids: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.ids: dict[str, str] = dict(ids or {})


class InvalidInput(AidflowError, ValueError):
    """A value given to a command is malformed (an amount, an ID, a date)."""

    code = "invalid_input"


class InvalidAmount(InvalidInput):
    """An amount of money is not a valid yuan amount."""

    code = "invalid_amount"


class InvalidNationalId(InvalidInput):
    """An 18-character resident ID number failed its format or check digit."""

    code = "invalid_national_id"


class NotFound(AidflowError, LookupError):
    """A case, fund, voucher or action that was named does not exist."""

    code = "not_found"


class CaseNotFound(NotFound):
    code = "case_not_found"


class FundNotFound(NotFound):
    code = "fund_not_found"


class RuleViolation(AidflowError):
    """A command was refused because it would break a rule of the programme."""

    code = "rule_violation"


class DuplicateApplication(RuleViolation):
    """One case per student per programme year (一人一档)."""

    code = "duplicate_application"

    def __init__(self, student: str, year: int, case_id: UUID) -> None:
        self.case_id = case_id
        super().__init__(
            f"student {student} already has case {case_id} for programme year {year}; "
            "add to that case instead of opening another",
            ids={"case_id": str(case_id)},
        )


class CaseNotOpen(RuleViolation):
    """A rejected or closed case takes no further money or verification events."""

    code = "case_not_open"


class InvalidTransition(RuleViolation):
    """The case is not in a state where this step makes sense."""

    code = "invalid_transition"


class VerificationRequired(RuleViolation):
    """No approval before household verification (入户核实), also after new hardship."""

    code = "verification_required"


class SegregationOfDuties(RuleViolation):
    """The person who verified a case may not approve its grant."""

    code = "segregation_of_duties"


class CapExceeded(RuleViolation):
    """Temporary assistance per case per programme year is capped by policy."""

    code = "cap_exceeded"


class OverDisbursement(RuleViolation):
    """More money would be paid than has been approved."""

    code = "over_disbursement"


class NoAccount(RuleViolation):
    """Money goes straight into the student's own account, so a case without one is not paid."""

    code = "no_account"


class VoucherAlreadyUsed(RuleViolation):
    """A voucher number (凭证号) is unique across the whole store."""

    code = "voucher_already_used"


class UnknownVoucher(NotFound):
    """A returned payment must name a voucher this case was paid with."""

    code = "unknown_voucher"


class NoPaidGrant(RuleViolation):
    """Secondary aid (二次帮扶) only goes to a case already paid temporary assistance."""

    code = "no_paid_grant"


class WrongFundKind(RuleViolation):
    """Government money pays grants, donated money pays secondary aid; never the other way."""

    code = "wrong_fund_kind"


class InsufficientFunds(RuleViolation):
    """A fund's balance never goes below zero."""

    code = "insufficient_funds"


class DuplicateReceipt(RuleViolation):
    """A receipt number is recorded once per fund."""

    code = "duplicate_receipt"


class UnknownAction(NotFound):
    """A consultation action item that this case does not have."""

    code = "unknown_action"


class ConcurrencyConflict(AidflowError):
    """Other writers kept changing the same records; the command was not applied."""

    code = "concurrency_conflict"


class DecisionConflict(RuleViolation):
    """A decision reference (审批编号) names one decision: reused with other content, it is refused."""

    code = "decision_conflict"


class VoucherReturned(RuleViolation):
    """A voucher the bank returned is spent: the re-payment needs a new voucher number."""

    code = "voucher_returned"


class StoreError(AidflowError):
    """The event store or a view cannot be used as asked; nothing was written."""

    code = "store_error"


class StoreUnavailable(StoreError):
    """The database could not be opened or reached (a wrong path, host, port or database)."""

    code = "store_unavailable"


class ReadOnlyStore(StoreError):
    """The store was opened read-only (``?mode=ro``) and a command tried to write."""

    code = "read_only_store"


class StoreDamaged(StoreError):
    """A stored record cannot be decoded; ``aidflow audit verify`` names its position."""

    code = "store_damaged"


class UnknownStaff(RuleViolation):
    """The acting person is not registered staff of this store."""

    code = "unknown_staff"


class NotAuthorised(RuleViolation):
    """The acting person did not hold the role this step needs at that moment."""

    code = "not_authorised"


# -- proofs, bundles and signing keys (issue 14) ----------------------------------------------


class ProofUnavailable(AidflowError):
    """A proof cannot be made: no such event, or the digest is not a head of this store's tree."""

    code = "proof_unavailable"


class ProofInvalid(AidflowError):
    """A proof, digest or bundle does not check out (it was altered, or is of another store)."""

    code = "proof_invalid"


class SigningKeyMissing(AidflowError):
    """No signing key in the key directory: create one with ``aidflow keys init-signing``."""

    code = "signing_key_missing"


# -- the rules that keep the money loop closed (issue 12) -------------------------------------


class GapExceeded(RuleViolation):
    """A case's grants since its household visit stay within the gap that visit found."""

    code = "gap_exceeded"


class NeedNotFound(RuleViolation):
    """A grant is for a need the household visit found."""

    code = "need_not_found"


class TierExceeded(RuleViolation):
    """An approver approves a case only up to the amount of their tier (policy ``approval-tiers``)."""

    code = "tier_exceeded"


class CloseRefused(RuleViolation):
    """A case closes only when re-verified after new hardship, with no open consultation
    action and with a follow-up after its last payment."""

    code = "close_refused"


class ReverificationPending(CloseRefused):
    """New hardship reopened the case and it has not been verified again."""

    code = "reverification_pending"


class ActionsOpen(CloseRefused):
    """A consultation action is still owed by a department."""

    code = "actions_open"


class FollowUpRequired(CloseRefused):
    """Nobody followed the student up after the last payment."""

    code = "follow_up_required"


class UnknownDepartment(InvalidInput):
    """A department that the policy's list of departments does not name."""

    code = "unknown_department"
