"""The journal's one-line summaries: a template per stable event name, over the masked detail.

The templates are msgids (context ``journal``) in the message catalogue, so an auditor
reading ``audit journal --lang zh`` reads Chinese. A summary is made from the event's
*masked* detail (the journal's ``detail`` column), never from the raw event: what a
summary shows is exactly what the view already holds, and the same line is rendered
for an event whatever language, key or process renders it. The English rendering is
also stored in the journal's ``summary`` column for readers that query SQL directly.

Domain values (``dibao``, ``tuition``) are translated field by field; data typed into
the record (names, towns, reasons, donors) never is.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from string import Formatter
from typing import Any

from aidflow.domain.events import NAMES, EventClass
from aidflow.domain.masking import FREE_TEXT, mask_free_text
from aidflow.domain.money import format_yuan
from aidflow.i18n import catalogue, current, value
from aidflow.projections.catalogue import (
    Enrolment,
    FindingsRegister,
    Fund,
    PaymentBook,
    PolicyRegister,
    ProgrammeYear,
    RequestKey,
    Search,
    StaffRegistry,
    StudentCase,
    Voucher,
    WitnessLog,
)

C = StudentCase

SUMMARY = "journal"
"""msgctxt of the summary templates."""

Template = tuple[str, frozenset[str]]


def _t(text: str, *values: str) -> Template:
    return text, frozenset(values)


TEMPLATES: dict[EventClass, Template] = {
    C.Applied: _t(
        "case opened for {name} ({family_category}, {town}, {year}) by {source}",
        "name",  # "[encrypted]" in every store since the name is sealed
        "family_category",
        "source",
    ),
    C.Verified: _t("household verified: gap {gap} yuan, needs {needs}", "needs"),
    C.Rejected: _t("rejected: {reason}"),
    C.GrantApproved: _t("grant of {yuan} yuan approved for {need} from fund {fund}", "need"),
    C.Disbursed: _t("paid {yuan} yuan to the student's account, voucher {voucher}"),
    C.DisbursementReturned: _t("bank returned {yuan} yuan of voucher {voucher}: {reason}"),
    C.SecondaryAidAllocated: _t("secondary aid of {yuan} yuan from fund {fund}"),
    C.HardshipReported: _t("{severity} hardship reported ({kind}): {detail}", "severity", "kind"),
    C.ReviewConvened: _t("consultation of {departments}: {action_count} action(s)", "departments"),
    C.ActionCompleted: _t("{department} completed {action_id}: {note}", "department"),
    C.FollowedUp: _t(
        "follow-up: study {study}; living {living}; hardship {hardship_trend}",
        "hardship_trend",
    ),
    C.Closed: _t("case closed: {reason}"),
    C.AccountSet: _t("{change}: {reason}"),
    C.AccountConfirmed: _t("account change confirmed by a second person"),
    C.DisbursementConfirmed: _t("bank statement confirms {yuan} yuan paid under voucher {voucher}"),
    C.SecondaryAidProposed: _t("secondary aid of {yuan} yuan proposed under {ref}"),
    C.SecondaryAidApproved: _t("secondary aid of {yuan} yuan approved under {ref}"),
    C.AppealLodged: _t("appeal of the rejection lodged: {reason}"),
    C.AppealDecided: _t("appeal decided, rejection {outcome}: {reason}", "outcome"),
    C.ApprovalCorrectionProposed: _t(
        "correction proposed: {yuan} yuan to come off approval {ref}: {reason}"
    ),
    C.ApprovalCorrected: _t(
        "approval {ref} reduced by {yuan} yuan (proposed by {proposed_by}): {reason}"
    ),
    C.DisbursementDisputed: _t(
        "{yuan} yuan of voucher {voucher} held: the bank's statement disagrees ({kind})", "kind"
    ),
    C.PaymentReissued: _t(
        "returned voucher {voucher} ({yuan} yuan) to be paid again to the same account: {reason}"
    ),
    PaymentBook.Started: _t("cashier's book started"),
    PaymentBook.ListIssued: _t(
        "payment list of {list_date} for fund {fund}: {line_count} line(s),"
        " {new_vouchers} new voucher(s); full accounts exported"
    ),
    PaymentBook.StatementImported: _t(
        "bank statement {name!r}: {lines} line(s), {confirmed} confirmed,"
        " {returned} returned, {finding_count} finding(s)"
    ),
    C.PersonalDataRevealed: _t("personal data ({fields}) revealed: {reason}", "fields"),
    C.PersonalDataErased: _t("personal data erased ({case_count} case(s)): {reason}"),
    Fund.Opened: _t("{kind} fund {name!r} opened", "kind"),
    Fund.Deposited: _t("{yuan} yuan received from {source}, receipt {receipt}"),
    Fund.DepositReversalProposed: _t(
        "reversal of deposit {receipt} ({yuan} yuan) proposed: {reason}"
    ),
    Fund.DepositReversed: _t(
        "deposit {receipt} ({yuan} yuan) reversed (proposed by {proposed_by}): {reason}"
    ),
    Fund.Allocated: _t("{yuan} yuan reserved for case {case} ({use})", "use"),
    Fund.Released: _t("{yuan} yuan released from case {case}: {reason}"),
    Enrolment.Registered: _t("student-year key registered for case {case}"),
    Voucher.Issued: _t("voucher {number} registered for case {case}"),
    RequestKey.Recorded: _t("reference {key} recorded for {command}"),
    StaffRegistry.Started: _t("staff registry started"),
    StaffRegistry.MemberAdded: _t("staff {name} added as {roles}{in_department}", "roles"),
    StaffRegistry.RoleGranted: _t("{name} granted {role}", "role"),
    StaffRegistry.RoleRevoked: _t("{name} no longer {role}", "role"),
    StaffRegistry.TokenIssued: _t("bearer token for {name}, in force until {expires_at}"),
    StaffRegistry.TokenRevoked: _t("bearer token of {name} revoked: {reason}"),
    PolicyRegister.Started: _t("policy register started"),
    PolicyRegister.ValueSet: _t("policy {field} set to {value}"),
    PolicyRegister.Changed: _t("policy {field} set to {value}"),
    Search.Recorded: _t("search by {by}: {hit_count} case(s) found", "by"),
    FindingsRegister.Started: _t("register of explained findings started"),
    FindingsRegister.Disposed: _t("finding {finding} ({rule}) explained: {reason}"),
    FindingsRegister.Withdrawn: _t("explanation of finding {finding} withdrawn: {reason}"),
    StaffRegistry.KeysRotated: _t(
        "master key replaced by a new one ({fingerprint}); {rewrapped} data key(s) wrapped again"
    ),
    PaymentBook.NoticePosted: _t(
        "public notice of {period} drawn: {rows} row(s), {total} yuan, proved against {digest}"
    ),
    WitnessLog.Started: _t("record of witnessed digests started"),
    WitnessLog.Witnessed: _t("{witness} witnessed the digest {digest} (key {key_fingerprint})"),
    ProgrammeYear.CloseProposed: _t("closing programme year {year} proposed"),
    ProgrammeYear.Closed: _t(
        "programme year {year} closed (proposed by {proposed_by}): {cases} case(s), {approved}"
        " yuan approved, {paid} paid, {released} released; digest {digest}"
    ),
    C.YearClosed: _t("programme year {year} closed: unpaid approvals went back to the funds"),
}
"""Every event class's summary: (template, fields holding domain values)."""

