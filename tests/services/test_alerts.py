"""Alerts to every admin: low wallet, 402, needs attention, repeated reseller errors, bad
webhook signatures; rate-limited so that a flood cannot spam."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.alerts import Alerts
from emulators.telegram import FakeTelegram, FakeUser
from storage import OrderStatus, now
from tests.handlers.admin_support import buy, settle, text_of
from tests.rig import (
    ADMIN_ID,
    RunningBot,
    RunningSandbox,
    bot_settings,
    eventually,
    running_bot,
    running_sandbox,
)

SECOND_ADMIN = 4343


@pytest.fixture
async def admins_bot(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> AsyncIterator[RunningBot]:
    """The bot with two admins, both of whom have opened its chat."""
    tg.user(ADMIN_ID, "Ada")
    tg.user(SECOND_ADMIN, "Bob")
    settings = bot_settings(tmp_path, tg, sandbox, admin_ids=f"{ADMIN_ID},{SECOND_ADMIN}")
    async with running_bot(settings) as running:
        yield running


def admins(tg: FakeTelegram) -> list[FakeUser]:
    return [tg.user(ADMIN_ID), tg.user(SECOND_ADMIN)]


def alerts_to(user: FakeUser, contains: str) -> list[str]:
    return [text_of(m) for m in user.messages if "⚠️" in text_of(m) and contains in text_of(m)]


async def every_admin_told(tg: FakeTelegram, contains: str, count: int = 1) -> None:
    for user in admins(tg):
        await eventually(lambda u=user: len(alerts_to(u, contains)) >= count, timeout=10)
    await asyncio.sleep(0.3)  # and nothing more arrives
    for user in admins(tg):
        assert len(alerts_to(user, contains)) == count, user.id


# -- through the real bot ----------------------------------------------------------------


async def test_a_low_wallet_alerts_every_admin_once(tmp_path: Path, tg: FakeTelegram) -> None:
    for user_id, name in ((ADMIN_ID, "Ada"), (SECOND_ADMIN, "Bob")):
        tg.user(user_id, name)
    async with running_sandbox(initial_balance_cents=500) as sandbox:
        settings = bot_settings(tmp_path, tg, sandbox, admin_ids=f"{ADMIN_ID},{SECOND_ADMIN}")
        async with running_bot(settings) as bot:
            await every_admin_told(tg, "wallet is low: $5.00")
            assert "threshold $20.00" in alerts_to(tg.user(ADMIN_ID), "wallet is low")[0]
            await bot.services.wallet.refresh()
            await bot.services.wallet.alert_if_low()  # the next check: held back
            await every_admin_told(tg, "wallet is low")


async def test_a_402_alerts_every_admin_once_per_order(
    admins_bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    alice = tg.user(1001, "Alice")
    references = []
    for _ in range(2):
        sandbox.state.fail_next(1, status=402, path_prefix="/orders")
        order = await buy(admins_bot, alice)
        failed = await settle(admins_bot, order, OrderStatus.REFUNDED)
        assert failed.failure_reason == "insufficient_balance"
        references.append(order.reference)
    # Critical: never held back, and one alert per order (each names its reference).
    await every_admin_told(tg, "wallet is too low for order", count=2)
    for reference in references:
        assert len(alerts_to(tg.user(ADMIN_ID), reference)) == 1
    assert len(tg.refunds) == 2  # the customers are refunded regardless


async def test_an_order_that_needs_attention_alerts_every_admin(
    admins_bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    sandbox.state.fail_next(1, status=403, path_prefix="/orders")
    order = await settle(
        admins_bot, await buy(admins_bot, tg.user(1001, "Alice")), OrderStatus.NEEDS_ATTENTION
    )
    await every_admin_told(tg, f"Order {order.reference} needs attention")
    assert f"/order {order.reference}" in alerts_to(tg.user(SECOND_ADMIN), "needs attention")[0]


async def test_repeated_reseller_errors_alert_every_admin(
    admins_bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    services = admins_bot.services
    services.reseller.backoff_base = services.reseller.backoff_max = 0.001  # fast retries
    sandbox.state.fail_next(1000, status=500, path_prefix="/orders")
    order = await buy(admins_bot, tg.user(1001, "Alice"))

    async def attempts(count: int) -> Any:
        current = await services.storage.orders.get(order.id)
        return current if current is not None and current.attempts >= count else None

    # Each attempt is retried by the client, then the pipeline schedules the next one;
    # the reconciler's wait is skipped by moving the next check to now.
    for count in (2, 3):
        current = await eventually(lambda c=count: attempts(c), timeout=10)
        if count < 3:
            await services.storage.orders.update(current, next_check_at=now() - 1)
            await services.orders.advance(order.id)
    await every_admin_told(tg, "The reseller keeps failing")
    sandbox.state.clear_faults()


async def test_a_flood_of_bad_webhook_signatures_alerts_once(
    admins_bot: RunningBot, tg: FakeTelegram
) -> None:
    async with httpx.AsyncClient() as client:
        for number in range(20):
            response = await client.post(
                admins_bot.url + "/webhooks/pikasim",
                content=b'{"event":"order.failed","data":{"orderId":"%d"}}' % number,
                headers={"X-Webhook-Signature": "0" * 64, "Content-Type": "application/json"},
            )
            assert response.status_code == 401
    await every_admin_told(tg, "bad signature was rejected")


# -- the rate limiter itself -------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class _Bot:
    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    async def send_message(self, chat_id: int, text: str, parse_mode: str | None = None) -> None:
        assert parse_mode is None  # alerts are plain text: they quote data as it is
        self.sent.append((chat_id, text))


def _alerts(clock: _Clock, bot: _Bot, **limits: Any) -> Alerts:
    alerts = Alerts([2, 1], bot, clock=clock, **limits)  # type: ignore[arg-type]
    return alerts


async def test_the_same_alert_is_sent_once_per_window() -> None:
    clock, bot = _Clock(), _Bot()
    alerts = _alerts(clock, bot, per_key_seconds=600)
    assert await alerts.send("low-balance", "low") is True
    assert [chat for chat, _ in bot.sent] == [1, 2]  # every admin
    clock.now = 599
    assert await alerts.send("low-balance", "low") is False
    assert await alerts.send("other", "different key") is True
    assert "1 similar alerts were held back" in bot.sent[-1][1]  # the next one says so
    clock.now = 601
    assert await alerts.send("low-balance", "low again") is True
    assert bot.sent[-1] == (2, "⚠️ low again")


async def test_a_burst_of_different_alerts_is_capped() -> None:
    clock, bot = _Clock(), _Bot()
    alerts = _alerts(clock, bot, burst=3, burst_seconds=60)
    sent = [await alerts.send(f"attention-{n}", f"order {n}") for n in range(10)]
    assert sent == [True] * 3 + [False] * 7
    assert len(bot.sent) == 6  # 3 alerts x 2 admins
    clock.now = 61
    assert await alerts.send("attention-99", "later") is True
    assert "7 similar alerts were held back" in bot.sent[-1][1]


async def test_alerts_never_quote_a_secret() -> None:
    clock, bot = _Clock(), _Bot()
    alerts = _alerts(clock, bot, secrets=["123:bot-token-secret"])
    await alerts.send("error-x", "failed: https://api.telegram.org/bot123:bot-token-secret/x")
    assert all("bot-token-secret" not in text for _, text in bot.sent)
    assert "***" in bot.sent[-1][1]
