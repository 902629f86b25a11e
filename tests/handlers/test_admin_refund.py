"""/refund: cancel-and-refund, refusal and refund-only, Stars-only orders, never twice."""

from __future__ import annotations

from emulators.telegram import FakeTelegram
from handlers.callbacks import AdminRefund
from storage import OrderKind, OrderStatus
from tests.handlers.admin_support import (
    admin,
    ask,
    audit_actions,
    buy,
    buy_topup,
    delivered,
    reseller_calls,
    settle,
    tap,
    text_of,
)
from tests.rig import ADMIN_ID, RunningBot, RunningSandbox, eventually


async def test_an_unused_esim_is_cancelled_and_the_stars_refunded(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    alice = tg.user(1001, "Alice")
    order = await delivered(bot, alice)
    wallet_before = sandbox.state.balance_cents
    ada = admin(tg)

    preview = await ask(ada, f"/refund {order.reference} customer changed plans", "Refund order")
    assert f"Cancel eSIM {order.iccid}" in preview
    assert f"{order.price_stars} Stars" in preview
    assert "GOT_RESOURCE" in preview and "customer changed plans" in preview
    assert reseller_calls(sandbox, "/cancel") == 0  # nothing happens before the confirmation

    done = await tap(ada, "Cancel the eSIM and refund", "refunded")
    assert "cancelled with the reseller" in done
    assert sandbox.state.esims[order.iccid].status == "CANCELLED"
    stored = await bot.services.storage.esims.get(order.iccid or "")
    assert stored is not None and stored.status == "CANCELLED"
    assert sandbox.state.balance_cents == wallet_before + order.cost_cents
    payment = await bot.services.storage.payments.for_order(order.id)
    assert payment is not None
    assert [refund.charge_id for refund in tg.refunds] == [payment.charge_id]
    told = await alice.wait_for_message(lambda m: "has been refunded" in text_of(m))
    assert order.reference in text_of(told)
    refunded = await settle(bot, order, OrderStatus.REFUNDED)
    refund = await bot.services.storage.refunds.for_order(refunded.id)
    assert refund is not None and refund.requested_by == ADMIN_ID
    assert refund.reseller_refund_cents == order.cost_cents
    assert refund.amount_stars == order.price_stars
    actions = await audit_actions(bot)
    assert {"refund.requested", "refund.cancelled", "refund.done", "button.refund.cancel"} <= set(
        actions
    )


async def test_never_twice(bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox) -> None:
    alice = tg.user(1001, "Alice")
    order = await delivered(bot, alice)
    ada = admin(tg)
    await ask(ada, f"/refund {order.reference}", "Refund order")
    confirm = ada.last_message()
    await tap(ada, "Cancel the eSIM and refund", "refunded")

    again = await ask(ada, f"/refund {order.reference}", "already refunded")
    assert f"{order.price_stars} Stars" in again
    by_iccid = await ask(ada, f"/refund {order.iccid}", "already refunded")
    assert order.reference in by_iccid
    # The first confirmation pressed again, and a forged refund-only, change nothing.
    page = tg.world.chats[ada.chat_id].messages[confirm["message_id"]]
    for action in ("cancel", "only"):
        await ada.tap_data(AdminRefund(action, order.reference).pack(), confirm)
        # It says so (edited only when it did not already: no edit that changes nothing).
        await eventually(lambda: "already refunded" in page["text"])
    assert reseller_calls(sandbox, "/cancel") == 1
    assert len(tg.refunds) == 1


async def test_an_installed_esim_is_refused_and_the_customer_can_be_refunded_alone(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    alice = tg.user(1001, "Alice")
    order = await delivered(bot, alice)
    assert order.iccid is not None
    sandbox.state.install(order.iccid)
    wallet_before = sandbox.state.balance_cents
    ada = admin(tg)

    preview = await ask(ada, f"/refund {order.iccid} never connected", "Refund order")
    assert "ENABLED" in preview and "will probably refuse" in preview
    refused = await tap(ada, "Cancel the eSIM and refund", "refused")
    assert "already installed or in use" in refused  # the reseller's own words
    assert "ENABLED / ENABLED" in refused
    assert tg.refunds == []
    # The intent was committed before the cancel; the refusal closed it with nothing owed.
    intent = await bot.services.storage.refunds.for_order(order.id)
    assert intent is not None and intent.status == "refused"

    done = await tap(ada, "Refund the customer only", "refunded")
    assert "Nothing was cancelled" in done
    assert sandbox.state.esims[order.iccid].status == "ENABLED"
    assert sandbox.state.balance_cents == wallet_before
    assert len(tg.refunds) == 1
    await alice.wait_for_message(lambda m: "has been refunded" in text_of(m))
    refund = await bot.services.storage.refunds.for_order(order.id)
    assert refund is not None and refund.reseller_refund_cents is None
    assert refund.status == "done"
    assert {"refund.cancel_refused", "refund.stars_only"} <= set(await audit_actions(bot))


async def test_an_order_that_needs_attention_is_refunded_in_stars_only(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    sandbox.state.fail_next(1, status=403, path_prefix="/orders")
    alice = tg.user(1001, "Alice")
    order = await settle(bot, await buy(bot, alice), OrderStatus.NEEDS_ATTENTION)
    ada = admin(tg)

    preview = await ask(ada, f"/refund {order.reference}", "Refund order")
    assert "not delivered" in preview and "needs_attention" in preview
    await tap(ada, "Refund the customer only", "refunded")
    await settle(bot, order, OrderStatus.REFUNDED)
    assert len(tg.refunds) == 1
    assert reseller_calls(sandbox, "/cancel") == 0
    await alice.wait_for_message(lambda m: "has been refunded" in text_of(m))


async def test_what_cannot_be_refunded_is_explained(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    ada = admin(tg)
    assert "Usage" in await ask(ada, "/refund", "Usage")
    assert "No order" in await ask(ada, "/refund ZZZZZZZZZZ", "No order")
    assert "No order" in await ask(ada, "/refund 8999999999999999999", "No order")
    await bot.services.storage.users.upsert(1001, "Alice", None, "en")
    unpaid = await bot.services.storage.orders.create(
        kind=OrderKind.ESIM,
        user_id=1001,
        chat_id=1001,
        package_code="JP_TEST",
        package_name="Japan test",
        price_stars=100,
        cost_cents=100,
        language="en",
    )
    assert "never paid" in await ask(ada, f"/refund {unpaid.reference}", "never paid")
    assert reseller_calls(sandbox, "/cancel") == 0


async def test_keeping_the_order_changes_nothing(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    alice = tg.user(1001, "Alice")
    order = await delivered(bot, alice)
    ada = admin(tg)
    await ask(ada, f"/refund {order.reference}", "Refund order")
    kept = await tap(ada, "Keep the order", "Nothing was changed")
    assert order.reference in kept
    assert reseller_calls(sandbox, "/cancel") == 0 and tg.refunds == []
    current = await bot.services.storage.orders.get(order.id)
    assert current is not None and current.status is OrderStatus.DELIVERED


async def test_the_order_card_offers_a_refund(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    alice = tg.user(1001, "Alice")
    order = await delivered(bot, alice)
    ada = admin(tg)
    await ask(ada, f"/order {order.reference}", "Order")
    preview = await tap(ada, "Refund…", "Refund order")
    assert order.reference in preview
    await eventually(lambda: ada.buttons())
    assert any("Cancel the eSIM" in label for label, _, _ in ada.buttons())


async def test_an_unknown_cancellation_outcome_refunds_nothing(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    alice = tg.user(1001, "Alice")
    order = await delivered(bot, alice)
    ada = admin(tg)
    await ask(ada, f"/refund {order.reference}", "Refund order")
    sandbox.state.fail_next(1, status=500, path_prefix=f"/esims/{order.iccid}/cancel")
    text = await tap(ada, "Cancel the eSIM and refund", "could not be confirmed")
    assert "server_error" in text and f"/esim {order.iccid}" in text
    assert tg.refunds == []
    current = await bot.services.storage.orders.get(order.id)
    assert current is not None and current.status is OrderStatus.DELIVERED
    assert "refund.cancel_failed" in await audit_actions(bot)


async def test_a_top_up_is_refunded_in_stars_only(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    alice = tg.user(1001, "Alice")
    esim_order = await delivered(bot, alice)
    assert esim_order.iccid is not None
    sandbox.state.install(esim_order.iccid)
    topup = await buy_topup(bot, alice, esim_order.iccid)
    payment = await bot.services.storage.payments.for_order(topup.id)
    assert payment is not None
    charge_id = payment.charge_id
    assert topup is not None and topup.kind is OrderKind.TOPUP
    topup = await settle(bot, topup, OrderStatus.DELIVERED)
    ada = admin(tg)

    esim = await ask(ada, f"/esim {esim_order.iccid}", "eSIM")
    assert f"Top-ups: {topup.reference} (delivered)" in esim
    preview = await ask(ada, f"/refund {topup.reference}", "Refund order")
    assert "a top-up cannot be cancelled" in preview and f"{topup.price_stars} Stars" in preview
    await tap(ada, "Refund the customer only", "refunded")
    await settle(bot, topup, OrderStatus.REFUNDED)
    assert [refund.charge_id for refund in tg.refunds] == [charge_id]
    assert reseller_calls(sandbox, "/cancel") == 0
    assert sandbox.state.esims[esim_order.iccid].status == "ENABLED"


async def test_a_refund_interrupted_after_the_cancel_can_be_finished(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    alice = tg.user(1001, "Alice")
    order = await delivered(bot, alice)
    # As if an earlier /refund died after the reseller cancelled but before the Stars refund.
    await bot.services.reseller.cancel(order.iccid or "")
    ada = admin(tg)
    await ask(ada, f"/refund {order.reference}", "Refund order")
    await tap(ada, "Cancel the eSIM and refund", "refunded")
    await settle(bot, order, OrderStatus.REFUNDED)
    assert len(tg.refunds) == 1
    assert "refund.already_cancelled" in await audit_actions(bot)
    esim = await bot.services.storage.esims.get(order.iccid or "")
    assert esim is not None and esim.status == "CANCELLED"
