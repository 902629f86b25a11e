"""Customer prices: the reseller's cost plus the markup, in Telegram Stars, rounded up."""

from __future__ import annotations

__all__ = ["stars_price", "usd"]


def stars_price(cost_cents: int, markup_percent: int, stars_per_usd: int) -> int:
    """Integer-only: ceil(cost × (1 + markup) × stars per dollar), at least one Star."""
    numerator = cost_cents * (100 + markup_percent) * stars_per_usd
    return max(1, -(-numerator // (100 * 100)))


def usd(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) // 100:,}.{abs(cents) % 100:02d}"
