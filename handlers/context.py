"""The context every handler receives: the process's services and the user's language, typed.

Installed with ``ContextTypes(context=BotContext)`` (see python-telegram-bot's
``contexttypesbot.py``), so a handler writes ``context.services`` and ``context.language``
instead of digging in ``bot_data``.
"""

from __future__ import annotations

from typing import Any

from telegram import Update, User
from telegram.ext import CallbackContext, ExtBot

from bot.app_types import BotApp
from bot.i18n import pick_language
from bot.services import Services

__all__ = ["BotApp", "BotContext"]


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    _user: User | None = None

    @classmethod
    def from_update(cls, update: object, application: BotApp) -> BotContext:
        # Keep the user, so that ``language`` can be read (and re-read after /language).
        context = super().from_update(update, application)
        if isinstance(update, Update):
            context._user = update.effective_user
        return context

    @property
    def services(self) -> Services:
        services = self.bot_data["services"]
        assert isinstance(services, Services)
        return services

    @property
    def language(self) -> str:
        """The user's chosen language, else their Telegram language, else English."""
        user = self._user
        if user is None:
            return "en"
        return pick_language(self.services.languages.get(user.id), user.language_code)
