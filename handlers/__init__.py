"""What the bot says and does in Telegram, one module per area."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import (
    ApplicationHandlerStop,
    MessageHandler,
    PreCheckoutQueryHandler,
    TypeHandler,
    filters,
)

from bot.i18n import t
from handlers import (
    admin,
    browse,
    checkout,
    errors,
    esims,
    fallback,
    guards,
    menu,
    phones,
    preferences,
    reseller,
    self_refund,
    topups,
)
from handlers.buttons import on_button
from handlers.callbacks import CancelUnpaid, ConfirmOrder
from handlers.common import answer, reply
from handlers.context import BotApp, BotContext

__all__ = ["on_startup", "register_handlers"]

log = logging.getLogger(__name__)


BEFORE_GROUP = -4


async def before_every_update(update: Update, context: BotContext) -> None:
    """A user who acts has not blocked us; outside private chats only a link to one; customers
    wait for the first catalog sync. Each check may stop the update (ApplicationHandlerStop)."""
    await preferences.note_seen(update, context)
    await guards.private_only(update, context)
    await guards.hold_until_catalog(update, context)


async def gate(update: Update, context: BotContext) -> None:
    """ALLOWED_USER_IDS: a private deployment answers strangers politely and does nothing."""
    settings = context.services.settings
    user = update.effective_user
    if not settings.allowed_user_ids or user is None:
        return
    if user.id in settings.allowed_user_ids or user.id in settings.admin_ids:
        return
    if update.pre_checkout_query is not None:
        await update.pre_checkout_query.answer(
            ok=False, error_message=t(context.language, "common.not_allowed")
        )
    elif update.callback_query is not None:
        await answer(update.callback_query, t(context.language, "common.not_allowed"))
    elif update.effective_message is not None:
        await reply(update, t(context.language, "common.not_allowed"))
    raise ApplicationHandlerStop


def register_handlers(application: BotApp) -> None:
    # Before everything: private chats only, and customers held while the catalog loads.
    # One pre-handler for every update, before the ALLOWED_USER_IDS gate (-1): each handler
    # group costs a dispatch on every update, so these checks share one.
    application.add_handler(TypeHandler(Update, before_every_update), group=BEFORE_GROUP)
    if application.bot_data["services"].settings.allowed_user_ids:
        # Only private deployments pay for a check on every update.
        application.add_handler(TypeHandler(Update, gate), group=-1)
    # Payments first, at top level: never inside a per-chat conversation.
    application.add_handler(PreCheckoutQueryHandler(checkout.on_pre_checkout))
    application.add_handler(
        MessageHandler(filters.SUCCESSFUL_PAYMENT, checkout.on_successful_payment)
    )
    application.add_handler(on_button(ConfirmOrder, checkout.on_confirm))
    application.add_handler(on_button(CancelUnpaid, checkout.on_cancel_unpaid))
    reseller.register(application)
    admin.register(application)
    menu.register(application)
    preferences.register(application)
    phones.register(application)  # before browse, whose text handler takes every other text
    browse.register(application)
    esims.register(application)
    self_refund.register(application)
    topups.register(application)
    # Last: unknown commands, unreadable messages and unparsable buttons (see fallback.py).
    fallback.register(application)
    application.add_error_handler(errors.on_error)


async def on_startup(application: BotApp) -> None:
    """What post_init would do; called by bot.app, which runs the application itself."""
    services = application.bot_data["services"]
    await services.catalog.load()
    await menu.set_commands(application.bot)
    await admin.set_commands(application)
