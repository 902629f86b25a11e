"""Ready means ready (issue 10, point 10): /healthz says 503 "loading" until the first catalog
sync completes, a customer who writes before then gets the real answer once it has, and a
failed first sync tells customers the shop opens shortly while it retries with backoff."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from bot.app import serve
from bot.asgi_server import BackgroundServer
from bot.services import Services
from bot.settings import Settings
from emulators.telegram import FakeTelegram
from tests.handlers.test_journey_purchase import with_buttons
from tests.rig import RunningBot, RunningSandbox, bot_settings, eventually


@contextlib.asynccontextmanager
async def starting_bot(settings: Settings) -> AsyncIterator[RunningBot]:
    """The real bot as soon as it polls Telegram, without waiting for its catalog (unlike
    tests.rig.running_bot)."""
    stop = asyncio.Event()
    ready: asyncio.Future[RunningBot] = asyncio.get_running_loop().create_future()

    def on_ready(services: Services, listener: BackgroundServer) -> None:
        ready.set_result(RunningBot(services, listener, settings))

    task = asyncio.create_task(serve(settings, stop, on_ready))
    try:
        yield await asyncio.wait_for(ready, 15)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


async def health(bot: RunningBot) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient() as client:
        response = await client.get(bot.url + "/healthz")
    return response.status_code, response.json()


async def test_a_customer_who_writes_during_the_first_sync_gets_the_real_answer(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    sandbox.state.fail_next(2, 503, "/packages")  # the client's retries make the sync slow
    async with starting_bot(bot_settings(tmp_path, tg, sandbox)) as bot:
        alice = tg.user(1001, "Alice")
        await alice.send_text("Japan")
        code, report = await health(bot)
        assert code == 503 and report["catalog"] == "loading"
        assert bot.services.catalog.size == 0  # so "Japan" arrived before the catalog
        plans = await alice.wait_for_message(timeout=10)
        assert with_buttons("p:")(plans) and "Japan" in plans["text"]
        assert "no plans" not in str(alice.messages)
        code, report = await health(bot)
        assert code == 200 and report["status"] == "ok" and report["catalog"] == "ok"


async def test_a_failed_first_sync_says_the_shop_opens_shortly_and_retries(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    sandbox.state.fail_next(4, 503, "/packages")  # the first attempt and all its retries
    async with starting_bot(bot_settings(tmp_path, tg, sandbox)) as bot:
        alice = tg.user(1001, "Alice")
        await alice.send_text("Japan")
        closed = await alice.wait_for_message(timeout=10)
        assert "opens in a few minutes" in closed["text"]
        code, report = await health(bot)
        assert bot.services.catalog.state == "failed"
        assert code == 503 and report["status"] == "degraded" and report["catalog"] == "failed"

        async def healthy() -> bool:
            return (await health(bot))[0] == 200

        await eventually(healthy, timeout=10, interval=0.1)  # retried after a short backoff
        await alice.send_text("Japan")
        await alice.wait_for_message(with_buttons("p:"))


async def test_a_bot_still_waiting_for_its_catalog_stops_promptly(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    sandbox.state.fail_for(60, 503)
    async with starting_bot(bot_settings(tmp_path, tg, sandbox)) as bot:
        await eventually(lambda: bot.services.catalog.state == "failed", timeout=10)
        began = asyncio.get_running_loop().time()
    assert asyncio.get_running_loop().time() - began < 5  # the retry loop did not hold it
