"""Reseller webhooks arrive as our own update type, so they run like updates and reach the
error handler."""

from __future__ import annotations

from telegram.ext import Application, ContextTypes, TypeHandler

from bot.events import ResellerEvent
from handlers.common import services_of

__all__ = ["on_reseller_event", "register"]


async def on_reseller_event(update: ResellerEvent, context: ContextTypes.DEFAULT_TYPE) -> None:
    await services_of(context).orders.handle_webhook(update.event_id)


def register(application: Application) -> None:
    application.add_handler(TypeHandler(ResellerEvent, on_reseller_event))
