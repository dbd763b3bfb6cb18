"""The policy: its limits, how a setting is parsed, and the register that versions it."""

from __future__ import annotations

import dataclasses

import pytest

from aidflow.domain.errors import InvalidAmount, InvalidInput
from aidflow.domain.money import MAX_AMOUNT_FEN
from aidflow.domain.policy import (
    DEFAULT_POLICY,
    REGISTER_ID,
    SETTINGS,
    Policy,
    PolicyRegister,
    decode_value,
    encode_value,
    parse_setting,
)


def test_defaults_follow_the_article() -> None:
    assert (
        Policy(
            cap_fen=500_000,
            max_unpaid_days=30,
            max_days_to_consultation=14,
            max_days_action_open=60,
            retention_years=3,
            version=0,
        )
        == DEFAULT_POLICY
    )


@pytest.mark.parametrize(
    "field", ["cap_fen", "max_unpaid_days", "max_days_to_consultation", "max_days_action_open"]
)
@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "3"])
def test_every_limit_must_be_a_positive_integer(field: str, bad: object) -> None:
    with pytest.raises(ValueError, match=rf"policy setting {field} must be a positive integer"):
        Policy(**{field: bad})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "field", ["cap_fen", "max_unpaid_days", "max_days_to_consultation", "max_days_action_open"]
)
def test_one_is_the_smallest_limit(field: str) -> None:
    assert getattr(Policy(**{field: 1}), field) == 1


def test_the_cap_may_be_the_largest_amount_and_no_more() -> None:
    assert Policy(cap_fen=MAX_AMOUNT_FEN).cap_fen == MAX_AMOUNT_FEN
    with pytest.raises(ValueError) as refusal:
        Policy(cap_fen=MAX_AMOUNT_FEN + 1)
    assert str(refusal.value) == "policy setting cap_fen is above the limit for one amount"


@pytest.mark.parametrize("years", [0, 100])
def test_retention_years_bounds_are_inclusive(years: int) -> None:
    assert Policy(retention_years=years).retention_years == years


@pytest.mark.parametrize("years", [-1, 101, True])
def test_retention_years_outside_0_to_100_are_refused(years: object) -> None:
    with pytest.raises(ValueError) as refusal:
        Policy(retention_years=years)  # type: ignore[arg-type]
    assert str(refusal.value) == "policy setting retention_years must be 0 to 100"


@pytest.mark.parametrize(
    ("key", "text", "parsed"),
    [
        ("cap", "6000", ("cap_fen", 600_000)),
        ("cap", "4999.50", ("cap_fen", 499_950)),
        ("max-unpaid-days", "45", ("max_unpaid_days", 45)),
        ("max-days-to-consultation", " ７ ", ("max_days_to_consultation", 7)),
        ("max-days-action-open", "9999", ("max_days_action_open", 9999)),
        ("retention-years", "0", ("retention_years", 0)),
    ],
)
def test_parse_setting(key: str, text: str, parsed: tuple[str, int]) -> None:
    assert parse_setting(key, text) == parsed


def test_parse_setting_names_the_settings_when_the_key_is_unknown() -> None:
    with pytest.raises(InvalidInput) as refusal:
        parse_setting("ceiling", "1")
    assert "no policy setting 'ceiling'" in str(refusal.value)
    assert ", ".join(SETTINGS) in str(refusal.value)


@pytest.mark.parametrize("text", ["10000", "-1", "1.5", "٣", "", "x"])
def test_parse_setting_refuses_what_is_not_a_whole_number_of_days(text: str) -> None:
    with pytest.raises(InvalidInput) as refusal:
        parse_setting("max-unpaid-days", text)
    assert f"max-unpaid-days takes a whole number of days, got {text!r}" == str(refusal.value)


def test_parse_setting_refuses_a_bad_amount() -> None:
    with pytest.raises(InvalidAmount):
        parse_setting("cap", "-5")


def test_register_versions_each_change_and_keeps_the_base() -> None:
    register = PolicyRegister()
    assert register.id == REGISTER_ID == PolicyRegister.create_id()
    assert register.policy() == DEFAULT_POLICY
    register.set_value(key="cap", text="6000", actor="Admin")
    register.set_value(key="max-unpaid-days", text="10", actor="admin")
    policy = register.policy()
    assert (policy.cap_fen, policy.max_unpaid_days, policy.version) == (600_000, 10, 2)
    assert policy.max_days_to_consultation == DEFAULT_POLICY.max_days_to_consultation
    base = Policy(max_days_action_open=5)
    assert register.policy(base).max_days_action_open == 5
    assert register.policy(base).cap_fen == 600_000
    events = register.collect_events()
    assert [(e.field, e.value, e.actor) for e in events[1:]] == [  # type: ignore[attr-defined]
        ("cap_fen", 600_000, "admin"),
        ("max_unpaid_days", 10, "admin"),
    ]


