"""Fair use of the reseller by customers' buttons (Usage, Top up, My eSIMs).

The reseller allows 60 requests a minute for the whole account, so one customer tapping away
must not use it up, and no handler may wait for a request slot while it holds one of the
application's update slots (everyone else's /start and payments would wait behind it). So a
reseller-backed tap is answered at once; its reseller work runs in a task of its own, at most
one per user; and after each tap the same user's next tap of the same kind (Usage, Top up,
My eSIMs) within ``COOLDOWN_SECONDS`` only gets a short "one moment".
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any

from telegram import Update

from handlers.context import BotContext

__all__ = ["COOLDOWN_SECONDS", "Pacing", "pacing_of"]

COOLDOWN_SECONDS = 2.0
_REMEMBERED = 10_000  # users whose last tap is kept; older entries are dropped past this


class Pacing:
    """Per-user cooldown and at most one reseller task per user (per application)."""

    def __init__(self, cooldown: float = COOLDOWN_SECONDS) -> None:
        self.cooldown = cooldown
        self._last: dict[tuple[int, str], float] = {}
        self._running: dict[int, asyncio.Task[Any]] = {}

    def busy(self, user_id: int, kind: str) -> bool:
        """Whether this user's tap must wait: their task still runs, or they made a tap of
        this kind a moment ago."""
        if user_id in self._running:
            return True
        last = self._last.get((user_id, kind))
        return last is not None and time.monotonic() - last < self.cooldown

    def tapped(self, user_id: int, kind: str) -> None:
        if len(self._last) >= _REMEMBERED:
            horizon = time.monotonic() - self.cooldown
            self._last = {key: at for key, at in self._last.items() if at > horizon}
        self._last[(user_id, kind)] = time.monotonic()

    def run(
        self,
        context: BotContext,
        update: Update,
        user_id: int,
        work: Coroutine[Any, Any, Any],
    ) -> None:
        """Run ``work`` as this user's task; its errors reach the error handler."""
        task = context.application.create_task(work, update=update, name=f"reseller-{user_id}")
        self._running[user_id] = task
        task.add_done_callback(lambda _: self._running.pop(user_id, None))


def pacing_of(context: BotContext) -> Pacing:
    pacing = context.bot_data.get("pacing")
    if not isinstance(pacing, Pacing):
        pacing = context.bot_data["pacing"] = Pacing()
    return pacing
