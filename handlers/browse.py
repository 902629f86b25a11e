"""Finding a plan: type a country or tap one, then regional and global plans, then details.

This is the hot path, so everything here is served from the in-memory catalog index and the
in-memory language map: no reseller call and no SQLite query per update. The pages come from
handlers.plan_pages (built once per catalog and language); the only writes happen when the
customer taps Buy (checkout.offer).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import MessageHandler, filters

from bot.catalog import CatalogIndex
from bot.countries import country_name, find_country, normalize
from bot.i18n import LANGUAGES, cldr, t
from handlers import checkout
from handlers.buttons import on_button
from handlers.callbacks import (
    BuyPlan,
    CountryPlans,
    CoveringPlans,
    GlobalPlans,
    PlanDetails,
    RegionPlans,
)
from handlers.common import answer, reply, show, stale
from handlers.context import BotApp, BotContext
from handlers.plan_pages import (
    DEFAULT_SORT,
    Page,
    answer_page,
    buy_page,
    cached,
    catalog_index,
    country_button,
    country_page,
    covering_page,
    global_page,
    plan_page,
    region_page,
    regions_page,
    sellable,
    sellable_countries,
)
from handlers.plan_text import region_name

__all__ = [
    "on_browse",
    "on_buy",
    "on_plan",
    "on_text",
    "register",
    "show_buy",
    "show_country",
    "show_covering",
    "show_global",
    "show_region",
    "show_regions",
]

_MAX_TEXT = 200  # longer messages are not country names: answer without searching
_MAX_ECHO = 40  # how much of an unknown text we quote back


# -- formatting shared with handlers.esims ------------------------------------------------


# -- plan listings ------------------------------------------------------------------------


# -- pages: each built once per catalog, language and arguments (see cached) ------------


# -- showing pages ------------------------------------------------------------------------


async def show_buy(update: Update, context: BotContext) -> None:
    """Where are you going? Popular countries, regions and global plans."""
    await show(update, *buy_page(context, context.language))


async def _show_page(
    update: Update, context: BotContext, make: Callable[..., Page], *args: object
) -> None:
    """Show the page ``make(context, language, *args)``, built once per catalog (cached)."""
    language = context.language
    key = (language, make.__name__, *args)
    await show(update, *cached(context, key, lambda: make(context, language, *args)))


async def show_regions(update: Update, context: BotContext) -> None:
    await _show_page(update, context, regions_page)


async def show_country(
    update: Update, context: BotContext, iso: str, page: int = 0, sort: str = DEFAULT_SORT
) -> None:
    await _show_page(update, context, country_page, iso, page, sort)


async def show_covering(
    update: Update, context: BotContext, iso: str, page: int = 0, sort: str = DEFAULT_SORT
) -> None:
    await _show_page(update, context, covering_page, iso, page, sort)


async def show_region(
    update: Update, context: BotContext, code: str, page: int = 0, sort: str = DEFAULT_SORT
) -> None:
    await _show_page(update, context, region_page, code, page, sort)


async def show_global(
    update: Update, context: BotContext, page: int = 0, sort: str = DEFAULT_SORT
) -> None:
    await _show_page(update, context, global_page, page, sort)


# -- handlers -----------------------------------------------------------------------------

Listing = CountryPlans | CoveringPlans | RegionPlans | GlobalPlans


async def on_browse(update: Update, context: BotContext, listing: Listing) -> None:
    """A country's plans, the plans covering it, a region's, or the global ones."""
    if not _still_sold(catalog_index(context), listing):
        await stale(update, context)
        return
    await answer(update.callback_query)
    if isinstance(listing, GlobalPlans):
        await show_global(update, context, listing.page, listing.sort)
    elif isinstance(listing, CountryPlans):
        await show_country(update, context, listing.iso, listing.page, listing.sort)
    elif isinstance(listing, CoveringPlans):
        await show_covering(update, context, listing.iso, listing.page, listing.sort)
    else:
        await show_region(update, context, listing.region, listing.page, listing.sort)


def _still_sold(index: CatalogIndex, listing: Listing) -> bool:
    """Whether the place a browsing button names still has plans (catalogs change)."""
    if isinstance(listing, CountryPlans | CoveringPlans):
        return sellable(index, listing.iso)
    if isinstance(listing, RegionPlans):
        return bool(index.region_plans(listing.region))
    return bool(index.global_plans())


async def on_plan(update: Update, context: BotContext, details: PlanDetails) -> None:
    plan = catalog_index(context).by_code.get(details.code)
    if plan is None:  # no longer sold since the button was drawn
        await stale(update, context)
        return
    await answer(update.callback_query)
    language = context.language
    key = (language, "p", plan.code)
    await show(update, *cached(context, key, lambda: plan_page(context, language, plan)))


async def on_buy(update: Update, context: BotContext, buy: BuyPlan) -> None:
    plan = catalog_index(context).by_code.get(buy.code)
    if plan is None:
        await stale(update, context)
        return
    await answer(update.callback_query)
    await checkout.offer(
        update,
        context,
        package_code=plan.code,
        package_name=plan.name,
        cost_cents=plan.price_cents,
        volume_bytes=plan.volume_bytes,
        duration_days=plan.duration_days,
    )


async def on_text(update: Update, context: BotContext) -> None:
    """Any text is a destination: a country (any language, alias, ISO code), a region, or a
    typo we suggest a correction for. Never silence."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    language = context.language
    text = message.text.strip()
    if len(text) > _MAX_TEXT:
        await show(update, *answer_page(context, language, "browse.too_long"))
        return
    if await _show_region_named(update, context, text):
        return
    match = find_country(text, sellable_countries(context))
    if match.iso is not None:
        await show_country(update, context, match.iso)
    elif match.suggestions:
        await _suggest(update, language, match.suggestions)
    elif not normalize(text):  # emoji, punctuation: nothing to search for
        await show(update, *answer_page(context, language, "browse.no_text"))
    else:
        echo = html.escape(text[:_MAX_ECHO] + ("…" if len(text) > _MAX_ECHO else ""))
        _, markup = answer_page(context, language, "browse.choose")
        await reply(update, t(language, "browse.not_found", text=echo), markup)


