"""The browse pages (countries, regions, plan lists, a plan), built once per catalog and language.

Pages are rendered once per catalog index, language and arguments, then served from a cache in
bot_data (a new catalog starts a new cache): typing "Japan" costs a dictionary look-up.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.catalog import CatalogIndex
from bot.countries import country_name, flag
from bot.i18n import t
from handlers.callbacks import (
    BuyPlan,
    CallbackData,
    CountryPlans,
    CoveringPlans,
    GlobalPlans,
    Menu,
    PlanDetails,
    RegionPlans,
)
from handlers.context import BotContext
from handlers.plan_text import plan_details, plan_label, region_name
from handlers.units import shown_price
from storage import Plan

T = TypeVar("T")
Page = tuple[str, InlineKeyboardMarkup | None]

PAGE_SIZE = 8
DEFAULT_SORT = "p"
SORTS = ("p", "v", "d")  # price, data volume, days
# Shown as buttons on the "Buy" page when the catalog sells them, in this order.
POPULAR = ("US", "GB", "FR", "ES", "IT", "DE", "TR", "AE", "TH", "JP", "MX", "GR")
_CACHE_LIMIT = 5000  # rendered pages kept per catalog (a few KB each)


def _button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data.pack())


def catalog_index(context: BotContext) -> CatalogIndex:
    return context.services.catalog.index


def cached(context: BotContext, key: tuple[Any, ...], make: Callable[[], T]) -> T:
    """``make()`` once per key and catalog index. The cache lives in bot_data (per bot, so
    its prices and settings apply) and is dropped whenever a sync installs a new index."""
    index = catalog_index(context)
    held = context.bot_data.get("browse_cache")
    if held is None or held[0] is not index or len(held[1]) > _CACHE_LIMIT:
        held = (index, {})
        context.bot_data["browse_cache"] = held
    pages: dict[tuple[Any, ...], Any] = held[1]
    if key not in pages:
        pages[key] = make()
    value: T = pages[key]
    return value


def sellable_countries(context: BotContext) -> frozenset[str]:
    return cached(context, ("sellable",), lambda: frozenset(catalog_index(context).countries()))


@dataclass(frozen=True, slots=True)
class _Listing:
    title: str
    plans: Sequence[Plan]
    page_data: Callable[[int, str], str]  # (page, sort) -> callback data of that page
    back: InlineKeyboardButton
    extra_rows: tuple[tuple[InlineKeyboardButton, ...], ...] = ()
    with_place: bool = False


def _sorted(plans: Sequence[Plan], sort: str) -> list[Plan]:
    keys: dict[str, Callable[[Plan], tuple[int, ...]]] = {
        "p": lambda plan: (plan.price_cents, plan.volume_bytes, plan.duration_days),
        "v": lambda plan: (plan.volume_bytes, plan.duration_days, plan.price_cents),
        "d": lambda plan: (plan.duration_days, plan.volume_bytes, plan.price_cents),
    }
    # Plans whose code cannot travel in a button (too long, odd characters) are not offered.
    return sorted((plan for plan in plans if PlanDetails(plan.code).fits()), key=keys[sort])


def _render(context: BotContext, language: str, listing: _Listing, page: int, sort: str) -> Page:
    plans = _sorted(listing.plans, sort)
    pages = max(1, math.ceil(len(plans) / PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    chunk = plans[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    rows: list[list[InlineKeyboardButton]] = [
        [_button(plan_label(context, language, plan, listing.with_place), PlanDetails(plan.code))]
        for plan in chunk
    ]
    rows.append([_sort_button(language, listing, key, sort) for key in SORTS])
    navigation = []
    if page > 0:
        label = t(language, "browse.button.previous")
        navigation.append(
            InlineKeyboardButton(label, callback_data=listing.page_data(page - 1, sort))
        )
    if page < pages - 1:
        label = t(language, "browse.button.next")
        navigation.append(
            InlineKeyboardButton(label, callback_data=listing.page_data(page + 1, sort))
        )
    if navigation:
        rows.append(navigation)
    rows += [list(row) for row in listing.extra_rows]
    rows.append([listing.back])
    count = t(language, "browse.plans.count", count=len(plans), page=page + 1, pages=pages)
    text = f"{listing.title}\n\n{count}\n{t(language, f'browse.plans.sorted.{sort}')}"
    return text, InlineKeyboardMarkup(rows)


def _sort_button(language: str, listing: _Listing, key: str, current: str) -> InlineKeyboardButton:
    label = t(language, f"browse.sort.{key}")
    if key == current:
        label = t(language, "browse.sort.active", label=label)
    # A new order starts again at the first page.
    return InlineKeyboardButton(label, callback_data=listing.page_data(0, key))


def country_button(language: str, iso: str) -> InlineKeyboardButton:
    return _button(f"{flag(iso)} {country_name(iso, language)}", CountryPlans(iso))


def sellable(index: CatalogIndex, iso: str) -> bool:
    return bool(index.country_plans(iso) or index.covering(iso))


def _multi_row(language: str, index: CatalogIndex) -> list[InlineKeyboardButton]:
    row = []
    if index.regions():
        row.append(_button(t(language, "browse.button.regions"), Menu("regions")))
    if index.global_plans():
        row.append(_button(t(language, "browse.button.global"), GlobalPlans(0, DEFAULT_SORT)))
    return row


def _start_keyboard(language: str, index: CatalogIndex) -> InlineKeyboardMarkup:
    """Popular countries, then regional and global plans, then back to the menu."""
    buttons = [country_button(language, iso) for iso in POPULAR if sellable(index, iso)]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    multi = _multi_row(language, index)
    if multi:
        rows.append(multi)
    rows.append([_button(t(language, "browse.button.menu"), Menu("home"))])
    return InlineKeyboardMarkup(rows)


def answer_page(context: BotContext, language: str, key: str) -> Page:
    """A sentence above the "where are you going?" keyboard (cached like any page)."""
    index = catalog_index(context)
    return cached(
        context, (language, key), lambda: (t(language, key), _start_keyboard(language, index))
    )


def buy_page(context: BotContext, language: str) -> Page:
    if not len(catalog_index(context)):
        return t(language, "browse.catalog_empty"), None
    return answer_page(context, language, "browse.choose")


def regions_page(context: BotContext, language: str) -> Page:
    index = catalog_index(context)
    buttons = [
        _button(region_name(language, code, name), RegionPlans(code))
        for code, name in index.regions().items()
        if RegionPlans(code).fits()
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    if index.global_plans():
        rows.append([_button(t(language, "browse.button.global"), GlobalPlans(0, DEFAULT_SORT))])
    rows.append([_button(t(language, "browse.button.countries"), Menu("buy"))])
    key = "browse.regions.title" if buttons else "browse.regions.none"
    return t(language, key), InlineKeyboardMarkup(rows)


def _country_title(language: str, iso: str) -> str:
    return f"{flag(iso)} <b>{html.escape(country_name(iso, language))}</b>"


def country_page(context: BotContext, language: str, iso: str, page: int, sort: str) -> Page:
    """A country's own plans; if it has none, the regional and global plans covering it."""
    index = catalog_index(context)
    own, covering = index.country_plans(iso), index.covering(iso)
    if not own:
        return covering_page(context, language, iso, page, sort)
    extra: tuple[tuple[InlineKeyboardButton, ...], ...] = ()
    if covering:
        label = t(language, "browse.button.covering", count=len(covering))
        extra = ((_button(label, CoveringPlans(iso, 0, DEFAULT_SORT)),),)
    listing = _Listing(
        title=t(language, "browse.country.title", name=_country_title(language, iso)),
        plans=own,
        page_data=lambda p, s: CountryPlans(iso, p, s).pack(),
        back=_button(t(language, "browse.button.countries"), Menu("buy")),
        extra_rows=extra,
    )
    return _render(context, language, listing, page, sort)


