"""Money as integer fen (分). 1 yuan = 100 fen; floats never touch an amount."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from aidflow.domain.canonical import MAX_AMOUNT_FEN, nfkc
from aidflow.domain.errors import InvalidAmount, said

FEN_PER_YUAN = 100

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
