"""Outgoing Telegram calls within Telegram's limits, customers first.

Replaces python-telegram-bot's first-come-first-served AIORateLimiter. Limits kept:

- overall: at most ``TELEGRAM_RATE_LIMIT`` messages in any rolling second. A message holds
  its slot from the moment it may go until one second after Telegram answered it: Telegram
  counts when requests arrive, which we cannot see, but they arrived before the answer did;
- a private chat: bursts of up to ``PRIVATE_BURST``, then one a second (a token bucket);
- a group or channel: 20 in any rolling minute.

Every call that carries a ``chat_id`` counts against the overall limit (sends, edits, chat
actions); the per-chat limits count new messages only (``send*``, ``copy*``, ``forward*``), as
Telegram's do. ``answerCallbackQuery`` and ``answerPreCheckoutQuery`` carry no ``chat_id`` and
are never delayed.

Waiting calls are sent by priority: payment answers and eSIM delivery, then a first answer to a
chat that heard nothing from us lately, then answers to what a user just did, then alerts, then
reminders and broadcasts. Lower priorities also leave some of each second unused (8 and 2 of
30), so a payment or a newcomer's answer finds room at once even when browsing fills the wire.

The priority comes from :data:`current_priority` (set per update, see
:func:`priority_of_update`, or with :func:`telegram_priority`), or from ``rate_limit_args``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import warnings
from collections import deque
from collections.abc import Callable, Coroutine, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from enum import IntEnum
from typing import Any

from telegram import Update
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

__all__ = [
    "Priority",
    "PriorityRateLimiter",
    "current_priority",
    "priority_of_update",
    "set_update_priority",
    "telegram_priority",
]

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]


class Priority(IntEnum):
    """Lower goes first."""

    PAYMENT = 0  # invoices, payment answers, eSIM delivery, refunds
    NEWCOMER = 1  # (assigned here) an answer to a chat we sent nothing to lately
    INTERACTIVE = 2  # answers to what a user just did
    ALERT = 3  # admin alerts
    BULK = 4  # reminders, broadcasts, anything from a job that did not say


current_priority: ContextVar[Priority] = ContextVar("telegram_priority", default=Priority.BULK)

# Whatever the context: an invoice is part of paying.
_ENDPOINT_PRIORITY = {"sendInvoice": Priority.PAYMENT}

PRIVATE_BURST = 4  # messages one private chat may get at once, before one a second
GROUP_PER_MINUTE = 20
NEWCOMER_QUIET_SECONDS = 30.0  # a chat we sent nothing to for this long is a newcomer
WINDOW_MARGIN = 0.01  # seconds added to the rolling second, for clock granularity


@contextlib.contextmanager
def telegram_priority(priority: Priority) -> Iterator[None]:
    """Send with ``priority`` inside this block (and in tasks created in it)."""
    token = current_priority.set(priority)
    try:
        yield
    finally:
        current_priority.reset(token)


def priority_of_update(update: object) -> Priority:
    """Payments (and reseller events, which deliver eSIMs) first; any other update is a user
    waiting for an answer."""
    if not isinstance(update, Update):
        return Priority.PAYMENT  # a reseller webhook event: delivery or refund
    message = update.effective_message
    if update.pre_checkout_query is not None or (
        message is not None and message.successful_payment is not None
    ):
        return Priority.PAYMENT
    return Priority.INTERACTIVE


async def set_update_priority(update: object, context: Any) -> None:
    """A handler for group -2: runs in the update's own task, before every other handler,
    so everything they send (and the tasks they start) inherits the update's priority."""
    current_priority.set(priority_of_update(update))


def _is_new_message(endpoint: str) -> bool:
    return endpoint.startswith(("send", "copyMessage", "forwardMessage")) and (
        endpoint != "sendChatAction"
    )


@dataclass(eq=False)
class _Waiter:
    priority: Priority
    seq: int
    chat: int | str | None  # None: counts against the overall limit only
    ready: asyncio.Future[None] = field(repr=False)


