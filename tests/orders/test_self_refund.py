"""Cancel and refund from My eSIMs (issue 12, point 4): once, refused when installed or too old,
never on someone else's eSIM; the same cancel-first refund as /refund."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emulators.telegram import FakeTelegram, FakeUser
from handlers.callbacks import EsimCard, Menu, SelfRefundConfirm, SelfRefundPreview
from storage import OrderStatus, now
from tests.handlers.admin_support import STALE, delivered, reseller_calls, settle, text_of
from tests.rig import RunningBot, RunningSandbox, bot_settings, running_bot

JSON = dict[str, Any]


async def open_card(user: FakeUser, iccid: str) -> JSON:
    await user.send_command("/start")
    menu = await user.wait_for_message(lambda m: bool(user.buttons(m)))
    await user.tap_data(Menu("mine").pack(), menu)
    mine = await user.wait_for_message(
        lambda m: any(d == f"e:{iccid}" for _, d, _ in user.buttons(m))
    )
    await user.tap_data(EsimCard(iccid).pack(), mine)
    return await user.wait_for_message(lambda m: "ICCID" in text_of(m))


def has_cancel(user: FakeUser, card: JSON, iccid: str) -> bool:
    return any(data == f"cr:{iccid}" for _, data, _ in user.buttons(card))


async def test_a_never_installed_esim_is_cancelled_and_refunded_once(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    alice = tg.user(1001, "Alice", "en")
    order = await delivered(bot, alice)
    iccid = order.iccid or ""
    wallet_before = sandbox.state.balance_cents
    card = await open_card(alice, iccid)
    assert has_cancel(alice, card, iccid)

    await alice.tap("↩️ Cancel and refund", card)
    info = await alice.wait_for_message(lambda m: "What will happen" in text_of(m))
    assert f"⭐ {order.price_stars}" in text_of(info) and iccid in text_of(info)
    assert reseller_calls(sandbox, "/cancel") == 0  # nothing happens before the confirmation

    await alice.tap("✅ Yes, cancel it and refund me", info)
    await alice.wait_for_message(lambda m: "was cancelled" in text_of(m), timeout=10)
    told = [
        str(call.params.get("text"))
        for call in tg.calls_to("sendMessage")
        if call.params.get("chat_id") == alice.id and "has been refunded" in str(call.params)
    ]
    assert len(told) == 1 and order.reference in told[0]  # the refund message
    assert sandbox.state.esims[iccid].status == "CANCELLED"
    assert sandbox.state.balance_cents == wallet_before + order.cost_cents
    payment = await bot.services.storage.payments.for_order(order.id)
    assert payment is not None and [r.charge_id for r in tg.refunds] == [payment.charge_id]
    refunded = await settle(bot, order, OrderStatus.REFUNDED)
    refund = await bot.services.storage.refunds.for_order(refunded.id)
    assert refund is not None and refund.requested_by == alice.id and refund.reason == "customer"

    # Never twice: the button is gone, and a replayed confirmation changes nothing.
    assert not has_cancel(alice, await open_card(alice, iccid), iccid)
    await alice.tap_data(SelfRefundConfirm(iccid).pack(), card)
    await alice.wait_for_message(lambda m: "already been refunded" in text_of(m))
    assert reseller_calls(sandbox, "/cancel") == 1 and len(tg.refunds) == 1


async def test_an_installed_esim_is_refused_by_the_reseller_and_nothing_is_refunded(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    alice = tg.user(1001, "Alice", "en")
    order = await delivered(bot, alice)
    iccid = order.iccid or ""
    card = await open_card(alice, iccid)  # we have not seen the installation yet
    sandbox.state.install(iccid)
    await alice.tap_data(SelfRefundConfirm(iccid).pack(), card)
    refused = await alice.wait_for_message(lambda m: "has been installed" in text_of(m), timeout=10)
    assert "/paysupport" in text_of(refused)
    assert reseller_calls(sandbox, "/cancel") == 1  # the reseller's refusal is the final word
    assert tg.refunds == []
    current = await bot.services.storage.orders.get(order.id)
    assert current is not None and current.status is OrderStatus.DELIVERED
    assert not has_cancel(alice, await open_card(alice, iccid), iccid)


async def test_an_esim_we_know_is_installed_or_too_old_shows_no_button(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    alice = tg.user(1001, "Alice", "en")
    order = await delivered(bot, alice)
    iccid = order.iccid or ""
    async with bot.services.storage.db.transaction() as tx:  # bought 31 days ago
        await tx.execute(
            "UPDATE orders SET paid_at = ? WHERE id = ?", (now() - 31 * 86400, order.id)
        )
    card = await open_card(alice, iccid)
    assert not has_cancel(alice, card, iccid)
    await alice.tap_data(SelfRefundPreview(iccid).pack(), card)
    too_old = await alice.wait_for_message(lambda m: "within 30 days" in text_of(m))
    assert "/paysupport" in text_of(too_old)

    bob = tg.user(1002, "Bob", "ru")
    his = (await delivered(bot, bob)).iccid or ""
    his_card = await open_card(bob, his)
    await bot.services.storage.esims.set_status(his, "IN_USE", "ENABLED")  # seen in use since
    await bob.tap_data(SelfRefundConfirm(his).pack(), his_card)
    await bob.wait_for_message(lambda m: "уже установлена" in text_of(m))
    assert reseller_calls(sandbox, "/cancel") == 0 and tg.refunds == []


async def test_nobody_can_cancel_someone_elses_esim(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    alice, mallory = tg.user(1001, "Alice"), tg.user(666, "Mallory")
    order = await delivered(bot, alice)
    iccid = order.iccid or ""
    await mallory.send_command("/start")
    menu = await mallory.wait_for_message(lambda m: bool(mallory.buttons(m)))
    for data in (SelfRefundPreview(iccid).pack(), SelfRefundConfirm(iccid).pack()):
        answered = await mallory.tap_data(data, menu)
        assert answered.get("text") == STALE
    assert reseller_calls(sandbox, "/cancel") == 0 and tg.refunds == []
    current = await bot.services.storage.orders.get(order.id)
    assert current is not None and current.status is OrderStatus.DELIVERED


async def test_refund_days_zero_turns_it_off(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    async with running_bot(bot_settings(tmp_path, tg, sandbox, refund_days=0)) as bot:
        alice = tg.user(1001, "Alice")
        iccid = (await delivered(bot, alice)).iccid or ""
        assert not has_cancel(alice, await open_card(alice, iccid), iccid)
        await alice.tap_data(SelfRefundConfirm(iccid).pack(), await open_card(alice, iccid))
        await alice.wait_for_message(lambda m: "handled by support" in text_of(m))
        assert reseller_calls(sandbox, "/cancel") == 0
