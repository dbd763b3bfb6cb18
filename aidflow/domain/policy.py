"""The district's settings. Defaults follow the Huichuan article."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    """Rules that a bureau may tune without touching code.

    ``cap_fen``: temporary assistance (临时救助) per case per programme year, 5,000 yuan.
    The three ``*_days`` settings drive the timeliness checks an auditor runs.
    """

    cap_fen: int = 500_000
    max_unpaid_days: int = 30
    max_days_to_consultation: int = 14
    max_days_action_open: int = 60

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


DEFAULT_POLICY = Policy()
