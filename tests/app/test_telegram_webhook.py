"""Telegram webhook mode end to end: the fake Telegram POSTs updates to the bot's listener (with
Telegram's retries); a wrong secret token is refused; polling deletes an old webhook; and a
payment whose update was answered 200 survives the bot dying right after (kill -9)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import httpx
import pytest

from bot.settings import Settings, SettingsError, load_settings
from emulators.telegram import FakeTelegram
from tests.databases import database_for
from tests.handlers.test_journey_purchase import buy, topup_plan
from tests.orders.test_crash import a_plan_code, buy_and_pay, order_row, reseller_orders_for
from tests.rig import BotProcess, RunningBot, RunningSandbox, bot_settings, eventually, running_bot

PATH = "/webhooks/telegram"


def webhook_settings(tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox) -> Settings:
    settings = bot_settings(tmp_path, tg, sandbox)
    url = f"http://127.0.0.1:{settings.http_port}{PATH}"
    return dataclasses.replace(settings, telegram_webhook_url=url)


async def test_updates_arrive_by_webhook_and_a_purchase_completes(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    settings = webhook_settings(tmp_path, tg, sandbox)
    async with running_bot(settings) as bot:
        assert tg.world.webhook_url == bot.url + PATH
        assert tg.webhook.secret and len(tg.webhook.secret) >= 32  # random per start
        setting = tg.calls_to("setWebhook")[-1].params
        assert setting.get("drop_pending_updates") in (None, False)
        alice = tg.user(1001, "Alice", "en")
        await buy(alice, "Japan", topup_plan(bot))
        assert tg.calls_to("getUpdates") == []
        delivered = {a.kind for a in tg.webhook.attempts if a.status == 200}
        assert {"message", "callback_query", "pre_checkout_query"} <= delivered
        assert bot.services.metrics.webhooks[("telegram", "accepted")] >= 3


async def test_a_wrong_secret_token_is_refused_and_telegram_retries(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    settings = webhook_settings(tmp_path, tg, sandbox)
    async with running_bot(settings) as bot:
        forged = {"update_id": 1, "message": {"message_id": 1, "date": 0, "text": "/start",
                  "chat": {"id": 1001, "type": "private"}}}  # fmt: skip
        async with httpx.AsyncClient() as client:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "guess"}):
                refused = await client.post(bot.url + PATH, json=forged, headers=headers)
                assert refused.status_code == 403
        assert bot.services.metrics.webhooks[("telegram", "bad_secret")] == 2

        # Telegram holding the wrong secret: refused, kept, retried until it is right again.
        right, tg.webhook.secret = tg.webhook.secret, "not-the-secret"
        alice = tg.user(1001, "Alice", "en")
        await alice.send_command("/start")
        await eventually(lambda: len([a for a in tg.webhook.attempts if a.status == 403]) >= 2)
        info = (await httpx.AsyncClient().get(f"{tg.api_url}{tg.token}/getWebhookInfo")).json()
        assert info["result"]["pending_update_count"] == 1
        assert info["result"]["last_error_message"].startswith(
            "Wrong response from the webhook: 403"
        )
        assert alice.messages == []  # the forged update and the refused one did nothing
        tg.webhook.secret = right
        await alice.wait_for_message(lambda m: "Alice" in m.get("text", ""), timeout=10)


async def test_polling_deletes_an_old_webhook_and_keeps_pending_updates(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    tg.world.webhook_url = "https://old.example.com/hook"
    alice = tg.user(1001, "Alice", "en")
    await alice.send_command("/start")  # waiting at Telegram before the bot starts
    async with running_bot(bot_settings(tmp_path, tg, sandbox)):
        await alice.wait_for_message(lambda m: "Alice" in m.get("text", ""), timeout=10)
        assert tg.world.webhook_url == ""
        assert tg.calls_to("deleteWebhook")[0].params.get("drop_pending_updates") in (None, False)


async def test_a_payment_answered_200_survives_kill_9_right_after(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    bot = BotProcess.for_rig(tmp_path, tg, sandbox)
    bot.env["TELEGRAM_WEBHOOK_URL"] = bot.url + PATH
    try:
        # Dies (os._exit, like kill -9) in the payment handler: after the 200, before the
        # payment is committed. Telegram will not send that update again.
        await bot.start(ESIM_BOT_CRASH_AT="before_payment_recorded")
        await bot.wait_ready()
        await buy_and_pay(tg.user(1001, "Alice"), await a_plan_code(sandbox))
        assert await bot.wait_exit() == 77, bot.text
        payments = [a for a in tg.webhook.attempts if a.kind == "message"]
        assert payments[-1].status == 200  # Telegram considers it delivered
        assert order_row(database_for(tmp_path)) is None  # ...but nothing was committed

        await bot.start()
        await bot.wait_ready()

        def delivered() -> dict[str, object] | None:
            row = order_row(database_for(tmp_path))
            return row if row and row["status"] == "delivered" else None

        row = await eventually(delivered, timeout=20, interval=0.1)
        assert await bot.stop() == 0, bot.text
    finally:
        await bot.kill()
    assert reseller_orders_for(sandbox, str(row["reference"])) == 1
    assert len([c for c in tg.calls_to("sendPhoto") if c.params.get("chat_id") == 1001]) == 1
    assert tg.refunds == []


async def test_without_a_webhook_url_there_is_no_webhook_route(bot: RunningBot) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(bot.url + PATH, json={})
    assert response.status_code in (404, 405)


def test_a_malformed_webhook_secret_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_SECRET"):
        load_settings(
            environ={"TELEGRAM_BOT_TOKEN": "1:abc", "TELEGRAM_WEBHOOK_SECRET": "no spaces!"},
            env_file=None,
        )
    settings = load_settings(
        environ={"TELEGRAM_BOT_TOKEN": "1:abc", "TELEGRAM_WEBHOOK_SECRET": "Ok_secret-1"},
        env_file=None,
    )
    assert "Ok_secret-1" in settings.secrets  # masked in logs like the others
