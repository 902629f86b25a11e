"""Broadcasts: an admin's message to every user, sent in the background.

One message at a time at the background pace (``bot.background_pace``: at most half of
Telegram's rate, shared with care notices), so customers' answers never queue behind it; one
broadcast at a time. A user who blocked the bot (``Forbidden``) is remembered (``bot.reach``)
and skipped by this and every later message. The text goes as plain text, exactly as typed.

Recipients go in user id order and the position is checkpointed every ``CHECKPOINT_EVERY``
messages (``storage.broadcasts``): after a restart the broadcast carries on from there.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Bot
from telegram.error import Forbidden, RetryAfter, TelegramError

from bot.background_pace import Pace
from bot.i18n import t
from bot.reach import Reach
from storage import Broadcast, Storage

__all__ = ["CHECKPOINT_EVERY", "Broadcasts", "progress_text"]

log = logging.getLogger(__name__)

PROGRESS_EVERY = 2.0  # seconds between edits of the progress message
CHECKPOINT_EVERY = 10  # messages between checkpoints (at most this many go twice on a crash)


def progress_text(
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


class _Progress:
    def __init__(self, broadcast: Broadcast) -> None:
        self.broadcast = broadcast
        self.sent, self.blocked, self.failed = broadcast.sent, broadcast.blocked, broadcast.failed
        self.next_user_id = broadcast.next_user_id
        self.since_checkpoint = 0

    def text(self, done: bool = False) -> str:
        b = self.broadcast
        return progress_text(
            b.language, total=b.total, sent=self.sent, blocked=self.blocked,
            failed=self.failed, done=done, seconds=int(time.time()) - b.created_at,
        )  # fmt: skip


class Broadcasts:
    def __init__(
        self,
        storage: Storage,
        bot: Bot,
        reach: Reach,
        pace: Pace,
        *,
        spawn: Callable[[Awaitable[Any]], object],
        running: Callable[[], bool],
    ) -> None:
        self._storage = storage
        self._bot = bot
        self._reach = reach
        self._pace = pace
        self._spawn = spawn
        self._running = running
        self.busy = False  # one broadcast at a time: two would share the pace

    async def recipients(self, from_user_id: int = 0) -> list[int]:
        ids = await self._storage.users.reachable_ids()
        return [uid for uid in ids if uid >= from_user_id and not self._reach.blocked(uid)]

    async def start(
        self, *, admin_id: int, chat_id: int, message_id: int | None, text: str, language: str
    ) -> int:
        """Commit the broadcast (before the first message goes: a restart carries on), start
        it in the background; returns the number of recipients."""
        total = len(await self.recipients())
        broadcast = await self._storage.broadcasts.create(
            admin_id=admin_id,
            chat_id=chat_id,
            message_id=message_id,
            text=text,
            language=language,
            total=total,
        )
        self._run(broadcast)
        return total

    async def resume(self) -> None:
        """At start: carry on with any broadcast a restart interrupted."""
        for broadcast in await self._storage.broadcasts.unfinished():
            log.info("resuming broadcast %d from user %d", broadcast.id, broadcast.next_user_id)
            self._run(broadcast)

    def _run(self, broadcast: Broadcast) -> None:
        async def run() -> None:
            try:
                await self._send_all(broadcast)
            finally:
                self.busy = False

        self.busy = True  # at once: a second Send tap must wait
        self._spawn(run())

    async def _send_all(self, broadcast: Broadcast) -> None:
        """One message at a time, at the background pace; stops early when the bot shuts down
        (the checkpoint says where to carry on)."""
        progress = _Progress(broadcast)
        shown_at = time.monotonic()
        for user_id in await self.recipients(broadcast.next_user_id):
            if not self._running():
                await self._checkpoint(progress)
                log.info("broadcast %d paused by shutdown at user %d", broadcast.id, user_id)
                return
            await self._pace.wait()
            await self._send_one(user_id, broadcast.text, progress)
            progress.next_user_id = user_id + 1
            progress.since_checkpoint += 1
            if progress.since_checkpoint >= CHECKPOINT_EVERY:
                await self._checkpoint(progress)
            if time.monotonic() - shown_at >= PROGRESS_EVERY:
                shown_at = time.monotonic()
                await self._edit(broadcast, progress.text())
        await self._checkpoint(progress)
        await self._storage.broadcasts.finish(broadcast.id)
        await self._edit(broadcast, progress.text(done=True))

    async def _checkpoint(self, progress: _Progress) -> None:
        progress.since_checkpoint = 0
        await self._storage.broadcasts.checkpoint(
            progress.broadcast.id,
            next_user_id=progress.next_user_id,
            sent=progress.sent,
            blocked=progress.blocked,
            failed=progress.failed,
        )

    async def _send_one(self, user_id: int, text: str, progress: _Progress) -> None:
        if self._reach.blocked(user_id):  # blocked since the list was read
            progress.blocked += 1
            return
        for _ in range(2):  # once more after Telegram's flood control says wait
            try:
                await self._bot.send_message(user_id, text, parse_mode=None)  # as typed
            except Forbidden:
                progress.blocked += 1
                await self._reach.forbidden(user_id)
            except RetryAfter as error:
                delay = error.retry_after
                wait = delay if isinstance(delay, int | float) else delay.total_seconds()
                await asyncio.sleep(wait)
                continue
            except TelegramError as error:
                log.info("broadcast to %s failed: %s", user_id, error)
                progress.failed += 1
            else:
                progress.sent += 1
            return
        progress.failed += 1

    async def _edit(self, broadcast: Broadcast, text: str) -> None:
        if broadcast.message_id is None:
            return
        try:
            await self._bot.edit_message_text(
                text, chat_id=broadcast.chat_id, message_id=broadcast.message_id
            )
        except TelegramError as error:  # progress is cosmetic
            log.info("broadcast progress not shown: %s", error)
