"""Named errors for broken rules. Each message tells a clerk what rule and what to do.

A message is made with :func:`said`: an English template (a msgid of the message
catalogue) and its values. ``str(error)`` is the English sentence (logs, ``--json``,
the HTTP API); :meth:`Said.render` gives it in another language, so the people at the
counter read why in Chinese. A test fails when a raise builds its message another way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Self
from uuid import UUID


class Said(str):
    """A sentence made from a catalogue ``template`` and its ``params``; ``str`` is English."""

    template: str
    params: Mapping[str, Any]

    def __new__(cls, template: str, params: Mapping[str, Any]) -> Self:
        self = super().__new__(cls, template.format(**params))
        self.template = template
        self.params = dict(params)
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (Said, (self.template, self.params))

    def render(self, translate: Callable[[str], str]) -> str:
        """The sentence with ``translate`` applied to its template and to every nested one."""
        values = {k: render(v, translate) for k, v in self.params.items()}
        try:
            return translate(self.template).format(**values)
        except (KeyError, IndexError, ValueError):  # a broken translation: English is true
            return self.template.format(**values)


def said(template: str, /, **params: Any) -> Said:
    """A message from ``template`` (an English msgid) and its values."""
    return Said(template, params)


def joined(separator: str, parts: Iterable[str]) -> Said:
    """``parts`` joined by ``separator``, each still rendered in the reader's language."""
    items = list(parts)
    template = separator.join(f"{{part{i}}}" for i in range(len(items)))
    return Said(template, {f"part{i}": part for i, part in enumerate(items)})


class Terms(Said):
    """Words of one of the catalogue's sets (``context``: ``value`` for roles and departments,
    ``command`` for commands) joined by ``separator`` (a message: `` or `` reads 或): English
    as written, another language the catalogue's words (a word it lacks stays as written).
    The domain names them so without reaching for the catalogue itself."""

    words: tuple[str, ...]
    context: str
    separator: str

    def __new__(cls, words: Iterable[str], context: str, separator: str = ", ") -> Self:
        items = tuple(words)
        self = super().__new__(cls, "{words}", {"words": separator.join(items)})
        self.words, self.context, self.separator = items, context, separator
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (Terms, (self.words, self.context, self.separator))

    def render(self, translate: Callable[[str], str]) -> str:
        def term(word: str) -> str:
            key = f"{self.context}\x04{word}"  # how gettext keys a word of a context
            found = translate(key)
            return word if found == key else found

        return translate(self.separator).join(term(word) for word in self.words)


def render(message: object, translate: Callable[[str], str]) -> str:
    """``message`` in the reader's language when it is a :class:`Said`, else as it is."""
    return message.render(translate) if isinstance(message, Said) else str(message)


def message_of(exc: BaseException) -> str:
    """An error's sentence, still a :class:`Said` when it was made with one (``str(exc)``
    is plain English): a list of refused rows keeps it, and each face renders it."""
    first = exc.args[0] if exc.args else ""
    return first if isinstance(first, Said) else str(exc)


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
            said(
                "student {student} already has case {case_id} for programme year {year}; "
                "add to that case instead of opening another",
                student=student,
                case_id=case_id,
                year=year,
            ),
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


class OutOfTown(RuleViolation):
    """A verifier visits households in the towns they are registered for (走访按乡镇分工);
    a member registered for no town acts in every town."""

    code = "out_of_town"


class NotAwaitingVisit(RuleViolation):
    """A visit list holds the cases awaiting a household visit (applied, or reopened by new
    hardship), nothing else."""

    code = "not_awaiting_visit"


class CapExceeded(RuleViolation):
    """Temporary assistance per case per programme year is capped by policy."""

    code = "cap_exceeded"


class OverDisbursement(RuleViolation):
    """More money would be paid than has been approved."""

    code = "over_disbursement"


class NoAccount(RuleViolation):
    """Money goes straight into the student's own account, so a case without one is not paid.

    Record one with ``aidflow case set-account``."""

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


class YearClosed(RuleViolation):
    """The programme year is closed: no new approval, secondary aid or payment for its cases."""

    code = "year_closed"


class PaymentsInFlight(RuleViolation):
    """The year cannot close while payments issued on lists await the bank's statement."""

    code = "payments_in_flight"


class StoreError(AidflowError):
    """The event store or a view cannot be used as asked; nothing was written."""

    code = "store_error"


