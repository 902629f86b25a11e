"""/start and the main menu, /help, /paysupport (Telegram requires it for Stars), /language."""

from __future__ import annotations

import html
import logging

from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import CommandHandler

from bot.countries import find_country
from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, t
from handlers import browse, esims
from handlers.buttons import on_button
from handlers.callbacks import ChooseLanguage, Menu
from handlers.common import answer, remember_user, reply, show, stale
from handlers.context import BotApp, BotContext

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

COMMANDS = ("start", "help", "phone", "settings", "language", "paysupport")


def main_menu(language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(t(language, "menu.buy"), callback_data=Menu("buy").pack())],
            [InlineKeyboardButton(t(language, "menu.mine"), callback_data=Menu("mine").pack())],
            [
                InlineKeyboardButton(t(language, "menu.help"), callback_data=Menu("help").pack()),
                InlineKeyboardButton(
                    t(language, "menu.language"), callback_data=Menu("lang").pack()
                ),
            ],
        ]
    )


def _back_to_menu(language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(language, "browse.button.menu"), callback_data=Menu("home").pack()
                )
            ]
        ]
    )


def _welcome(update: Update, language: str) -> str:
    name = html.escape(update.effective_user.first_name if update.effective_user else "")
    return t(language, "start.welcome", name=name)


async def on_start(update: Update, context: BotContext) -> None:
    """/start, and /start <country> from a deep link (t.me/bot?start=JP)."""
    await remember_user(update, context)
    language = context.language
    rehearsal = context.services.settings.rehearsal  # must never pass for a shop
    if context.args:
        index = context.services.catalog.index
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


async def on_help(update: Update, context: BotContext) -> None:
    language = context.language
    await show(update, t(language, "help.text"), _back_to_menu(language))


async def on_paysupport(update: Update, context: BotContext) -> None:
    """Refunds and how to reach support: Telegram requires this command of Stars sellers."""
    language = context.language
    admins = sorted(context.services.settings.admin_ids)
    # A tg://user link opens a chat with the first admin (who has used the bot, so it works).
    if admins:
        contact = t(language, "paysupport.contact_admin", url=f"tg://user?id={admins[0]}")
    else:
        contact = t(language, "paysupport.contact_none")
    text = t(language, "paysupport.text", contact=contact)
    days = context.services.settings.refund_days
    if days > 0:  # customers can cancel an eSIM they never installed themselves
        text += "\n\n" + t(language, "paysupport.self_refund", days=days)
    await reply(update, text, _back_to_menu(language))


def _language_picker() -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(name, callback_data=ChooseLanguage(code).pack())
        for code, name in LANGUAGES.items()
    ]
    return InlineKeyboardMarkup([buttons])


async def on_language(update: Update, context: BotContext) -> None:
    await show(update, t(context.language, "language.choose"), _language_picker())


async def on_language_chosen(update: Update, context: BotContext, chosen: ChooseLanguage) -> None:
    query = update.callback_query
    user = update.effective_user
    if user is None:
        await stale(update, context)
        return
    language = chosen.language
    await remember_user(update, context)  # the language is kept on an existing row
    await context.services.customers.choose_language(user.id, language)
    await answer(query, t(language, "language.changed"))
    await show(update, f"{t(language, 'language.changed')}\n\n{_welcome(update, language)}",
               main_menu(language))  # fmt: skip


async def on_menu(update: Update, context: BotContext, menu: Menu) -> None:
    language = context.language
    await answer(update.callback_query)
    action = menu.target
    if action == "home":
        await show(update, _welcome(update, language), main_menu(language))
    elif action == "buy":
        await browse.show_buy(update, context)
    elif action == "regions":
        await browse.show_regions(update, context)
    elif action == "global":
        await browse.show_global(update, context)
    elif action == "mine":
        await esims.show_mine(update, context, menu.page)
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


def register(application: BotApp) -> None:
    application.add_handler(CommandHandler("start", on_start))
    application.add_handler(CommandHandler("help", on_help))
    application.add_handler(CommandHandler("paysupport", on_paysupport))
    application.add_handler(CommandHandler("language", on_language))
    application.add_handler(on_button(Menu, on_menu))
    application.add_handler(on_button(ChooseLanguage, on_language_chosen))
