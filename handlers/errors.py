"""The one error handler: log with the traceback, apologise politely, alert on the unexpected."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError, TimedOut

from bot.i18n import t
from handlers.common import reply
from handlers.context import BotContext

__all__ = ["on_error"]

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    error = context.error
    if isinstance(error, (Forbidden, NetworkError, TimedOut)):
        log.warning("Telegram problem while handling an update: %s", error)
        return
    log.error("unhandled error while handling %s", type(update).__name__, exc_info=error)
    services = context.services
    await services.alerts.send(
        f"error-{type(error).__name__}", f"Unhandled {type(error).__name__}: {error}"
    )
    if isinstance(update, Update) and update.effective_message is not None:
        try:
            await reply(update, t(context.language, "common.error"))
        except Exception as reply_error:  # already failing: never raise from the handler
            log.warning("could not apologise to the user: %s", reply_error)
