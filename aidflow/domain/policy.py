"""The district's settings, and how an admin changes them: as events, versioned.

Defaults follow the Huichuan article. A bureau changes a value with
``aidflow policy set KEY VALUE``: a ``ValueSet`` event in the store, so every
decision can name the policy version it was taken under, and an auditor can ask
what the policy said at any past moment.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from aidflow.domain import canonical
from aidflow.domain.base import AidAggregate
from aidflow.domain.clock import OFFICE_ZONE, zone
from aidflow.domain.errors import InvalidInput, said
from aidflow.domain.money import MAX_AMOUNT_FEN, parse_yuan
from aidflow.domain.values import Department

DEFAULT_DEPARTMENTS: tuple[str, ...] = tuple(d.value for d in Department)
"""Departments a consultation may convene, unless the bureau's policy lists others."""


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
    # -- the rules that keep the loop closed (issue 12) -------------------------------
    gap_bound: bool = True
    """A case's grants since its last household visit stay within the gap that visit found."""
    need_rule: bool = True
    """A grant is for a need the last household visit found (``Verified.needs``)."""
    strict_close: bool = True
    """A case closes only when re-verified after new hardship, with no open consultation
    action, and with a follow-up after its last payment."""
    approval_tiers: tuple[tuple[str, int], ...] = ()
    """(role, fen): an approver holding ``role`` approves a case up to that total. Empty:
    one tier, every approver up to the cap."""
    departments: tuple[str, ...] = DEFAULT_DEPARTMENTS
    """The departments a consultation may convene and a liaison may act for."""
    payment_due_days: int = 14
    """An approved grant is due to be paid this many days after its approval."""
    action_due_days: int = 30
    """A consultation action without an explicit due date is due this many days after it."""
    receipt_days: int = 0
    appeal_days: int = 30
    """A rejected student may appeal (复核) this many days after the rejection."""
    appeal_decision_days: int = 30
    """An appeal is decided within this many days of being lodged (else a finding)."""
    timezone: str = OFFICE_ZONE
    """The office's clock (IANA name): the day a moment falls on, ``--as-of DATE``, periods,
    reports and shown times follow it; stored times stay UTC (see :mod:`.clock`)."""
    """A payment the student has not confirmed received (``follow-up --received``) this many
    days after it is a finding; 0: not asked (off, as in stores before v0.5)."""

    def approval_limit(self, roles: Iterable[str]) -> int:
        """The most a person holding ``roles`` may approve for one case (their highest tier)."""
        if not self.approval_tiers:
            return self.cap_fen
        held = set(roles)
        return max((fen for role, fen in self.approval_tiers if role in held), default=0)

    def __post_init__(self) -> None:
        _coerce_collections(self)
        for name in (
            "cap_fen",
            "max_unpaid_days",
            "max_days_to_consultation",
            "max_days_action_open",
            "payment_due_days",
            "action_due_days",
            "appeal_days",
            "appeal_decision_days",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(_not_positive(name, value))
        for name in ("secondary_cap_fen", "statement_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(_not_positive(name, value))
        if self.secondary_cap_fen > MAX_AMOUNT_FEN:
            raise ValueError(_above_limit("secondary_cap_fen"))
        if self.cap_fen > MAX_AMOUNT_FEN:
            raise ValueError(_above_limit("cap_fen"))
        if isinstance(self.receipt_days, bool) or not 0 <= self.receipt_days <= 366:
            raise ValueError(said("policy setting receipt_days must be 0 (off) to 366"))
        if isinstance(self.retention_years, bool) or not 0 <= self.retention_years <= 100:
            raise ValueError(said("policy setting retention_years must be 0 to 100"))
        _check_rules(self)
        _check_zone(self.timezone)


def _check_zone(name: object) -> None:
    try:
        if not isinstance(name, str) or not name:
            raise ValueError(name)
        zone(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(
            said(
                "policy setting timezone must be an IANA time zone such as Asia/Shanghai, got {value}",
                value=repr(name),
            )
        ) from None


def _not_positive(name: str, value: Any) -> str:
    """The sentence (a catalogue message: the office reads it in its language) for a bad count."""
    return said(
        "policy setting {name} must be a positive integer, got {value}",
        name=name,
        value=repr(value),
    )


def _above_limit(name: str) -> str:
    return said("policy setting {name} is above the limit for one amount", name=name)


def _coerce_collections(policy: Policy) -> None:
    """Tiers and departments as tuples, also when given as JSON lists (a proof bundle's policy)."""
    tiers = tuple((str(role), fen) for role, fen in policy.approval_tiers)
    object.__setattr__(policy, "approval_tiers", tiers)
    object.__setattr__(policy, "departments", tuple(str(d) for d in policy.departments))


def _check_rules(policy: Policy) -> None:
    for name in ("gap_bound", "need_rule", "strict_close"):
        if not isinstance(getattr(policy, name), bool):
            raise ValueError(said("policy setting {name} must be true or false", name=name))
    roles = [role for role, _ in policy.approval_tiers]
    if len(set(roles)) != len(roles):
        raise ValueError(said("policy setting approval_tiers names a role twice"))
    for role, fen in policy.approval_tiers:
        if isinstance(fen, bool) or not isinstance(fen, int) or not 0 < fen <= policy.cap_fen:
            raise ValueError(
                said(
                    "approval tier {role} must be a positive amount up to the cap, got {fen}",
                    role=role,
                    fen=repr(fen),
                )
            )
    if not policy.departments or len(set(policy.departments)) != len(policy.departments):
        raise ValueError(said("policy setting departments must list at least one, each once"))


DEFAULT_POLICY = Policy()

SETTINGS: dict[str, tuple[str, str]] = {
    "cap": ("cap_fen", "yuan"),
    "max-unpaid-days": ("max_unpaid_days", "days"),
    "max-days-to-consultation": ("max_days_to_consultation", "days"),
    "max-days-action-open": ("max_days_action_open", "days"),
    "retention-years": ("retention_years", "years"),
    "secondary-cap": ("secondary_cap_fen", "yuan"),
    "statement-days": ("statement_days", "days"),
    "gap-bound": ("gap_bound", "switch"),
    "need-rule": ("need_rule", "switch"),
    "strict-close": ("strict_close", "switch"),
    "approval-tiers": ("approval_tiers", "tiers"),
    "departments": ("departments", "list"),
    "payment-due-days": ("payment_due_days", "days"),
    "action-due-days": ("action_due_days", "days"),
    "receipt-days": ("receipt_days", "days"),
    "appeal-days": ("appeal_days", "days"),
    "appeal-decision-days": ("appeal_decision_days", "days"),
    "timezone": ("timezone", "zone"),
}
"""What ``policy set KEY VALUE`` accepts: key → (Policy field, unit of VALUE).

``switch``: ``on``/``off`` (also ``true``/``false``, ``yes``/``no``, ``1``/``0``);
``tiers``: ``ROLE=YUAN,ROLE=YUAN`` (``approver=3000,county-approver=5000``; ``none`` for
one tier); ``list``: comma-separated names (``education,health,civil-affairs``); ``zone``: an
IANA time zone (``Asia/Shanghai``, ``UTC``), any case."""

INT_UNITS = frozenset({"yuan", "days", "years"})
"""Settings recorded as ``ValueSet`` (an integer, as before v0.3); the others as ``Changed``."""

_SWITCH = {"on": True, "true": True, "yes": True, "1": True}
_SWITCH |= {"off": False, "false": False, "no": False, "0": False}

REGISTER_ID: UUID = uuid5(NAMESPACE_URL, "https://aidflow.invalid/policy-register")


def parse_setting(key: str, text: str) -> tuple[str, Any]:
    """``("cap", "6000")`` → ``("cap_fen", 600000)``; unknown keys and bad values refused."""
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
    if unit == "switch":
        word = canonical.nfkc(text).strip().casefold()
        if word not in _SWITCH:
            raise InvalidInput(said("{key} is on or off, got {text!r}", key=key, text=text))
        return field, _SWITCH[word]
    if unit == "list":
        names = [canonical.slug(n, "department") for n in _items(text)]
        return field, tuple(dict.fromkeys(names))
    if unit == "tiers":
        return field, _tiers(key, text)
    if unit == "zone":
        return field, _zone_name(text)
    value = canonical.nfkc(text).strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 4:
        raise InvalidInput(
            said(
                "{key} takes a whole number of {unit}, got {text!r}", key=key, unit=unit, text=text
            )
        )
    return field, int(value)


def _zone_name(text: str) -> str:
    """An IANA zone as typed (``asia/shanghai`` too), in its own spelling."""
    import zoneinfo

    typed = canonical.nfkc(text).strip()
    if len(typed) <= 64:
        for name in sorted(zoneinfo.available_timezones()):
            if name.casefold() == typed.casefold():
                return name
    raise InvalidInput(
        said(
            "policy setting timezone must be an IANA time zone such as Asia/Shanghai, got {value}",
            value=repr(text),
        )
    )


def _items(text: str) -> list[str]:
    value = canonical.nfkc(text)
    if len(value) > 2000:
        raise InvalidInput(said("a policy list is longer than 2000 characters"))
    # NFKC already made a full-width comma (，) an ASCII one; the enumeration comma (、)
    # separates a list in Chinese as well
    return [item.strip() for item in value.replace("、", ",").split(",") if item.strip()]


def _tiers(key: str, text: str) -> tuple[tuple[str, int], ...]:
    if canonical.nfkc(text).strip().casefold() in ("", "none"):
        return ()
    tiers: dict[str, int] = {}
    for item in _items(text):
        role, sep, yuan = item.partition("=")
        if not sep:
            raise InvalidInput(
                said("{key} takes ROLE=YUAN pairs, got {item!r}", key=key, item=item)
            )
        tiers[canonical.slug(role, "approval tier role")] = parse_yuan(yuan.strip())
    return tuple(sorted(tiers.items(), key=lambda tier: (tier[1], tier[0])))


def encode_value(value: Any) -> str:
    """A setting's value as stored on ``Changed``: canonical JSON (tuples as lists)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def decode_value(field: str, text: str) -> Any:
    """A ``Changed`` value back as the policy holds it (lists as tuples)."""
    value = json.loads(text)
    if field == "approval_tiers":
        return tuple((str(role), int(fen)) for role, fen in value)
    if isinstance(value, list):
        return tuple(value)
    return value


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

    class Changed(Event):
        """A setting that is not a whole number (a switch, a list, a tier table), as JSON."""

        TOPIC = "aidflow:PolicyRegister.Changed"
        field: str
        value: str
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
        self.set_values(settings={key: text}, actor=actor, base=base)

    def set_values(
        self, *, settings: dict[str, str], actor: str, base: Policy = DEFAULT_POLICY
    ) -> None:
        """Change one or more settings (a policy file), each recorded as its own change.

        The policy they make together must hold (a tier above a lowered cap is refused);
        a value equal to the one in force is not recorded again.
        """
        changes = dict(parse_setting(key, text) for key, text in settings.items())
        current = self.policy(base)
        try:
            dataclasses.replace(current, **changes)
        except ValueError as exc:
            raise InvalidInput(exc.args[0] if exc.args else str(exc)) from None
        who = canonical.actor(actor)
        for field, value in changes.items():
            if getattr(current, field) == value and len(changes) > 1:
                continue
            if isinstance(value, int) and not isinstance(value, bool):
                self._value_set(field=field, value=value, actor=who)
            else:
                self._changed(field=field, value=encode_value(value), actor=who)

    @event(ValueSet)
    def _value_set(self, *, field: str, value: int, actor: str) -> None:
        self.values[field] = value
        self.changes += 1

    @event(Changed)
    def _changed(self, *, field: str, value: str, actor: str) -> None:
        self.values[field] = decode_value(field, value)
        self.changes += 1
