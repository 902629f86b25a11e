"""The order pipeline end to end: duplicates, forged and lost webhooks, failures, outages."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.pikasim.signing import js_stringify, sign
from emulators.telegram import FakeTelegram, FakeUser, PaymentDeclined
from handlers.callbacks import BuyPlan
from storage import Order, OrderStatus
from tests.rig import (
    ADMIN_ID,
    TEST_WEBHOOK_SECRET,
    RunningBot,
    RunningSandbox,
    bot_settings,
    eventually,
    running_bot,
)


def a_plan(bot: RunningBot, country: str = "JP") -> str:
    return bot.services.catalog.index.country_plans(country)[0].code


async def open_invoice(user: FakeUser, code: str) -> dict[str, Any]:
    await user.send_command("/start")
    menu = await user.wait_for_message(lambda m: bool(user.buttons(m)))
    await user.tap_data(BuyPlan(code).pack(), menu)
    return await user.wait_for_message(lambda m: "invoice" in m)


async def buy(bot: RunningBot, user: FakeUser, country: str = "JP") -> str:
    await open_invoice(user, a_plan(bot, country))
    return await user.pay_last_invoice()


async def the_order(bot: RunningBot, *statuses: OrderStatus, timeout: float = 10) -> Order:
    async def settled() -> Order | None:
        orders = await bot.services.storage.orders.latest(limit=1)
        if orders and (not statuses or orders[0].status in statuses):
            return orders[0]
        return None

    result: Order = await eventually(settled, timeout=timeout)
    return result


def photos_to(tg: FakeTelegram, chat_id: int) -> list[Any]:
    return [c for c in tg.calls_to("sendPhoto") if c.ok and c.params.get("chat_id") == chat_id]


def reseller_orders(sandbox: RunningSandbox, reference: str) -> int:
    return sum(1 for o in sandbox.state.orders.values() if o.external_order_id == reference)


def fresh_timestamp() -> str:
    """An event's time as PikaSim writes it; the listener refuses events over 10 minutes old."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


async def post_webhook(bot: RunningBot, payload: dict[str, Any], secret: str | None) -> int:
    body = js_stringify(payload).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Webhook-Signature"] = sign(body, secret)
    async with httpx.AsyncClient() as client:
        response = await client.post(bot.url + "/webhooks/pikasim", content=body, headers=headers)
    return response.status_code


