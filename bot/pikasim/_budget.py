"""An account-wide request budget with priorities.

PikaSim allows 60 requests per minute for the whole account. :class:`RequestBudget` makes sure
that no more than ``limit`` requests are *started* in any rolling ``window`` seconds, and it
does so conservatively: a request occupies its slot from the moment it starts until ``window``
seconds after it *finished*. The server stamps a request somewhere between our start and our end,
so whatever window the server counts over, it never sees more than ``limit`` requests from us.

On top of its own count the budget obeys the server: ``X-RateLimit-Remaining: 0`` with
``X-RateLimit-Reset`` (epoch seconds) stops every request until the reset, and a 429 stops
everything for ``Retry-After`` seconds (or until the reset). A lower ``X-RateLimit-Limit`` than
ours is adopted.

Waiting requests are served by :class:`Priority` (``ORDER`` first, then ``CUSTOMER``, then
``BACKGROUND``), first come first served within a priority. ``order_reserve`` slots of every
window are kept for ``ORDER`` alone, so customers and housekeeping can never use up the budget
a paid order needs. ``max_wait`` bounds how long a priority waits for a slot (a customer who
tapped a button should hear "busy, try again" after a few seconds, not wait for a minute):
past it :meth:`RequestBudget.acquire` raises :class:`BudgetBusy`.

One budget should be shared by every client of the same account in the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import heapq
import itertools
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum

from bot.pikasim._errors import RateLimited

__all__ = ["BudgetBusy", "Priority", "RequestBudget", "Slot"]


class Priority(IntEnum):
    """Lower value goes first."""

    ORDER = 0  # a paying customer's order, top-up or refund
    CUSTOMER = 1  # a customer waiting for an answer (usage check, plan details)
    BACKGROUND = 2  # catalog sync, polling, housekeeping


class BudgetBusy(RateLimited):
    """No slot freed within the priority's ``max_wait``: nothing was sent."""


@dataclass(eq=False)
class Slot:
    """One request's place in the budget. ``ended`` is None while the request runs."""

    priority: Priority
    started: float
    ended: float | None = None


@dataclass(order=True)
class _Waiter:
    priority: int
    seq: int
    event: asyncio.Event = field(compare=False, default_factory=asyncio.Event)