class StoreUnavailable(StoreError):
    """The database could not be opened or reached (a wrong path, host, port or database)."""

    code = "store_unavailable"


class NoSuchStore(InvalidInput):
    """The store a URL names does not exist, and what was asked does not make one (a mistyped
    path would otherwise become a new, empty store answering "all rules hold"); nothing was
    created."""

    code = "no_such_store"


class ReadOnlyStore(StoreError):
    """The store was opened read-only (``?mode=ro``) and a command tried to write."""

    code = "read_only_store"


class ClockWentBack(StoreError):
    """The writer's clock is behind the record it would add to: nothing was recorded."""

    code = "clock_went_back"


class ViewsBehind(StoreError):
    """The views, kept by the office's service on a shared store, had not caught up in time.

    A person's PostgreSQL login writes no view (issue 21 §1): the service's follower keeps
    them. Nothing was answered from stale views; a command given before was recorded."""

    code = "views_behind"


class StoreBusy(StoreError):
    """Another process held the store's write lock for longer than a command waits
    (``busy_timeout``, on SQLite and PostgreSQL); nothing was written, and the same command
    may simply be given again."""

    code = "store_busy"


class BodyTooLarge(InvalidInput):
    """An HTTP request body over the service's limit: refused before it is read whole."""

    code = "body_too_large"


class TooManyWaits(AidflowError):
    """More long-polls waiting at once than the service allows (per member, or in all)."""

    code = "too_many_waits"


class TooManySearches(AidflowError):
    """More searches by ID or name in a minute than one member may make (HTTP)."""

    code = "too_many_searches"


class StoreFull(StoreError):
    """The disk that holds the store is full: nothing was written (the transaction was
    rolled back); the same command may be given again once there is room."""

    code = "store_full"


LOCK_NOT_AVAILABLE = "55P03"
"""PostgreSQL's SQLSTATE for a lock wait that ran out (``lock_timeout``) or was refused (``NOWAIT``)."""
INSUFFICIENT_PRIVILEGE = "42501"
"""PostgreSQL's SQLSTATE for a statement the login has no grant for."""
INVALID_TEXT_REPRESENTATION = "22P02"
"""PostgreSQL's SQLSTATE for text that is not of its type (how the views' deferred check of their
positions refuses a page, :data:`aidflow.projections.tracking.MOVED_MEANWHILE`)."""


def sqlstate(exc: BaseException) -> str | None:
    """PostgreSQL's SQLSTATE in a driver's error, however it reached us: psycopg's own, or
    wrapped by SQLAlchemy (``orig``) or the event library (``__cause__``)."""
    seen: BaseException | None = exc
    for _ in range(3):
        if seen is None:
            return None
        state = getattr(seen, "sqlstate", None)
        if isinstance(state, str):
            return state
        seen = getattr(seen, "orig", None) or seen.__cause__
    return None


def store_failure(exc: BaseException) -> StoreBusy | StoreFull | None:
    """The store's condition in a driver's error, however it reached us (the driver's,
    SQLAlchemy's or the event library's ``OperationalError``): another process's write lock
    held past the wait (SQLite's "database is locked", PostgreSQL's lock timeout) as
    :class:`StoreBusy`; a full disk (SQLite's "database or disk is full", PostgreSQL's
    "No space left on device") as :class:`StoreFull`; else None."""
    if type(exc).__name__ not in ("OperationalError", "DiskFull", "LockNotAvailable"):
        return None
    text = str(exc)
    if "database is locked" in text or sqlstate(exc) == LOCK_NOT_AVAILABLE:
        return StoreBusy(
            said(
                "the store is busy: another process held its write lock for longer than a command waits; nothing was written, give the command again"
            )
        )
    if "database or disk is full" in text or "No space left on device" in text:
        return StoreFull(
            said(
                "the disk that holds the store is full: nothing was written; make room on it (or move the store) and give the command again"
            )
        )
    return None


class StoreRefused(StoreError):
    """The database refused the record (a person's login on a shared store): not the login's
    own act, no role for it, or stamped off the database's clock. Nothing was recorded."""

    code = "store_refused"


