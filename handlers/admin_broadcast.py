"""/broadcast <text>: a message to every user, for admins. Preview with the number of
recipients → Send → sent in the background, progress shown in place.

Telegram allows a bot about 30 messages a second; a broadcast goes one message at a time in a
task of its own, at the background pace (``handlers.background_pace``: at most half of that,
shared with care notices), so customers' answers never queue behind it; one broadcast at a
time. A user who blocked the bot (``Forbidden``) is remembered (``bot.reach``) and skipped by
this and every later message. The text goes as plain text, exactly as typed.

Recipients go in user id order and the position is checkpointed every ``CHECKPOINT_EVERY``
messages (``storage.broadcasts``): after a restart the broadcast carries on from there.
"""

from __future__ import annotations

import asyncio
import html
import logging
import secrets
import time

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import Forbidden, RetryAfter, TelegramError

from bot.i18n import t
from bot.services import Services
from handlers.admin_common import admin_command
from handlers.background_pace import background_pace
from handlers.callbacks import AdminBroadcast
from handlers.common import reply, show
from handlers.context import BotApp, BotContext
from storage import Broadcast

__all__ = ["on_broadcast", "on_broadcast_button", "resume_broadcasts"]

log = logging.getLogger(__name__)

App = BotApp

PROGRESS_EVERY = 2.0  # seconds between edits of the progress message
CHECKPOINT_EVERY = 10  # messages between checkpoints (at most this many go twice on a crash)
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
    count = len(await _recipients(context.services, 0))
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
    if context.bot_data.get("broadcasting"):  # two at once would take all of the pace
        drafts[tapped.draft] = text  # the preview's Send still works once it is done
        await reply(update, t(language, "broadcast.busy"))
        return
    services = context.services
    total = len(await _recipients(services, 0))
    await show(update, _progress_text(language, total=total, sent=0, blocked=0, failed=0))
    query = update.callback_query
    message = query.message if query is not None else None
    user = update.effective_user
    # Committed before the first message goes: a restart carries on from here.
    broadcast = await services.storage.broadcasts.create(
        admin_id=user.id if user is not None else 0,
        chat_id=message.chat.id if message is not None else 0,
        message_id=message.message_id if message is not None else None,
        text=text,
        language=language,
        total=total,
    )
    _start(context.application, broadcast)


async def resume_broadcasts(application: App) -> None:
    """At start: carry on with any broadcast a restart interrupted."""
    services: Services = application.bot_data["services"]
    for broadcast in await services.storage.broadcasts.unfinished():
        log.info("resuming broadcast %d from user %d", broadcast.id, broadcast.next_user_id)
        _start(application, broadcast)


def _start(application: App, broadcast: Broadcast) -> None:
    async def run() -> None:
        application.bot_data["broadcasting"] = True
        try:
            await _send_all(application, broadcast)
        finally:
            application.bot_data["broadcasting"] = False

    application.bot_data["broadcasting"] = True  # at once: a second Send tap must wait
    application.create_task(run(), name=f"broadcast-{broadcast.id}")


async def _recipients(services: Services, from_user_id: int) -> list[int]:
    reach = services.reach
    ids = await services.storage.users.reachable_ids()
    return [uid for uid in ids if uid >= from_user_id and not reach.blocked(uid)]


class _Progress:
    def __init__(self, broadcast: Broadcast) -> None:
        self.broadcast = broadcast
        self.sent, self.blocked, self.failed = broadcast.sent, broadcast.blocked, broadcast.failed
        self.next_user_id = broadcast.next_user_id
        self.since_checkpoint = 0

    def text(self, done: bool = False) -> str:
        b = self.broadcast
        return _progress_text(
            b.language, total=b.total, sent=self.sent, blocked=self.blocked,
            failed=self.failed, done=done, seconds=int(time.time()) - b.created_at,
        )  # fmt: skip


async def _send_all(application: App, broadcast: Broadcast) -> None:
    """One message at a time, at the background pace; stops early when the bot shuts down
    (the checkpoint says where to carry on)."""
    services: Services = application.bot_data["services"]
    pace = background_pace(application.bot_data)
    progress = _Progress(broadcast)
    shown_at = time.monotonic()
    for user_id in await _recipients(services, broadcast.next_user_id):
        if not application.running:
            await _checkpoint(services, progress)
            log.info("broadcast %d paused by shutdown at user %d", broadcast.id, user_id)
            return
        await pace.wait()
        await _send_one(application, services, user_id, broadcast.text, progress)
        progress.next_user_id = user_id + 1
        progress.since_checkpoint += 1
        if progress.since_checkpoint >= CHECKPOINT_EVERY:
            await _checkpoint(services, progress)
        if time.monotonic() - shown_at >= PROGRESS_EVERY:
            shown_at = time.monotonic()
            await _edit(application, broadcast, progress.text())
    await _checkpoint(services, progress)
    await services.storage.broadcasts.finish(broadcast.id)
    await _edit(application, broadcast, progress.text(done=True))


async def _checkpoint(services: Services, progress: _Progress) -> None:
    progress.since_checkpoint = 0
    await services.storage.broadcasts.checkpoint(
        progress.broadcast.id,
        next_user_id=progress.next_user_id,
        sent=progress.sent,
        blocked=progress.blocked,
        failed=progress.failed,
    )


async def _send_one(
    application: App, services: Services, user_id: int, text: str, progress: _Progress
) -> None:
    if services.reach.blocked(user_id):  # blocked since the list was read
        progress.blocked += 1
        return
    for _ in range(2):  # once more after Telegram's flood control says wait
        try:
            await application.bot.send_message(user_id, text)
        except Forbidden:
            progress.blocked += 1
            await services.reach.forbidden(user_id)
        except RetryAfter as error:
            delay = error.retry_after
            await asyncio.sleep(delay if isinstance(delay, int | float) else delay.total_seconds())
            continue
        except TelegramError as error:
            log.info("broadcast to %s failed: %s", user_id, error)
            progress.failed += 1
        else:
            progress.sent += 1
        return
    progress.failed += 1


async def _edit(application: App, broadcast: Broadcast, text: str) -> None:
    if broadcast.message_id is None:
        return
    try:
        await application.bot.edit_message_text(
            text, chat_id=broadcast.chat_id, message_id=broadcast.message_id
        )
    except TelegramError as error:  # progress is cosmetic
        log.info("broadcast progress not shown: %s", error)


def _progress_text(
    language: str,
    *,
    total: int,
    sent: int,
    blocked: int,
    failed: int,
    done: bool = False,
    seconds: int = 0,
) -> str:
    key = "broadcast.done" if done else "broadcast.progress"
    return t(language, key, sent=sent, total=total, blocked=blocked, failed=failed, seconds=seconds)
