"""The policy's exact limits and refusals, how a setting's text is read, and what a change records.

An admin sets values by text (``aidflow policy set``, a policy file); every refusal is pinned
word for word, every limit at its last accepted value, and the register's events (which one,
with what value) because an auditor reads them back to learn the policy of a past day.
"""

from __future__ import annotations

from typing import Any

import pytest

from aidflow.domain.errors import InvalidAmount, InvalidInput, Said, render
from aidflow.domain.money import MAX_AMOUNT_FEN
from aidflow.domain.policy import Policy, PolicyRegister, encode_value, parse_setting

SLUG_RULE = "must be ASCII letters, digits and hyphens (like civil-affairs)"


@pytest.mark.parametrize(
    ("settings", "accepted"),
    [
        ({"statement_days": 1}, ("statement_days", 1)),
        ({"secondary_cap_fen": 1}, ("secondary_cap_fen", 1)),
        ({"secondary_cap_fen": MAX_AMOUNT_FEN}, ("secondary_cap_fen", MAX_AMOUNT_FEN)),
        ({"approval_tiers": (("approver", 1),)}, ("approval_tiers", (("approver", 1),))),
    ],
)
def test_the_smallest_and_largest_values_are_accepted(
    settings: dict[str, Any], accepted: tuple[str, Any]
) -> None:
    field, value = accepted
    assert getattr(Policy(**settings), field) == value


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"cap_fen": 0}, "policy setting cap_fen must be a positive integer, got 0"),
        ({"statement_days": 0}, "policy setting statement_days must be a positive integer, got 0"),
        (
            {"secondary_cap_fen": MAX_AMOUNT_FEN + 1},
            "policy setting secondary_cap_fen is above the limit for one amount",
        ),
    ],
)
def test_policy_refusals_name_the_setting_and_value(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as refusal:
        Policy(**settings)
    assert str(refusal.value) == message


def test_a_person_holding_no_tier_role_may_approve_nothing() -> None:
    policy = Policy(approval_tiers=(("approver", 300_000),))
    assert policy.approval_limit(["clerk"]) == 0
    assert policy.approval_limit(["clerk", "approver"]) == 300_000


LONGEST_LIST = "a," * 1000  # 2000 characters


@pytest.mark.parametrize(
    ("key", "text", "parsed"),
    [
        ("departments", "education，health", ("departments", ("education", "health"))),
        ("departments", "education、health", ("departments", ("education", "health"))),
        ("departments", LONGEST_LIST, ("departments", ("a",))),
        (
            "approval-tiers",
            "b=3000, a=3000, c=1000",  # by amount, then by role
            ("approval_tiers", (("c", 100_000), ("a", 300_000), ("b", 300_000))),
        ),
        ("approval-tiers", "", ("approval_tiers", ())),
        ("approval-tiers", " NONE ", ("approval_tiers", ())),
    ],
)
def test_settings_read_from_text(key: str, text: str, parsed: tuple[str, Any]) -> None:
    assert parse_setting(key, text) == parsed


@pytest.mark.parametrize(
    ("key", "text", "error", "message"),
    [
        (
            "departments",
            LONGEST_LIST + "a",
            InvalidInput,
            "a policy list is longer than 2000 characters",
        ),
        (
            "approval-tiers",
            "approver=3000=1",
            InvalidAmount,
            "amount '3000=1' is not a yuan amount like 3000 or 3000.50",
        ),
        ("approval-tiers", "Boss!=3000", InvalidInput, f"approval tier role 'boss!' {SLUG_RULE}"),
        (
            "departments",
            "health, Civil Affairs",
            InvalidInput,
            f"department 'civil affairs' {SLUG_RULE}",
        ),
        (
            "nope",
            "1",
            InvalidInput,
            "no policy setting 'nope'; settings are cap, max-unpaid-days, "
            "max-days-to-consultation, max-days-action-open, retention-years, secondary-cap, "
            "statement-days, gap-bound, need-rule, strict-close, approval-tiers, departments, "
            "payment-due-days, action-due-days, receipt-days, appeal-days, appeal-decision-days, timezone",
        ),
    ],
)
def test_setting_refusals(key: str, text: str, error: type[Exception], message: str) -> None:
    with pytest.raises(InvalidInput) as refusal:
        parse_setting(key, text)
    assert type(refusal.value) is error
    assert str(refusal.value) == message


def test_a_stored_value_is_canonical_json() -> None:
    value = {"b": [1, ("x", 2)], "a": "教育"}
    assert encode_value(value) == '{"a":"教育","b":[1,["x",2]]}'


def _recorded(register: PolicyRegister) -> list[tuple[str, str, Any, str]]:
    return [
        (type(e).__name__, e.field, e.value, e.actor)  # type: ignore[attr-defined]
        for e in register.collect_events()
        if not isinstance(e, PolicyRegister.Started)
    ]


def test_one_setting_is_recorded_even_when_it_repeats_the_value_in_force() -> None:
    register = PolicyRegister()
    register.set_value(key="cap", text="5000", actor="Admin")
    assert _recorded(register) == [("ValueSet", "cap_fen", 500_000, "admin")]
    assert register.policy().version == 1


def test_a_policy_file_records_only_what_it_changes() -> None:
    register = PolicyRegister()
    register.set_values(settings={"cap": "5000", "statement-days": "12"}, actor="admin")
    assert _recorded(register) == [("ValueSet", "statement_days", 12, "admin")]
    policy = register.policy()
    assert (policy.version, policy.statement_days) == (1, 12)


def test_switches_and_tier_tables_are_recorded_as_json() -> None:
    register = PolicyRegister()
    register.set_values(
        settings={
            "gap-bound": "off",
            "departments": "health, education",
            "approval-tiers": "approver=3000",
        },
        actor="admin",
    )
    assert _recorded(register) == [
        ("Changed", "gap_bound", "false", "admin"),
        ("Changed", "departments", '["health","education"]', "admin"),
        ("Changed", "approval_tiers", '[["approver",300000]]', "admin"),
    ]


def test_a_change_is_checked_against_the_base_policy_and_refused_in_the_office_language() -> None:
    base = Policy(cap_fen=800_000, approval_tiers=(("approver", 800_000),))
    register = PolicyRegister()
    with pytest.raises(InvalidInput) as refusal:
        register.set_value(key="cap", text="6000", actor="admin", base=base)
    message = refusal.value.args[0]
    assert isinstance(message, Said)
    assert message == "approval tier approver must be a positive amount up to the cap, got 800000"
    assert render(message, lambda template: "ZH " + template) == (
        "ZH approval tier approver must be a positive amount up to the cap, got 800000"
    )
    assert _recorded(register) == []
