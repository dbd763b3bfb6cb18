"""Audit findings read in Chinese (issue 24 §1): every rule's message is a catalogue sentence,
English as it always was, in Chinese wherever a person reads it.

One journal raises findings of most rules, with data made of digits and Chinese (people,
vouchers, references), so any English word left in a Chinese finding is the rule's own.
"""

from __future__ import annotations

import re
import string
from datetime import timedelta

from aidflow.auditing import run_checks
from aidflow.auditing.rules import RULES
from aidflow.domain import Policy
from aidflow.i18n import catalogue, using
from aidflow.projections.models import CheckResult, Violation
from scripts.i18n_sources import said_templates
from tests.unit.test_audit_checks import DON, GOV, KINDS, T0, Journal

ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")
CODE = re.compile(r"`[^`]*`")
"""A command to type (`case follow-up --received`) stays as it is typed."""
FINDING_ID = re.compile(r"\bF-[0-9a-f]{12}\b")

SAID_IN_ENGLISH = "no voucher of ours"
"""A bank statement finding's detail, recorded in English when the statement was imported."""


def _statement(j: Journal) -> None:
    item = {
        "kind": "no_voucher",
        "line": 4,
        "reference": "工资-9",
        "amount_fen": 123_456,
        "detail": SAID_IN_ENGLISH,
    }
    position = len(j.rows) + 1
    detail = {"name": "六月回单", "findings": [item]}
    j.rows.append(
        (
            position,
            T0 + timedelta(days=position),
            "出纳",
            "簿",
            "payments.statement_imported",
            detail,
        )
    )


def _token(j: Journal, issuer: str, holder: str) -> int:
    position = len(j.rows) + 1
    detail = {"name": holder, "expires_at": T0 + timedelta(days=400)}
    j.rows.append(
        (position, T0 + timedelta(days=position), issuer, "册", "staff.token_issued", detail)
    )
    return position


