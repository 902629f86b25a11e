"""Finding a plan: type a country or tap one, then regional and global plans, then details.

This is the hot path, so everything here is served from the in-memory catalog index and the
in-memory language map: no reseller call and no SQLite query per update. Pages are rendered
once per catalog and language, then served from a cache (a new catalog starts a new cache),
so typing "Japan" costs a dictionary look-up and the reply. The only writes happen when the
customer taps Buy (checkout.offer).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bot.catalog import CatalogIndex
from bot.countries import country_name, find_country, flag, normalize
from bot.i18n import LANGUAGES, catalog, cldr, t
from handlers import checkout
from handlers.callbacks import Callback, build, fits, parse
from handlers.common import answer, language_of, reply, services_of, show
from handlers.delivery import price_text
from storage import Plan

__all__ = [
    "days_text",
    "on_browse",
    "on_buy",
    "on_plan",
    "on_text",
    "plan_label",
    "register",
    "show_buy",
    "show_country",
    "show_covering",
    "show_global",
    "show_region",
    "show_regions",
    "volume_text",
]

PAGE_SIZE = 8
DEFAULT_SORT = "p"
SORTS = ("p", "v", "d")  # price, data volume, days
# Shown as buttons on the "Buy" page when the catalog sells them, in this order.
POPULAR = ("US", "GB", "FR", "ES", "IT", "DE", "TR", "AE", "TH", "JP", "MX", "GR")
_MAX_TEXT = 200  # longer messages are not country names: answer without searching
_MAX_ECHO = 40  # how much of an unknown text we quote back
_MAX_LISTED_COUNTRIES = 30
_CACHE_LIMIT = 5000  # rendered pages kept per catalog (a few KB each)
GIB = 1024**3
MIB = 1024**2

T = TypeVar("T")
Page = tuple[str, InlineKeyboardMarkup | None]


# -- formatting shared with handlers.esims ------------------------------------------------


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


def shown_price(context: ContextTypes.DEFAULT_TYPE, language: str, cost_cents: int) -> str:
    """The customer's price; with PAYMENTS=off nothing is charged, so say so."""
    if services_of(context).settings.payments != "stars":
        return price_text(language, 0)
    return price_text(language, checkout.plan_price(context, cost_cents))


def region_name(language: str, code: str, fallback: str | None = None) -> str:
    """Our translation of a region code, else the reseller's own name for it."""
    key = f"region.{code}"
    return catalog(language).get(key) or fallback or catalog("en").get(key) or code


def place_of(plan: Plan, language: str) -> str:
    if plan.scope == "country" and plan.countries:
        return f"{flag(plan.countries[0])} {country_name(plan.countries[0], language)}"
    if plan.scope == "global":
        return "🌐 " + region_name(language, "GL", plan.region)
    return "🗺 " + region_name(language, plan.location, plan.region)


def plan_label(
    context: ContextTypes.DEFAULT_TYPE, language: str, plan: Plan, with_place: bool = False
) -> str:
    """ "1 GB · 7 days · ⭐ 420", optionally led by the plan's place."""
    values = {
        "volume": volume_text(language, plan.volume_bytes),
        "days": days_text(language, plan.duration_days),
        "price": shown_price(context, language, plan.price_cents),
    }
    if with_place:
        return t(language, "browse.plan_button_place", place=place_of(plan, language), **values)
    return t(language, "browse.plan_button", **values)


def _button(text: str, prefix: str, *args: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=build(prefix, *args))


def _index(context: ContextTypes.DEFAULT_TYPE) -> CatalogIndex:
    return services_of(context).catalog.index


def _cached(context: ContextTypes.DEFAULT_TYPE, key: tuple[Any, ...], make: Callable[[], T]) -> T:
    """``make()`` once per key and catalog index. The cache lives in bot_data (per bot, so
    its prices and settings apply) and is dropped whenever a sync installs a new index."""
    index = _index(context)
    held = context.bot_data.get("browse_cache")
    if held is None or held[0] is not index or len(held[1]) > _CACHE_LIMIT:
        held = (index, {})
        context.bot_data["browse_cache"] = held
    pages: dict[tuple[Any, ...], Any] = held[1]
    if key not in pages:
        pages[key] = make()
    value: T = pages[key]
    return value