async def test_a_paid_order_is_delivered_once(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    alice = tg.user(1001, "Alice")
    await buy(bot, alice)
    order = await the_order(bot, OrderStatus.DELIVERED)
    assert reseller_orders(sandbox, order.reference) == 1
    assert len(photos_to(tg, alice.chat_id)) == 1
    payment = await bot.services.storage.payments.for_order(order.id)
    assert payment is not None and payment.amount_stars == order.price_stars


async def test_duplicate_successful_payment_changes_nothing(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    alice = tg.user(1001, "Alice")
    charge_id = await buy(bot, alice)
    order = await the_order(bot, OrderStatus.DELIVERED)
    tg.push_update(
        "message",
        {
            "message_id": 9999,
            "from": alice.profile,
            "chat": {"id": alice.chat_id, "type": "private", "first_name": "Alice"},
            "date": 1_700_000_000,
            "successful_payment": {
                "currency": "XTR",
                "total_amount": order.price_stars,
                "invoice_payload": f"order:{order.reference}",
                "telegram_payment_charge_id": charge_id,
                "provider_payment_charge_id": "",
            },
        },
    )
    await eventually(lambda: tg.pending_updates == [])
    await bot.services.orders.reconcile()
    assert reseller_orders(sandbox, order.reference) == 1
    assert len(photos_to(tg, alice.chat_id)) == 1
    assert tg.refunds == []


async def test_forged_and_unsigned_webhooks_are_rejected(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    payload = {
        "event": "order.failed",
        "timestamp": fresh_timestamp(),
        "data": {"orderId": "x", "externalOrderId": "ABCDEFGHJK", "reason": "forged"},
    }
    assert await post_webhook(bot, payload, "not-the-secret") == 401
    assert await post_webhook(bot, payload, None) == 401
    assert await bot.services.storage.webhook_events.latest() is None
    admin_alerts = [c for c in tg.calls_to("sendMessage") if c.params.get("chat_id") == ADMIN_ID]
    assert any("bad signature" in c.params["text"] for c in admin_alerts)


async def test_duplicated_and_late_webhooks_change_nothing(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    sandbox.state.duplicate_webhooks(1)
    alice = tg.user(1001, "Alice")
    await buy(bot, alice)
    order = await the_order(bot, OrderStatus.DELIVERED)
    await sandbox.state.wait_idle()
    # An out-of-order failure for an order that was already delivered is ignored.
    late_failure = {
        "event": "order.failed",
        "timestamp": fresh_timestamp(),
        "data": {
            "orderId": order.reseller_order_id,
            "externalOrderId": order.reference,
            "packageCode": order.package_code,
            "reason": "late",
        },
    }
    assert await post_webhook(bot, late_failure, TEST_WEBHOOK_SECRET) == 200
    await eventually(lambda: _all_processed(bot))
    current = await bot.services.storage.orders.get(order.id)
    assert current is not None and current.status is OrderStatus.DELIVERED
    assert len(photos_to(tg, alice.chat_id)) == 1
    assert tg.refunds == []


async def _all_processed(bot: RunningBot) -> bool:
    return await bot.services.storage.webhook_events.unprocessed() == []


async def test_malformed_signed_webhook_is_answered_and_ignored(
    bot: RunningBot, sandbox: RunningSandbox
) -> None:
    malformed = {"event": "esim.provisioned", "timestamp": fresh_timestamp(), "data": 7}
    assert await post_webhook(bot, malformed, TEST_WEBHOOK_SECRET) == 200
    await eventually(lambda: _all_processed(bot))
    latest = await bot.services.storage.webhook_events.latest()
    assert latest is not None and latest.outcome in ("malformed", "unknown order")
    async with httpx.AsyncClient() as client:
        bad_json = await client.post(
            bot.url + "/webhooks/pikasim",
            content=b"{not json",
            headers={"X-Webhook-Signature": sign(b"{not json", TEST_WEBHOOK_SECRET)},
        )
        too_big = await client.post(bot.url + "/webhooks/pikasim", content=b"x" * 70_000)
    assert bad_json.status_code == 400
    assert too_big.status_code == 413


async def test_lost_webhook_is_recovered_by_the_reconciler(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    sandbox.state.drop_webhooks(1)
    async with running_bot(bot_settings(tmp_path, tg, sandbox, reconcile_seconds=1)) as bot:
        alice = tg.user(1001, "Alice")
        await buy(bot, alice)
        order = await the_order(bot, OrderStatus.DELIVERED, timeout=15)
        assert reseller_orders(sandbox, order.reference) == 1
        assert len(photos_to(tg, alice.chat_id)) == 1


async def test_without_public_url_orders_are_polled(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    settings = bot_settings(tmp_path, tg, sandbox, public_url=None)
    async with running_bot(settings) as bot:
        assert bot.services.orders.webhooks_expected is False
        alice = tg.user(1001, "Alice")
        await buy(bot, alice)
        order = await the_order(bot, OrderStatus.DELIVERED, timeout=15)
        assert len(photos_to(tg, alice.chat_id)) == 1
        assert not [d for d in sandbox.state.webhook_deliveries if d.status_code == 200]
        assert reseller_orders(sandbox, order.reference) == 1


async def test_pre_checkout_declines_when_the_wallet_is_known_to_be_short(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    alice = tg.user(1001, "Alice")
    await open_invoice(alice, a_plan(bot))
    sandbox.state.set_balance(0)
    await bot.services.wallet.refresh()
    with pytest.raises(PaymentDeclined, match="cannot sell this plan right now"):
        await alice.pay_last_invoice()
    assert tg.star_transactions == []
    assert sandbox.state.orders == {}


async def test_insufficient_balance_refunds_and_alerts(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    alice = tg.user(1001, "Alice")
    await open_invoice(alice, a_plan(bot))
    await eventually(lambda: bot.services.wallet.cents is not None)
    sandbox.state.set_balance(0)  # the wallet empties after our last look at it
    charge_id = await alice.pay_last_invoice()
    order = await the_order(bot, OrderStatus.REFUNDED)
    assert [r.charge_id for r in tg.refunds] == [charge_id]
    assert reseller_orders(sandbox, order.reference) == 0
    told = await alice.wait_for_message(lambda m: "refunded" in m.get("text", ""))
    assert order.reference in told["text"]
    alerts = [c for c in tg.calls_to("sendMessage") if c.params.get("chat_id") == ADMIN_ID]
    assert any("wallet is too low" in c.params["text"] for c in alerts)


async def test_order_failed_webhook_refunds_the_customer(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    sandbox.state.fail_orders(1)
    alice = tg.user(1001, "Alice")
    charge_id = await buy(bot, alice)
    order = await the_order(bot, OrderStatus.REFUNDED)
    assert [r.charge_id for r in tg.refunds] == [charge_id]
    assert reseller_orders(sandbox, order.reference) == 1
    assert photos_to(tg, alice.chat_id) == []
    refund = await bot.services.storage.refunds.for_order(order.id)
    assert refund is not None and refund.status == "done"


async def test_reseller_outage_delays_but_never_duplicates(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    # A scaled-down "500 for a minute": every reseller call fails for a few seconds, long
    # enough to exhaust the client's own retries, so the pipeline must come back later.
    async with running_bot(bot_settings(tmp_path, tg, sandbox, reconcile_seconds=1)) as bot:
        alice = tg.user(1001, "Alice")
        await open_invoice(alice, a_plan(bot))
        sandbox.state.fail_for(3.0, status=500)
        await alice.pay_last_invoice()
        order = await the_order(bot, OrderStatus.DELIVERED, timeout=30)
        assert reseller_orders(sandbox, order.reference) == 1
        assert len(photos_to(tg, alice.chat_id)) == 1
        failed = [r for r in sandbox.state.requests if r.status == 500]
        assert failed, "the outage never happened"


async def test_payment_lost_in_a_crash_is_found_in_the_stars_ledger(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    alice = tg.user(1001, "Alice")
    await open_invoice(alice, a_plan(bot))
    charge_id = await alice.pay_without_update()
    await bot.services.orders.reconcile()
    order = await the_order(bot, OrderStatus.DELIVERED)
    payment = await bot.services.storage.payments.for_order(order.id)
    assert payment is not None and payment.charge_id == charge_id
    assert payment.source == "ledger"
    assert len(photos_to(tg, alice.chat_id)) == 1


async def test_payment_matching_no_order_is_refunded(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    tg.user(1001, "Alice")
    charge_id = tg.record_star_payment(1001, 50, "order:NOSUCHREF0")
    await bot.services.orders.reconcile()
    assert [r.charge_id for r in tg.refunds] == [charge_id]
    assert sandbox.state.orders == {}


async def test_two_payments_for_one_order_pay_once_and_refund_the_other(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    alice = tg.user(1001, "Alice")
    await open_invoice(alice, a_plan(bot))
    [order] = await bot.services.storage.orders.with_status(OrderStatus.AWAITING_PAYMENT)
    payload, amount = f"order:{order.reference}", order.price_stars
    charges = [tg.record_star_payment(1001, amount, payload) for _ in range(2)]
    pipeline = bot.services.orders
    results = await asyncio.gather(
        *(
            pipeline.record_payment(
                charge_id=charge,
                user_id=1001,
                amount=amount,
                currency="XTR",
                payload=payload,
                source="test",
            )
            for charge in charges
        )
    )
    paid = [order for order in results if order is not None]
    assert len(paid) == 1
    assert len(tg.refunds) == 1
    assert tg.refunds[0].charge_id in charges
    stored = [await bot.services.storage.payments.by_charge_id(c) for c in charges]
    assert sorted(p.order_id is None for p in stored if p is not None) == [False, True]


async def test_a_customer_who_blocked_the_bot_does_not_stall_the_others(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    alice, bob = tg.user(1001, "Alice"), tg.user(1002, "Bob")
    await open_invoice(alice, a_plan(bot))
    alice.blocked = True  # she pays, then blocks us before her eSIM arrives
    await alice.pay_last_invoice()
    order = await the_order(bot, OrderStatus.DELIVERED)
    esim = await bot.services.storage.esims.for_order(order.id)
    assert esim is not None  # waiting for her in "My eSIMs"
    assert photos_to(tg, alice.chat_id) == []
    # The reconciler still works for everyone else: Bob's lost payment is found.
    await open_invoice(bob, a_plan(bot))
    await bob.pay_without_update()
    await bot.services.orders.reconcile()
    await eventually(lambda: photos_to(tg, bob.chat_id))
    assert await bot.services.storage.webhook_events.unprocessed() == []


async def test_an_orphan_refund_that_fails_is_retried(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    tg.user(1001, "Alice")
    # The start-up round (its last step reads the wallet) must not take part in this count.
    await eventually(lambda: bot.services.wallet.cents is not None)
    charge_id = tg.record_star_payment(1001, 50, "order:NOSUCHREF0")
    tg.fail_next("refundStarPayment", 500, count=2)  # the payment round and its retry both fail
    await bot.services.orders.reconcile()
    assert tg.refunds == []
    payment = await bot.services.storage.payments.by_charge_id(charge_id)
    assert payment is not None and payment.refund_status == "owed"
    await bot.services.orders.reconcile()
    assert [r.charge_id for r in tg.refunds] == [charge_id]
    payment = await bot.services.storage.payments.by_charge_id(charge_id)
    assert payment is not None and payment.refund_status == "done"


async def test_old_payments_unknown_to_a_new_database_are_reported_not_refunded(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    tg.user(1001, "Alice")
    tg.record_star_payment(1001, 50, "order:OLDORDER00")
    tg.star_transactions[-1].date -= 5 * 24 * 3600  # paid five days ago
    await bot.services.orders.reconcile()
    assert tg.refunds == []
    alerts = [
        c.params["text"] for c in tg.calls_to("sendMessage") if c.params["chat_id"] == ADMIN_ID
    ]
    assert any("older than 48 h" in text for text in alerts)


async def test_an_esim_without_activation_code_goes_to_a_human_with_its_iccid(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    sandbox.state.drop_webhooks(1)  # the real esim.provisioned never arrives
    alice = tg.user(1001, "Alice")
    await buy(bot, alice)
    order = await the_order(bot, OrderStatus.ORDERED)
    sandbox.state.fail_next(count=10, status=500, path_prefix="/esims")
    incomplete = {
        "event": "esim.provisioned",
        "timestamp": fresh_timestamp(),
        "data": {
            "orderId": order.reseller_order_id,
            "externalOrderId": order.reference,
            "esim": {"iccid": "89850000000000000042"},
        },
    }
    assert await post_webhook(bot, incomplete, TEST_WEBHOOK_SECRET) == 200
    stuck = await the_order(bot, OrderStatus.NEEDS_ATTENTION)
    assert stuck.iccid == "89850000000000000042"
    assert photos_to(tg, alice.chat_id) == []
    alerts = [
        c.params["text"] for c in tg.calls_to("sendMessage") if c.params["chat_id"] == ADMIN_ID
    ]
    assert any("needs attention" in text for text in alerts)
