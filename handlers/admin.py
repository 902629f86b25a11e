"""The operator's console: admin commands and buttons (ADMIN_IDS only, every use audited).

Each area lives in its own module (admin_wallet, admin_orders, admin_refund, admin_stats,
admin_webhook); this one registers them, dispatches the ``a:`` buttons and shows the admins
their commands in Telegram's menu.
"""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, t
from handlers import (
    admin_audit,
    admin_broadcast,
    admin_orders,
    admin_refund,
    admin_stats,
    admin_user,
    admin_wallet,
    admin_webhook,
)
from handlers.admin_common import ButtonHandler, Handler, admin_command, audit, is_admin_update
from handlers.callbacks import (
    AdminBroadcast,
    AdminCheckAgain,
    AdminOrdersPage,
    AdminRefund,
    AdminTransactionsPage,
    AdminUserPage,
    AdminWebhookTest,
    CallbackData,
    unpack,
)
from handlers.common import answer, reply, stale
from handlers.context import BotApp, BotContext

__all__ = ["COMMANDS", "on_admin", "on_button", "register", "set_commands"]

log = logging.getLogger(__name__)


@admin_command("admin")
async def on_admin(update: Update, context: BotContext) -> None:
    await reply(update, t(context.language, "admin.help"))


# command -> handler; the order is the order of Telegram's command menu
COMMANDS: dict[str, Handler] = {
    "admin": on_admin,
    "balance": admin_wallet.on_balance,
    "orders": admin_orders.on_orders,
    "order": admin_orders.on_order,
    "esim": admin_orders.on_esim,
    "user": admin_user.on_user,
    "refund": admin_refund.on_refund,
    "stats": admin_stats.on_stats,
    "audit": admin_audit.on_audit,
    "transactions": admin_wallet.on_transactions,
    "deposit": admin_wallet.on_deposit,
    "webhook": admin_webhook.on_webhook,
    "broadcast": admin_broadcast.on_broadcast,
}

# every kind of admin button -> its handler (which receives the typed data)
BUTTONS: dict[type[CallbackData], ButtonHandler] = {
    AdminRefund: admin_refund.on_refund_button,
    AdminCheckAgain: admin_orders.on_check_again,
    AdminOrdersPage: admin_orders.on_orders_page,
    AdminTransactionsPage: admin_wallet.on_transactions_page,
    AdminUserPage: admin_user.on_user_page,
    AdminWebhookTest: admin_webhook.on_webhook_test,
    AdminBroadcast: admin_broadcast.on_broadcast_button,
}


async def on_button(update: Update, context: BotContext) -> None:
    """Every admin button: ADMIN_IDS checked again before anything else happens."""
    query = update.callback_query
    data = unpack(query.data if query else None)
    handler = BUTTONS.get(type(data)) if data is not None else None
    if data is None or handler is None or not is_admin_update(update, context):
        user = update.effective_user
        log.info("admin button refused for %s: %r", user.id if user else None, query and query.data)
        await stale(update, context)
        return
    await answer(query)
    target = getattr(data, "reference", None)
    await audit(update, context, f"button.{_audit_name(data)}", target, data.pack())
    await handler(update, context, data)


def _audit_name(data: CallbackData) -> str:
    """``refund.cancel``, ``orders``, … as the audit log names a button."""
    if isinstance(data, AdminRefund):
        return f"refund.{data.action}"
    return type(data).__name__.removeprefix("Admin").lower()


def register(application: BotApp) -> None:
    for name, handler in COMMANDS.items():
        application.add_handler(CommandHandler(name, handler))
    application.add_handler(CallbackQueryHandler(on_button, pattern=r"^a:"))


async def set_commands(application: BotApp) -> None:
    """Show each admin the console commands next to everyone's, in every language (a chat
    scope replaces the default lists in that chat, so the customer commands are repeated).
    Runs after the customer menu is set, whose lists it reads back."""
    settings = application.bot_data["services"].settings
    if not settings.admin_ids:
        return
    bot = application.bot
    for language in LANGUAGES:
        code = None if language == DEFAULT_LANGUAGE else language
        commands = await _with_console(bot, language, code)
        for admin_id in sorted(settings.admin_ids):
            try:
                await bot.set_my_commands(
                    commands, scope=BotCommandScopeChat(admin_id), language_code=code
                )
            except TelegramError as error:  # e.g. an admin who never opened the bot's chat
                log.warning("could not set the admin commands for %s: %s", admin_id, error)


async def _with_console(bot: Bot, language: str, code: str | None) -> list[BotCommand]:
    try:
        common = list(await bot.get_my_commands(language_code=code))
    except TelegramError as error:
        log.warning("could not read the bot's %s commands: %s", language, error)
        common = []
    names = {command.command for command in common}
    console = [
        BotCommand(name, t(language, f"admin.command.{name}"))
        for name in COMMANDS
        if name not in names
    ]
    return common + console
