"""Small helpers every handler module shares."""

from __future__ import annotations

import html
import logging
import re

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from bot.i18n import t
from handlers.context import BotContext

__all__ = ["answer", "remember_user", "reply", "show", "stale"]

log = logging.getLogger(__name__)


async def remember_user(update: Update, context: BotContext) -> None:
    """Keep the user's profile; written only when it changed, or once a day."""
    user = update.effective_user
    if user is not None:
        await context.services.customers.seen(
            user.id, user.first_name, user.username, user.language_code
        )


async def reply(
    update: Update,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> Message | None:
    """Answer in the chat the update came from."""
    message = update.effective_message
    if message is None:
        return None
    return await message.reply_text(text, reply_markup=markup)


async def show(
    update: Update,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Edit the message a button was tapped on (or reply, for commands and text)."""
    query = update.callback_query
    if query is None or query.message is None or not isinstance(query.message, Message):
        await reply(update, text, markup)
        return
    if query.message.photo:  # a photo's caption cannot become a text page: send a new one
        await query.message.reply_text(text, reply_markup=markup)
        return
    if _unchanged(query.message, text, markup):  # a repeated tap: no edit that changes nothing
        return
    try:
        await query.message.edit_text(text, reply_markup=markup)
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            raise


_TAG = re.compile(r"<[^>]*>")


def _unchanged(message: Message, text: str, markup: InlineKeyboardMarkup | None) -> bool:
    """Whether the message already shows this text (as the user reads it) and keyboard."""
    plain = html.unescape(_TAG.sub("", text)).strip()
    return (message.text or "").strip() == plain and _rows(message.reply_markup) == _rows(markup)


def _rows(markup: InlineKeyboardMarkup | None) -> tuple[tuple[object, ...], ...]:
    return tuple(tuple(row) for row in markup.inline_keyboard) if markup is not None else ()


async def answer(query: CallbackQuery | None, text: str | None = None, alert: bool = False) -> None:
    """Every callback query is answered, once, even when the rest fails."""
    if query is None:
        return
    try:
        await query.answer(text, show_alert=alert)
    except BadRequest as error:  # too old to answer: nothing more to do
        log.debug("callback query not answered: %s", error)


async def stale(update: Update, context: BotContext) -> None:
    """The one answer to a button that is old, forged or someone else's: "this has expired"."""
    await answer(update.callback_query, t(context.language, "common.stale"), alert=True)
