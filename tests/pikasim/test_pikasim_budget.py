"""RequestBudget: rolling-window bound, server signals, priorities; with small windows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from bot.pikasim import PikaSimClient, Priority, RequestBudget

BASE = "https://api.pikasim.test/api/v1/reseller"


def max_in_window(times: list[float], window: float) -> int:
    """Largest number of events in any half-open window [t, t + window)."""
    times = sorted(times)
    best = low = 0
    for high, at in enumerate(times):
        while at - times[low] >= window:
            low += 1
        best = max(best, high - low + 1)
    return best


async def test_never_more_than_limit_in_any_window() -> None:
    budget = RequestBudget(limit=5, window=0.25)
    started: list[float] = []

    async def request() -> None:
        async with budget.slot(Priority.BACKGROUND):
            started.append(time.monotonic())
            await asyncio.sleep(0.005)

    began = time.monotonic()
    await asyncio.gather(*(request() for _ in range(17)))
    elapsed = time.monotonic() - began
    assert max_in_window(started, 0.25) <= 5
    assert budget.max_in_any_window() <= 5
    assert elapsed >= 3 * 0.25  # 17 requests need 4 windows' worth of slots
    assert budget.sent == 17 and budget.waits >= 12
    assert budget.in_flight == 0 and budget.queued == 0


async def test_running_requests_hold_their_slot() -> None:
    budget = RequestBudget(limit=2, window=0.05)
    first = await budget.acquire()
    second = await budget.acquire()
    third = asyncio.create_task(budget.acquire())
    await asyncio.sleep(0.15)  # far more than a window, but both requests still run
    assert not third.done()
    budget.release(first)
    await asyncio.sleep(0.01)
    assert not third.done()  # a finished request frees its slot one window after it ended
    slot = await asyncio.wait_for(third, 1.0)
    budget.release(second)
    budget.release(slot)


async def test_priority_order_when_waiting() -> None:
    budget = RequestBudget(limit=1, window=0.05)
    order: list[str] = []
    blocker = await budget.acquire(Priority.BACKGROUND)

    async def request(name: str, priority: Priority) -> None:
        async with budget.slot(priority):
            order.append(name)

    tasks = []
    for name, priority in [
        ("sync-1", Priority.BACKGROUND),
        ("usage-1", Priority.CUSTOMER),
        ("sync-2", Priority.BACKGROUND),
        ("order-1", Priority.ORDER),
        ("usage-2", Priority.CUSTOMER),
        ("order-2", Priority.ORDER),
    ]:
        tasks.append(asyncio.create_task(request(name, priority)))
        await asyncio.sleep(0)  # queue them in this order
    await asyncio.sleep(0.01)
    assert budget.queued == 6
    budget.release(blocker)
    await asyncio.gather(*tasks)
    assert order == ["order-1", "order-2", "usage-1", "usage-2", "sync-1", "sync-2"]


async def test_cancelled_waiter_leaves_the_queue() -> None:
    budget = RequestBudget(limit=1, window=0.05)
    blocker = await budget.acquire()
    urgent = asyncio.create_task(budget.acquire(Priority.ORDER))
    later = asyncio.create_task(budget.acquire(Priority.BACKGROUND))
    await asyncio.sleep(0.01)
    urgent.cancel()
    with pytest.raises(asyncio.CancelledError):
        await urgent
    budget.release(blocker)
    slot = await asyncio.wait_for(later, 1.0)
    budget.release(slot)
    assert budget.queued == 0 and budget.sent == 2


async def test_remaining_zero_stops_everything_until_reset() -> None:
    budget = RequestBudget(limit=100, window=1.0)
    budget.observe(200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(time.time() + 0.3)})
    assert budget.paused_for > 0.2
    began = time.monotonic()
    async with budget.slot(Priority.ORDER):
        pass
    assert time.monotonic() - began >= 0.25


async def test_remaining_counts_down_until_reset() -> None:
    budget = RequestBudget(limit=100, window=1.0)
    budget.observe(200, {"x-ratelimit-remaining": "2", "x-ratelimit-reset": str(time.time() + 0.3)})
    began = time.monotonic()
    for _ in range(3):
        async with budget.slot():
            pass
    assert time.monotonic() - began >= 0.25  # the third had to wait for the reset


async def test_reset_far_in_the_future_is_capped() -> None:
    budget = RequestBudget(limit=100, window=0.2)
    budget.observe(
        429, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(time.time() + 3600)}
    )
    assert 0 < budget.paused_for <= 0.2
    began = time.monotonic()
    async with budget.slot():
        pass
    assert time.monotonic() - began < 0.5


@pytest.mark.parametrize(
    "make_headers",
    [
        lambda: {"Retry-After": "0.2"},
        lambda: {"X-RateLimit-Reset": "0.2"},  # a delta, as some servers send
        lambda: {"X-RateLimit-Reset": str(time.time() + 0.2)},  # epoch seconds
        lambda: {"X-RateLimit-Reset": str(int((time.time() + 0.2) * 1000))},  # epoch ms
    ],
    ids=["retry-after", "reset-delta", "reset-epoch", "reset-epoch-ms"],
)
async def test_429_pauses_every_request(make_headers: Callable[[], dict[str, str]]) -> None:
    headers = make_headers()
    budget = RequestBudget(limit=100, window=1.0)
    retry_after = budget.observe(429, headers)
    assert budget.rate_limited == 1 and budget.pauses == 1
    if "Retry-After" in headers:
        assert retry_after == 0.2
    assert budget.paused_for > 0.1
    began = time.monotonic()
    await asyncio.gather(*(budget.acquire(p) for p in Priority))
    assert time.monotonic() - began >= 0.1


def test_retry_after_http_date() -> None:
    budget = RequestBudget(limit=10, window=30.0)
    when = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 20))
    retry_after = budget.observe(429, {"Retry-After": when})
    assert retry_after is not None and 15 <= retry_after <= 21


def test_lower_server_limit_is_adopted_and_garbage_ignored() -> None:
    budget = RequestBudget(limit=60, window=60.0)
    budget.observe(200, {"X-RateLimit-Limit": "30", "X-RateLimit-Remaining": "soon"})
    assert budget.effective_limit == 30
    budget.observe(200, {"X-RateLimit-Limit": "120", "Retry-After": "x"})
    assert budget.effective_limit == 60
    assert budget.paused_for == 0


def test_invalid_configuration() -> None:
    with pytest.raises(ValueError):
        RequestBudget(limit=0)
    with pytest.raises(ValueError):
        RequestBudget(window=0)


class StormServer:
    """A fake PikaSim whose own limiter answers 429 whenever it sees more than ``limit``
    requests in ``window`` seconds, plus a leading burst of forced 429s."""

    def __init__(self, limit: int, window: float, forced_429: int) -> None:
        self.limit = limit
        self.window = window
        self.forced = forced_429
        self.arrivals: list[float] = []
        self.statuses: list[int] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        now = time.monotonic()
        self.arrivals.append(now)
        await asyncio.sleep(0.002)
        recent = [t for t in self.arrivals if t > now - self.window]
        reset = str(time.time() + self.window)
        headers = {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Reset": reset}
        if self.forced > 0 or len(recent) > self.limit:
            self.forced -= 1
            self.statuses.append(429)
            return httpx.Response(
                429,
                json={"success": False, "error": "Too many requests"},
                headers={**headers, "Retry-After": "0.1", "X-RateLimit-Remaining": "0"},
            )
        self.statuses.append(200)
        remaining = str(max(0, self.limit - len(recent)))
        return httpx.Response(
            200,
            json={"success": True, "data": {"iccid": "1", "usedData": 1}},
            headers={**headers, "X-RateLimit-Remaining": remaining},
        )


async def test_429_storm_never_exceeds_the_budget() -> None:
    limit, window = 6, 0.3
    server = StormServer(limit=limit, window=window, forced_429=8)
    budget = RequestBudget(limit=limit, window=window)
    async with httpx.AsyncClient(transport=httpx.MockTransport(server)) as http:
        client = PikaSimClient(
            http, "k", BASE, budget=budget, max_retries=6, backoff_base=0.01, backoff_max=0.05
        )
        priorities = [Priority.BACKGROUND, Priority.CUSTOMER, Priority.ORDER] * 6
        results = await asyncio.gather(
            *(client.usage("1", priority=p) for p in priorities), return_exceptions=True
        )
    failures = [r for r in results if isinstance(r, BaseException)]
    assert not failures, failures
    assert server.statuses.count(429) >= 8
    assert max_in_window(server.arrivals, window) <= limit
    assert budget.max_in_any_window() <= limit
    assert budget.sent == len(server.arrivals)
    assert budget.rate_limited == server.statuses.count(429)
    stats: dict[str, Any] = budget.stats()
    assert stats["sent"] == budget.sent and stats["waits"] > 0


async def test_orders_overtake_background_work_under_pressure() -> None:
    server = StormServer(limit=100, window=1.0, forced_429=0)
    budget = RequestBudget(limit=3, window=0.15)
    async with httpx.AsyncClient(transport=httpx.MockTransport(server)) as http:
        client = PikaSimClient(http, "k", BASE, budget=budget)
        background = [
            asyncio.create_task(client.usage("1", priority=Priority.BACKGROUND)) for _ in range(9)
        ]
        await asyncio.sleep(0.02)  # the first window is used up, six BACKGROUND calls wait
        urgent = asyncio.create_task(client.usage("1", priority=Priority.ORDER))
        await asyncio.gather(urgent, *background)
    log = budget.start_log()
    assert [p for _, p in log].index(Priority.ORDER) == 3  # first in the second window