async def _suggest(update: Update, language: str, suggestions: Sequence[str]) -> None:
    names = [country_name(iso, language) for iso in suggestions]
    options = html.escape(cldr.format_list_or(names, language))
    markup = InlineKeyboardMarkup([[country_button(language, iso)] for iso in suggestions])
    await reply(update, t(language, "browse.suggest", options=options), markup)


async def _show_region_named(update: Update, context: BotContext, text: str) -> bool:
    index = catalog_index(context)
    names = cached(context, ("region names",), lambda: _region_names(index))
    code = names.get(normalize(text))
    listing = GlobalPlans() if code == "GL" else RegionPlans(code or "")
    if code is None or not _still_sold(index, listing):
        return False
    if code == "GL":
        await show_global(update, context)
    else:
        await show_region(update, context, code)
    return True


def _region_names(index: CatalogIndex) -> dict[str, str]:
    """Normalized region names in every language (ours and the reseller's) -> region code."""
    names: dict[str, str] = {}
    for code, reseller_name in (*index.regions().items(), ("GL", "Global")):
        for language in LANGUAGES:
            for name in (region_name(language, code, reseller_name), reseller_name):
                names.setdefault(normalize(name), code)
    for language in LANGUAGES:
        for alias in t(language, "region.GL.aliases").split(","):
            names.setdefault(normalize(alias), "GL")
    names.pop("", None)
    return names


def register(application: BotApp) -> None:
    application.add_handler(on_button(CountryPlans, on_browse))
    application.add_handler(on_button(CoveringPlans, on_browse))
    application.add_handler(on_button(RegionPlans, on_browse))
    application.add_handler(on_button(GlobalPlans, on_browse))
    application.add_handler(on_button(PlanDetails, on_plan))
    application.add_handler(on_button(BuyPlan, on_buy))
    application.add_handler(
        MessageHandler(
            filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND,
            on_text,
        )
    )
