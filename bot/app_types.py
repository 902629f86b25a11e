"""The bot's Application type, spelled once (handlers get handlers.context.BotContext)."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application

__all__ = ["BotApp"]

BotApp = Application[Any, Any, Any, Any, Any, Any]
