"""Money is integer pence everywhere; these turn it into words and back."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation


def format_pence(pence: int | None) -> str:
    if pence is None:
        return ""
    sign = "-" if pence < 0 else ""
    pounds, pennies = divmod(abs(int(pence)), 100)
    return f"{sign}£{pounds:,}.{pennies:02d}"


def parse_pounds(text: str) -> int:
    """"12.50", "£12.50", "1,200" -> pence; ValueError for anything else (or more than 2 decimals)."""
    cleaned = (text or "").strip().replace("£", "").replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError("Enter an amount in pounds and pence, like 12.50") from None
    if value != value.quantize(Decimal("0.01")) or not value.is_finite():
        raise ValueError("Enter an amount in pounds and pence, like 12.50")
    return int(value * 100)
