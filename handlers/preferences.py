"""/settings for customers (reminders on or off, language), and who blocked the bot.

A user who blocked the bot is remembered when Telegram refuses a message (``bot.reach``) or
says so (a ``my_chat_member`` update); the moment they write to the bot again, or unblock it,
messages resume. The check on every update is a set look-up, no query.
"""

from __future__ import annotations

from telegram import ChatMember, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    ChatMemberHandler,
    CommandHandler,
)

from bot.i18n import LANGUAGES, t
from handlers.buttons import on_button
from handlers.callbacks import Menu, ReminderSetting
from handlers.common import answer, remember_user, show, stale
from handlers.context import BotApp, BotContext

__all__ = ["note_seen", "on_settings", "register"]


async def on_settings(update: Update, context: BotContext) -> None:
    user = update.effective_user
    if user is None:
        return
    await remember_user(update, context)
    row = await context.services.storage.users.get(user.id)
    await _show(update, context, row is None or bool(row.reminders))


async def _show(update: Update, context: BotContext, reminders: bool) -> None:
    language = context.language
    text = t(
        language,
        "settings.text",
        reminders=t(language, "settings.on" if reminders else "settings.off"),
        language=LANGUAGES[language],
    )
    toggle = "off" if reminders else "on"
    rows = [
        [
            InlineKeyboardButton(
                t(language, f"settings.button.reminders_{toggle}"),
                callback_data=ReminderSetting("rem", toggle).pack(),
            )
        ],
        [
            InlineKeyboardButton(
                t(language, "settings.button.language"), callback_data=Menu("lang").pack()
            )
        ],
    ]
    await show(update, text, InlineKeyboardMarkup(rows))


async def on_settings_button(update: Update, context: BotContext, setting: ReminderSetting) -> None:
    query = update.callback_query
    user = update.effective_user
    language = context.language
    if user is None:
        await stale(update, context)
        return
    on = setting.value == "on"
    await remember_user(update, context)  # set_reminders updates an existing row
    await context.services.customers.set_reminders(user.id, on)
    await answer(query, t(language, "settings.saved_on" if on else "settings.saved_off"))
    await _show(update, context, on)


async def note_seen(update: Update, context: BotContext) -> None:
    """Someone who writes or taps has not blocked us (a set look-up; a write only if marked)."""
    user = update.effective_user
    message = update.message
    # Only what the user did: Telegram's own service messages (a refund notice) are not that.
    acted = update.callback_query is not None or (
        message is not None and message.refunded_payment is None
    )
    if user is not None and acted:
        reach = context.services.reach
        if reach.blocked(user.id):
            await reach.back(user.id)


async def _membership(update: Update, context: BotContext) -> None:
    """Telegram tells the bot when a user blocks it (kicked) or unblocks it (member)."""
    change = update.my_chat_member
    if change is None or change.chat.type != "private":
        return
    reach = context.services.reach
    if change.new_chat_member.status == ChatMember.BANNED:
        await reach.forbidden(change.from_user.id)
    elif change.new_chat_member.status == ChatMember.MEMBER:
        await reach.back(change.from_user.id)


def register(application: BotApp) -> None:
    application.add_handler(ChatMemberHandler(_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_handler(CommandHandler("settings", on_settings))
    application.add_handler(on_button(ReminderSetting, on_settings_button))
