"""/broadcast <text>: a message to every user, for admins. Preview with the number of
recipients → Send → sent in the background, progress shown in place.

Telegram allows a bot about 30 messages a second; a broadcast goes one message at a time in a
task of its own, at the background pace (``handlers.background_pace``: at most half of that,
shared with care notices), so customers' answers never queue behind it; one broadcast at a
time. A user who blocked the bot (``Forbidden``) is remembered (``bot.reach``) and skipped by
this and every later message. The text goes as plain text, exactly as typed.
"""

from __future__ import annotations

import asyncio
import html
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import ContextTypes

from bot.i18n import t
from bot.services import Services
from handlers.admin_common import admin_command
from handlers.background_pace import background_pace
from handlers.callbacks import Callback, build
from handlers.common import language_of, reply, services_of, show

__all__ = ["Progress", "on_broadcast", "on_broadcast_button"]

log = logging.getLogger(__name__)

PROGRESS_EVERY = 2.0  # seconds between edits of the progress message
MAX_TEXT = 4000  # Telegram's limit is 4096 characters
_DRAFTS_KEPT = 20


@dataclass
class Progress:
    total: int
    sent: int = 0
    blocked: int = 0  # blocked the bot (now, or before: skipped)
    failed: int = 0
    done: bool = False
    started: float = field(default_factory=time.monotonic)


@admin_command("broadcast")
async def on_broadcast(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    language = language_of(update, context)
    message = update.effective_message
    parts = (message.text or "").split(maxsplit=1) if message is not None else []
    text = parts[1].strip() if len(parts) > 1 else ""
    if not text or len(text) > MAX_TEXT:
        await reply(update, t(language, "broadcast.usage", limit=MAX_TEXT))
        return
    services = services_of(context)
    count = len(await _recipients(services))
    drafts: dict[str, str] = context.bot_data.setdefault("broadcast_drafts", {})
    if len(drafts) >= _DRAFTS_KEPT:
        drafts.clear()
    draft = secrets.token_hex(6)
    drafts[draft] = text
    buttons = [
        [
            InlineKeyboardButton(
                t(language, "broadcast.button.send", count=count),
                callback_data=build("a", "bs", draft),
            )
        ],
        [
            InlineKeyboardButton(
                t(language, "broadcast.button.cancel"), callback_data=build("a", "bx", draft)
            )
        ],
    ]
    preview = t(language, "broadcast.preview", count=count, text=html.escape(text))
    await reply(update, preview, InlineKeyboardMarkup(buttons))


async def on_broadcast_button(
    update: Update, context: ContextTypes.DEFAULT_TYPE, callback: Callback
) -> None:
    language = language_of(update, context)
    drafts: dict[str, str] = context.bot_data.setdefault("broadcast_drafts", {})
    text = drafts.pop(callback.arg(1), None)  # one tap sends it once
    if text is None:
        await show(update, t(language, "broadcast.gone"))
        return
    if callback.arg(0) == "bx":
        await show(update, t(language, "broadcast.cancelled"))
        return
    if context.bot_data.get("broadcasting"):  # two at once would take all of the pace
        drafts[callback.arg(1)] = text  # still there to send once the other one is done
        await show(update, t(language, "broadcast.busy"))
        return
    services = services_of(context)
    recipients = await _recipients(services)
    progress = Progress(total=len(recipients))
    await show(update, _progress_text(language, progress))
    query = update.callback_query
    message = query.message if query is not None else None
    application = context.application

    async def edit(text_now: str) -> None:
        if message is not None:
            try:
                await context.bot.edit_message_text(
                    text_now, chat_id=message.chat.id, message_id=message.message_id
                )
            except TelegramError as error:  # progress is cosmetic
                log.info("broadcast progress not shown: %s", error)

    async def run() -> None:
        context.bot_data["broadcasting"] = True
        try:
            await _send_all(context, services, recipients, text, progress, edit, language)
        finally:
            context.bot_data["broadcasting"] = False
        if not application.running:
            log.info("broadcast stopped by shutdown after %d messages", progress.sent)

    application.create_task(run(), name="broadcast")


async def _recipients(services: Services) -> list[int]:
    reach = services.reach
    return [uid for uid in await services.storage.users.reachable_ids() if not reach.blocked(uid)]


async def _send_all(
    context: ContextTypes.DEFAULT_TYPE,
    services: Services,
    recipients: list[int],
    text: str,
    progress: Progress,
    edit: Any,
    language: str,
) -> None:
    """One message at a time, at the background pace; stops early when the bot shuts down."""
    pace = background_pace(context.bot_data)
    shown_at = time.monotonic()
    for user_id in recipients:
        if not context.application.running:
            break
        await pace.wait()
        await _send_one(context, services, user_id, text, progress)
        if time.monotonic() - shown_at >= PROGRESS_EVERY:
            shown_at = time.monotonic()
            await edit(_progress_text(language, progress))
    progress.done = True
    await edit(_progress_text(language, progress))


async def _send_one(
    context: ContextTypes.DEFAULT_TYPE,
    services: Services,
    user_id: int,
    text: str,
    progress: Progress,
) -> None:
    if services.reach.blocked(user_id):  # blocked since the list was read
        progress.blocked += 1
        return
    for _ in range(2):  # once more after Telegram's flood control says wait
        try:
            await context.bot.send_message(user_id, text)
        except Forbidden:
            progress.blocked += 1
            await services.reach.forbidden(user_id)
        except RetryAfter as error:
            delay = error.retry_after
            await asyncio.sleep(delay if isinstance(delay, int | float) else delay.total_seconds())
            continue
        except (BadRequest, TelegramError) as error:
            log.info("broadcast to %s failed: %s", user_id, error)
            progress.failed += 1
        else:
            progress.sent += 1
        return
    progress.failed += 1


def _progress_text(language: str, progress: Progress) -> str:
    key = "broadcast.done" if progress.done else "broadcast.progress"
    return t(
        language,
        key,
        sent=progress.sent,
        total=progress.total,
        blocked=progress.blocked,
        failed=progress.failed,
        seconds=int(time.monotonic() - progress.started),
    )