def journal() -> Journal:
    """Findings of most rules, in one journal: people, vouchers and references in Chinese
    and digits, cases ``c1``..``c9``."""
    j = Journal()
    # funds: no receipt, a reversal by one person, overdrawn, a release beyond the reservation
    j.add("fund.deposited", GOV, "出纳", amount_fen=1_000)
    j.add("fund.deposit_reversed", GOV, "出纳", receipt="收-1", amount_fen=500)
    j.add("fund.allocated", GOV, "审批人", amount_fen=5_000_000, case_id="c1")
    j.add("fund.released", GOV, "审批人", amount_fen=9_000_000, case_id="c2")
    # approvals: before verification, by the verifier, from a donation fund, over the cap
    j.add("case.applied", "c1", "受理员", year=2026)
    j.add("case.grant_approved", "c1", "审批人", amount_fen=100_000, fund_id=DON, need="tuition")
    j.add("case.verified", "c1", "审批人", gap_fen=200_000, needs=["travel", "living"])
    j.add("case.grant_approved", "c1", "审批人", amount_fen=900_000, fund_id=GOV, need="tuition")
    j.add("case.verified", "c2", "核实员", gap_fen=100, needs=[])
    # a verifier registered for 高坪 verifies a household of 大连
    j.rows.append(  # name= is the journal helper's own argument
        (len(j.rows) + 1, T0 + timedelta(days=len(j.rows) + 1), "管理员", "册", "staff.member_added",
         {"name": "乡镇核实员", "roles": ["verifier"], "department": "", "town": "高坪"})
    )  # fmt: skip
    j.add("case.applied", "c10", "受理员", year=2026, town="大连")
    j.add("case.verified", "c10", "乡镇核实员", gap_fen=100, needs=[])
    j.add("case.grant_approved", "c2", "审批人", amount_fen=100, fund_id=GOV, need="travel")
    # payments: beyond approval, a voucher used twice, secondary aid out of order
    j.add("case.disbursed", "c1", "出纳", amount_fen=2_000_000, voucher="0001")
    j.add("case.disbursed", "c2", "出纳", amount_fen=100, voucher="0001", listed=True)
    j.add("case.secondary_aid_allocated", "c3", "审批人", amount_fen=1_000_001, fund_id=GOV)
    j.add("case.disbursed", "c3", "出纳", amount_fen=10, voucher="0003", use="secondary-aid")
    # the money loop's four eyes
    j.add("case.disbursement_confirmed", "c1", "出纳", voucher="0001", resolved=True)
    j.add("case.disbursement_disputed", "c2", "出纳", voucher="0001")
    j.add("case.disbursement_confirmed", "c2", "出纳", voucher="0001", resolved=True)
    j.add("case.payment_reissued", "c1", "出纳", voucher="0009")
    j.add("case.disbursement_returned", "c2", "出纳", voucher="0001", amount_fen=100)
    j.add("case.payment_reissued", "c2", "出纳", voucher="0001")
    j.add("case.account_confirmed", "c1", "出纳")
    j.add("case.account_set", "c2", "出纳", pending=True)
    j.add("case.account_confirmed", "c2", "出纳")
    j.add("case.secondary_aid_approved", "c1", "审批人", ref="帮-1", amount_fen=1, fund_id=DON)
    j.add("case.approval_corrected", "c1", "审批人", ref="批-1", amount_fen=1_000_000)
    _statement(j)
    j.add("policy.value_set", "册", "管理员", field="没有这项", value=3)
    # the year closed by one person, and money for it afterwards
    j.add("year.closed", "年", "管理员", year=2026)
    j.add("case.grant_approved", "c1", "审批人", amount_fen=1, fund_id=GOV, need="tuition")
    # a case's life: reopened, actions open, closed against the rules, acts after
    j.add("case.hardship_reported", "c1", "核实员", severity="serious", kind="illness")
    j.add(
        "case.review_convened", "c1", "会商员", actions=[{"action_id": "1", "department": "health"}]
    )
    j.add("case.closed", "c1", "审批人", releases={})
    j.add("case.action_completed", "c1", "卫健联络员", action_id="1", department="health")
    j.add("case.followed_up", "c1", "回访员", received="no", vouchers=["0001"])
    j.add("case.rejected", "c4", "审批人")
    j.add("case.followed_up", "c4", "回访员")
    j.add("case.appeal_lodged", "c4", "学生")
    j.add("case.appeal_decided", "c4", "审批人", at=T0 + timedelta(days=300), outcome="upheld")
    j.add("case.appeal_lodged", "c5", "学生")
    # still open at the end: hardship unanswered, an action, unpaid approval, unconfirmed money
    j.add("case.hardship_reported", "c6", "核实员", severity="critical", kind="family-change")
    j.add(
        "case.review_convened",
        "c7",
        "会商员",
        actions=[{"action_id": "2", "department": "education"}],
    )
    j.add("case.verified", "c8", "核实员", gap_fen=1_000_000, needs=["tuition"])
    j.add("case.grant_approved", "c8", "审批人", amount_fen=10_000, fund_id=GOV, need="tuition")
    j.add("case.disbursed", "c9", "出纳", amount_fen=10, voucher=" ")
    j.add("case.disbursed", "c8", "出纳", amount_fen=10_000, voucher="0008", listed=True)
    # a token for another, the issuer on the case too; an event of an unknown kind
    _token(j, "管理员", "审批人")
    j.add("case.grant_approved", "c8", "审批人", amount_fen=1, fund_id=GOV, need="tuition")
    j.add("case.verified", "c8", "管理员", gap_fen=1_000_000, needs=["tuition"])
    j.add("未知.事件", "c9", "某人")
    # an event recorded before one already in the store
    j.add("case.followed_up", "c9", "回访员", at=T0)
    return j


ACCOUNTS = [
    ("c1", "人1", "户1", 1),
    ("c2", "人2", "户1", 2),
    ("c8", "人1", "户2", 3),
    ("c7", "人1", "户3", 4),
]


