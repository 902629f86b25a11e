"""My eSIMs: the list, one eSIM's card, usage, top-ups and the install guide.

Every button names an ICCID, and a user can send any callback data they like, so each
handler looks the eSIM up with ``owned_by(iccid, user_id)``: someone else's eSIM is simply
"expired". The reseller is asked (usage, top-up options) only when the customer taps a
button, at customer priority, and its errors become a polite sentence. Its answers are cached
per eSIM (usage for a minute, shown with its age), and the asking happens in a task of the
customer's own after the tap is answered, paced per user (see handlers.pacing).
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.esim_data import valid_iccid
from bot.i18n import catalog, t
from bot.pikasim import PikaSimError, Priority, Usage
from handlers.buttons import on_button
from handlers.callbacks import EsimCard, EsimUsage, InstallGuide, Menu
from handlers.common import answer, show, stale
from handlers.context import BotApp, BotContext
from handlers.delivery import esim_keyboard, install_links
from handlers.esim_views import left_text, status_text, usage_text
from handlers.pacing import pacing_of
from handlers.paging import Page, fit, nav_row
from handlers.self_refund import cancel_rows
from storage import Esim, now

__all__ = [
    "FINAL",
    "back_to_card",
    "on_card",
    "on_guide",
    "on_usage",
    "owned_esim",
    "paced",
    "register",
    "reseller_error",
    "run_paced",
    "show_mine",
]

log = logging.getLogger(__name__)

_LISTED = 10  # eSIMs on a "My eSIMs" page (the shared pager shows the rest)
_USAGE_CACHE_SECONDS = 60  # the reseller is asked about one eSIM's usage at most this often
_CACHED_AT_MOST = 1000  # eSIMs per cache; the cache starts afresh beyond that
FINAL = frozenset({"EXPIRED", "CANCELLED", "REVOKED"})
# My eSIMs asks the reseller only about eSIMs not checked for this long, and at most this
# many per tap, so that a customer tapping away cannot eat the account's request budget.
_REFRESH_AFTER_SECONDS = 300
_REFRESH_AT_MOST = 5


# -- small helpers ------------------------------------------------------------------------


def _back_to_list(language: str) -> list[InlineKeyboardButton]:
    return [
        InlineKeyboardButton(t(language, "esims.button.list"), callback_data=Menu("mine").pack())
    ]


def back_to_card(language: str, iccid: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(language, "esims.button.card"), callback_data=EsimCard(iccid).pack()
                )
            ]
        ]
    )


def reseller_error(language: str, error: PikaSimError) -> str:
    key = f"esims.error.{error.kind}"
    if key in catalog("en"):
        return t(language, key)
    return t(language, "esims.error.other")


def _plan_name(context: BotContext, esim: Esim, names: dict[int, str]) -> str:
    if esim.order_id in names:
        return names[esim.order_id]
    plan = context.services.catalog.index.by_code.get(esim.package_code)
    return plan.name if plan is not None else esim.package_code


async def _order_names(context: BotContext, esims: list[Esim]) -> dict[int, str]:
    """The plan names the customer bought these eSIMs as (only these: a page, or one)."""
    return await context.services.storage.orders.package_names([e.order_id for e in esims])


async def owned_esim(
    update: Update, context: BotContext, iccid: str, *, answer_now: bool = True
) -> Esim | None:
    """The tapped eSIM, only if this user owns it (the tap is then answered, unless
    ``answer_now`` is False); otherwise the tap gets the stale answer and None is returned."""
    user = update.effective_user
    esim = await context.services.storage.esims.owned_by(iccid, user.id) if user else None
    if esim is None:
        await stale(update, context)
        return None
    if answer_now:
        await answer(update.callback_query)
    return esim


# -- My eSIMs -----------------------------------------------------------------------------


async def show_mine(update: Update, context: BotContext, number: int = 1) -> None:
    user = update.effective_user
    if user is None:
        return
    page = await _mine_page(context, user.id, number)
    due = _due(context, page.items)
    pacing = pacing_of(context)
    if due and not pacing.busy(user.id, "mine"):  # otherwise: what we knew, at once
        pacing.tapped(user.id, "mine")
        pacing.run(context, update, user.id, _refresh_then_list(update, context, due, number))
        return
    await _show_list(update, context, page)


async def _mine_page(context: BotContext, user_id: int, number: int) -> Page[Esim]:
    esims = await context.services.storage.esims.for_user(
        user_id, limit=_LISTED + 1, offset=Page.offset(number, _LISTED)
    )
    return Page.of(esims, number, _LISTED)


async def _refresh_then_list(
    update: Update, context: BotContext, due: list[Esim], number: int
) -> None:
    await _refresh_usage(context, due)
    user_id = update.effective_user.id if update.effective_user else 0
    await _show_list(update, context, await _mine_page(context, user_id, number))


async def _show_list(update: Update, context: BotContext, page: Page[Esim]) -> None:
    language = context.language
    esims = page.items
    if not esims:
        buy = InlineKeyboardButton(t(language, "menu.buy"), callback_data=Menu("buy").pack())
        await show(update, t(language, "esims.none"), InlineKeyboardMarkup([[buy]]))
        return
    names = await _order_names(context, esims)
    lines = [t(language, "esims.title")]
    rows = []
    for esim in esims:
        name = html.escape(_plan_name(context, esim, names))
        lines.append(
            t(
                language,
                "esims.line",
                plan=name,
                iccid=html.escape(esim.iccid),
                status=status_text(language, esim.status),
                left=left_text(language, esim),
            )
        )
        if not valid_iccid(esim.iccid):  # a reseller's bad ICCID cannot go on a button
            continue
        label = t(language, "esims.button.open", plan=_plan_name(context, esim, names),
                  tail=esim.iccid[-4:])  # fmt: skip
        rows.append([InlineKeyboardButton(label, callback_data=EsimCard(esim.iccid).pack())])
    if nav := nav_row(language, lambda n: Menu("mine", n), page.number, page.has_next):
        rows.append(nav)
    rows.append(
        [InlineKeyboardButton(t(language, "browse.button.menu"), callback_data=Menu("home").pack())]
    )
    await show(update, fit("\n\n".join(lines)), InlineKeyboardMarkup(rows))


def _due(context: BotContext, esims: list[Esim]) -> list[Esim]:
    """The eSIMs of the list whose remaining data is worth asking the reseller about."""
    return [
        esim
        for esim in esims
        if (esim.status or "").upper() not in FINAL
        and valid_iccid(esim.iccid)
        and (esim.total_bytes is None or now() - esim.updated_at > _REFRESH_AFTER_SECONDS)
        and _fresh_usage(context, esim.iccid) is None
    ][:_REFRESH_AT_MOST]


async def _refresh_usage(context: BotContext, due: list[Esim]) -> None:
    """Fresh remaining data for these eSIMs (errors leave what we knew)."""
    reseller = context.services.reseller
    answers = await asyncio.gather(
        *(reseller.usage(esim.iccid, priority=Priority.CUSTOMER) for esim in due),
        return_exceptions=True,
    )
    for esim, usage in zip(due, answers, strict=True):
        if isinstance(usage, Usage):
            _usage_cache(context)[esim.iccid] = (time.monotonic(), usage)
            await context.services.esims.remember_usage(esim, usage)
        elif isinstance(usage, PikaSimError):  # the list still shows what we knew
            log.info("usage of %s not refreshed: %s", esim.iccid, usage)
        else:
            raise usage


async def on_card(update: Update, context: BotContext, card: EsimCard) -> None:
    esim = await owned_esim(update, context, card.iccid)
    if esim is None:
        return
    language = context.language
    name = _plan_name(context, esim, await _order_names(context, [esim]))
    text = t(
        language,
        "esims.card",
        plan=html.escape(name),
        iccid=html.escape(esim.iccid),
        status=status_text(language, esim.status),
        left=left_text(language, esim),
    )
    rows = [
        *esim_keyboard(language, esim.iccid).inline_keyboard,
        *await cancel_rows(context, esim, language),  # never installed: cancel and refund
        _back_to_list(language),
    ]
    await show(update, text, InlineKeyboardMarkup(rows))


# -- usage --------------------------------------------------------------------------------


def _usage_cache(context: BotContext) -> dict[str, tuple[float, Usage]]:
    # Per application (not per module), so two bots in one process never share it.
    cache: dict[str, tuple[float, Usage]] = context.bot_data.setdefault("usage", {})
    if len(cache) > _CACHED_AT_MOST:
        cache.clear()
    return cache


def _fresh_usage(context: BotContext, iccid: str) -> tuple[float, Usage] | None:
    cached = _usage_cache(context).get(iccid)
    if cached is None or time.monotonic() - cached[0] >= _USAGE_CACHE_SECONDS:
        return None
    return cached


async def paced(update: Update, context: BotContext, kind: str) -> bool:
    """Answer a reseller-backed tap at once: "one moment" (False) if this user tapped one a
    moment ago or still waits for the last; otherwise start their cooldown (True)."""
    pacing = pacing_of(context)
    user_id = update.effective_user.id if update.effective_user else 0
    if pacing.busy(user_id, kind):
        await answer(update.callback_query, t(context.language, "pacing.wait"))
        return False
    pacing.tapped(user_id, kind)
    await answer(update.callback_query)
    return True


def run_paced(update: Update, context: BotContext, work: Any) -> None:
    user_id = update.effective_user.id if update.effective_user else 0
    pacing_of(context).run(context, update, user_id, work)


async def on_usage(update: Update, context: BotContext, usage: EsimUsage) -> None:
    esim = await owned_esim(update, context, usage.iccid, answer_now=False)
    if esim is None or not await paced(update, context, "usage"):
        return
    cached = _fresh_usage(context, esim.iccid)
    if cached is not None:
        await _show_usage(update, context, esim, *cached)
    else:
        run_paced(update, context, _fetch_usage(update, context, esim))


async def _fetch_usage(update: Update, context: BotContext, esim: Esim) -> None:
    try:
        usage = await context.services.reseller.usage(esim.iccid, priority=Priority.CUSTOMER)
    except PikaSimError as error:
        log.info("usage of %s not available: %s", esim.iccid, error)
        language = context.language
        await show(update, reseller_error(language, error), back_to_card(language, esim.iccid))
        return
    fetched_at = time.monotonic()
    _usage_cache(context)[esim.iccid] = (fetched_at, usage)
    await context.services.esims.remember_usage(esim, usage)
    await _show_usage(update, context, esim, fetched_at, usage)


async def _show_usage(
    update: Update, context: BotContext, esim: Esim, fetched_at: float, usage: Usage
) -> None:
    language = context.language
    name = _plan_name(context, esim, await _order_names(context, [esim]))
    age = int(time.monotonic() - fetched_at)
    updated = (
        t(language, "esims.usage.updated", seconds=age)
        if age
        else t(language, "esims.usage.updated_now")
    )
    refresh = InlineKeyboardButton(t(language, "esims.button.refresh"),
                                   callback_data=EsimUsage(esim.iccid).pack())  # fmt: skip
    back = back_to_card(language, esim.iccid)
    markup = InlineKeyboardMarkup([[refresh], *back.inline_keyboard])
    await show(update, f"{usage_text(language, name, esim, usage)}\n{updated}", markup)


# -- install guide ------------------------------------------------------------------------


async def on_guide(update: Update, context: BotContext, guide: InstallGuide) -> None:
    esim = await owned_esim(update, context, guide.iccid)
    if esim is None:
        return
    language = context.language
    ios_link, android_link = install_links(esim.activation_code)
    text = t(
        language,
        "esims.guide",
        iccid=html.escape(esim.iccid),
        smdp=html.escape(esim.smdp_address),
        matching_id=html.escape(esim.matching_id),
        ios_link=html.escape(ios_link),
        android_link=html.escape(android_link),
    )
    await show(update, text, back_to_card(language, esim.iccid))


def register(application: BotApp) -> None:
    application.add_handler(on_button(EsimCard, on_card))
    application.add_handler(on_button(EsimUsage, on_usage))
    application.add_handler(on_button(InstallGuide, on_guide))
