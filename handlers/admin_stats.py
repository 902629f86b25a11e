"""/stats: today, 7 days and 30 days of sales, costs, margin, failures and refunds."""

from __future__ import annotations

import html
from fractions import Fraction

from telegram import Update

from bot.i18n import cldr, t
from bot.pricing import usd
from handlers.admin_common import admin_command
from handlers.common import reply
from handlers.context import BotContext
from storage.stats import LocationCount, PeriodStats

__all__ = ["margin_cents", "on_stats", "stars_to_cents"]


def stars_to_cents(stars: int, stars_per_usd: int) -> int:
    """Stars back to US cents at the configured rate, rounded to the nearest cent."""
    return round(Fraction(stars * 100, stars_per_usd))


def margin_cents(period: PeriodStats, stars_per_usd: int) -> int:
    net_stars = period.stars_received - period.stars_refunded
    return stars_to_cents(net_stars, stars_per_usd) - period.cost_cents


@admin_command("stats")
async def on_stats(update: Update, context: BotContext) -> None:
    language = context.language
    rate = context.services.settings.stars_per_usd
    stats = context.services.storage.stats
    # whole UTC days, today included: today is counted live, the closed days come from the
    # daily roll-up, so /stats costs the same for any history
    periods = await stats.overview([1, 7, 30])
    blocks = [t(language, "admin.stats.title")]
    for name, period in zip(("today", "week", "month"), periods, strict=True):
        blocks.append(_block(language, t(language, f"admin.stats.{name}"), period, rate))
    blocks.append(t(language, "admin.stats.margin_note", rate=rate))
    await reply(update, "\n\n".join(blocks))


def _block(language: str, title: str, period: PeriodStats, rate: int) -> str:
    return t(
        language,
        "admin.stats.period",
        title=title,
        orders=period.orders,
        failures=period.failures,
        refunds=period.refunds,
        admin_refunds=period.admin_refunds,
        received=period.stars_received,
        refunded=period.stars_refunded,
        received_usd=usd(stars_to_cents(period.stars_received, rate)),
        cost=usd(period.cost_cents),
        margin=usd(margin_cents(period, rate)),
        top=_top(language, period.top_locations),
    )


def _top(language: str, locations: list[LocationCount]) -> str:
    if not locations:
        return "—"
    return ", ".join(f"{_place(language, item)} ×{item.orders}" for item in locations)


def _place(language: str, item: LocationCount) -> str:
    if item.scope == "global":
        return t(language, "admin.stats.global")
    if item.scope == "region":
        return html.escape(item.region or item.location)
    name = cldr.all_territories(language).get(item.location)
    return html.escape(name or item.location)
