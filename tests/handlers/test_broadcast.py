"""/broadcast (issue 12, point 6): preview with the number of recipients, confirm, sent in the
background at most half of Telegram's rate with progress in place; users who blocked the bot
are skipped and remembered, and get no further messages of any kind."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

from bot.background_pace import PER_SECOND
from emulators.telegram import FakeTelegram, FakeUser
from storage import OrderStatus
from tests.handlers.admin_support import admin, ask, delivered, settle, tap, text_of
from tests.handlers.test_journey_purchase import with_buttons
from tests.rig import RunningBot, RunningSandbox, bot_settings, eventually, running_bot

MESSAGE = "Hello travellers!\nNew plans for Japan are in."


async def customers(tg: FakeTelegram, count: int, first: int = 3000) -> list[FakeUser]:
    users = [tg.user(first + n, f"Customer{n}") for n in range(count)]
    for user in users:  # they talked to the bot, so they are known
        await user.send_command("/start")
        await user.wait_for_message(with_buttons("m:buy"))
    return users


def broadcasts_to(tg: FakeTelegram, user: FakeUser) -> list[float]:
    return [
        call.at
        for call in tg.calls_to("sendMessage")
        if call.params.get("chat_id") == user.id and call.params.get("text") == MESSAGE
    ]


async def broadcast(tg: FakeTelegram, expected: int) -> str:
    ada = admin(tg)
    preview = await ask(ada, f"/broadcast {MESSAGE}", "Preview")
    assert f"goes to {expected} users" in preview and "New plans for Japan" in preview
    await ada.tap(f"📣 Send to {expected}")
    done = await ada.wait_for_message(lambda m: "finished" in text_of(m), timeout=30)
    return text_of(done)


async def test_everyone_but_blocked_users_gets_it_and_blocked_users_get_nothing_more(
    bot: RunningBot, tg: FakeTelegram
) -> None:
    alice = tg.user(1001, "Alice")
    order = await delivered(bot, alice)  # she will block the bot, and then be refunded
    crowd = await customers(tg, 19)
    gone = [alice, crowd[0]]
    for user in gone:
        user.blocked = True

    done = await broadcast(tg, expected=20)
    assert "18 of 20 sent, 2 blocked" in done
    for user in crowd[1:]:
        assert len(broadcasts_to(tg, user)) == 1
    assert bot.services.reach.blocked(gone[0].id) and bot.services.reach.blocked(gone[1].id)
    row = await bot.services.storage.users.get(gone[0].id)
    assert row is not None and row.blocked_at is not None

    # Paced: never more than PER_SECOND in any second (half of Telegram's 30).
    times = sorted(t for user in crowd for t in broadcasts_to(tg, user))
    for index, at in enumerate(times):
        in_a_second = [t for t in times[index:] if t - at < 1.0]
        assert len(in_a_second) <= PER_SECOND + 1

    # No further messages of any kind: not the next broadcast, not an order message.
    calls_before = len([c for c in tg.calls if c.params.get("chat_id") == alice.id])
    done = await broadcast(tg, expected=18)
    assert "18 of 18 sent, 0 blocked" in done
    ada = admin(tg)
    await ask(ada, f"/refund {order.reference}", "Refund order")
    await tap(ada, "Cancel the eSIM and refund", "refunded")
    await settle(bot, order, OrderStatus.REFUNDED)  # her Stars are back, told or not
    assert bot.services.reach.blocked(alice.id)  # Telegram's refund notice is not her writing
    after = [c for c in tg.calls if c.params.get("chat_id") == alice.id]
    assert len(after) == calls_before

    # Writing to the bot again means they are back.
    gone[0].blocked = False
    await gone[0].send_command("/start")
    await gone[0].wait_for_message(with_buttons("m:buy"))
    await eventually(lambda: not bot.services.reach.blocked(gone[0].id))
    row = await bot.services.storage.users.get(gone[0].id)
    assert row is not None and row.blocked_at is None


async def test_a_broadcast_does_not_slow_a_lone_customer(bot: RunningBot, tg: FakeTelegram) -> None:
    crowd = await customers(tg, 60)
    bob = tg.user(1002, "Bob")
    newcomers = iter(range(9000, 9100))

    async def answer_time(user: FakeUser | None = None) -> float:
        # A different customer each time: Telegram's one-a-second per chat is not measured.
        user = user or tg.user(next(newcomers), "Newcomer")
        began = time.monotonic()
        await user.send_command("/start")
        await user.wait_for_message(with_buttons("m:buy"))
        return time.monotonic() - began

    baseline = statistics.median([await answer_time(bob)] + [await answer_time() for _ in range(4)])
    ada = admin(tg)
    await ask(ada, f"/broadcast {MESSAGE}", "Preview")
    await ada.tap("📣 Send to")  # the crowd, Bob and the newcomers
    await eventually(lambda: broadcasts_to(tg, crowd[5]), timeout=5)  # well under way
    during = []
    for _ in range(5):
        during.append(await answer_time())
        await asyncio.sleep(0.1)
    assert not broadcasts_to(tg, crowd[-1])  # still sending while Bob was answered
    assert statistics.median(during) < max(3 * baseline, baseline + 0.5)
    await ada.wait_for_message(lambda m: "finished" in text_of(m), timeout=30)
    assert all(len(broadcasts_to(tg, user)) == 1 for user in crowd)
    assert len(broadcasts_to(tg, bob)) == 1


async def test_a_cancelled_broadcast_sends_nothing(bot: RunningBot, tg: FakeTelegram) -> None:
    crowd = await customers(tg, 3)
    ada = admin(tg)
    await ask(ada, "/broadcast", "Usage")
    await ask(ada, f"/broadcast {MESSAGE}", "Preview")
    await ada.tap("✖️ Cancel")
    await ada.wait_for_message(lambda m: "cancelled" in text_of(m))
    await asyncio.sleep(0.3)
    assert not any(broadcasts_to(tg, user) for user in crowd)


async def test_telegram_saying_a_user_blocked_or_unblocked_the_bot_is_remembered(
    bot: RunningBot, tg: FakeTelegram
) -> None:
    (carol,) = await customers(tg, 1)

    def member(status: str) -> dict[str, object]:
        extra = {"until_date": 0} if status == "kicked" else {}
        return {"status": status, "user": tg.bot_user, **extra}

    def membership(old: str, new: str) -> None:
        tg.push_update(
            "my_chat_member",
            {
                "chat": {"id": carol.id, "type": "private", "first_name": "Customer0"},
                "from": carol.profile,
                "date": int(time.time()),
                "old_chat_member": member(old),
                "new_chat_member": member(new),
            },
        )

    membership("member", "kicked")
    await eventually(lambda: bot.services.reach.blocked(carol.id))
    done = await broadcast(tg, expected=0)
    assert "0 of 0 sent" in done and not broadcasts_to(tg, carol)
    membership("kicked", "member")
    await eventually(lambda: not bot.services.reach.blocked(carol.id))

    async def unblocked_row() -> bool:  # the stored row follows the in-memory flag
        row = await bot.services.storage.users.get(carol.id)
        assert row is not None
        return row.blocked_at is None

    await eventually(unblocked_row)


async def test_one_broadcast_at_a_time(bot: RunningBot, tg: FakeTelegram) -> None:
    crowd = await customers(tg, 30)
    ada = admin(tg)
    await ask(ada, f"/broadcast {MESSAGE}", "Preview")
    first = ada.last_message()
    await ask(ada, "/broadcast A second one", "Preview")
    second = ada.last_message()
    await ada.tap("📣 Send to 30", first)
    await eventually(lambda: broadcasts_to(tg, crowd[0]))
    await ada.tap("📣 Send to 30", second)
    await ada.wait_for_message(lambda m: "Another broadcast" in text_of(m))
    await ada.wait_for_message(lambda m: "finished" in text_of(m), timeout=30)
    assert all(len(broadcasts_to(tg, user)) == 1 for user in crowd)
    seconds = [c for c in tg.calls_to("sendMessage") if c.params.get("text") == "A second one"]
    assert seconds == []  # not sent alongside; the draft waits for another tap


async def test_a_broadcast_carries_on_after_a_restart(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    settings = bot_settings(tmp_path, tg, sandbox)
    async with running_bot(settings):
        crowd = await customers(tg, 45)
        ada = admin(tg)
        await ask(ada, f"/broadcast {MESSAGE}", "Preview")
        await ada.tap("📣 Send to 45")
        await eventually(lambda: broadcasts_to(tg, crowd[10]), timeout=5)
    assert not broadcasts_to(tg, crowd[-1])  # stopped half-way
    async with running_bot(settings) as bot:
        done = await ada.wait_for_message(lambda m: "finished" in text_of(m), timeout=30)
        assert "45 of 45 sent" in text_of(done)
        assert await bot.services.storage.broadcasts.unfinished() == []
    assert all(len(broadcasts_to(tg, user)) == 1 for user in crowd)  # nobody twice
