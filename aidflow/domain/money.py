"""Money as integer fen (分). 1 yuan = 100 fen; floats never touch an amount."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from aidflow.domain.errors import InvalidAmount

FEN_PER_YUAN = 100

_YUAN = re.compile(r"^\s*(?P<int>\d+)(?:\.(?P<frac>\d{1,2}))?\s*$")


def parse_yuan(text: str | int | Decimal) -> int:
    """Parse a yuan amount such as ``3000`` or ``3000.50`` exactly into fen.

    Refuses negatives, more than two decimals, floats and anything that is
    not a plain number, because a clerk's typo must not become money.
    """
    if isinstance(text, bool | float):
        raise InvalidAmount(f"amount {text!r} must be given as text or an integer, not a float")
    if isinstance(text, int):
        if text < 0:
            raise InvalidAmount(f"amount {text} yuan is negative")
        return text * FEN_PER_YUAN
    if isinstance(text, Decimal):
        try:
            scaled = text * FEN_PER_YUAN
        except InvalidOperation as exc:  # pragma: no cover - NaN arithmetic
            raise InvalidAmount(f"amount {text} is not a number") from exc
        if not scaled.is_finite() or scaled != scaled.to_integral_value():
            raise InvalidAmount(f"amount {text} yuan has more than two decimals")
        if scaled < 0:
            raise InvalidAmount(f"amount {text} yuan is negative")
        return int(scaled)
    match = _YUAN.match(text)
    if match is None:
        stripped = text.strip()
        if stripped.startswith("-"):
            raise InvalidAmount(f"amount {stripped} yuan is negative")
        if re.fullmatch(r"\d+\.\d{3,}", stripped):
            raise InvalidAmount(f"amount {stripped} yuan has more than two decimals")
        raise InvalidAmount(f"amount {text!r} is not a yuan amount like 3000 or 3000.50")
    fen = int(match["int"]) * FEN_PER_YUAN
    frac = match["frac"]
    if frac:
        fen += int(frac.ljust(2, "0"))
    return fen


def format_yuan(fen: int) -> str:
    """Render fen as yuan with two decimals, e.g. ``300050`` -> ``3,000.50``."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole:,}.{cents:02d}"


def require_positive(fen: int, what: str = "amount") -> int:
    """Refuse zero or negative fen where a movement of money is meant."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise InvalidAmount(f"{what} must be integer fen, got {fen!r}")
    if fen <= 0:
        raise InvalidAmount(f"{what} must be more than zero, got {format_yuan(fen)} yuan")
    return fen
