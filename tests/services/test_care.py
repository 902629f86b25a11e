"""After the sale (issue 12, points 1-3 and 5): low-data alerts, expiry reminders, status
changes, /settings; with short rounds, against the sandbox's real rate limit."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.care import CareShare
from bot.pikasim import Priority, RequestBudget
from emulators.telegram import FakeTelegram, FakeUser
from tests.handlers.admin_support import delivered, reseller_calls
from tests.rig import RunningBot, RunningSandbox, bot_settings, eventually, running_bot

JSON = dict[str, Any]
LOW80, LOW95 = "you have used", "almost out of data"
CONNECTED = "is connected"


def sent_to(tg: FakeTelegram, user: FakeUser, contains: str) -> list[JSON]:
    """Every message the bot sent this user whose text contains ``contains``."""
    return [
        call.params
        for call in tg.calls_to("sendMessage")
        if call.params.get("chat_id") == user.id and contains in str(call.params.get("text"))
    ]


def button_data(params: JSON) -> list[str]:
    markup = params.get("reply_markup") or {}
    if isinstance(markup, str):
        import json

        markup = json.loads(markup)
    return [b.get("callback_data", "") for row in markup.get("inline_keyboard", []) for b in row]


async def rounds(sandbox: RunningSandbox, iccid: str, count: int) -> None:
    """Wait until the care loop has asked about this eSIM ``count`` more times."""
    start = reseller_calls(sandbox, f"/esims/{iccid}/usage")
    await eventually(
        lambda: reseller_calls(sandbox, f"/esims/{iccid}/usage") >= start + count, timeout=15
    )


async def test_low_data_alerts_go_once_per_threshold_across_rounds_and_a_restart(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    settings = bot_settings(tmp_path, tg, sandbox, care_interval_seconds=1)
    alice = tg.user(1001, "Alice", "en")
    async with running_bot(settings) as bot:
        order = await delivered(bot, alice)
        iccid = order.iccid or ""
        total = sandbox.state.esims[iccid].total_bytes
        sandbox.state.install(iccid)
        sandbox.state.consume(iccid, total * 87 // 100)
        await eventually(lambda: sent_to(tg, alice, LOW80), timeout=15)
        connected = await eventually(lambda: sent_to(tg, alice, CONNECTED))
        assert f"u:{iccid}" in button_data(connected[0])  # with the usage button
        low80 = sent_to(tg, alice, LOW80)[0]
        assert f"t:{iccid}" in button_data(low80) and re.search(r"used 8\d%", low80["text"])
        stored = await bot.services.storage.esims.get(iccid)
        assert stored is not None and stored.status == "IN_USE"  # the status change is stored

        sandbox.state.consume(iccid, total * 10 // 100)
        await eventually(lambda: sent_to(tg, alice, LOW95), timeout=15)
        await rounds(sandbox, iccid, 2)

    async with running_bot(settings):  # a restart: nothing is sent again
        await rounds(sandbox, iccid, 2)
    for notice in (LOW80, LOW95, CONNECTED):
        assert len(sent_to(tg, alice, notice)) == 1, notice


async def set_expiry(bot: RunningBot, iccid: str, from_now: timedelta) -> None:
    esim = await bot.services.storage.esims.get(iccid)
    assert esim is not None
    await bot.services.storage.esims.update_usage(
        iccid,
        status=esim.status,
        smdp_status=esim.smdp_status,
        total_bytes=esim.total_bytes,
        used_bytes=esim.used_bytes,
        expires_at=(datetime.now(UTC) + from_now).isoformat(),
    )


async def test_expiry_reminders_cost_no_reseller_call_and_respect_the_settings(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    # No polling share: whatever arrives comes from the stored expiry alone.
    settings = bot_settings(tmp_path, tg, sandbox, care_interval_seconds=1, care_budget_percent=0)
    alice, bob = tg.user(1001, "Alice", "en"), tg.user(1002, "Bob", "es")
    async with running_bot(settings) as bot:
        mine = (await delivered(bot, alice)).iccid or ""
        his = (await delivered(bot, bob)).iccid or ""
        await bob.send_command("/settings")  # Bob turns reminders off
        page = await bob.wait_for_message(lambda m: "Recordatorios" in m.get("text", ""))
        await bob.tap_data("s:rem:off", page)
        await bob.wait_for_message(lambda m: "desactivados" in m.get("text", ""))
        row = await bot.services.storage.users.get(bob.id)
        assert row is not None and row.reminders == 0
        calls_before = len(sandbox.state.requests)

        await set_expiry(bot, mine, timedelta(days=2, hours=12))
        await set_expiry(bot, his, timedelta(days=2, hours=12))
        three = await eventually(lambda: sent_to(tg, alice, "expires within 3 days"), timeout=10)
        assert f"t:{mine}" in button_data(three[0])  # with the Top up button
        await set_expiry(bot, mine, timedelta(hours=12))
        await eventually(lambda: sent_to(tg, alice, "expires within a day"), timeout=10)
        await set_expiry(bot, mine, -timedelta(hours=1))
        await eventually(lambda: sent_to(tg, alice, "expired on"), timeout=10)
        await asyncio.sleep(2.5)  # more rounds: nothing again

        assert len(sandbox.state.requests) == calls_before  # not one reseller call
    for notice in ("expires within 3 days", "expires within a day", "expired on"):
        assert len(sent_to(tg, alice, notice)) == 1, notice
    assert not [c for c in tg.calls_to("sendMessage") if "caduca" in str(c.params.get("text"))]


async def test_the_care_share_holds_while_customers_buy(tmp_path: Path, tg: FakeTelegram) -> None:
    """The sandbox enforces the real 60 a minute; polling wants far more than its share."""
    from tests.rig import running_sandbox

    async with running_sandbox(rate_limit=60) as sandbox:
        settings = bot_settings(
            tmp_path, tg, sandbox, pikasim_rate_limit=60, care_interval_seconds=1
        )
        async with running_bot(settings) as bot:
            owners = [tg.user(1100 + n, f"Owner{n}") for n in range(3)]
            for owner in owners:
                iccid = (await delivered(bot, owner)).iccid or ""
                sandbox.state.install(iccid)
            began = time.monotonic()
            await asyncio.sleep(2)  # the care loop is now busy every second
            buyers = [tg.user(1200 + n, f"Buyer{n}") for n in range(3)]

            async def timed_purchase(buyer: FakeUser) -> float:
                started = time.monotonic()
                await delivered(bot, buyer)
                return time.monotonic() - started

            waits = await asyncio.gather(*(timed_purchase(buyer) for buyer in buyers))
            await asyncio.sleep(2)
            elapsed = time.monotonic() - began

            requests = sandbox.state.requests
            assert not [r for r in requests if r.status == 429]
            assert bot.services.reseller.budget.rate_limited == 0
            polled = [r for r in requests if r.path.endswith("/usage")]
            assert polled, "the care loop polled nothing"
            assert elapsed < 60 and len(polled) <= 60 * 20 // 100  # its share of the minute
            assert max(waits) < 10  # every buyer got the eSIM without waiting for polling
            assert len(await bot.services.storage.esims.for_user(buyers[0].id)) == 1


async def test_the_share_yields_to_anyone_waiting_and_keeps_room_for_customers() -> None:
    budget = RequestBudget(limit=10, window=30.0, order_reserve=2)
    share = CareShare(budget, 20)  # two requests a window
    assert share.size == 2 and share.may_start()
    taken = [await budget.acquire(Priority.CUSTOMER) for _ in range(6)]
    assert budget.room(Priority.BACKGROUND) == 2
    assert not share.may_start()  # only a share's worth is left: it stays for customers
    for slot in taken:
        budget.release(slot)
    assert not await share.wait(time.monotonic() + 0.3)  # released slots free after the window

    fresh = RequestBudget(limit=10, window=30.0, order_reserve=2)
    fresh_share = CareShare(fresh, 20)
    fresh.pause(5)  # the reseller said wait: a customer queues, polling stays out of the way
    waiting = asyncio.create_task(fresh.acquire(Priority.CUSTOMER))
    await asyncio.sleep(0.05)
    assert fresh.queued == 1 and fresh.room(Priority.BACKGROUND) == 0
    assert not fresh_share.may_start()
    waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiting

    own = CareShare(RequestBudget(limit=10, window=30.0, order_reserve=2), 20)
    own.done()
    own.done()
    assert not own.may_start()  # its own share of the window is used up