class RequestBudget:
    """At most ``limit`` requests in any rolling ``window`` seconds, highest priority first.

    ``clock`` (monotonic seconds) and ``wall_clock`` (epoch seconds, to read
    ``X-RateLimit-Reset``) can be injected. ``max_pause`` caps how long one server signal
    (``Retry-After`` / ``X-RateLimit-Reset``) may stop everything; it defaults to ``window``,
    which also protects against a server clock that is far ahead of ours.
    """

    def __init__(
        self,
        limit: int = 60,
        window: float = 60.0,
        *,
        max_pause: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        history: int = 10_000,
        order_reserve: int = 0,
        max_wait: Mapping[Priority, float] | None = None,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if window <= 0:
            raise ValueError("window must be positive")
        if not 0 <= order_reserve < limit:
            raise ValueError("order_reserve must be at least 0 and below limit")
        self.order_reserve = order_reserve
        self.max_wait: dict[Priority, float] = dict(max_wait or {})
        self.gave_up = 0  # requests that waited longer than their max_wait and were not sent
        self.limit = limit
        self.window = float(window)
        self.max_pause = float(max_pause) if max_pause is not None else self.window
        self._clock = clock
        self._wall_clock = wall_clock
        self._slots: list[Slot] = []
        self._queue: list[_Waiter] = []
        self._seq = itertools.count()
        self._paused_until = -math.inf
        self._server_limit: int | None = None
        self._server_remaining: int | None = None
        self._server_reset: float | None = None  # monotonic
        self._history: deque[tuple[float, Priority]] = deque(maxlen=history)
        # counters for tests and operations
        self.sent = 0  # requests started
        self.waits = 0  # requests that had to wait for a slot
        self.waited_seconds = 0.0
        self.rate_limited = 0  # 429 answers seen
        self.pauses = 0  # server signals that stopped everything for a while
        self.sent_by_priority: dict[Priority, int] = dict.fromkeys(Priority, 0)

    # --- public API --------------------------------------------------------------------

    @property
    def effective_limit(self) -> int:
        if self._server_limit is not None:
            return max(1, min(self.limit, self._server_limit))
        return self.limit

    @property
    def in_flight(self) -> int:
        return sum(1 for slot in self._slots if slot.ended is None)

    @property
    def queued(self) -> int:
        return len(self._queue)

    @property
    def paused_for(self) -> float:
        """Seconds left in a pause ordered by the server (0 when none)."""
        return max(0.0, self._paused_until - self._clock())

    def used(self) -> int:
        """Requests counting against the limit now: running, or ended within the window."""
        horizon = self._clock() - self.window
        return sum(1 for slot in self._slots if slot.ended is None or slot.ended > horizon)

    def start_times(self) -> list[float]:
        """Start times (``clock`` seconds) of the most recent requests, oldest first."""
        return [started for started, _ in self._history]

    def start_log(self) -> list[tuple[float, Priority]]:
        return list(self._history)

    def max_in_any_window(self, window: float | None = None) -> int:
        """The largest number of starts found in any rolling window (for tests and ops)."""
        span = self.window if window is None else window
        times = self.start_times()
        best = 0
        low = 0
        for high, started in enumerate(times):
            while started - times[low] >= span:
                low += 1
            best = max(best, high - low + 1)
        return best

    def stats(self) -> dict[str, float | int]:
        return {
            "sent": self.sent,
            "waits": self.waits,
            "waited_seconds": round(self.waited_seconds, 3),
            "rate_limited": self.rate_limited,
            "pauses": self.pauses,
            "in_flight": self.in_flight,
            "queued": self.queued,
            "limit": self.effective_limit,
        }

    async def acquire(self, priority: Priority = Priority.BACKGROUND) -> Slot:
        """Wait for a slot and take it; pair with :meth:`release` (or use :meth:`slot`).

        Raises :class:`BudgetBusy` once the wait exceeds ``max_wait`` for this priority.
        """
        waiter = _Waiter(int(priority), next(self._seq))
        heapq.heappush(self._queue, waiter)
        began = self._clock()
        give_up_at = began + self.max_wait.get(priority, math.inf)
        waited = False
        try:
            while True:
                now = self._clock()
                delay: float | None = None
                if self._queue[0] is waiter:
                    delay = self._delay(now, priority)
                    if delay <= 0:
                        heapq.heappop(self._queue)
                        slot = self._start(priority, now)
                        self._wake_head()  # the next one may be able to go right away
                        return slot
                if now >= give_up_at:
                    self.gave_up += 1
                    raise BudgetBusy(f"no request slot within {self.max_wait[priority]:g} s")
                waited = True
                waiter.event.clear()
                if delay is None or not math.isfinite(delay):
                    delay = None  # wait for a release, not for the clock
                if math.isfinite(give_up_at):
                    delay = min(delay if delay is not None else math.inf, give_up_at - now)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await waiter.event.wait()
        except BaseException:
            if waiter in self._queue:
                self._queue.remove(waiter)
                heapq.heapify(self._queue)
                self._wake_head()
            raise
        finally:
            if waited:
                self.waits += 1
                self.waited_seconds += self._clock() - began

    def room(self, priority: Priority = Priority.BACKGROUND) -> int:
        """How many requests of ``priority`` could start right now without waiting: 0 while
        anyone waits or the server said stop. Background work that must never delay anyone
        (usage polling) asks this before it takes a slot."""
        now = self._clock()
        if self._queue or self._paused_until > now:
            return 0
        horizon = now - self.window
        used = sum(1 for slot in self._slots if slot.ended is None or slot.ended > horizon)
        limit = self.effective_limit
        if priority is not Priority.ORDER:
            limit -= self.order_reserve
        room = limit - used
        remaining, reset = self._server_remaining, self._server_reset
        if remaining is not None and reset is not None and now < reset:
            keep = 0 if priority is Priority.ORDER else self.order_reserve
            room = min(room, remaining - keep)
        return max(0, room)

    def release(self, slot: Slot) -> None:
        """The request is over: its slot frees ``window`` seconds from now."""
        if slot.ended is None:
            slot.ended = self._clock()
            self._wake_head()

    @contextlib.asynccontextmanager
    async def slot(self, priority: Priority = Priority.BACKGROUND) -> AsyncIterator[Slot]:
        taken = await self.acquire(priority)
        try:
            yield taken
        finally:
            self.release(taken)

    def observe(self, status: int, headers: Mapping[str, str]) -> float | None:
        """Learn from an answer's status and rate-limit headers.

        Returns the seconds the server asked us to wait on a 429 (None when it did not say).
        """
        now = self._clock()
        lowered = {key.lower(): value for key, value in headers.items()}
        server_limit = _parse_int(lowered.get("x-ratelimit-limit"))
        if server_limit is not None and server_limit > 0:
            self._server_limit = server_limit
        reset_in = self._reset_in(lowered.get("x-ratelimit-reset"))
        remaining = _parse_int(lowered.get("x-ratelimit-remaining"))
        if remaining is not None:
            self._server_remaining = max(0, remaining)
            self._server_reset = now + reset_in if reset_in is not None else None
            if remaining <= 0 and reset_in is not None and reset_in > 0:
                self._pause_until(now + reset_in)
        retry_after: float | None = None
        if status == 429:
            self.rate_limited += 1
            retry_after = _parse_retry_after(lowered.get("retry-after"), self._wall_clock())
            wait = retry_after if retry_after is not None else reset_in
            if wait is not None and wait > 0:
                self._pause_until(now + min(wait, self.max_pause))
        self._wake_head()
        return retry_after

    def pause(self, seconds: float) -> None:
        """Stop every request for ``seconds`` (capped at ``max_pause``)."""
        if seconds > 0:
            self._pause_until(self._clock() + min(seconds, self.max_pause))
            self._wake_head()

    # --- internals ---------------------------------------------------------------------

    def _start(self, priority: Priority, now: float) -> Slot:
        slot = Slot(priority=priority, started=now)
        self._slots.append(slot)
        self._history.append((now, priority))
        self.sent += 1
        self.sent_by_priority[priority] = self.sent_by_priority.get(priority, 0) + 1
        if self._server_remaining is not None:
            self._server_remaining -= 1
        return slot

    def _delay(self, now: float, priority: Priority) -> float:
        """Seconds until a request may start (<= 0: now); math.inf: wait for a release."""
        horizon = now - self.window
        self._slots = [slot for slot in self._slots if slot.ended is None or slot.ended > horizon]
        delay = self._paused_until - now
        limit = self.effective_limit
        if priority is not Priority.ORDER:
            limit = max(1, limit - self.order_reserve)
        if len(self._slots) >= limit:
            ended = [slot.ended for slot in self._slots if slot.ended is not None]
            # Only finished requests free their slot with time; running ones on release.
            delay = max(delay, min(ended) - horizon if ended else math.inf)
        if self._server_reset is not None:
            if now >= self._server_reset:
                self._server_remaining = None
                self._server_reset = None
            elif self._server_remaining is not None and self._server_remaining <= 0:
                delay = max(delay, self._server_reset - now)
            elif (
                priority is not Priority.ORDER
                and self._server_remaining is not None
                and self._server_remaining <= self.order_reserve
            ):  # the server's count says only the reserve is left: keep it for orders
                delay = max(delay, self._server_reset - now)
        return delay

    def _pause_until(self, until: float) -> None:
        if until > self._paused_until:
            self._paused_until = until
            self.pauses += 1

    def _wake_head(self) -> None:
        if self._queue:
            self._queue[0].event.set()

    def _reset_in(self, value: str | None) -> float | None:
        """Seconds until ``X-RateLimit-Reset`` (epoch seconds, epoch milliseconds, or a delta),
        capped at ``max_pause`` so a skewed server clock cannot stop us for long."""
        reset = _parse_float(value)
        if reset is None:
            return None
        if reset > 1e11:  # epoch milliseconds
            reset /= 1000.0
        seconds = reset - self._wall_clock() if reset > 1e9 else reset
        return min(max(0.0, seconds), self.max_pause)


def _parse_int(value: str | None) -> int | None:
    number = _parse_float(value)
    return None if number is None else int(number)


def _parse_float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _parse_retry_after(value: str | None, now_epoch: float) -> float | None:
    """``Retry-After``: delta seconds or an HTTP date."""
    if value is None:
        return None
    seconds = _parse_float(value)
    if seconds is not None:
        return max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now_epoch)
