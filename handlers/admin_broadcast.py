"""/broadcast <text>: a message to every user, for admins. Preview with the number of
recipients → Send → sent in the background by ``bot.broadcasts``, progress shown in place.
"""

from __future__ import annotations

import html
import logging
import secrets

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.broadcasts import progress_text
from bot.i18n import t
from handlers.admin_common import admin_command
from handlers.callbacks import AdminBroadcast
from handlers.common import reply, show
from handlers.context import BotContext

__all__ = ["on_broadcast", "on_broadcast_button"]

log = logging.getLogger(__name__)

MAX_TEXT = 4000  # Telegram's limit is 4096 characters
_DRAFTS_KEPT = 20


@admin_command("broadcast")
async def on_broadcast(update: Update, context: BotContext) -> None:
    language = context.language
    message = update.effective_message
    parts = (message.text or "").split(maxsplit=1) if message is not None else []
    text = parts[1].strip() if len(parts) > 1 else ""
    if not text or len(text) > MAX_TEXT:
        await reply(update, t(language, "broadcast.usage", limit=MAX_TEXT))
        return
    count = len(await context.services.broadcasts.recipients())
    drafts: dict[str, str] = context.bot_data.setdefault("broadcast_drafts", {})
    if len(drafts) >= _DRAFTS_KEPT:
        drafts.clear()
    draft = secrets.token_hex(6)
    drafts[draft] = text
    send = t(language, "broadcast.button.send", count=count)
    cancel = t(language, "broadcast.button.cancel")
    buttons = [
        [InlineKeyboardButton(send, callback_data=AdminBroadcast("send", draft).pack())],
        [InlineKeyboardButton(cancel, callback_data=AdminBroadcast("drop", draft).pack())],
    ]
    preview = t(language, "broadcast.preview", count=count, text=html.escape(text))
    await reply(update, preview, InlineKeyboardMarkup(buttons))


async def on_broadcast_button(update: Update, context: BotContext, tapped: AdminBroadcast) -> None:
    language = context.language
    drafts: dict[str, str] = context.bot_data.setdefault("broadcast_drafts", {})
    text = drafts.pop(tapped.draft, None)  # one tap sends it once
    if text is None:
        await show(update, t(language, "broadcast.gone"))
        return
    if tapped.action == "drop":
        await show(update, t(language, "broadcast.cancelled"))
        return
    broadcasts = context.services.broadcasts
    if broadcasts.busy:  # two at once would take all of the pace
        drafts[tapped.draft] = text  # the preview's Send still works once it is done
        await reply(update, t(language, "broadcast.busy"))
        return
    total = len(await broadcasts.recipients())
    await show(update, progress_text(language, total=total, sent=0, blocked=0, failed=0))
    query = update.callback_query
    message = query.message if query is not None else None
    user = update.effective_user
    await broadcasts.start(
        admin_id=user.id if user is not None else 0,
        chat_id=message.chat.id if message is not None else 0,
        message_id=message.message_id if message is not None else None,
        text=text,
        language=language,
    )
