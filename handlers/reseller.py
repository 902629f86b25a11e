"""Reseller webhooks arrive as our own update type, so they run like updates and reach the
error handler."""

from __future__ import annotations

from telegram.ext import Application, TypeHandler

from bot.events import ResellerEvent
from handlers.context import BotContext

__all__ = ["on_reseller_event", "register"]


async def on_reseller_event(update: ResellerEvent, context: BotContext) -> None:
    await context.services.orders.handle_webhook(update.event_id)


def register(application: Application) -> None:
    application.add_handler(TypeHandler(ResellerEvent, on_reseller_event))
