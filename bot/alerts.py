"""Alerts to every admin, rate-limited so that a flood of failures cannot spam them."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from telegram import Bot
from telegram.error import TelegramError

from bot.telegram_limiter import Priority, telegram_priority

__all__ = ["Alerts"]

log = logging.getLogger(__name__)


class Alerts:
    def __init__(
        self,
        admin_ids: Iterable[int],
        *,
        per_key_seconds: float = 600.0,
        burst: int = 10,
        burst_seconds: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
        secrets: Iterable[str] = (),
    ) -> None:
        self._admin_ids = sorted(admin_ids)
        self._secrets = [secret for secret in secrets if len(secret) >= 4]
        self._per_key_seconds = per_key_seconds
        self._burst = burst
        self._burst_seconds = burst_seconds
        self._clock = clock
        self._last_by_key: dict[str, float] = {}
        self._recent: list[float] = []
        self._suppressed = 0
        self.bot: Bot | None = None  # set once the Telegram application exists

    def _allowed(self, key: str) -> bool:
        now = self._clock()
        last = self._last_by_key.get(key)
        if last is not None and now - last < self._per_key_seconds:
            return False
        self._recent = [stamp for stamp in self._recent if now - stamp < self._burst_seconds]
        if len(self._recent) >= self._burst:
            return False
        self._last_by_key[key] = now
        self._recent.append(now)
        return True

    async def send(self, key: str, text: str) -> bool:
        """Tell every admin, unless the same ``key`` was alerted recently; True when sent."""
        if not self._allowed(key):
            self._suppressed += 1
            log.info("alert %s suppressed by the rate limit", key)
            return False
        for secret in self._secrets:  # error texts can quote URLs with the bot token in them
            text = text.replace(secret, "***")
        log.warning("alert %s: %s", key, text)
        if self.bot is None:
            return False
        if self._suppressed:
            text += f"\n\n({self._suppressed} similar alerts were held back.)"
            self._suppressed = 0
        with telegram_priority(Priority.ALERT):  # customers' messages go out first
            for admin_id in self._admin_ids:
                try:
                    await self.bot.send_message(admin_id, "⚠️ " + text)
                except TelegramError as error:
                    log.warning("could not alert admin %s: %s", admin_id, error)
        return True
