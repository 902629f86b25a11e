"""The priority limiter for outgoing Telegram calls: a mixed queue goes out payment first,
then a newcomer, then answers, alerts and broadcasts; answers to queries are never delayed; and
the limits hold, measured on the fake Telegram server's clock (when each call arrived)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from telegram.error import BadRequest, RetryAfter
from telegram.ext import ExtBot

from bot.telegram_limiter import Priority, PriorityRateLimiter, telegram_priority
from emulators.telegram import FakeTelegram, FloodControl, RecordedCall
from tests.rig import TEST_TOKEN

PER_SECOND = 5


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    """A fake Telegram that answers 429 to anything over Telegram's limits (at PER_SECOND)."""
    async with FakeTelegram(TEST_TOKEN, flood_control=FloodControl(PER_SECOND)) as telegram:
        yield telegram


@pytest.fixture
async def limited_bot(tg: FakeTelegram) -> AsyncIterator[ExtBot[int]]:
    bot: ExtBot[int] = ExtBot(
        tg.token, base_url=tg.api_url, rate_limiter=PriorityRateLimiter(PER_SECOND)
    )
    async with bot:
        yield bot


def most_in_any_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, low = 0, 0
    for high, at in enumerate(times):
        while at - times[low] >= window:
            low += 1
        best = max(best, high - low + 1)
    return best


def messages(tg: FakeTelegram, since: int = 0) -> list[RecordedCall]:
    return [c for c in tg.calls[since:] if c.method in ("sendMessage", "editMessageText")]


async def test_a_mixed_queue_goes_out_by_priority_within_the_limits(
    tg: FakeTelegram, limited_bot: ExtBot[int]
) -> None:
    users = [tg.user(3000 + n, f"U{n}") for n in range(14)]
    with telegram_priority(Priority.PAYMENT):  # fill this second: everything below queues
        await asyncio.gather(*(limited_bot.send_message(u.id, "warm-up") for u in users[:5]))
    plan = [  # (priority, label, user): queued in the worst order, lowest priority first
        *[(Priority.BULK, f"bulk{n}", users[n]) for n in range(3)],
        *[(Priority.ALERT, f"alert{n}", users[n]) for n in range(2)],
        *[(Priority.INTERACTIVE, f"answer{n}", users[n]) for n in range(3)],
        (Priority.INTERACTIVE, "newcomer", users[13]),  # nothing sent to this chat yet
        *[(Priority.PAYMENT, f"payment{n}", users[5 + n]) for n in range(3)],
    ]

    async def send(priority: Priority, label: str, user_id: int) -> None:
        with telegram_priority(priority):
            await limited_bot.send_message(user_id, label)

    queued_at = time.time()
    tasks = [asyncio.create_task(send(p, label, user.id)) for p, label, user in plan]
    await asyncio.sleep(0.05)  # all of them waiting now
    with pytest.raises(BadRequest):  # an unknown query: what matters is when it arrived
        await limited_bot.answer_callback_query("no-such-query")
    await asyncio.wait_for(asyncio.gather(*tasks), 15)

    answer = tg.calls_to("answerCallbackQuery")[0]
    assert answer.at - queued_at < 0.5  # never waits behind the queue
    arrived = {c.params["text"]: c.at for c in tg.calls_to("sendMessage")}
    rank = {"payment": 0, "newcomer": 1, "answer": 2, "alert": 3, "bulk": 4}
    queued = [(rank[label.rstrip("0123456789")], at) for label, at in arrived.items()
              if label != "warm-up"]  # fmt: skip
    # Payment first ... broadcasts last. Calls let go in the same instant race each other
    # over HTTP by a few ms: none may arrive a whole slot before a better one.
    for better, at_better in queued:
        for worse, at_worse in queued:
            if better < worse:
                assert at_better < at_worse + 0.1, sorted(arrived.items(), key=lambda i: i[1])
    times = [c.at for c in messages(tg)]
    assert most_in_any_window(times, 1.0) <= PER_SECOND
    assert tg.flood_control is not None and tg.flood_control.refused == 0, [
        (c.method, c.params.get("chat_id"), c.at) for c in tg.calls if c.error_code == 429
    ]  # no 429
    assert max(times) - queued_at > 2.0  # the queue really had to wait


async def test_one_private_chat_gets_a_burst_then_one_a_second(
    tg: FakeTelegram, limited_bot: ExtBot[int]
) -> None:
    alice = tg.user(1001, "Alice")
    with telegram_priority(Priority.PAYMENT):
        await asyncio.gather(*(limited_bot.send_message(alice.id, f"m{n}") for n in range(6)))
    times = sorted(c.at for c in messages(tg))
    assert times[3] - times[0] < 0.3  # a burst of four at once
    # then one a second: never more than 4 + t messages in any t seconds
    for window in (1.0, 2.0):
        assert most_in_any_window(times, window) <= 4 + window
    assert times[5] - times[0] > 1.8
    assert tg.flood_control is not None and tg.flood_control.refused == 0
    # Edits are no new message: they count against the overall limit only.
    message_id = tg.calls_to("sendMessage")[0].result["message_id"]
    started = time.time()
    with telegram_priority(Priority.PAYMENT):
        for n in range(3):
            await limited_bot.edit_message_text(f"e{n}", chat_id=alice.id, message_id=message_id)
    assert time.time() - started < 0.5


async def test_groups_get_their_share_per_window_and_rate_limit_args_set_priority() -> None:
    # The group rule at 3 per second instead of 20 per minute, so the test takes seconds.
    limiter = PriorityRateLimiter(30, group_per_minute=3, group_window=1.0)
    starts: list[tuple[float, str]] = []

    def request(label: str) -> Callable[[], Any]:
        async def callback() -> bool:
            starts.append((time.monotonic(), label))
            return True

        return callback

    async def send(label: str, chat: int, priority: int | None = None) -> Any:
        return await limiter.process_request(
            request(label), (), {}, "sendMessage", {"chat_id": chat}, priority
        )

    await asyncio.gather(*(send(f"g{n}", -100123) for n in range(7)))
    group = [at for at, _ in starts]
    assert most_in_any_window(group, 1.0) <= 3
    assert group[-1] - group[0] > 1.9  # 3 now, 3 a second later, 1 a second after that
    starts.clear()
    limiter = PriorityRateLimiter(2)
    await asyncio.gather(
        *(send(f"fill{n}", 10 + n, Priority.PAYMENT) for n in range(2)),  # fill the second
        send("bulk", 20, Priority.BULK),
        send("pay", 21, Priority.PAYMENT),
    )
    assert [label for _, label in starts][-2:] == ["pay", "bulk"]


async def test_without_the_limiter_the_fake_answers_429_like_telegram(tg: FakeTelegram) -> None:
    alice = tg.user(1001, "Alice")
    async with ExtBot(tg.token, base_url=tg.api_url) as bare:
        results = await asyncio.gather(
            *(bare.send_message(alice.id, f"m{n}") for n in range(6)), return_exceptions=True
        )
    refused = [r for r in results if isinstance(r, Exception)]
    assert refused and all(isinstance(r, RetryAfter) for r in refused)
