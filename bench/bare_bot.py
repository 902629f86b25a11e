"""The baseline: a bare python-telegram-bot bot that answers everything with a fixed keyboard.

The bench passes the exact text and keyboard our bot answered with (BARE_TEXT, BARE_MARKUP), so
both bots send the same bytes and the difference is our own work per update.
"""

from __future__ import annotations

import json
import os

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

TEXT = os.environ.get("BARE_TEXT", "Plans")
KEYBOARD = InlineKeyboardMarkup.de_json(json.loads(os.environ["BARE_MARKUP"]), None)


async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer()
    if update.effective_message is not None:
        await update.effective_message.reply_text(
            TEXT, reply_markup=KEYBOARD, parse_mode=ParseMode.HTML
        )


def main() -> None:
    application = (
        Application.builder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(os.environ["TELEGRAM_API_URL"])
        .build()
    )
    application.add_handler(MessageHandler(filters.ALL, answer))
    application.add_handler(CallbackQueryHandler(answer))
    application.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
