"""Top-ups of an eSIM: the reseller's options for it, and buying one like a plan.

The options are asked for only when the customer taps Top up, in the customer's own task
(see handlers.pacing), and kept per eSIM: what the customer saw is what they buy, if they buy
soon enough.
"""

from __future__ import annotations

import html
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.i18n import t
from bot.pikasim import PikaSimError, Priority, TopupOption
from handlers import checkout
from handlers.buttons import on_button
from handlers.callbacks import BuyTopup, TopupOptions
from handlers.common import answer, show, stale
from handlers.context import BotApp, BotContext
from handlers.esims import (
    FINAL,
    back_to_card,
    owned_esim,
    paced,
    reseller_error,
    run_paced,
)
from handlers.topup_cache import known_options, remember_options
from handlers.units import days_text, shown_price, volume_text
from storage import Esim, OrderKind

__all__ = ["on_topup", "on_topup_buy", "register"]

log = logging.getLogger(__name__)


async def _topup_options(
    update: Update, context: BotContext, esim: Esim
) -> list[TopupOption] | None:
    """Ask the reseller (in the customer's task); on failure say so and return None."""
    try:
        options = await context.services.reseller.topup_options(
            esim.iccid, priority=Priority.CUSTOMER
        )
    except PikaSimError as error:
        log.info("top-up options of %s not available: %s", esim.iccid, error)
        language = context.language
        await show(update, reseller_error(language, error), back_to_card(language, esim.iccid))
        return None
    remember_options(context, esim.iccid, options)
    return options


def _cannot_top_up(context: BotContext, esim: Esim) -> str | None:
    """Why this eSIM cannot take a top-up, from what we already know (no reseller call)."""
    if (esim.status or "").upper() in FINAL:
        return "esims.topup.final"
    plan = context.services.catalog.index.by_code.get(esim.package_code)
    if plan is not None and not plan.supports_topup:
        return "esims.topup.not_supported"
    return None


async def on_topup(update: Update, context: BotContext, tapped: TopupOptions) -> None:
    esim = await owned_esim(update, context, tapped.iccid, answer_now=False)
    if esim is None:
        return
    language = context.language
    refusal = _cannot_top_up(context, esim)
    if refusal is not None:
        await answer(update.callback_query)
        await show(update, t(language, refusal), back_to_card(language, esim.iccid))
        return
    if not await paced(update, context, "topup"):
        return
    options = known_options(context, esim.iccid)
    if options is not None:
        await _show_options(update, context, esim, options)
    else:
        run_paced(update, context, _fetch_options(update, context, esim))


async def _fetch_options(update: Update, context: BotContext, esim: Esim) -> None:
    options = await _topup_options(update, context, esim)
    if options is not None:
        await _show_options(update, context, esim, options)


async def _show_options(
    update: Update, context: BotContext, esim: Esim, options: list[TopupOption]
) -> None:
    language = context.language
    back = back_to_card(language, esim.iccid)
    rows = [
        [
            InlineKeyboardButton(
                t(
                    language,
                    "esims.topup.option",
                    volume=volume_text(language, option.volume),
                    days=days_text(language, option.duration_days or 0),
                    price=shown_price(context, language, option.price_cents),
                ),
                callback_data=BuyTopup(esim.iccid, option.package_code).pack(),
            )
        ]
        for option in options
        if BuyTopup(esim.iccid, option.package_code).fits()
    ]
    if not rows:
        await show(update, t(language, "esims.topup.none"), back)
        return
    text = t(language, "esims.topup.title", iccid=html.escape(esim.iccid))
    await show(update, text, InlineKeyboardMarkup([*rows, *back.inline_keyboard]))


async def on_topup_buy(update: Update, context: BotContext, buy: BuyTopup) -> None:
    esim = await owned_esim(update, context, buy.iccid, answer_now=False)
    if esim is None:
        return
    code = buy.code
    if _cannot_top_up(context, esim) is not None:
        await stale(update, context)
        return
    options = known_options(context, esim.iccid)
    if options is None:  # not asked lately: ask in the customer's task
        if await paced(update, context, "topup"):
            run_paced(update, context, _fetch_then_offer(update, context, esim, code))
        return
    option = next((o for o in options if o.package_code == code), None)
    if option is None:  # no longer offered for this eSIM
        await stale(update, context)
        return
    await answer(update.callback_query)
    await _offer_topup(update, context, esim, option)


async def _fetch_then_offer(update: Update, context: BotContext, esim: Esim, code: str) -> None:
    options = await _topup_options(update, context, esim)
    if options is None:
        return
    option = next((o for o in options if o.package_code == code), None)
    if option is None:
        language = context.language
        await show(update, t(language, "common.stale"), back_to_card(language, esim.iccid))
        return
    await _offer_topup(update, context, esim, option)


async def _offer_topup(
    update: Update, context: BotContext, esim: Esim, option: TopupOption
) -> None:
    await checkout.offer(
        update,
        context,
        package_code=option.package_code,
        package_name=option.name or option.package_code,
        cost_cents=option.price_cents,
        volume_bytes=option.volume,
        duration_days=option.duration_days or 0,
        kind=OrderKind.TOPUP,
        target_iccid=esim.iccid,
    )


def register(application: BotApp) -> None:
    application.add_handler(on_button(TopupOptions, on_topup))
    application.add_handler(on_button(BuyTopup, on_topup_buy))