def _sellable_countries(context: ContextTypes.DEFAULT_TYPE) -> frozenset[str]:
    return _cached(context, ("sellable",), lambda: frozenset(_index(context).countries()))


# -- plan listings ------------------------------------------------------------------------


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
    return sorted((plan for plan in plans if fits("p", plan.code)), key=keys[sort])


def _render(
    context: ContextTypes.DEFAULT_TYPE, language: str, listing: _Listing, page: int, sort: str
) -> Page:
    plans = _sorted(listing.plans, sort)
    pages = max(1, math.ceil(len(plans) / PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    chunk = plans[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    rows: list[list[InlineKeyboardButton]] = [
        [_button(plan_label(context, language, plan, listing.with_place), "p", plan.code)]
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


# -- pages: each built once per catalog, language and arguments (see _cached) ------------


def _country_button(language: str, iso: str) -> InlineKeyboardButton:
    return _button(f"{flag(iso)} {country_name(iso, language)}", "c", iso)


def _sellable(index: CatalogIndex, iso: str) -> bool:
    return bool(index.country_plans(iso) or index.covering(iso))


def _multi_row(language: str, index: CatalogIndex) -> list[InlineKeyboardButton]:
    row = []
    if index.regions():
        row.append(_button(t(language, "browse.button.regions"), "m", "regions"))
    if index.global_plans():
        row.append(_button(t(language, "browse.button.global"), "g", 0, DEFAULT_SORT))
    return row


def _start_keyboard(language: str, index: CatalogIndex) -> InlineKeyboardMarkup:
    """Popular countries, then regional and global plans, then back to the menu."""
    buttons = [_country_button(language, iso) for iso in POPULAR if _sellable(index, iso)]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    multi = _multi_row(language, index)
    if multi:
        rows.append(multi)
    rows.append([_button(t(language, "browse.button.menu"), "m", "home")])
    return InlineKeyboardMarkup(rows)


def _answer_page(context: ContextTypes.DEFAULT_TYPE, language: str, key: str) -> Page:
    """A sentence above the "where are you going?" keyboard (cached like any page)."""
    index = _index(context)
    return _cached(
        context, (language, key), lambda: (t(language, key), _start_keyboard(language, index))
    )


def _buy_page(context: ContextTypes.DEFAULT_TYPE, language: str) -> Page:
    if not len(_index(context)):
        return t(language, "browse.catalog_empty"), None
    return _answer_page(context, language, "browse.choose")


def _regions_page(context: ContextTypes.DEFAULT_TYPE, language: str) -> Page:
    index = _index(context)
    buttons = [
        _button(region_name(language, code, name), "r", code)
        for code, name in index.regions().items()
        if fits("r", code)
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    if index.global_plans():
        rows.append([_button(t(language, "browse.button.global"), "g", 0, DEFAULT_SORT)])
    rows.append([_button(t(language, "browse.button.countries"), "m", "buy")])
    key = "browse.regions.title" if buttons else "browse.regions.none"
    return t(language, key), InlineKeyboardMarkup(rows)


def _country_title(language: str, iso: str) -> str:
    return f"{flag(iso)} <b>{html.escape(country_name(iso, language))}</b>"


def _country_page(
    context: ContextTypes.DEFAULT_TYPE, language: str, iso: str, page: int, sort: str
) -> Page:
    """A country's own plans; if it has none, the regional and global plans covering it."""
    index = _index(context)
    own, covering = index.country_plans(iso), index.covering(iso)
    if not own:
        return _covering_page(context, language, iso, page, sort)
    extra: tuple[tuple[InlineKeyboardButton, ...], ...] = ()
    if covering:
        label = t(language, "browse.button.covering", count=len(covering))
        extra = ((_button(label, "v", iso, 0, DEFAULT_SORT),),)
    listing = _Listing(
        title=t(language, "browse.country.title", name=_country_title(language, iso)),
        plans=own,
        page_data=lambda p, s: build("c", iso, p, s),
        back=_button(t(language, "browse.button.countries"), "m", "buy"),
        extra_rows=extra,
    )
    return _render(context, language, listing, page, sort)


def _covering_page(
    context: ContextTypes.DEFAULT_TYPE, language: str, iso: str, page: int, sort: str
) -> Page:
    index = _index(context)
    name = _country_title(language, iso)
    covering = index.covering(iso)
    countries_button = _button(t(language, "browse.button.countries"), "m", "buy")
    if not covering:
        rows = [row for row in (_multi_row(language, index), [countries_button]) if row]
        return t(language, "browse.country.none", name=name), InlineKeyboardMarkup(rows)
    own = bool(index.country_plans(iso))
    listing = _Listing(
        title=t(language, "browse.covering.title" if own else "browse.covering.only", name=name),
        plans=covering,
        page_data=lambda p, s: build("v", iso, p, s),
        back=_button(t(language, "browse.button.back"), "c", iso) if own else countries_button,
        with_place=True,
    )
    return _render(context, language, listing, page, sort)


def _region_page(
    context: ContextTypes.DEFAULT_TYPE, language: str, code: str, page: int, sort: str
) -> Page:
    plans = _index(context).region_plans(code)
    countries = {country for plan in plans for country in plan.countries}
    name = html.escape(region_name(language, code, plans[0].region if plans else None))
    listing = _Listing(
        title=t(language, "browse.region.title", name=name, count=len(countries)),
        plans=plans,
        page_data=lambda p, s: build("r", code, p, s),
        back=_button(t(language, "browse.button.back"), "m", "regions"),
    )
    return _render(context, language, listing, page, sort)


def _global_page(context: ContextTypes.DEFAULT_TYPE, language: str, page: int, sort: str) -> Page:
    plans = _index(context).global_plans()
    countries = {country for plan in plans for country in plan.countries}
    listing = _Listing(
        title=t(language, "browse.global.title", count=len(countries)),
        plans=plans,
        page_data=lambda p, s: build("g", p, s),
        back=_button(t(language, "browse.button.countries"), "m", "buy"),
    )
    return _render(context, language, listing, page, sort)


def _plan_page(context: ContextTypes.DEFAULT_TYPE, language: str, plan: Plan) -> Page:
    price = shown_price(context, language, plan.price_cents)
    markup = InlineKeyboardMarkup(
        [
            [_button(t(language, "browse.button.buy", price=price), "b", plan.code)],
            [_back_for(language, plan)],
        ]
    )
    return plan_details(context, language, plan), markup


# -- showing pages ------------------------------------------------------------------------


async def show_buy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Where are you going? Popular countries, regions and global plans."""
    await show(update, *_buy_page(context, language_of(update, context)))


async def show_regions(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    language = language_of(update, context)
    await show(
        update, *_cached(context, (language, "regions"), lambda: _regions_page(context, language))
    )


async def show_country(
    update: Update, context: ContextTypes.DEFAULT_TYPE, iso: str, page: int = 0, sort: str = ""
) -> None:
    language, sort = language_of(update, context), sort or DEFAULT_SORT
    key = (language, "c", iso, page, sort)
    await show(
        update, *_cached(context, key, lambda: _country_page(context, language, iso, page, sort))
    )


async def show_covering(
    update: Update, context: ContextTypes.DEFAULT_TYPE, iso: str, page: int = 0, sort: str = ""
) -> None:
    language, sort = language_of(update, context), sort or DEFAULT_SORT
    key = (language, "v", iso, page, sort)
    await show(
        update, *_cached(context, key, lambda: _covering_page(context, language, iso, page, sort))
    )


async def show_region(
    update: Update, context: ContextTypes.DEFAULT_TYPE, code: str, page: int = 0, sort: str = ""
) -> None:
    language, sort = language_of(update, context), sort or DEFAULT_SORT
    key = (language, "r", code, page, sort)
    await show(
        update, *_cached(context, key, lambda: _region_page(context, language, code, page, sort))
    )


async def show_global(
    update: Update, context: ContextTypes.DEFAULT_TYPE, page: int = 0, sort: str = ""
) -> None:
    language, sort = language_of(update, context), sort or DEFAULT_SORT
    key = (language, "g", page, sort)
    await show(update, *_cached(context, key, lambda: _global_page(context, language, page, sort)))


# -- plan details -------------------------------------------------------------------------


def plan_details(context: ContextTypes.DEFAULT_TYPE, language: str, plan: Plan) -> str:
    details = plan.details or {}
    price = shown_price(context, language, plan.price_cents)
    lines = [
        t(
            language,
            "browse.plan.title",
            place=html.escape(place_of(plan, language)),
            name=html.escape(plan.name),
        ),
        "",
        t(language, "browse.plan.data", volume=volume_text(language, plan.volume_bytes)),
        t(language, "browse.plan.validity", days=days_text(language, plan.duration_days)),
    ]
    if details.get("speed"):
        lines.append(t(language, "browse.plan.speed", speed=html.escape(str(details["speed"]))))
    lines += _coverage_lines(language, plan)
    lines.append(
        t(language, "browse.plan.topup_yes" if plan.supports_topup else "browse.plan.topup_no")
    )
    starts = {1: "install", 2: "connect"}.get(details.get("active_type") or 0)
    if starts:
        lines.append(t(language, f"browse.plan.starts_{starts}"))
    lines.append(_privacy_line(language, plan))
    if details.get("non_refundable"):
        lines.append(t(language, "browse.plan.non_refundable"))
    lines += ["", t(language, "browse.plan.price", price=price)]
    return "\n".join(lines)


def _networks(plan: Plan) -> list[dict[str, Any]]:
    networks = (plan.details or {}).get("networks") or []
    if networks:
        return [n for n in networks if isinstance(n, dict)]
    return [{"country": iso, "name": iso, "operators": []} for iso in plan.countries]


def _network_country(language: str, network: dict[str, Any]) -> str:
    iso = network.get("country")
    if isinstance(iso, str) and len(iso) == 2:
        return f"{flag(iso)} {html.escape(country_name(iso, language))}"
    return html.escape(str(network.get("name") or "?"))


def _coverage_lines(language: str, plan: Plan) -> list[str]:
    networks = _networks(plan)
    if len(networks) <= 3:  # few countries: name the operators and their network types
        lines = [t(language, "browse.plan.coverage")]
        for network in networks:
            operators = [
                t(
                    language,
                    "browse.plan.operator",
                    name=html.escape(str(op.get("name") or "?")),
                    type=html.escape(str(op.get("network_type") or "—")),
                )
                for op in network.get("operators") or []
                if isinstance(op, dict)
            ]
            line = _network_country(language, network)
            if operators:
                line += ": " + ", ".join(operators)
            lines.append("  " + line)
        return lines
    names = sorted(_network_country(language, network) for network in networks)
    shown = names[:_MAX_LISTED_COUNTRIES]
    text = ", ".join(shown)
    if len(names) > len(shown):
        text += " " + t(language, "browse.plan.more", count=len(names) - len(shown))
    return [t(language, "browse.plan.coverage_many", count=len(names), countries=text)]


def _privacy_line(language: str, plan: Plan) -> str:
    exit_code = (plan.details or {}).get("ip_export")
    if not exit_code:
        return t(language, "browse.plan.exit_unknown")
    code = str(exit_code).upper()
    if len(code) == 2 and code.isalpha():
        where = f"{flag(code)} {html.escape(country_name(code, language))}"
    else:
        where = html.escape(str(exit_code))
    key = "browse.plan.exit_private" if plan.max_privacy else "browse.plan.exit"
    return t(language, key, where=where)


def _back_for(language: str, plan: Plan) -> InlineKeyboardButton:
    label = t(language, "browse.button.back")
    if plan.scope == "country" and plan.countries:
        return _button(label, "c", plan.countries[0])
    if plan.scope == "region" and fits("r", plan.location):
        return _button(label, "r", plan.location)
    if plan.scope == "global":
        return _button(label, "g", 0, DEFAULT_SORT)
    return _button(label, "m", "buy")


# -- handlers -----------------------------------------------------------------------------


async def _stale(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await answer(update.callback_query, t(language_of(update, context), "common.stale"), alert=True)


def _page_args(callback: Callback, first: int) -> tuple[int, str]:
    return int(callback.arg(first, "0")), callback.arg(first + 1, DEFAULT_SORT)


async def on_browse(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """c: a country, v: plans covering it, r: a region, g: global plans."""
    query = update.callback_query
    callback = parse(query.data if query else None)
    index = _index(context)
    if callback is None or not _still_sold(index, callback):
        await _stale(update, context)
        return
    await answer(query)
    if callback.prefix == "g":
        page, sort = _page_args(callback, 0)
        await show_global(update, context, page, sort)
        return
    page, sort = _page_args(callback, 1)
    shows = {"c": show_country, "v": show_covering, "r": show_region}
    await shows[callback.prefix](update, context, callback.arg(0), page, sort)


def _still_sold(index: CatalogIndex, callback: Callback) -> bool:
    """Whether the place a browsing button names still has plans (catalogs change)."""
    if callback.prefix in ("c", "v"):
        return _sellable(index, callback.arg(0))
    if callback.prefix == "r":
        return bool(index.region_plans(callback.arg(0)))
    return bool(index.global_plans())


async def on_plan(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    callback = parse(query.data if query else None)
    plan = _index(context).by_code.get(callback.arg(0)) if callback else None
    if plan is None:  # no longer sold since the button was drawn
        await _stale(update, context)
        return
    await answer(query)
    language = language_of(update, context)
    key = (language, "p", plan.code)
    await show(update, *_cached(context, key, lambda: _plan_page(context, language, plan)))


async def on_buy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    callback = parse(query.data if query else None)
    plan = _index(context).by_code.get(callback.arg(0)) if callback else None
    if plan is None:
        await _stale(update, context)
        return
    await answer(query)
    await checkout.offer(
        update,
        context,
        package_code=plan.code,
        package_name=plan.name,
        cost_cents=plan.price_cents,
        volume_bytes=plan.volume_bytes,
        duration_days=plan.duration_days,
    )


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any text is a destination: a country (any language, alias, ISO code), a region, or a
    typo we suggest a correction for. Never silence."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    language = language_of(update, context)
    text = message.text.strip()
    if len(text) > _MAX_TEXT:
        await show(update, *_answer_page(context, language, "browse.too_long"))
        return
    if await _show_region_named(update, context, text):
        return
    match = find_country(text, _sellable_countries(context))
    if match.iso is not None:
        await show_country(update, context, match.iso)
    elif match.suggestions:
        await _suggest(update, language, match.suggestions)
    elif not normalize(text):  # emoji, punctuation: nothing to search for
        await show(update, *_answer_page(context, language, "browse.no_text"))
    else:
        echo = html.escape(text[:_MAX_ECHO] + ("…" if len(text) > _MAX_ECHO else ""))
        _, markup = _answer_page(context, language, "browse.choose")
        await reply(update, t(language, "browse.not_found", text=echo), markup)


async def _suggest(update: Update, language: str, suggestions: Sequence[str]) -> None:
    names = [country_name(iso, language) for iso in suggestions]
    options = html.escape(cldr.format_list_or(names, language))
    markup = InlineKeyboardMarkup([[_country_button(language, iso)] for iso in suggestions])
    await reply(update, t(language, "browse.suggest", options=options), markup)


async def _show_region_named(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> bool:
    index = _index(context)
    names = _cached(context, ("region names",), lambda: _region_names(index))
    code = names.get(normalize(text))
    if code is None or not _still_sold(index, Callback("g" if code == "GL" else "r", (code,))):
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


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(CallbackQueryHandler(on_browse, pattern=r"^[cvrg]:"))
    application.add_handler(CallbackQueryHandler(on_plan, pattern=r"^p:"))
    application.add_handler(CallbackQueryHandler(on_buy, pattern=r"^b:"))
    application.add_handler(
        MessageHandler(
            filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND,
            on_text,
        )
    )