def test_register_refuses_a_value_the_policy_refuses_and_records_nothing() -> None:
    register = PolicyRegister()
    with pytest.raises(InvalidInput, match="must be a positive integer"):
        register.set_value(key="max-unpaid-days", text="0", actor="admin")
    with pytest.raises(InvalidInput, match="above the limit"):
        register.set_value(key="cap", text=str(MAX_AMOUNT_FEN // 100 + 1), actor="admin")
    assert len(register.collect_events()) == 1  # only its start
    assert register.policy() == DEFAULT_POLICY
    assert dataclasses.replace(register.policy(), version=0) == DEFAULT_POLICY


def test_switches_lists_and_tiers_are_parsed_in_any_width_and_order() -> None:
    assert parse_setting("gap-bound", " ＯＮ ") == ("gap_bound", True)
    assert parse_setting("gap-bound", "off") == ("gap_bound", False)
    with pytest.raises(InvalidInput) as refused:
        parse_setting("gap-bound", "maybe")
    assert str(refused.value) == "gap-bound is on or off, got 'maybe'"
    assert parse_setting("departments", " Health，education , health,, ") == (
        "departments",
        ("health", "education"),
    )
    with pytest.raises(InvalidInput) as refused:
        parse_setting("departments", "x," * 1001)
    assert str(refused.value) == "a policy list is longer than 2000 characters"
    tiers = parse_setting("approval-tiers", " Approver=5000，director = 20000.5 , approver=3000")
    assert tiers == ("approval_tiers", (("approver", 300_000), ("director", 2_000_050)))
    assert parse_setting("approval-tiers", " NONE ") == ("approval_tiers", ())
    assert parse_setting("approval-tiers", "") == ("approval_tiers", ())
    with pytest.raises(InvalidInput) as refused:
        parse_setting("approval-tiers", "approver:5000")
    assert str(refused.value) == "approval-tiers takes ROLE=YUAN pairs, got 'approver:5000'"
    stored = encode_value(tiers[1])
    assert stored == '[["approver",300000],["director",2000050]]'
    assert decode_value("approval_tiers", stored) == tiers[1]
    assert decode_value("departments", encode_value(("卫健", "b"))) == ("卫健", "b")
    assert encode_value(("卫健",)) == '["卫健"]'  # readable, not \\u escapes
    assert decode_value("cap_fen", encode_value(500_000)) == 500_000


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"gap_bound": 1}, "policy setting gap_bound must be true or false"),
        ({"strict_close": "yes"}, "policy setting strict_close must be true or false"),
        (
            {"approval_tiers": (("approver", 1_000), ("approver", 2_000))},
            "policy setting approval_tiers names a role twice",
        ),
        (
            {"approval_tiers": (("approver", 0),)},
            "approval tier approver must be a positive amount up to the cap, got 0",
        ),
        (
            {"approval_tiers": (("director", 500_001),)},
            "approval tier director must be a positive amount up to the cap, got 500001",
        ),
        (
            {"approval_tiers": (("approver", True),)},
            "approval tier approver must be a positive amount up to the cap, got True",
        ),
        ({"departments": ()}, "policy setting departments must list at least one, each once"),
        (
            {"departments": ("health", "health")},
            "policy setting departments must list at least one, each once",
        ),
        ({"statement_days": 0}, "policy setting statement_days must be a positive integer, got 0"),
        (
            {"secondary_cap_fen": "5"},
            "policy setting secondary_cap_fen must be a positive integer, got '5'",
        ),
    ],
)
def test_a_policy_that_does_not_hold_together_is_refused_in_words(
    change: dict[str, object], says: str
) -> None:
    with pytest.raises(ValueError) as refused:
        dataclasses.replace(DEFAULT_POLICY, **change)  # type: ignore[arg-type]
    assert str(refused.value) == says


def test_tiers_up_to_the_cap_and_lists_are_kept_as_tuples() -> None:
    policy = dataclasses.replace(
        DEFAULT_POLICY,
        approval_tiers=[["approver", 500_000]],  # type: ignore[arg-type]
        departments=["health", "education"],  # type: ignore[arg-type]
    )
    assert policy.approval_tiers == (("approver", 500_000),)
    assert policy.departments == ("health", "education")
