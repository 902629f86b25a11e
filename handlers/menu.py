"""/start and the main menu."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CommandHandler, ContextTypes

from bot.i18n import t
from handlers.callbacks import build
from handlers.common import language_of, remember_user, reply

__all__ = ["main_menu", "on_start", "register"]


def main_menu(language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(t(language, "menu.buy"), callback_data=build("m", "buy"))],
            [
                InlineKeyboardButton(t(language, "menu.mine"), callback_data=build("m", "mine")),
                InlineKeyboardButton(t(language, "menu.help"), callback_data=build("m", "help")),
            ],
        ]
    )


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await remember_user(update, context)
    language = language_of(update, context)
    name = html.escape(update.effective_user.first_name if update.effective_user else "")
    await reply(update, t(language, "start.welcome", name=name), main_menu(language))


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("start", on_start))
