"""/start and the main menu, /help, /paysupport (Telegram requires it for Stars), /language."""

from __future__ import annotations

import html
import logging
from typing import Any

from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.countries import find_country
from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, t
from handlers import browse, esims
from handlers.callbacks import build, parse
from handlers.common import answer, language_of, remember_user, reply, services_of, show
from handlers.paging import page_arg

__all__ = [
    "COMMANDS",
    "main_menu",
    "on_help",
    "on_language",
    "on_language_chosen",
    "on_menu",
    "on_paysupport",
    "on_start",
    "register",
    "set_commands",
]

log = logging.getLogger(__name__)

COMMANDS = ("start", "help", "language", "paysupport")


def main_menu(language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(t(language, "menu.buy"), callback_data=build("m", "buy"))],
            [InlineKeyboardButton(t(language, "menu.mine"), callback_data=build("m", "mine"))],
            [
                InlineKeyboardButton(t(language, "menu.help"), callback_data=build("m", "help")),
                InlineKeyboardButton(
                    t(language, "menu.language"), callback_data=build("m", "lang")
                ),
            ],
        ]
    )


def _back_to_menu(language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(language, "browse.button.menu"), callback_data=build("m", "home")
                )
            ]
        ]
    )


def _welcome(update: Update, language: str) -> str:
    name = html.escape(update.effective_user.first_name if update.effective_user else "")
    return t(language, "start.welcome", name=name)


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start, and /start <country> from a deep link (t.me/bot?start=JP)."""
    await remember_user(update, context)
    language = language_of(update, context)
    rehearsal = services_of(context).settings.rehearsal  # must never pass for a shop
    if context.args:
        index = services_of(context).catalog.index
        match = find_country(" ".join(context.args), index.countries())
        if match.iso is not None:
            if rehearsal:
                await reply(update, t(language, "sandbox.banner"))
            await browse.show_country(update, context, match.iso)
            return
    text = _welcome(update, language)
    if rehearsal:
        text = f"{t(language, 'sandbox.banner')}\n\n{text}"
    await reply(update, text, main_menu(language))


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    language = language_of(update, context)
    await show(update, t(language, "help.text"), _back_to_menu(language))


async def on_paysupport(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Refunds and how to reach support: Telegram requires this command of Stars sellers."""
    language = language_of(update, context)
    admins = sorted(services_of(context).settings.admin_ids)
    # A tg://user link opens a chat with the first admin (who has used the bot, so it works).
    if admins:
        contact = t(language, "paysupport.contact_admin", url=f"tg://user?id={admins[0]}")
    else:
        contact = t(language, "paysupport.contact_none")
    await reply(update, t(language, "paysupport.text", contact=contact), _back_to_menu(language))


def _language_picker() -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(name, callback_data=build("l", code))
        for code, name in LANGUAGES.items()
    ]
    return InlineKeyboardMarkup([buttons])


async def on_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await show(update, t(language_of(update, context), "language.choose"), _language_picker())


async def on_language_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    callback = parse(query.data if query else None)
    user = update.effective_user
    if callback is None or user is None:
        await answer(query, t(language_of(update, context), "common.stale"), alert=True)
        return
    language = callback.arg(0)
    services = services_of(context)
    await remember_user(update, context)  # set_language updates an existing row
    await services.storage.users.set_language(user.id, language)
    services.languages[user.id] = language
    await answer(query, t(language, "language.changed"))
    await show(update, f"{t(language, 'language.changed')}\n\n{_welcome(update, language)}",
               main_menu(language))  # fmt: skip


async def on_menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    callback = parse(query.data if query else None)
    language = language_of(update, context)
    if callback is None:
        await answer(query, t(language, "common.stale"), alert=True)
        return
    await answer(query)
    action = callback.arg(0)
    if action == "home":
        await show(update, _welcome(update, language), main_menu(language))
    elif action == "buy":
        await browse.show_buy(update, context)
    elif action == "regions":
        await browse.show_regions(update, context)
    elif action == "global":
        await browse.show_global(update, context)
    elif action == "mine":
        await esims.show_mine(update, context, page_arg(callback.arg(1, "1")))
    elif action == "help":
        await on_help(update, context)
    else:  # "lang"
        await on_language(update, context)


async def set_commands(bot: Bot) -> None:
    """The command menu in each language (English is also the default for everyone else)."""
    for language in LANGUAGES:
        commands = [BotCommand(name, t(language, f"commands.{name}")) for name in COMMANDS]
        code = None if language == DEFAULT_LANGUAGE else language
        try:
            await bot.set_my_commands(commands, language_code=code)
        except TelegramError as error:  # cosmetic: never stop the bot from starting
            log.warning("could not set the %s command menu: %s", language, error)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(CommandHandler("start", on_start))
    application.add_handler(CommandHandler("help", on_help))
    application.add_handler(CommandHandler("paysupport", on_paysupport))
    application.add_handler(CommandHandler("language", on_language))
    application.add_handler(CallbackQueryHandler(on_menu, pattern=r"^m:"))
    application.add_handler(CallbackQueryHandler(on_language_chosen, pattern=r"^l:"))
