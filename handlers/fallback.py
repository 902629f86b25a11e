"""The last word: whatever no other handler took gets a polite answer, never silence.

Registered last. Unknown commands are answered from a group of their own that runs after
every other handler, and skip any command some CommandHandler knows, so the order in which
modules register does not matter. Buttons whose data no longer parses are answered "expired".
"""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.i18n import t
from handlers.callbacks import unpack
from handlers.common import reply, stale
from handlers.context import BotApp, BotContext

__all__ = ["FALLBACK_GROUP", "on_unknown_command", "register"]

FALLBACK_GROUP = 1

# Messages the bot cannot read. Not filters.ATTACHMENT: that also matches successful_payment.
_MEDIA = (
    filters.PHOTO
    | filters.VIDEO
    | filters.VIDEO_NOTE
    | filters.ANIMATION
    | filters.AUDIO
    | filters.VOICE
    | filters.Document.ALL
    | filters.Sticker.ALL
    | filters.LOCATION
    | filters.CONTACT
    | filters.POLL
    | filters.Dice.ALL
)


async def on_unknown_command(update: Update, context: BotContext) -> None:
    """An unknown command (also used by the admin module for non-admins)."""
    await reply(update, t(context.language, "fallback.unknown_command"))


def _unknown_command_for_us(update: Update, context: BotContext) -> bool:
    """An unknown command meant for this bot: in a private chat, or addressed to us by name
    in a group (where "/help" alone may well be for another bot)."""
    message = update.effective_message
    word = (message.text or "").split(maxsplit=1)[0] if message and message.text else ""
    command, _, target = word.removeprefix("/").partition("@")
    if command.lower() in _known_commands(context.application):
        return False  # a handler in an earlier group answered it
    if target:
        return target.lower() == (context.bot.username or "").lower()
    chat = update.effective_chat
    return chat is not None and chat.type == ChatType.PRIVATE


def _known_commands(application: BotApp) -> set[str]:
    return {
        command
        for handlers in application.handlers.values()
        for handler in handlers
        if isinstance(handler, CommandHandler)
        for command in handler.commands
    }


async def _on_command(update: Update, context: BotContext) -> None:
    if _unknown_command_for_us(update, context):
        await on_unknown_command(update, context)


async def _on_media(update: Update, context: BotContext) -> None:
    await reply(update, t(context.language, "fallback.media"))


def _unparsable(data: object) -> bool:
    return not isinstance(data, str) or unpack(data) is None


def register(application: BotApp) -> None:
    # Data that parses belongs to some module's handler; anything else is stale or forged.
    application.add_handler(CallbackQueryHandler(stale, pattern=_unparsable))
    application.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & filters.COMMAND, _on_command),
        group=FALLBACK_GROUP,
    )
    application.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & _MEDIA, _on_media),
        group=FALLBACK_GROUP,
    )