def check(j: Journal) -> CheckResult:
    return run_checks(
        iter(j.rows),
        KINDS,
        Policy(receipt_days=5),
        T0 + timedelta(days=400),
        base=Policy(receipt_days=5),
        accounts=ACCOUNTS,
    )


def explained_by_its_actor(j: Journal) -> CheckResult:
    """The journal again, with a finding explained by the person whose act raised it."""
    first = next(v for v in check(j).violations if v.rule == "verifier_approved")
    position = len(j.rows) + 1
    disposal = {"finding": first.id, "reason": "已核"}
    j.rows.append(
        (position, T0 + timedelta(days=position), "审批人", "册", "findings.disposed", disposal)
    )
    actors = {row[0]: row[2] for row in j.rows}
    return run_checks(
        iter(j.rows),
        KINDS,
        Policy(receipt_days=5),
        T0 + timedelta(days=400),
        base=Policy(receipt_days=5),
        accounts=ACCOUNTS,
        actors_at=lambda positions: {p: actors[p] for p in positions},
    )


RULES_RAISED = {
    "deposit_without_receipt",
    "reversal_single_person",
    "fund_overdrawn",
    "release_beyond_reservation",
    "approved_before_verification",
    "verifier_approved",
    "wrong_fund_kind",
    "cap_exceeded",
    "need_not_found",
    "gap_exceeded",
    "paid_before_approval",
    "duplicate_voucher",
    "secondary_aid_without_paid_grant",
    "secondary_cap_exceeded",
    "resolved_without_dispute",
    "dispute_settled_by_issuer",
    "reissue_without_return",
    "reissue_by_issuer",
    "account_confirmed_unproposed",
    "account_change_self_confirmed",
    "secondary_aid_single_person",
    "correction_single_person",
    "correction_beyond_unpaid",
    "statement_no_voucher",
    "policy_unreadable",
    "year_close_single_person",
    "act_in_closed_year",
    "closed_against_rules",
    "recorded_on_closed_case",
    "receipt_denied",
    "appeal_decided_by_rejecter",
    "appeal_decided_late",
    "hardship_without_consultation",
    "consultation_action_open",
    "approved_unpaid_too_long",
    "payment_unconfirmed",
    "receipt_unconfirmed",
    "incomplete_dossier",
    "shared_account",
    "several_open_cases",
    "token_for_another_crosses_duties",
    "unknown_event",
    "unauthorised_actor",
    "verified_out_of_town",
    "recorded_out_of_time_order",
    "finding_explained_by_its_actor",
}


def _english_words(message: str, violation: Violation) -> list[str]:
    """The English words of ``message`` that are neither a command to type nor a code
    (the finding's own rule, a finding id, a rule named in it)."""
    text = FINDING_ID.sub("", CODE.sub("", message))
    for code in sorted({violation.rule, *RULES_RAISED}, key=len, reverse=True):
        text = text.replace(code, "")
    return ENGLISH_WORD.findall(text)


def _every(result: CheckResult) -> list[Violation]:
    return [*result.violations, *(d.violation for d in result.disposed)]


def test_the_journal_raises_findings_of_many_rules() -> None:
    found = {v.rule for v in _every(explained_by_its_actor(journal()))}
    assert found >= RULES_RAISED, sorted(RULES_RAISED - found)
    assert len(RULES_RAISED) > len(RULES) // 2 + 20


def test_every_finding_reads_in_chinese_with_no_english_word_left() -> None:
    result = explained_by_its_actor(journal())
    with using("zh"):
        shown = [(v, v.shown().message) for v in _every(result)]
    left = {(v.rule, m): _english_words(m, v) for v, m in shown if _english_words(m, v)}
    assert left == {}
    assert all(re.search("[\u4e00-\u9fff]", m) for _v, m in shown)


