"""Numbers as the customer reads them: data volumes, days, plurals and prices, in their language."""

from __future__ import annotations

from functools import lru_cache

from bot.i18n import catalog, cldr, t
from bot.pikasim import GIB, MIB
from bot.pricing import stars_price
from handlers.context import BotContext


@lru_cache(maxsize=2048)
def plural(language: str, key: str, count: int) -> str:
    """``key.one`` / ``.few`` / ``.many`` / ``.other`` by the language's plural rules."""
    form = cldr.plural_form(language, count)
    text = catalog(language).get(f"{key}.{form}") or t(language, f"{key}.other")
    return text.format(count=cldr.format_decimal(count, language))


@lru_cache(maxsize=2048)
def volume_text(language: str, volume_bytes: int | None) -> str:
    """ "1.5 GB", "512 MB" in the language's number format; "?" when unknown."""
    if volume_bytes is None:
        return "?"
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
    return price_text(language, plan_price(context, cost_cents))


def plan_price(context: BotContext, cost_cents: int) -> int:
    """The customer's price in Stars for a plan costing us ``cost_cents``."""
    settings = context.services.settings
    return stars_price(cost_cents, settings.markup_percent, settings.stars_per_usd)


def price_text(language: str, stars: int) -> str:
    return t(language, "price.stars", stars=stars) if stars else t(language, "price.free")