def covering_page(context: BotContext, language: str, iso: str, page: int, sort: str) -> Page:
    index = catalog_index(context)
    name = _country_title(language, iso)
    covering = index.covering(iso)
    countries_button = _button(t(language, "browse.button.countries"), Menu("buy"))
    if not covering:
        rows = [row for row in (_multi_row(language, index), [countries_button]) if row]
        return t(language, "browse.country.none", name=name), InlineKeyboardMarkup(rows)
    own = bool(index.country_plans(iso))
    listing = _Listing(
        title=t(language, "browse.covering.title" if own else "browse.covering.only", name=name),
        plans=covering,
        page_data=lambda p, s: CoveringPlans(iso, p, s).pack(),
        back=_button(t(language, "browse.button.back"), CountryPlans(iso))
        if own
        else countries_button,
        with_place=True,
    )
    return _render(context, language, listing, page, sort)


def region_page(context: BotContext, language: str, code: str, page: int, sort: str) -> Page:
    plans = catalog_index(context).region_plans(code)
    countries = {country for plan in plans for country in plan.countries}
    name = html.escape(region_name(language, code, plans[0].region if plans else None))
    listing = _Listing(
        title=t(language, "browse.region.title", name=name, count=len(countries)),
        plans=plans,
        page_data=lambda p, s: RegionPlans(code, p, s).pack(),
        back=_button(t(language, "browse.button.back"), Menu("regions")),
    )
    return _render(context, language, listing, page, sort)


def global_page(context: BotContext, language: str, page: int, sort: str) -> Page:
    plans = catalog_index(context).global_plans()
    countries = {country for plan in plans for country in plan.countries}
    listing = _Listing(
        title=t(language, "browse.global.title", count=len(countries)),
        plans=plans,
        page_data=lambda p, s: GlobalPlans(p, s).pack(),
        back=_button(t(language, "browse.button.countries"), Menu("buy")),
    )
    return _render(context, language, listing, page, sort)


def plan_page(context: BotContext, language: str, plan: Plan) -> Page:
    price = shown_price(context, language, plan.price_cents)
    markup = InlineKeyboardMarkup(
        [
            [_button(t(language, "browse.button.buy", price=price), BuyPlan(plan.code))],
            [_back_for(language, plan)],
        ]
    )
    return plan_details(context, language, plan), markup


def _back_for(language: str, plan: Plan) -> InlineKeyboardButton:
    label = t(language, "browse.button.back")
    if plan.scope == "country" and plan.countries:
        return _button(label, CountryPlans(plan.countries[0]))
    if plan.scope == "region" and RegionPlans(plan.location).fits():
        return _button(label, RegionPlans(plan.location))
    if plan.scope == "global":
        return _button(label, GlobalPlans(0, DEFAULT_SORT))
    return _button(label, Menu("buy"))
