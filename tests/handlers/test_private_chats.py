"""eSIMs never land in group chats (issue 10, point 5): there the bot answers with one button
that opens a private chat, and invoices and eSIMs go only to private chats."""

from __future__ import annotations

import pytest
from telegram import LabeledPrice

from emulators.telegram import FakeTelegram, PaymentDeclined
from storage import OrderKind
from tests.handlers.test_journey_purchase import with_buttons
from tests.rig import RunningBot, RunningSandbox

LINK = "https://t.me/esim_test_bot?start="


@pytest.mark.parametrize("kind", ["group", "supergroup"])
async def test_in_a_group_the_bot_only_points_to_a_private_chat(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox, kind: str
) -> None:
    alice = tg.user(1001, "Alice")
    group = tg.group(alice, chat_id=-1001, kind=kind)
    plan = bot.services.catalog.index.country_plans("JP")[0]

    await group.send_command("/start")
    answer = await group.wait_for_message()
    assert group.buttons(answer) == [("💬 Open a private chat", None, LINK + "menu")]
    await group.send_command("/start@esim_test_bot JP")
    answer = await group.wait_for_message()
    assert group.buttons(answer) == [("💬 Open a private chat", None, LINK + "JP")]

    # A Buy button in the group (from before this check): the tap opens the private chat.
    tapped = await group.tap_data(f"b:{plan.code}", answer)
    assert tapped.get("url") == LINK + "menu"
    await group.send_text("Japan")  # plain text and other bots' commands: no answer
    await group.send_command("/help@another_bot")
    await group.send_command("/help")
    await group.wait_for_message(lambda m: "private" in (m.get("text") or ""))
    assert not [m for m in group.messages if "invoice" in m or "photo" in m]
    assert len(group.messages) == 3  # /start, /start JP, /help: one button each
    assert await bot.services.storage.orders.for_user(alice.id, limit=10) == []
    assert not tg.calls_to("sendInvoice") and not sandbox.state.orders

    # The link opens the private chat, where everything works as usual.
    await alice.send_command("/start menu")
    await alice.wait_for_message(with_buttons("m:buy"))


async def test_an_invoice_sent_to_a_group_is_never_paid(bot: RunningBot, tg: FakeTelegram) -> None:
    """An order whose chat is a group (an invoice from before this check): its payment is
    declined at pre-checkout, so no eSIM can be delivered into the group."""
    alice = tg.user(1001, "Alice")
    group = tg.group(alice, chat_id=-1002)
    plan = bot.services.catalog.index.country_plans("JP")[0]
    stars = 500
    await bot.services.storage.users.upsert(alice.id, "Alice", None, "en")
    order = await bot.services.storage.orders.create(
        kind=OrderKind.ESIM, user_id=alice.id, chat_id=group.chat_id, package_code=plan.code,
        package_name=plan.name, price_stars=stars, cost_cents=plan.price_cents, language="en",
    )  # fmt: skip
    await bot.services.alerts.bot.send_invoice(  # type: ignore[union-attr]
        chat_id=group.chat_id, title=plan.name[:32], description="old invoice",
        payload=f"order:{order.reference}", currency="XTR", prices=[LabeledPrice("eSIM", stars)],
    )  # fmt: skip
    await group.wait_for_message(lambda m: "invoice" in m)
    with pytest.raises(PaymentDeclined, match="private chat"):
        await group.pay_last_invoice()
    assert not tg.star_transactions