def store_refused(exc: BaseException) -> StoreRefused | None:
    """The store's append function's refusal (``aidflow: …``, SQLSTATE 42501) as
    :class:`StoreRefused`; else None."""
    if type(exc).__name__ != "ProgrammingError" or "aidflow: " not in str(exc):
        return None
    reason = str(exc).split("aidflow: ", 1)[1].splitlines()[0]
    return StoreRefused(
        said(
            "the database refused the record: {reason}; nothing was recorded (check the machine's clock, and that you act as yourself with your own role)",
            reason=reason,
        )
    )


class FileProblem(AidflowError):
    """A file the command was told to use (mostly an ``-o`` to write) could not be used: no
    such folder, no permission, a full disk, a name too long. Nothing in the store changed."""

    code = "file_problem"


class StoreDamaged(StoreError):
    """A stored record cannot be decoded; ``aidflow audit verify`` names its position."""

    code = "store_damaged"


class UnknownStaff(RuleViolation):
    """The acting person is not registered staff of this store."""

    code = "unknown_staff"


class NotAuthorised(RuleViolation):
    """The acting person did not hold the role this step needs at that moment."""

    code = "not_authorised"


# -- the money loop: accounts, payment lists, statements, secondary aid (issue 12) -----------


class AccountChangePending(RuleViolation):
    """A changed account awaits a second person's confirmation; no money flows until then."""

    code = "account_change_pending"


class NoAccountChangePending(RuleViolation):
    """Confirming an account change when none is proposed (or a different one was proposed)."""

    code = "no_account_change_pending"


class UnknownFinding(NotFound):
    """Explaining a finding the checks do not raise (a typo, or one a later act replaced)."""

    code = "unknown_finding"


class AppealTooLate(RuleViolation):
    """An appeal (复核) is lodged within the policy's ``appeal-days`` of the rejection."""

    code = "appeal_too_late"


class NoAppealPending(RuleViolation):
    """Deciding an appeal that nobody lodged (or that is decided already)."""

    code = "no_appeal_pending"


class UnknownApproval(NotFound):
    """Correcting an approval under a reference that no grant approval of this case carries."""

    code = "unknown_approval"


class CorrectionExceedsUnpaid(RuleViolation):
    """Only the unpaid part of an approval is corrected; paid money goes back by a return."""

    code = "correction_exceeds_unpaid"


class UnknownReceipt(NotFound):
    """Reversing a deposit under a receipt the fund does not hold (or holds reversed)."""

    code = "unknown_receipt"


class NoCorrectionPending(RuleViolation):
    """Confirming a correction (of an approval, a deposit) that nobody proposed."""

    code = "no_correction_pending"


class NotInDispute(RuleViolation):
    """Only a payment whose statement line disagreed (held in dispute) is settled by hand."""

    code = "not_in_dispute"


class NothingToReissue(RuleViolation):
    """Only a returned payment still held for its account is issued again."""

    code = "nothing_to_reissue"


class SecondaryCapExceeded(RuleViolation):
    """Secondary aid (二次帮扶) per case per programme year is capped by policy."""

    code = "secondary_cap_exceeded"


class UnknownSecondaryAid(NotFound):
    """Approving secondary aid under a reference that no proposal on this case carries."""

    code = "unknown_secondary_aid"


class SecondaryAidUnpaid(RuleViolation):
    """A case with approved, unpaid secondary aid is not closed: pay it through the list first."""

    code = "secondary_aid_unpaid"


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


# -- personal data: master key, erasure, reveal (issue 11 §3-§4) --------------------------------


class MasterKeyError(AidflowError):
    """The master key that protects personal data is missing, malformed or not this store's.

    An input problem (exit 2): the fix is to give the right key (``AIDFLOW_KEY`` or the
    key file), never to read around it.
    """

    code = "master_key_error"


class MasterKeyMissing(MasterKeyError):
    """Personal data must be encrypted or read, and no master key was given."""

    code = "master_key_missing"


class MasterKeyWrong(MasterKeyError):
    """The master key given does not open this store's keys (another store's, or altered)."""

    code = "master_key_wrong"


class KeysWithheld(MasterKeyError):
    """The master key was given, but the database withholds the store's keys from this login
    (an auditor's login on a shared store; a person's login re-wrapping them): what needs them
    is not done, and is said so."""

    code = "keys_withheld"


class ErasureRefused(RuleViolation):
    """Personal data may not be erased yet (money owed, retention period, case still open)."""

    code = "erasure_refused"


class PersonalDataGone(RuleViolation):
    """The student's personal data was erased: there is nothing left to reveal."""

    code = "personal_data_erased"


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
