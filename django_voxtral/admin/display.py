"""How the admin shows lengths and money to people: ``1:02:05`` and ``$0.12``.

Formatting only; never round a figure that is stored or billed.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

_CENT = Decimal("0.01")


def format_duration(seconds: float | None) -> str:
    """``3725.4`` -> ``1:02:05``; empty for an unknown length."""
    if seconds is None:
        return ""
    whole = round(max(seconds, 0.0))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def format_money(amount: Decimal | float | None) -> str:
    """US dollars for people: cents when at least a cent, else enough digits to be non-zero."""
    if amount is None:
        return ""
    value = Decimal(str(amount))
    if value == 0 or abs(value) >= _CENT:
        return f"${value.quantize(_CENT, rounding=ROUND_HALF_UP)}"
    return f"${value.normalize():f}"