SETTLED_BY_HAND: dict[EventClass, Template] = {
    C.DisbursementConfirmed: _t(
        "disputed voucher {voucher} settled as paid ({yuan} yuan): {reason}"
    ),
    C.DisbursementReturned: _t(
        "disputed voucher {voucher} settled as returned ({yuan} yuan): {reason}"
    ),
}
"""The summary of a payment settled by ``pay resolve`` (``resolved``), not by the bank."""

_CLASS_OF: dict[str, EventClass] = {name: cls for cls, name in NAMES.items()}

ACCOUNT_PROPOSED = "account change proposed, awaiting a second person"
ACCOUNT_RECORDED = "account recorded"
IN_DEPARTMENT = " ({department})"
"""Appended to a staff member's summary when they belong to a department."""

_AMOUNTS = {
    "yuan": "amount_fen",
    "gap": "gap_fen",
    "approved": "approved_fen",
    "paid": "paid_fen",
    "released": "released_fen",
    "total": "total_fen",
}
"""A template's money field and the detail's integer fen it shows in yuan."""
_IDS = {"fund": "fund_id", "case": "case_id"}
"""A template's short id and the detail's id it shows the first 8 characters of."""


@lru_cache(maxsize=1024)
def _named(template: str) -> tuple[str, ...]:
    """The fields a (translated) template names, made once per template."""
    return tuple(dict.fromkeys(f for _, f, _, _ in Formatter().parse(template) if f))


