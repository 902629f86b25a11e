"""Numbers as the customer reads them: data volumes, days, plurals and prices, in their language."""

from __future__ import annotations

from functools import lru_cache

from bot.i18n import catalog, cldr, t
from handlers import checkout
from handlers.context import BotContext
from handlers.delivery import price_text

GIB = 1024**3
MIB = 1024**2


@lru_cache(maxsize=2048)
def plural(language: str, key: str, count: int) -> str:
    """``key.one`` / ``.few`` / ``.many`` / ``.other`` by the language's plural rules."""
    form = cldr.plural_form(language, count)
    text = catalog(language).get(f"{key}.{form}") or t(language, f"{key}.other")
    return text.format(count=cldr.format_decimal(count, language))


@lru_cache(maxsize=2048)
def volume_text(language: str, volume_bytes: int) -> str:
    if volume_bytes >= GIB:
        value = cldr.format_decimal(round(volume_bytes / GIB, 2), language)
        return t(language, "units.gb", value=value)
    return t(language, "units.mb", value=cldr.format_decimal(round(volume_bytes / MIB), language))


def days_text(language: str, days: int) -> str:
    return plural(language, "units.days", days)


def shown_price(context: BotContext, language: str, cost_cents: int) -> str:
    """The customer's price; with PAYMENTS=off nothing is charged, so say so."""
    if context.services.settings.payments != "stars":
        return price_text(language, 0)
    return price_text(language, checkout.plan_price(context, cost_cents))