def test_the_words_inside_a_finding_are_translated_too() -> None:
    """Needs, departments, hardship kinds, commands and lists read as the catalogue says;
    data (people, vouchers, references) is never translated."""
    result = explained_by_its_actor(journal())
    with using("zh"):
        said = {v.rule + ":" + str(v.positions): v.shown().message for v in result.violations}
    messages = "\n".join(said.values())
    for word in ("学费难筹", "路费不够", "卫健", "家庭变故", "审批救助", "、", "；"):
        assert word in messages, word
    for data in ("审批人", "0001", "帮-1", "批-1", "工资-9", "六月回单"):
        assert data in messages, data
    statement = next(m for k, m in said.items() if k.startswith("statement_no_voucher"))
    assert statement == "银行回单 '六月回单' 第 4 行（工资-9，1,234.56 元）：无对应凭证"
    assert SAID_IN_ENGLISH not in messages


def test_english_reads_as_before_and_the_library_keeps_english() -> None:
    result = explained_by_its_actor(journal())
    with using("en"):
        shown = [v.shown() for v in _every(result)]
    assert [v.message for v in shown] == [str(v.message) for v in _every(result)]
    assert [v.id for v in shown] == [v.id for v in _every(result)]
    with using("zh"):
        in_chinese = [v.shown() for v in _every(result)]
    assert [v.id for v in in_chinese] == [v.id for v in _every(result)]  # ids never move
    by_rule = {v.rule: v.message for v in result.violations}
    assert by_rule["need_not_found"] == (
        "grant for tuition where the household visit found living, travel"
    )
    assert by_rule["closed_against_rules"] == (
        "case closed while reopened by new hardship and not verified again; "
        "consultation action(s) 1 open; paid and not followed up since"
    )
    assert by_rule["incomplete_dossier"] == (
        "paid case lacks verification, approval, voucher, fund source"
    )
    assert by_rule["statement_no_voucher"] == (
        "bank statement '六月回单' line 4 (工资-9, 1,234.56 yuan): no voucher of ours"
    )
    assert by_rule["unknown_event"] == (
        "1 event(s) of kind '未知.事件' were not checked: the kind is not in this version's "
        "event catalogue"
    )
    assert by_rule["policy_unreadable"] == "policy change of 没有这项 to 3 cannot be applied"
    unauthorised = [v.message for v in result.violations if v.rule == "unauthorised_actor"]
    assert (
        "审批人 recorded 6 approve event(s) without holding a role for it at the time "
        "(or not registered staff)"
    ) in unauthorised
    assert all(isinstance(v.model_dump(mode="json")["message"], str) for v in result.violations)


def test_a_finding_explained_by_its_actor_names_the_finding_in_both_languages() -> None:
    result = explained_by_its_actor(journal())
    own = next(v for v in result.violations if v.rule == "finding_explained_by_its_actor")
    first = next(v for v in result.violations if v.rule == "verifier_approved")
    assert own.message == (
        f"审批人 explained finding {first.id} (verifier_approved), which their own act raised"
    )
    with using("zh"):
        assert own.shown().message == (
            f"审批人 说明了审计发现 {first.id}（verifier_approved），而该发现正是其本人的操作引起的"
        )


def _placeholders(text: str) -> list[str]:
    return sorted(f"{n}!{c}" for _t, n, _s, c in string.Formatter().parse(text) if n is not None)


def test_every_rule_sentence_has_a_chinese_translation_with_no_english_word() -> None:
    """Statically, for every sentence of the rules, raised above or not (a snapshot's,
    an unchecked event's)."""
    templates = [t for t, where in said_templates() if where.startswith("aidflow/auditing/")] + [
        "the stored snapshot at version {version}: {problem}"
    ]  # the Office's own finding
    assert len(templates) > 60
    zh = catalogue("zh")
    for template in templates:
        translated = zh.gettext(template)
        assert translated != template or not ENGLISH_WORD.search(template), template
        assert _placeholders(translated) == _placeholders(template), template
        bare = CODE.sub("", re.sub(r"\{[^}]*\}", "", translated))
        assert not ENGLISH_WORD.search(bare), (template, translated)
