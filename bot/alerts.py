"""Alerts to every admin. Critical ones always go out (once per key); noisy ones are
rate-limited, and what they hold back is folded into a digest."""

from __future__ import annotations

import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable

from telegram import Bot
from telegram.error import TelegramError

from bot.telegram_limiter import Priority, telegram_priority

__all__ = ["Alerts"]

log = logging.getLogger(__name__)

_CRITICAL_KEYS_KEPT = 10_000  # remembered so each critical alert goes out once


class Alerts:
    def __init__(
        self,
        admin_ids: Iterable[int],
        bot: Bot | None,
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
        self._critical_sent: OrderedDict[str, None] = OrderedDict()
        self._held_back: Counter[str] = Counter()  # noisy kind -> alerts not sent
        self.bot = bot  # None: alerts are only logged

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

    async def send(self, key: str, text: str, *, critical: bool = False) -> bool:
        """Tell every admin; True when sent.

        A critical alert (needs attention, a late order, a refund by hand, 402, a failing
        reconciler) is never rate-limited: it goes out once per ``key`` (keys name the order).
        A noisy one is sent at most once per ``key`` every 10 minutes and within the hourly
        burst; the rest is counted and reported with the next alert or the digest.
        """
        if critical:
            if key in self._critical_sent:
                return False
            self._critical_sent[key] = None
            if len(self._critical_sent) > _CRITICAL_KEYS_KEPT:
                self._critical_sent.popitem(last=False)
        elif not self._allowed(key):
            self._held_back[_kind(key)] += 1
            log.info("alert %s held back by the rate limit", key)
            return False
        return await self._deliver(key, text + self._held_back_note())

    async def send_digest(self) -> bool:
        """What the rate limit held back since the last alert, in one message (a job)."""
        note = self._held_back_note()
        if not note:
            return False
        return await self._deliver("digest", "Alert digest:" + note)

    def _held_back_note(self) -> str:
        if not self._held_back:
            return ""
        total = sum(self._held_back.values())
        kinds = ", ".join(f"{count} × {kind}" for kind, count in self._held_back.most_common())
        self._held_back.clear()
        return f"\n\n({total} similar alerts were held back: {kinds}.)"

    async def _deliver(self, key: str, text: str) -> bool:
        for secret in self._secrets:  # error texts can quote URLs with the bot token in them
            text = text.replace(secret, "***")
        log.warning("alert %s: %s", key, text)
        if self.bot is None:
            return False
        with telegram_priority(Priority.ALERT):  # customers' messages go out first
            for admin_id in self._admin_ids:
                try:
                    # Plain text: an alert quotes reseller and customer data as they are.
                    await self.bot.send_message(admin_id, "⚠️ " + text, parse_mode=None)
                except TelegramError as error:
                    log.warning("could not alert admin %s: %s", admin_id, error)
        return True


def _kind(key: str) -> str:
    """The kind of an alert key: "reseller-errors", "webhook-bad-signature", … without ids."""
    head, _, tail = key.rpartition("-")
    return head if head and (any(c.isdigit() for c in tail) or tail.isupper()) else key
