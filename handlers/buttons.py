"""Handlers registered with a kind of button: they receive its typed data, or never run.

A tap whose data does not unpack into the kind (an old or forged button) gets the one stale
answer; so does data that matches no kind at all (see handlers.fallback).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram import Update
from telegram.ext import CallbackQueryHandler

from handlers.callbacks import CallbackData
from handlers.common import stale
from handlers.context import BotContext

__all__ = ["on_button"]

Kind = TypeVar("Kind", bound=CallbackData)


def on_button(
    kind: type[Kind], handler: Callable[[Update, BotContext, Kind], Awaitable[None]]
) -> CallbackQueryHandler[BotContext, None]:
    """A CallbackQueryHandler for ``kind``'s prefix that unpacks the data for ``handler``."""

    async def handle(update: Update, context: BotContext) -> None:
        query = update.callback_query
        data = kind.unpack(query.data if query is not None else None)
        if data is None:
            await stale(update, context)
            return
        await handler(update, context, data)

    return CallbackQueryHandler(handle, pattern=rf"^{re.escape(kind.prefix)}(?::|$)")
