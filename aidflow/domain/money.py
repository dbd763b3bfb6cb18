"""Money as integer fen (分). 1 yuan = 100 fen; floats never touch an amount.

Every rule about an amount lives here: how yuan are read and shown, and the bounds no
movement of money, recorded figure or running total may pass.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from aidflow.domain.canonical import nfkc
from aidflow.domain.errors import InvalidAmount, InvalidInput, said

FEN_PER_YUAN = 100

MAX_AMOUNT_FEN = 10**13
"""No single amount may exceed 100 billion yuan: far above any district's budget, far
below what a 64-bit column holds, so a pasted account number cannot become money."""

MAX_TOTAL_FEN = 10**15
"""No running total (a fund's deposits, a case's approvals) may exceed 10 trillion yuan;
thousands of such totals still sum inside a signed 64-bit column on both backends."""

# ASCII digits only: the text is NFKC-normalised first, so full-width digits are
# read deliberately, and other scripts' digits are refused rather than guessed.
_YUAN = re.compile(r"(?P<int>[0-9]{1,40})(?:\.(?P<frac>[0-9]{1,2}))?")


def parse_yuan(text: str | int | Decimal) -> int:
    """Parse a yuan amount such as ``3000`` or ``3000.50`` exactly into fen.

    Refuses negatives, more than two decimals, floats and anything that is
    not a plain number, because a clerk's typo must not become money.
    """
    if isinstance(text, bool | float):
        raise InvalidAmount(
            said("amount {text!r} must be given as text or an integer, not a float", text=text)
        )
    if isinstance(text, int):
        if text < 0:
            raise InvalidAmount(said("amount {text} yuan is negative", text=text))
        return _bounded(text * FEN_PER_YUAN, str(text))
    if isinstance(text, Decimal):
        try:
            scaled = text * FEN_PER_YUAN
        except InvalidOperation as exc:  # pragma: no cover - NaN arithmetic
            raise InvalidAmount(said("amount {text} is not a number", text=text)) from exc
        if not scaled.is_finite() or scaled != scaled.to_integral_value():
            raise InvalidAmount(said("amount {text} yuan has more than two decimals", text=text))
        if scaled < 0:
            raise InvalidAmount(said("amount {text} yuan is negative", text=text))
        return _bounded(int(scaled), str(text))
    if not isinstance(text, str):
        raise InvalidAmount(
            said("amount {text!r} is not a yuan amount like 3000 or 3000.50", text=text)
        )
    stripped = nfkc(text).strip()
    match = _YUAN.fullmatch(stripped) if stripped.isascii() else None
    if match is None:
        if stripped.startswith("-"):
            raise InvalidAmount(said("amount {stripped} yuan is negative", stripped=stripped))
        if re.fullmatch(r"[0-9]+\.[0-9]{3,}", stripped):
            raise InvalidAmount(
                said("amount {stripped} yuan has more than two decimals", stripped=stripped)
            )
        raise InvalidAmount(
            said("amount {text!r} is not a yuan amount like 3000 or 3000.50", text=text)
        )
    fen = int(match["int"]) * FEN_PER_YUAN
    frac = match["frac"]
    if frac:
        fen += int(frac.ljust(2, "0"))
    return _bounded(fen, stripped)


def _bounded(fen: int, shown: str) -> int:
    """Refuse amounts no operation may carry (a pasted account number, say)."""
    if fen > MAX_AMOUNT_FEN:
        raise InvalidAmount(
            said(
                "amount {shown} yuan is too large: above the limit of {limit} yuan for one operation; check the figure",
                shown=shown,
                limit=format_yuan(MAX_AMOUNT_FEN),
            )
        )
    return fen


def format_yuan(fen: int) -> str:
    """Render fen as yuan with two decimals, e.g. ``300050`` -> ``3,000.50``."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole:,}.{cents:02d}"


def amount(fen: int, what: str = "amount") -> int:
    """A movement of money: integer fen, more than zero, at most :data:`MAX_AMOUNT_FEN`."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise InvalidAmount(said("{what} must be integer fen, got {fen!r}", what=what, fen=fen))
    if fen <= 0:
        raise InvalidAmount(
            said("{what} must be more than zero, got {fen} yuan", what=what, fen=format_yuan(fen))
        )
    if fen > MAX_AMOUNT_FEN:
        raise InvalidAmount(
            said(
                "{what} of {fen} yuan is above the limit of {limit} yuan for one operation; check the figure",
                what=what,
                fen=format_yuan(fen),
                limit=format_yuan(MAX_AMOUNT_FEN),
            )
        )
    return fen


def measure(fen: int, what: str) -> int:
    """A recorded figure (income, tuition, the gap): integer fen, zero or more, bounded."""
    if isinstance(fen, bool) or not isinstance(fen, int) or fen < 0:
        raise InvalidInput(said("{what} must be zero or more fen, got {fen!r}", what=what, fen=fen))
    if fen > MAX_AMOUNT_FEN:
        raise InvalidAmount(
            said("{what} of {fen} fen is above the limit for one figure", what=what, fen=fen)
        )
    return fen


def total(current: int, adding: int, what: str) -> int:
    """``current + adding``, refused when the running total would pass :data:`MAX_TOTAL_FEN`."""
    result = current + adding
    if result > MAX_TOTAL_FEN:
        raise InvalidAmount(
            said(
                "{what} would reach {result} yuan, above the limit of {limit} yuan for one record",
                what=what,
                result=format_yuan(result),
                limit=format_yuan(MAX_TOTAL_FEN),
            )
        )
    return result