def _fields(
    detail: Mapping[str, Any], values: frozenset[str], lang: str, named: tuple[str, ...]
) -> dict[str, Any]:
    """The template's fields: the detail, with money in yuan, short ids and translated values.

    Only the fields the template names are made (a rebuild makes one summary an event): a
    name the detail cannot give is left out, and the template's ``format`` says so."""
    fields: dict[str, Any] = {}
    for name in named:
        found = _field(name, detail, values, lang)
        if found is not _MISSING:
            fields[name] = found
    return fields


_MISSING = object()


def _field(name: str, detail: Mapping[str, Any], values: frozenset[str], lang: str) -> Any:
    """One field, the first of these that gives it: where the department is shown, the
    command, an account change, a list's count, a translated value, a short id, an amount
    in yuan, the detail's own value (free text masked: no number that names someone, §7)."""
    if name == "in_department":
        department = detail.get("department")
        return _tr(IN_DEPARTMENT, lang).format(department=department) if department else ""
    if name == "command" and "command" in detail:
        return str(detail["command"]).replace("_", " ")
    if name == "change" and isinstance(detail.get("pending"), bool):
        return _tr(ACCOUNT_PROPOSED if detail["pending"] else ACCOUNT_RECORDED, lang)
    if name.endswith("_count"):  # actions -> action_count, lines -> line_count, ...
        counted = [
            len(items)
            for key, items in detail.items()
            if isinstance(items, list) and f"{key.removesuffix('s')}_count" == name
        ]
        if counted:
            return counted[-1]
    if name in values:
        raw = detail.get(name)
        if isinstance(raw, list | tuple):
            return ", ".join(value(v, lang) for v in raw)
        if raw is not None:
            return value(raw, lang)
    if name in _IDS and detail.get(_IDS[name]) is not None:
        return str(detail[_IDS[name]])[:8]
    if name in _AMOUNTS and isinstance(detail.get(_AMOUNTS[name]), int):
        return format_yuan(detail[_AMOUNTS[name]])
    if name not in detail:
        return _MISSING
    raw = detail[name]
    return mask_free_text(raw) if name in FREE_TEXT and isinstance(raw, str) else raw


def _tr(message: str, lang: str) -> str:
    return catalogue(lang).pgettext(SUMMARY, message)


def summary(name: str, detail: Mapping[str, Any], lang: str | None = None) -> str:
    """The one-line summary of event ``name`` with masked ``detail``, in ``lang`` (else the
    current language).

    An event name without a template (a newer store read by older code) shows its name.
    """
    cls = _CLASS_OF.get(name)
    found = None if cls is None else TEMPLATES.get(cls)
    if detail.get("resolved") and cls in SETTLED_BY_HAND:
        found = SETTLED_BY_HAND[cls]
    if found is None:
        return name
    template, values = found
    try:
        lang = lang or current()
        shown = _tr(template, lang)
        return shown.format(**_fields(detail, values, lang, _named(shown)))
    except (KeyError, IndexError, ValueError):
        # A detail missing a field the template names (an older event): the name is true.
        return name


def english_summary(name: str, detail: Mapping[str, Any]) -> str:
    """The summary as the journal's ``summary`` column stores it, whatever language is chosen
    (asked in English, not by switching the language: a rebuild asks once per event)."""
    return summary(name, detail, "en")


__all__ = [
    "IN_DEPARTMENT",
    "SETTLED_BY_HAND",
    "SUMMARY",
    "TEMPLATES",
    "english_summary",
    "summary",
]
