"""One customer cannot stall everyone (issue 10, point 2), with the reseller's real limit of 60
requests a minute enforced by the sandbox itself.

Usage is asked of the reseller at most once a minute per eSIM and repeated taps are answered
from that answer; reseller work runs in the customer's own task, never in an update slot; the
budget keeps a reserve for paid orders; a customer who would wait too long for a slot is told
politely that the network is busy.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bot.pikasim import Priority, RequestBudget
from bot.pikasim._budget import BudgetBusy
from emulators.telegram import FakeTelegram
from tests.handlers.test_journey_purchase import (
    button,
    buy,
    choose_plan,
    receive_esim,
    with_buttons,
)
from tests.rig import RunningBot, bot_settings, running_bot, running_sandbox


async def test_a_customer_tapping_usage_cannot_stall_another_customer(
    tmp_path: Path, tg: FakeTelegram
) -> None:
    async with running_sandbox(rate_limit=60) as sandbox:
        settings = bot_settings(tmp_path, tg, sandbox, pikasim_rate_limit=60)
        async with running_bot(settings) as bot:
            plan = bot.services.catalog.index.country_plans("JP")[0]
            alice, bob = tg.user(1001, "Alice"), tg.user(1002, "Bob")
            photo, _ = await buy(alice, "Japan", plan)
            iccid = (await bot.services.storage.esims.for_user(alice.id))[0].iccid
            await alice.tap("Usage", photo)
            page = await alice.wait_for_message(with_buttons(f"u:{iccid}"))
            assert "Updated just now" in page["text"]

            async def tap_usage_100_times() -> None:  # a minute's worth, compressed
                for _ in range(100):
                    await alice.tap_data(f"u:{iccid}", page)
                    await asyncio.sleep(0.05)

            began, began_wall = time.monotonic(), time.time()
            tapping = asyncio.create_task(tap_usage_100_times())
            await asyncio.sleep(1.0)
            await bob.send_command("/start")
            await bob.wait_for_message(with_buttons("m:buy"), timeout=1.0)
            details = await choose_plan(bob, "Japan", plan)
            await bob.tap(button(bob, details, f"b:{plan.code}"), details)
            await bob.wait_for_message(lambda m: "invoice" in m)
            await bob.pay_last_invoice(timeout=1.0)  # pre-checkout answered within 1 s
            await receive_esim(bob)
            await tapping
            seconds_tapping = time.monotonic() - began

            requests = sandbox.state.requests
            assert not [r for r in requests if r.status == 429]
            assert bot.services.reseller.budget.rate_limited == 0
            usage_asked = [r for r in requests if r.path.endswith(f"/esims/{iccid}/usage")]
            assert len(usage_asked) == 1  # the other 100 taps were answered from the cache
            shown = [m for m in alice.messages if f"u:{iccid}" in str(m.get("reply_markup"))]
            assert "s ago" in shown[-1]["text"]
            edits = tg.calls_to("editMessageText")
            assert all(call.ok for call in edits)  # no edit that changes nothing
            alices = [c for c in edits if c.params.get("chat_id") == alice.id and c.at > began_wall]
            assert len(alices) <= seconds_tapping / 2 + 2  # one per 2 s cooldown, not per tap


async def test_a_customer_who_would_wait_too_long_is_told_the_network_is_busy(
    bot: RunningBot, tg: FakeTelegram
) -> None:
    plan = bot.services.catalog.index.country_plans("JP")[0]
    alice = tg.user(1001, "Alice")
    photo, _ = await buy(alice, "Japan", plan)
    budget = bot.services.reseller.budget
    budget.max_wait[Priority.CUSTOMER] = 0.3
    budget.pause(30)  # the reseller said "wait": no slot for a while
    answered = await alice.tap("Usage", photo)
    assert not answered.get("text")  # the tap itself is answered at once
    busy = await alice.wait_for_message(timeout=3)
    assert "busy" in busy["text"] and "minute" in busy["text"]
    await alice.send_command("/start")  # nobody else waits meanwhile (the budget is paused 30 s;
    # the answer waits only for Telegram's one-message-a-second in this chat)
    await alice.wait_for_message(with_buttons("m:buy"), timeout=3.0)
    assert budget.gave_up == 1


async def test_orders_keep_their_reserve_and_customers_give_up_in_time() -> None:
    budget = RequestBudget(limit=3, window=30.0, order_reserve=1, max_wait={Priority.CUSTOMER: 0.2})
    for _ in range(2):  # everything but the reserve
        budget.release(await budget.acquire(Priority.BACKGROUND))
    began = time.monotonic()
    with pytest.raises(BudgetBusy) as raised:
        await budget.acquire(Priority.CUSTOMER)
    assert 0.15 < time.monotonic() - began < 2.0
    assert raised.value.kind == "rate_limited"  # handlers say "busy, try again in a minute"
    background = asyncio.create_task(budget.acquire(Priority.BACKGROUND))
    order = await asyncio.wait_for(budget.acquire(Priority.ORDER), 1.0)  # the reserve
    budget.release(order)
    await asyncio.sleep(0.05)
    assert not background.done()  # background work never takes the reserved slot
    background.cancel()
    with pytest.raises(asyncio.CancelledError):
        await background
    assert budget.queued == 0 and budget.gave_up == 1
