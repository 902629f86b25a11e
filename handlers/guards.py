"""Checks that run before every handler: eSIMs only in private chats, and no "no plans" while
the catalog is still loading.

In a group, an invoice or an eSIM's single-use activation code would reach every member, so
the bot answers there with one button that opens a private chat (a ``t.me`` deep link) and
does nothing else. A customer who writes before the first catalog sync has finished is held
until it has, then answered as usual; if that sync failed, they are told the shop opens soon.
"""

from __future__ import annotations

import logging
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.catalog import LOADING
from bot.i18n import t
from handlers.common import answer, reply
from handlers.context import BotApp, BotContext

__all__ = ["hold_until_catalog", "private_link", "private_only"]

log = logging.getLogger(__name__)

_HOLD_SECONDS = 120.0  # longest a held customer waits for the first sync
_HOLD_AT_MOST = 500  # updates held at once; beyond that, "opens shortly" straight away
_START_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,64}")


def private_link(bot_username: str, parameter: str = "menu") -> str:
    """The deep link that opens the bot in a private chat (``/start <parameter>``)."""
    return f"https://t.me/{bot_username}?start={parameter}"


# -- private chats only -------------------------------------------------------------------


def _command_for_us(update: Update, bot_username: str) -> tuple[str, list[str]] | None:
    """(command, arguments) of a command addressed to this bot, or None."""
    message = update.effective_message
    if message is None or not message.text or not message.text.startswith("/"):
        return None
    word, *args = message.text.split()
    command, _, target = word[1:].partition("@")
    if target and target.lower() != bot_username.lower():
        return None  # meant for another bot in the group
    return command.lower(), args


async def private_only(update: Update, context: BotContext) -> None:
    """Outside private chats: one "open a private chat" button, and nothing else happens."""
    chat = update.effective_chat
    if chat is None or chat.type == ChatType.PRIVATE:
        return
    message = update.effective_message
    if message is not None and message.successful_payment is not None:
        return  # money already paid (an invoice from before this check) is still handled
    username = context.bot.username or ""
    language = context.language
    if update.callback_query is not None:
        try:
            await update.callback_query.answer(url=private_link(username))
        except TelegramError as error:  # too old to answer: nothing more to do
            log.debug("callback query in chat %s not answered: %s", chat.id, error)
        raise ApplicationHandlerStop
    command = _command_for_us(update, username)
    if command is not None:
        name, args = command
        wanted = args[0] if name == "start" and args else "menu"
        parameter = wanted if _START_PARAMETER.fullmatch(wanted) else "menu"
        button = InlineKeyboardButton(
            t(language, "guard.open_private"), url=private_link(username, parameter)
        )
        await reply(update, t(language, "guard.private_only"), InlineKeyboardMarkup([[button]]))
    raise ApplicationHandlerStop


# -- hold customers until the catalog is loaded -------------------------------------------


def _needs_catalog(update: Update, context: BotContext) -> bool:
    """Customers' messages and taps; never payments, and never admins (who may need
    /balance while the reseller is down)."""
    if update.callback_query is None and update.message is None:
        return False
    if update.message is not None and update.message.successful_payment is not None:
        return False
    user = update.effective_user
    return user is not None and not context.services.is_admin(user.id)


async def hold_until_catalog(update: Update, context: BotContext) -> None:
    catalog = context.services.catalog
    if catalog.ready or not _needs_catalog(update, context):
        return
    held: dict[int, bool] = context.bot_data.setdefault("held_updates", {})
    released = held.pop(update.update_id, False)  # True: this update was held once already
    if catalog.state == LOADING and not released and len(held) < _HOLD_AT_MOST:
        held[update.update_id] = False
        context.application.create_task(
            _answer_when_loaded(update, context.application, held), update=update
        )
        raise ApplicationHandlerStop
    await _opening_soon(update, context)
    raise ApplicationHandlerStop


async def _answer_when_loaded(update: Update, application: BotApp, held: dict[int, bool]) -> None:
    """Wait (in a task: no update slot is held) for the first sync, then handle the update
    again: the check above lets it through, or answers that the shop opens shortly."""
    try:
        services = application.bot_data["services"]
        if not await services.catalog.wait_settled(_HOLD_SECONDS):
            log.warning("the first catalog sync is taking more than %.0f s", _HOLD_SECONDS)
    finally:
        held[update.update_id] = True
    await application.process_update(update)


async def _opening_soon(update: Update, context: BotContext) -> None:
    text = t(context.language, "guard.opening_soon")
    if update.callback_query is not None:
        await answer(update.callback_query, text, alert=True)
    else:
        await reply(update, text)
