"""One pace for every message the bot sends on its own (broadcasts, care notices).

Telegram lets a bot send about 30 messages a second. Messages nobody is waiting for share
``PER_SECOND`` (half of that) between them, one after another, so customers' answers always
have the other half and never queue behind a broadcast or a round of reminders.
"""

from __future__ import annotations

import asyncio
import time

__all__ = ["PER_SECOND", "Pace"]

PER_SECOND = 15.0


class Pace:
    def __init__(self, per_second: float = PER_SECOND) -> None:
        self._interval = 1.0 / per_second
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        """Return when the next background message may go (at most ``per_second``)."""
        async with self._lock:
            now = time.monotonic()
            start = max(self._next, now)
            if start > now:
                await asyncio.sleep(start - now)
            self._next = start + self._interval
