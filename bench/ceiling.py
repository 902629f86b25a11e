"""The bench run at the ceiling (see bench.py): the Telegram limiter on, 50 users browsing as
fast as it lets them, and customers buying and arriving at the same time, against a fake
Telegram that answers 429 to anything over Telegram's limits."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from pathlib import Path
from typing import Any

from emulators.telegram import FakeTelegram, FakeUser, FloodControl
from handlers.callbacks import BuyPlan
from tests.rig import BotProcess, running_sandbox

BROWSERS = 50
BUYERS = 15
NEWCOMERS = 15


async def ceiling_numbers(workdir: Path, rate_limit: str = "30") -> dict[str, float]:
    async with (
        FakeTelegram(flood_control=FloodControl()) as tg,
        running_sandbox(provisioning_delay=0.0) as sandbox,
    ):
        bot = BotProcess.for_rig(
            workdir,
            tg,
            sandbox,
            LOG_LEVEL="WARNING",
            RECONCILE_SECONDS="600",
            TELEGRAM_RATE_LIMIT=rate_limit,
        )
        await bot.start()
        try:
            await bot.wait_ready()
            await asyncio.sleep(1.0)  # let the start-up catalog sync and wallet read finish
            return await _under_load(tg, sandbox)
        finally:
            await bot.stop()


async def _under_load(tg: FakeTelegram, sandbox: Any) -> dict[str, float]:
    stop = asyncio.Event()
    answered = [0]
    browsers = [
        asyncio.create_task(_browse(tg.user(5000 + i, f"B{i}"), stop, answered))
        for i in range(BROWSERS)
    ]
    try:
        await asyncio.sleep(3.0)  # the wire is full now
        counted_from, started = answered[0], time.perf_counter()
        code = next(c for c, p in sandbox.state.catalog.packages.items() if p.location_code == "JP")
        payments = [await _buy(tg, sandbox, 8000 + i, code) for i in range(BUYERS)]
        newcomers = [await _first_answer(tg, tg.user(9000 + i, f"N{i}")) for i in range(NEWCOMERS)]
        throughput = (answered[0] - counted_from) / (time.perf_counter() - started)
    finally:
        stop.set()
        for task in browsers:
            task.cancel()
        await asyncio.gather(*browsers, return_exceptions=True)
    flood = tg.flood_control
    return {
        "pay_p50_ms": statistics.median(payments) * 1000,
        "pay_p90_ms": statistics.quantiles(payments, n=10)[-1] * 1000,
        "newcomer_p50_ms": statistics.median(newcomers) * 1000,
        "newcomer_max_ms": max(newcomers) * 1000,
        "browse_per_second": throughput,
        "too_many_requests": float(flood.refused if flood is not None else 0),
        "refusals": flood.refusals if flood is not None else [],  # type: ignore[dict-item]
    }


async def _browse(user: FakeUser, stop: asyncio.Event, answered: list[int]) -> None:
    """Type a destination, wait for the answer, again: as fast as the bot answers."""
    while not stop.is_set():
        await user.send_text("Japan")
        with contextlib.suppress(TimeoutError):
            await user.wait_for_message(timeout=10)
            answered[0] += 1


async def _buy(tg: FakeTelegram, sandbox: Any, user_id: int, code: str) -> float:
    """A new customer: /start, Buy, pay; seconds from the payment to the QR photo."""
    buyer = tg.user(user_id, f"Buyer{user_id}")
    await buyer.send_command("/start")
    menu = await buyer.wait_for_message(lambda m: bool(buyer.buttons(m)), timeout=10)
    await buyer.tap_data(BuyPlan(code).pack(), menu)
    await buyer.wait_for_message(lambda m: "invoice" in m, timeout=10)
    since = len(tg.calls)
    await buyer.pay_last_invoice()
    paid_at = time.time()  # the successful_payment update is queued: the fake's clock
    photo = await tg.wait_for_call(
        "sendPhoto", lambda c: c.params.get("chat_id") == user_id, timeout=10, since=since
    )
    await sandbox.state.wait_idle()
    await asyncio.sleep(0.2)  # as between two real customers
    return photo.at - paid_at


async def _first_answer(tg: FakeTelegram, user: FakeUser) -> float:
    """Seconds from a new user's /start to the bot's first answer arriving at Telegram."""
    sent_at = time.time()
    await user.send_command("/start")
    await user.wait_for_message(timeout=10)
    arrived = next(c.at for c in tg.calls if c.params.get("chat_id") == user.id)
    await asyncio.sleep(0.3)
    return arrived - sent_at
