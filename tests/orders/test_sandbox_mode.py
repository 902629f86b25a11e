"""Sandbox mode is a rehearsal, not a shop: only admins and allowed users buy (unless
SANDBOX_OPEN=1), /start says so, Stars paid are refunded after delivery, and the sandbox's
webhooks are signed with a per-process secret and accepted only in-process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.i18n import t
from bot.pikasim.signing import sign
from bot.settings import load_settings
from emulators.telegram import FakeTelegram, FakeUser
from handlers.callbacks import BuyPlan
from storage import OrderKind, OrderStatus
from tests.rig import ADMIN_ID, RunningBot, bot_settings, eventually, running_bot

ALLOWED_ID = 5005


@pytest.fixture
async def sandbox_bot(tmp_path: Path, tg: FakeTelegram) -> AsyncIterator[RunningBot]:
    """The embedded sandbox (no reseller key), as a newcomer with a real token would run it."""
    settings = bot_settings(tmp_path, tg, None, allowed_user_ids=f"{ALLOWED_ID},1001,666")
    async with running_bot(settings) as bot:
        yield bot


async def _tap_buy(user: FakeUser, bot: RunningBot) -> str:
    await user.send_command("/start")
    menu = await user.wait_for_message(lambda m: bool(user.buttons(m)))
    code = bot.services.catalog.index.country_plans("JP")[0].code
    await user.tap_data(BuyPlan(code).pack(), menu)
    return code


async def test_start_shows_the_rehearsal_banner(sandbox_bot: RunningBot, tg: FakeTelegram) -> None:
    for user_id, language in ((1001, "en"), (666, "es"), (ALLOWED_ID, "ru")):
        user = tg.user(user_id, "Ana", language)
        await user.send_command("/start")
        welcome = await user.wait_for_message(lambda m, u=user: bool(u.buttons(m)))
        banner = t(language, "sandbox.banner").replace("<b>", "").replace("</b>", "")
        assert welcome["text"].startswith(banner)
    # A deep link (t.me/bot?start=JP) opens the country, after the banner.
    await user.send_command("/start JP")
    country = await user.wait_for_message(lambda m: "🇯🇵" in m.get("text", ""))
    banners = [m for m in user.messages if m.get("text", "").startswith(banner)]
    assert len(banners) == 2 and banners[-1]["message_id"] < country["message_id"]


async def test_the_banner_is_not_shown_with_a_real_reseller(
    bot: RunningBot, tg: FakeTelegram
) -> None:
    alice = tg.user(1001, "Alice", "en")
    await alice.send_command("/start")
    welcome = await alice.wait_for_message(lambda m: bool(alice.buttons(m)))
    assert "Rehearsal" not in welcome["text"] and "Hi Alice" in welcome["text"]


async def test_only_admins_and_allowed_users_can_buy_in_sandbox_mode(
    tmp_path: Path, tg: FakeTelegram
) -> None:
    async with running_bot(bot_settings(tmp_path, tg, None)) as bot:
        stranger = tg.user(1001, "Stranger", "en")
        await _tap_buy(stranger, bot)
        refusal = await stranger.wait_for_message(lambda m: "rehearsal" in m.get("text", ""))
        assert refusal["text"] == t("en", "sandbox.buy_closed")
        assert not any("invoice" in m for m in stranger.messages)
        count = await bot.services.storage.db.fetchone("SELECT COUNT(*) AS n FROM orders")
        assert count is not None and count["n"] == 0  # nothing opened, not even unpaid

        admin = tg.user(ADMIN_ID)
        await _tap_buy(admin, bot)
        await admin.wait_for_message(lambda m: "invoice" in m)


async def test_pre_checkout_is_declined_for_a_stranger_in_sandbox_mode(
    tmp_path: Path, tg: FakeTelegram
) -> None:
    async with running_bot(bot_settings(tmp_path, tg, None)) as bot:
        stranger = tg.user(1001, "Stranger", "es")
        await stranger.send_command("/start")
        await stranger.wait_for_message(lambda m: bool(stranger.buttons(m)))
        # An invoice opened before, or forwarded: the order is theirs and otherwise payable.
        plan = bot.services.catalog.index.country_plans("JP")[0]
        order = await bot.services.storage.orders.create(
            kind=OrderKind.ESIM,
            user_id=stranger.id,
            chat_id=stranger.chat_id,
            package_code=plan.code,
            package_name=plan.name,
            price_stars=100,
            cost_cents=plan.price_cents,
            language="es",
        )
        query = tg.push_update(
            "pre_checkout_query",
            {
                "id": "pcq-sandbox-1",
                "from": stranger.profile,
                "currency": "XTR",
                "total_amount": 100,
                "invoice_payload": f"order:{order.reference}",
            },
        )
        assert query
        call = await tg.wait_for_call(
            "answerPreCheckoutQuery",
            lambda c: c.params.get("pre_checkout_query_id") == "pcq-sandbox-1",
        )
        assert call.params["ok"] in (False, "false", "False")
        assert call.params["error_message"] == t("es", "checkout.declined.sandbox")


async def test_sandbox_open_lets_anyone_buy(tmp_path: Path, tg: FakeTelegram) -> None:
    async with running_bot(bot_settings(tmp_path, tg, None, sandbox_open="1")) as bot:
        stranger = tg.user(1001, "Stranger", "en")
        await _tap_buy(stranger, bot)
        await stranger.wait_for_message(lambda m: "invoice" in m)
        await stranger.pay_last_invoice()
        await stranger.wait_for_message(lambda m: "photo" in m, timeout=10)


def test_the_gate_is_only_for_the_embedded_sandbox(tmp_path: Path) -> None:
    common: dict[str, Any] = {"telegram_bot_token": "1:x", "admin_ids": "7"}
    real = load_settings({}, None, pikasim_api_key="pk", pikasim_webhook_secret="w" * 16, **common)
    assert real.may_buy(1001)
    sandbox = load_settings({}, None, allowed_user_ids="8", **common)
    assert [sandbox.may_buy(user) for user in (7, 8, 1001)] == [True, True, False]
    assert load_settings({"SANDBOX_OPEN": "1"}, None, **common).may_buy(1001)


def test_the_sandbox_webhook_secret_is_random_per_process(tmp_path: Path) -> None:
    settings = load_settings({}, None, telegram_bot_token="1:x")
    secret = settings.webhook_secret
    assert secret != "whsec_sandbox" and len(secret) >= 40
    assert secret in settings.secrets  # masked in logs like every secret
    code = "from bot.settings import SANDBOX_WEBHOOK_SECRET as s; print(s)"
    others = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    }
    assert len(others) == 2 and secret not in others


async def test_the_public_route_refuses_sandbox_signed_webhooks(
    sandbox_bot: RunningBot, tg: FakeTelegram
) -> None:
    services = sandbox_bot.services
    secret = services.settings.webhook_secret
    assert services.sandbox.config.webhook_secret == secret  # the sandbox signs with it
    before = await services.storage.webhook_events.latest()
    body = (
        b'{"event":"esim.provisioned","timestamp":"2026-12-01T00:00:00.000Z",'
        b'"data":{"orderId":"forged","esim":{"iccid":"8981000000000000001"}}}'
    )
    async with httpx.AsyncClient() as client:
        response = await client.post(
            sandbox_bot.url + "/webhooks/pikasim",
            content=body,
            headers={
                "X-Webhook-Signature": sign(body, secret),
                "Content-Type": "application/json",
                "esim_bot.in_process": "true",  # headers never reach the ASGI scope's keys
            },
        )
    assert response.status_code == 403
    assert await services.storage.webhook_events.latest() == before

    # The embedded sandbox's own webhooks still arrive (in-process): an allowed user's order.
    alice = tg.user(1001, "Alice", "en")
    await _tap_buy(alice, sandbox_bot)
    await alice.wait_for_message(lambda m: "invoice" in m)
    await alice.pay_last_invoice()
    await alice.wait_for_message(lambda m: "photo" in m, timeout=10)
    event = await services.storage.webhook_events.latest()
    assert event is not None and event.event == "esim.provisioned"
    assert [d.status_code for d in services.sandbox.webhook_deliveries] == [200]


async def test_a_rehearsal_order_is_refunded_after_delivery_once(
    sandbox_bot: RunningBot, tg: FakeTelegram
) -> None:
    services = sandbox_bot.services
    alice = tg.user(1001, "Alice", "en")
    # Telegram fails the first refund: the refund stays owed, on disk, and the reconciler
    # finishes it.
    tg.fail_next("refundStarPayment", 500)
    await _tap_buy(alice, sandbox_bot)
    await alice.wait_for_message(lambda m: "invoice" in m)
    charge_id = await alice.pay_last_invoice()
    await alice.wait_for_message(lambda m: "photo" in m, timeout=10)

    async def owed() -> Any:
        orders = await services.storage.orders.for_user(alice.id)
        if not orders or orders[0].status is not OrderStatus.DELIVERED:
            return None
        refund = await services.storage.refunds.for_order(orders[0].id)
        return refund is not None and refund.status == "pending" and orders[0]

    order = await eventually(owed)
    assert tg.refunds == []
    await services.orders.reconcile()
    assert [refund.charge_id for refund in tg.refunds] == [charge_id]
    told = await alice.wait_for_message(lambda m: "rehearsal" in m.get("text", ""))
    assert f"⭐ {order.price_stars}" in told["text"] and order.reference in told["text"]

    # Never twice: another round changes nothing and says nothing.
    messages = len(alice.messages)
    await services.orders.reconcile()
    assert len(tg.refunds) == 1 and len(alice.messages) == messages
    refund = await services.storage.refunds.for_order(order.id)
    assert (
        refund is not None and refund.status == "done" and refund.amount_stars == order.price_stars
    )
    current = await services.storage.orders.get(order.id)
    assert current is not None and current.status is OrderStatus.DELIVERED
