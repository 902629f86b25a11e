"""Every paid order has an exit: refunds in any state, late eSIMs, stuck orders, unclear
answers, invoices that expire, the wallet re-read, alerts that always pass, and the books."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.orders import DRIVEN, EXITS
from emulators.telegram import FakeTelegram
from handlers.callbacks import BuyPlan
from storage import Order, OrderKind, OrderStatus
from storage.orders import FINAL, TRANSITIONS
from tests.handlers.admin_support import (
    admin,
    ask,
    buy,
    buy_topup,
    delivered,
    reseller_calls,
    settle,
    tap,
    text_of,
)
from tests.rig import RunningBot, RunningSandbox, bot_settings, eventually, running_bot
from tests.services.test_alerts import alerts_to

S = OrderStatus


async def refund_with(bot: RunningBot, tg: FakeTelegram, reference: str, button: str) -> str:
    ada = admin(tg)
    await ask(ada, f"/refund {reference}", "Refund order")
    return await tap(ada, button, "refunded")


def test_every_state_that_is_not_final_has_a_timed_or_admin_exit() -> None:
    for status in S:
        if status in FINAL:
            continue
        assert status in EXITS, f"{status} has no exit"
        exit_ = EXITS[status]
        assert exit_.startswith(("timed", "admin")), exit_
        if "timed" in exit_ and status not in (S.AWAITING_PAYMENT, S.ORDERED):
            assert status in DRIVEN, f"{status} says timed but the reconciler skips it"
        if "admin: refund" in exit_ or status is S.NEEDS_ATTENTION:
            assert S.REFUNDING in TRANSITIONS[status], f"{status} cannot be refunded"
    assert S.ORDERED in TRANSITIONS[S.NEEDS_ATTENTION]  # "Check again" may resume waiting


async def test_a_needs_attention_esim_is_cancelled_before_the_refund(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    order = await delivered(bot, tg.user(1001, "Alice"))
    async with bot.services.storage.db.transaction() as tx:  # as if delivery had gone wrong
        await tx.execute("UPDATE orders SET status = 'needs_attention' WHERE id = ?", (order.id,))
    ada = admin(tg)
    card = await ask(ada, f"/order {order.reference}", order.reference)
    assert "needs_attention" in card
    labels = [label for label, _, _ in ada.buttons()]
    assert labels == ["🔄 Check again", "💸 Cancel eSIM and refund", "↩️ Refund only"]
    await tap(ada, "💸 Cancel eSIM and refund", "Refund order")
    done = await tap(ada, "Cancel the eSIM and refund", "refunded")
    assert "cancelled with the reseller" in done
    assert sandbox.state.esims[order.iccid or ""].status == "CANCELLED"
    await settle(bot, order, S.REFUNDED)
    assert len(tg.refunds) == 1


async def test_check_again_delivers_a_needs_attention_order_whose_esim_is_fine(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    alice = tg.user(1001, "Alice")
    order = await delivered(bot, alice)
    async with bot.services.storage.db.transaction() as tx:
        await tx.execute("UPDATE orders SET status = 'needs_attention' WHERE id = ?", (order.id,))
    ada = admin(tg)
    await ask(ada, f"/order {order.reference}", order.reference)
    text = await tap(ada, "🔄 Check again", order.reference)
    assert "delivered" in text
    await settle(bot, order, S.DELIVERED)
    assert tg.refunds == []


async def test_a_refund_while_the_esim_is_pending_cancels_the_late_esim(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    sandbox.state.config.provisioning_delay = 4.0
    alice = tg.user(1001, "Alice")
    order = await settle(bot, await buy(bot, alice), S.ORDERED)
    ada = admin(tg)
    preview = await ask(ada, f"/refund {order.reference}", "Refund order")
    assert "has not arrived yet" in preview
    await tap(ada, "Refund the customer only", "refunded")
    refunded = await settle(bot, order, S.REFUNDED)
    assert refunded.after_refund == "watch"
    assert len(tg.refunds) == 1

    # The eSIM arrives after the refund: cancelled with the reseller, never sent.
    async def late_cancelled() -> Order | None:
        current = await bot.services.storage.orders.get(order.id)
        return current if current is not None and current.after_refund == "cancelled" else None

    final = await eventually(late_cancelled, timeout=10)
    assert final is not None and final.after_refund == "cancelled" and final.status is S.REFUNDED
    assert [c for c in tg.calls_to("sendPhoto") if c.params.get("chat_id") == 1001] == []
    await eventually(lambda: alerts_to(ada, "after it was refunded"), timeout=5)
    assert "cancelled with the reseller" in alerts_to(ada, order.reference)[-1]
    assert len(tg.refunds) == 1


async def test_a_base_refund_covers_its_delivered_top_up(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    alice = tg.user(1001, "Alice")
    base = await delivered(bot, alice)
    topup = await buy_topup(bot, alice, base.iccid or "")
    assert topup is not None and topup.kind is OrderKind.TOPUP
    topup = await settle(bot, topup, S.DELIVERED)
    ada = admin(tg)
    preview = await ask(ada, f"/refund {base.reference}", "Refund order")
    assert topup.reference in preview and "Top-ups of this eSIM" in preview
    done = await tap(ada, "Cancel the eSIM and refund", "refunded")
    assert topup.reference in done
    await settle(bot, base, S.REFUNDED)
    await settle(bot, topup, S.REFUNDED)
    charges = {
        (await bot.services.storage.payments.for_order(o.id)).charge_id  # type: ignore[union-attr]
        for o in (base, topup)
    }
    assert {refund.charge_id for refund in tg.refunds} == charges
    assert len(tg.refunds) == 2


async def test_a_stuck_order_tells_the_customer_and_admins_once(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    settings = bot_settings(tmp_path, tg, sandbox, order_stuck_seconds=1)
    async with running_bot(settings) as bot:
        bot.services.reseller.backoff_base = bot.services.reseller.backoff_max = 0.001
        sandbox.state.fail_next(10_000, status=500, path_prefix="/orders")
        alice = tg.user(1001, "Alice")
        order = await buy(bot, alice)
        await asyncio.sleep(2.1)  # stored times are whole seconds
        for _ in range(3):
            await bot.services.orders.reconcile()
        told = [m for m in alice.messages if "taking much longer" in text_of(m)]
        assert len(told) == 1 and order.reference in text_of(told[0])
        ada = admin(tg)
        assert len(alerts_to(ada, f"Order {order.reference} has been paid")) == 1
        current = await bot.services.storage.orders.get(order.id)
        assert current is not None and current.status is S.ORDERING  # the checks go on
        sandbox.state.clear_faults()


async def test_success_false_on_an_order_ends_in_needs_attention(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    sandbox.state.fail_next(1, status=200, path_prefix="/orders")  # 200 with success: false
    order = await settle(bot, await buy(bot, tg.user(1001, "Alice")), S.NEEDS_ATTENTION)
    assert "does not list it" in (order.failure_reason or "")
    assert reseller_calls(sandbox, "/orders") >= 2  # the POST, then the look-up
    for _ in range(2):
        await bot.services.orders.reconcile()
    current = await bot.services.storage.orders.get(order.id)
    assert current is not None and current.status is S.NEEDS_ATTENTION
    assert sandbox.state.orders == {}


async def test_a_deposit_lifts_a_decline_within_seconds(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    wallet = bot.services.wallet
    wallet.reread_seconds = 0.5
    sandbox.state.set_balance(0)
    await wallet.refresh()
    alice = tg.user(1001, "Alice")
    code = bot.services.catalog.index.country_plans("JP")[0].code
    await alice.send_command("/start")
    await alice.wait_for_message(lambda m: bool(alice.buttons(m)))
    await alice.tap_data(BuyPlan(code).pack())
    await alice.wait_for_message(lambda m: "cannot sell this plan" in text_of(m))
    sandbox.state.set_balance(100_000)  # the operator tops up the wallet
    await asyncio.sleep(0.6)
    await alice.tap_data(BuyPlan(code).pack())
    await alice.wait_for_message(lambda m: "invoice" in m)
    charge_id = await alice.pay_last_invoice()
    payment = await eventually(lambda: bot.services.storage.payments.by_charge_id(charge_id))
    order = await bot.services.storage.orders.get(payment.order_id)
    assert order is not None
    await settle(bot, order, S.DELIVERED)


async def test_an_expired_invoice_is_declined_and_buy_again_reuses_the_order(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    from emulators.telegram import PaymentDeclined

    settings = bot_settings(tmp_path, tg, sandbox, invoice_ttl_seconds=1)
    async with running_bot(settings) as bot:
        alice = tg.user(1001, "Alice")
        code = bot.services.catalog.index.country_plans("JP")[0].code
        await alice.send_command("/start")
        await alice.wait_for_message(lambda m: bool(alice.buttons(m)))
        first = second = None
        for _ in range(2):
            await alice.tap_data(BuyPlan(code).pack())
            invoice = await alice.wait_for_message(lambda m: "invoice" in m)
            first, second = second, invoice["invoice"]
        assert first is not None and second is not None
        count = await bot.services.storage.db.fetchval("SELECT COUNT(*) FROM orders")
        assert count == 1  # one row for two taps
        await asyncio.sleep(2.1)  # stored times are whole seconds
        try:
            await alice.pay_last_invoice()
        except PaymentDeclined as declined:
            assert "expired" in str(declined) and "Buy again" in str(declined)
        else:
            raise AssertionError("an expired invoice was paid")
        assert tg.star_transactions == []
        assert await bot.services.orders.expire_unpaid() == 1


async def test_critical_alerts_pass_after_twenty_noisy_ones(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    for number in range(20):
        await bot.services.alerts.send(f"reseller-errors-{number}", f"noise {number}")
    sandbox.state.fail_next(1, status=403, path_prefix="/orders")
    order = await settle(bot, await buy(bot, tg.user(1001, "Alice")), S.NEEDS_ATTENTION)
    ada = admin(tg)
    await eventually(lambda: alerts_to(ada, f"Order {order.reference} needs attention"))
    alert = alerts_to(ada, f"Order {order.reference} needs attention")[0]
    assert "were held back" in alert
    assert len(alerts_to(ada, "noise")) == 10  # the hourly burst of noisy alerts


async def test_the_books_balance_and_show_an_unknown_reseller_charge(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    alice = tg.user(1001, "Alice")
    await delivered(bot, alice)
    kept = await delivered(bot, alice)
    sandbox.state.fail_orders(1)
    await settle(bot, await buy(bot, alice), S.REFUNDED)
    await refund_with(bot, tg, kept.reference, "Cancel the eSIM and refund")
    await settle(bot, kept, S.REFUNDED)
    ada = admin(tg)
    report = await ask(ada, "/audit", "The books")
    assert "Difference: <b>0</b>" in report or "Difference: 0" in report
    assert "Balanced" in report
    books = await bot.services.orders.books.audit(1)
    assert books.stars.received == books.stars.delivered + books.stars.refunded
    assert books.stars.refunded > 0 and books.balanced
    sandbox.state.wallet.post("order", -321, "a charge we never made", "ffffffffffffffffffffffff")
    report = await ask(ada, "/audit 2", "The books")
    assert "A charge we do not know" in report and "$3.21" in report
    assert "Not balanced" in report


async def test_an_esim_with_an_invalid_iccid_needs_attention(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    sandbox.state.hostile_esims(iccid="12ab<b>")
    alice = tg.user(1001, "Alice")
    order = await settle(bot, await buy(bot, alice), S.NEEDS_ATTENTION)
    assert "invalid ICCID" in (order.failure_reason or "")
    assert await bot.services.storage.esims.for_order(order.id) is None
    await eventually(lambda: alerts_to(admin(tg), f"Order {order.reference} needs attention"))
    for _ in range(2):  # nothing raises on later rounds, and My eSIMs still works
        await bot.services.orders.reconcile()
    await alice.send_command("/start")
    await alice.wait_for_message(lambda m: bool(alice.buttons(m)))


async def test_a_stars_refund_telegram_refused_can_be_tried_again_by_an_admin(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    sandbox.state.fail_orders(1)
    tg.fail_next("refundStarPayment", 400, "Bad Request: CHARGE_NOT_FOUND")
    order = await settle(bot, await buy(bot, tg.user(1001, "Alice")), S.NEEDS_ATTENTION)
    assert tg.refunds == []
    ada = admin(tg)
    await ask(ada, f"/order {order.reference}", order.reference)
    labels = [label for label, _, _ in ada.buttons()]
    assert "↩️ Refund only" in labels and "💸 Cancel eSIM and refund" not in labels
    await tap(ada, "↩️ Refund only", "refunded")
    await settle(bot, order, S.REFUNDED)
    assert len(tg.refunds) == 1
