"""Does my phone support eSIM? Type a model ("iPhone 13", "Pixel 7", "Galaxy S21") any time,
or use /phone: yes, no or not sure from the curated list (bot/phones.py), the known caveats,
how to check any phone (dial *#06# and look for an EID), and a button to the plans.

A text that starts with a phone brand is a phone, not a destination, so this handler is
registered before the destination search takes every other text.
"""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import CommandHandler, MessageHandler, filters

from bot.i18n import t
from bot.phones import check_phone, looks_like_phone
from handlers.callbacks import Menu
from handlers.common import reply
from handlers.context import BotApp, BotContext

__all__ = ["answer_text", "on_phone", "on_phone_text", "register"]

_ECHO = 40  # characters of the typed model repeated in the answer


class _PhoneModel(filters.MessageFilter):
    """A private text message naming a phone model."""

    def filter(self, message: Message) -> bool:
        return bool(message.text) and looks_like_phone(message.text or "")


def answer_text(language: str, typed: str) -> str:
    found = check_phone(typed)
    model = html.escape(typed.strip()[:_ECHO])
    lines = [t(language, f"phones.{found.answer}", model=model)]
    lines += [t(language, f"phones.caveat.{caveat}") for caveat in found.caveats]
    lines.append(t(language, "phones.how_to_check"))
    return "\n\n".join(lines)


def _plans(language: str) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(
        t(language, "phones.button.plans"), callback_data=Menu("buy").pack()
    )
    return InlineKeyboardMarkup([[button]])


async def on_phone_text(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None or not message.text:
        return
    language = context.language
    await reply(update, answer_text(language, message.text), _plans(language))


async def on_phone(update: Update, context: BotContext) -> None:
    """/phone [model]: the answer, or how to ask and how to check."""
    language = context.language
    typed = " ".join(context.args or [])
    if typed:
        await reply(update, answer_text(language, typed), _plans(language))
        return
    text = f"{t(language, 'phones.prompt')}\n\n{t(language, 'phones.how_to_check')}"
    await reply(update, text, _plans(language))


def register(application: BotApp) -> None:
    """Before ``browse.register``: its text handler takes every text that is left."""
    application.add_handler(CommandHandler("phone", on_phone))
    application.add_handler(
        MessageHandler(
            filters.UpdateType.MESSAGE
            & filters.ChatType.PRIVATE
            & filters.TEXT
            & ~filters.COMMAND
            & _PhoneModel(),
            on_phone_text,
        )
    )
