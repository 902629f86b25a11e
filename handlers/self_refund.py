"""Cancel and refund, from My eSIMs: an eSIM its owner never installed, bought within
REFUND_DAYS. The card's button → what will happen → confirm → reseller cancel → Stars refund
→ message. The money is ``services.orders`` business (the same cancel-first refund as /refund);
this module only asks and tells.

Every button names an ICCID and anyone can send any callback data, so every step asks the
facade, which checks ownership: someone else's eSIM is simply "expired". The button is shown
only where we do not already know the answer would be no (installed, too old, a plan marked
non-refundable, a refund under way); the reseller has the final word on the rest.
"""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.i18n import t
from bot.orders import SelfRefund
from handlers.buttons import on_button
from handlers.callbacks import EsimCard, SelfRefundConfirm, SelfRefundPreview
from handlers.common import answer, show, stale
from handlers.context import BotApp, BotContext
from handlers.pacing import pacing_of
from handlers.units import price_text
from storage import Esim

__all__ = ["cancel_rows", "register"]

_KIND = "refund"  # the pacing kind: one cancel at a time per customer


def _back(language: str, iccid: str) -> list[InlineKeyboardButton]:
    label = t(language, "esims.button.card")
    return [InlineKeyboardButton(label, callback_data=EsimCard(iccid).pack())]


async def cancel_rows(
    context: BotContext, esim: Esim, language: str
) -> list[list[InlineKeyboardButton]]:
    """The card's "Cancel and refund" row, only where it would be allowed (no reseller call)."""
    check = await context.services.orders.customer_refund_check(esim.iccid, esim.user_id)
    if check.result != "allowed":
        return []
    label = t(language, "selfrefund.button")
    return [[InlineKeyboardButton(label, callback_data=SelfRefundPreview(esim.iccid).pack())]]


async def _checked(update: Update, context: BotContext, iccid: str) -> SelfRefund | None:
    """The facade's answer for the tapped eSIM; None (tap answered "expired") when the eSIM
    is not this user's."""
    user = update.effective_user
    if user is not None:
        check = await context.services.orders.customer_refund_check(iccid, user.id)
        if check.result != "not_yours":
            return check
    await stale(update, context)
    return None


async def on_cancel_info(update: Update, context: BotContext, tapped: SelfRefundPreview) -> None:
    iccid = tapped.iccid
    check = await _checked(update, context, iccid)
    if check is None:
        return
    await answer(update.callback_query)
    language = context.language
    if check.result != "allowed" or check.order is None:
        await _tell(update, context, iccid, check)
        return
    text = t(
        language,
        "selfrefund.confirm",
        plan=html.escape(check.order.package_name),
        iccid=html.escape(iccid),
        price=price_text(language, check.stars),
    )
    confirm = InlineKeyboardButton(
        t(language, "selfrefund.button.confirm"), callback_data=SelfRefundConfirm(iccid).pack()
    )
    await show(update, text, InlineKeyboardMarkup([[confirm], _back(language, iccid)]))


async def on_cancel_confirm(update: Update, context: BotContext, tapped: SelfRefundConfirm) -> None:
    iccid = tapped.iccid
    check = await _checked(update, context, iccid)
    if check is None:
        return
    language = context.language
    if check.result != "allowed":
        await answer(update.callback_query)
        await _tell(update, context, iccid, check)
        return
    pacing = pacing_of(context)
    user_id = update.effective_user.id if update.effective_user else 0
    if pacing.busy(user_id, _KIND):
        await answer(update.callback_query, t(language, "pacing.wait"))
        return
    pacing.tapped(user_id, _KIND)
    await answer(update.callback_query)
    await show(update, t(language, "selfrefund.working"))
    # The reseller cancel runs in the customer's own task, never in an update slot.
    pacing.run(context, update, user_id, _refund(update, context, iccid, user_id))


async def _refund(update: Update, context: BotContext, iccid: str, user_id: int) -> None:
    result = await context.services.orders.refund_by_customer(iccid, user_id)
    await _tell(update, context, iccid, result)


async def _tell(update: Update, context: BotContext, iccid: str, result: SelfRefund) -> None:
    language = context.language
    days = context.services.settings.refund_days
    key = f"selfrefund.{result.result}"
    text = t(language, key, price=price_text(language, result.stars), days=days)
    if result.result == "refunded":
        await show(update, text)
        return
    await show(update, text, InlineKeyboardMarkup([_back(language, iccid)]))


def register(application: BotApp) -> None:
    application.add_handler(on_button(SelfRefundPreview, on_cancel_info))
    application.add_handler(on_button(SelfRefundConfirm, on_cancel_confirm))