@dataclass
class _Bucket:
    tokens: float
    updated: float
    last_send: float


class PriorityRateLimiter(BaseRateLimiter[int]):
    """See the module docstring. ``rate_limit_args``, when given, is a :class:`Priority`."""

    def __init__(
        self,
        per_second: int = 30,
        *,
        private_burst: int = PRIVATE_BURST,
        group_per_minute: int = GROUP_PER_MINUTE,
        group_window: float = 60.0,
        max_retries: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_second < 1:
            raise ValueError("per_second must be at least 1 (no limiter at all for none)")
        self.per_second = per_second
        self._window = 1.0 + WINDOW_MARGIN
        self._private_burst = private_burst
        self._group_limit = group_per_minute
        self._group_window = group_window
        self._max_retries = max_retries
        self._clock = clock
        # How much of each second a priority leaves to the ones above it.
        # How much of each second the others leave free: a purchase sends about five
        # messages in its first second (invoice, thanks, photo, edits), a newcomer one.
        for_payments = max(2, math.ceil(per_second / 4))  # 8 of 30
        for_newcomers = max(1, math.ceil(per_second / 15))  # 2 of 30
        rest = max(1, per_second - for_payments)
        self._caps = {
            Priority.PAYMENT: per_second,
            Priority.NEWCOMER: max(1, per_second - for_newcomers),
            Priority.INTERACTIVE: rest,
            Priority.ALERT: rest,
            Priority.BULK: rest,
        }
        self._in_flight = 0  # messages let go and not answered yet
        self._ended: deque[float] = deque()  # when the answers came, within the window
        self._chats: dict[int, _Bucket] = {}
        self._last_seen: dict[int | str, float] = {}  # chat -> when we last sent it anything
        self._groups: dict[int | str, deque[float]] = {}
        self._waiting: list[_Waiter] = []
        self._seq = 0
        self._timer: asyncio.TimerHandle | None = None
        self._paused_until = 0.0
        # For tests and /metrics.
        self.sent_by_priority: dict[Priority, int] = dict.fromkeys(Priority, 0)
        self.retried = 0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    @property
    def queued(self) -> int:
        return len(self._waiting)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        chat = _chat_of(data)
        if chat is None:  # not a message: answers to queries, getUpdates, getMe...
            return await callback(*args, **kwargs)
        priority = self._priority(endpoint, rate_limit_args)
        per_chat = chat if _is_new_message(endpoint) else None
        for attempt in range(self._max_retries + 1):
            await self._acquire(priority, chat, per_chat)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                if attempt == self._max_retries:
                    raise
                self.retried += 1
                pause = _retry_after(error) + 0.1
                log.warning("Telegram asked to wait %.1f s (%s); holding messages", pause, endpoint)
                self._paused_until = max(self._paused_until, self._clock() + pause)
            finally:
                self._finish(per_chat)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _priority(self, endpoint: str, rate_limit_args: int | None) -> Priority:
        if rate_limit_args is not None:
            return Priority(rate_limit_args)
        return _ENDPOINT_PRIORITY.get(endpoint, current_priority.get())

    async def _acquire(
        self, priority: Priority, chat: int | str, per_chat: int | str | None
    ) -> None:
        now = self._clock()
        if priority is Priority.INTERACTIVE and self._is_newcomer(chat, now):
            priority = Priority.NEWCOMER
        self._last_seen[chat] = now
        self._seq += 1
        future = asyncio.get_running_loop().create_future()
        waiter = _Waiter(priority, self._seq, per_chat, future)
        self._waiting.append(waiter)  # seq grows, so sorting by (priority, seq) is stable
        self._waiting.sort(key=lambda w: (w.priority, w.seq))
        self._dispatch()
        try:
            await waiter.ready
        except asyncio.CancelledError:
            if waiter in self._waiting:
                self._waiting.remove(waiter)
            raise

    def _is_newcomer(self, chat: int | str, now: float) -> bool:
        last = self._last_seen.get(chat)
        if last is None or now - last >= NEWCOMER_QUIET_SECONDS:
            if len(self._last_seen) > 4096:  # forget chats that went quiet
                quiet = now - NEWCOMER_QUIET_SECONDS
                self._last_seen = {c: t for c, t in self._last_seen.items() if t > quiet}
            return True
        return False

    # --- the scheduler ----------------------------------------------------------------------

    def _dispatch(self) -> None:
        """Let every waiter go that the limits allow now, best first; then sleep until the
        earliest moment another one could go."""
        now = self._clock()
        while self._ended and self._ended[0] <= now - self._window:
            self._ended.popleft()
        wake = math.inf
        if now < self._paused_until:
            wake = self._paused_until
        else:
            for waiter in list(self._waiting):
                if self._in_flight + len(self._ended) >= self._caps[waiter.priority]:
                    # Free again a second after the oldest answer (or when one comes back).
                    wake = min(wake, self._ended[0] + self._window if self._ended else wake)
                    break  # lower priorities have no larger share
                chat_free_at = self._chat_free_at(waiter.chat, now)
                if chat_free_at > now:
                    wake = min(wake, chat_free_at)
                    continue  # this chat must wait; others need not wait behind it
                self._start(waiter, now)
        self._schedule(wake, now)

    def _start(self, waiter: _Waiter, now: float) -> None:
        self._waiting.remove(waiter)
        self._in_flight += 1
        self.sent_by_priority[waiter.priority] += 1
        if waiter.chat is None:
            pass
        elif isinstance(waiter.chat, int) and waiter.chat > 0:
            bucket = self._bucket(waiter.chat, now)
            bucket.tokens -= 1
            bucket.last_send = now
        else:
            self._groups.setdefault(waiter.chat, deque()).append(now)
        if not waiter.ready.done():
            waiter.ready.set_result(None)

    def _finish(self, per_chat: int | str | None) -> None:
        now = self._clock()
        self._in_flight -= 1
        self._ended.append(now)
        bucket = self._chats.get(per_chat) if isinstance(per_chat, int) else None
        if bucket is not None and bucket.updated < now:
            # The chat's next token counts from the answer, not from when this one left.
            bucket.tokens = min(self._private_burst, bucket.tokens)
            bucket.updated = now
        self._dispatch()

    def _chat_free_at(self, chat: int | str | None, now: float) -> float:
        if chat is None:
            return now
        if isinstance(chat, int) and chat > 0:
            bucket = self._bucket(chat, now)
            return now if bucket.tokens >= 1 else now + (1 - bucket.tokens)  # one token a second
        sent = self._groups.get(chat)
        if not sent:
            return now
        while sent and sent[0] <= now - self._group_window:
            sent.popleft()
        return now if len(sent) < self._group_limit else sent[0] + self._group_window

    def _bucket(self, chat: int, now: float) -> _Bucket:
        bucket = self._chats.get(chat)
        if bucket is None:
            if len(self._chats) > 4096:
                self._forget_quiet_chats(now)
            bucket = self._chats[chat] = _Bucket(self._private_burst, now, -math.inf)
        else:
            bucket.tokens = min(self._private_burst, bucket.tokens + (now - bucket.updated))
            bucket.updated = now
        return bucket

    def _forget_quiet_chats(self, now: float) -> None:
        quiet = now - max(NEWCOMER_QUIET_SECONDS, self._private_burst)
        self._chats = {c: b for c, b in self._chats.items() if b.last_send > quiet}

    def _schedule(self, wake: float, now: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._waiting and wake < math.inf:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(max(0.0, wake - now), self._dispatch)


def _chat_of(data: dict[str, Any]) -> int | str | None:
    chat = data.get("chat_id")
    if chat is None:
        return None
    with contextlib.suppress(ValueError, TypeError):
        return int(chat)
    return str(chat)  # "@channel"


def _retry_after(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # reading it as int warns of a future type change
        warnings.simplefilter("ignore")
        value: float | timedelta = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
