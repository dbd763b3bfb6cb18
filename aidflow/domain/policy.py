"""The district's settings, and how an admin changes them: as events, versioned.

Defaults follow the Huichuan article. A bureau changes a value with
``aidflow policy set KEY VALUE``: a ``ValueSet`` event in the store, so every
decision can name the policy version it was taken under, and an auditor can ask
what the policy said at any past moment.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from aidflow.domain import canonical
from aidflow.domain.base import AidAggregate
from aidflow.domain.errors import InvalidInput, said


@dataclass(frozen=True)
class Policy:
    """Rules that a bureau may tune without touching code.

    ``cap_fen``: temporary assistance (临时救助) per case per programme year, 5,000 yuan.
    The three ``*_days`` settings drive the timeliness checks an auditor runs.
    ``retention_years``: personal data is kept this long after a case ends (approval
    files at least 3 years after assistance stops), then it may be erased.
    ``version``: how many changes the store's policy register holds (0: the defaults).
    """

    cap_fen: int = 500_000
    max_unpaid_days: int = 30
    max_days_to_consultation: int = 14
    max_days_action_open: int = 60
    retention_years: int = 3
    version: int = 0
    # -- the money loop (issue 12): secondary aid's cap, and how long a listed payment may
    # wait for the bank's statement before the audit reports it
    secondary_cap_fen: int = 1_000_000
    statement_days: int = 10

    def __post_init__(self) -> None:
        for name in (
            "cap_fen",
            "max_unpaid_days",
            "max_days_to_consultation",
            "max_days_action_open",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"policy setting {name} must be a positive integer, got {value!r}")
        for name in ("secondary_cap_fen", "statement_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"policy setting {name} must be a positive integer, got {value!r}")
        if self.secondary_cap_fen > canonical.MAX_AMOUNT_FEN:
            raise ValueError("policy setting secondary_cap_fen is above the limit for one amount")
        if self.cap_fen > canonical.MAX_AMOUNT_FEN:
            raise ValueError("policy setting cap_fen is above the limit for one amount")
        if isinstance(self.retention_years, bool) or not 0 <= self.retention_years <= 100:
            raise ValueError("policy setting retention_years must be 0 to 100")


DEFAULT_POLICY = Policy()

SETTINGS: dict[str, tuple[str, str]] = {
    "cap": ("cap_fen", "yuan"),
    "max-unpaid-days": ("max_unpaid_days", "days"),
    "max-days-to-consultation": ("max_days_to_consultation", "days"),
    "max-days-action-open": ("max_days_action_open", "days"),
    "retention-years": ("retention_years", "years"),
    "secondary-cap": ("secondary_cap_fen", "yuan"),
    "statement-days": ("statement_days", "days"),
}
"""What ``policy set KEY VALUE`` accepts: key → (Policy field, unit of VALUE)."""

REGISTER_ID: UUID = uuid5(NAMESPACE_URL, "https://aidflow.invalid/policy-register")


def parse_setting(key: str, text: str) -> tuple[str, int]:
    """``("cap", "6000")`` → ``("cap_fen", 600000)``; unknown keys and bad values refused."""
    from aidflow.domain.money import parse_yuan

    if key not in SETTINGS:
        raise InvalidInput(
            said(
                "no policy setting {key!r}; settings are {settings}",
                key=key,
                settings=", ".join(SETTINGS),
            )
        )
    field, unit = SETTINGS[key]
    if unit == "yuan":
        return field, parse_yuan(text)
    value = canonical.nfkc(text).strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 4:
        raise InvalidInput(
            said(
                "{key} takes a whole number of {unit}, got {text!r}", key=key, unit=unit, text=text
            )
        )
    return field, int(value)


class PolicyRegister(AidAggregate):
    """The store's policy: the defaults changed by an admin, one value at a time."""

    TOPIC = "aidflow:PolicyRegister"

    class Event(AidAggregate.Event):
        TOPIC = "aidflow:PolicyRegister.Event"

    class Started(Event, AidAggregate.Created):
        TOPIC = "aidflow:PolicyRegister.Started"

    class ValueSet(Event):
        TOPIC = "aidflow:PolicyRegister.ValueSet"
        field: str
        value: int
        actor: str

    @staticmethod
    def create_id() -> UUID:
        return REGISTER_ID

    @event(Started)
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.changes = 0

    def policy(self, base: Policy = DEFAULT_POLICY) -> Policy:
        """The policy in force: ``base`` with every value set so far."""
        return dataclasses.replace(base, **self.values, version=self.changes)

    def set_value(self, *, key: str, text: str, actor: str, base: Policy = DEFAULT_POLICY) -> None:
        field, value = parse_setting(key, text)
        try:
            dataclasses.replace(self.policy(base), **{field: value})
        except ValueError as exc:
            raise InvalidInput(exc.args[0] if exc.args else str(exc)) from None
        self._value_set(field=field, value=value, actor=canonical.actor(actor))

    @event(ValueSet)
    def _value_set(self, *, field: str, value: int, actor: str) -> None:
        self.values[field] = value
        self.changes += 1
