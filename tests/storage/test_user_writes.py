"""Fewer writes per message (issue 10, point 11): /start and texts write the user's row only
when their profile changed, or once a day, instead of an fsync'd upsert on every message."""

from __future__ import annotations

import time
from typing import Any

import pytest

import storage.users
from emulators.telegram import FakeTelegram
from tests.databases import rows
from tests.handlers.test_journey_purchase import with_buttons
from tests.rig import RunningBot, RunningSandbox, eventually


async def test_start_and_texts_write_the_user_only_when_something_changed(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = tg.user(1001, "Alice")
    await alice.send_command("/start")  # a new user: written
    await alice.wait_for_message(with_buttons("m:buy"))
    # Let the start-up checks (reconcile, wallet) finish their own writes first.
    await eventually(lambda: any(r.path.endswith("/balance") for r in sandbox.state.requests))
    await eventually(lambda: bot.services.wallet.cents is not None)
    db = bot.services.storage.db
    commits = 0
    real_transaction = db.transaction

    def counted() -> Any:  # every write, on either backend, goes through db.transaction()
        nonlocal commits
        commits += 1
        return real_transaction()

    monkeypatch.setattr(db, "transaction", counted)

    def written() -> bool:  # whether the bot wrote to the database since the last look
        nonlocal commits
        changed, commits = commits > 0, 0
        return changed

    def last_seen() -> tuple[Any, ...]:
        found = rows(
            bot.settings.database, "SELECT first_name, last_seen_at FROM users WHERE id = 1001"
        )
        return tuple(found[0].values())

    for text in ("/start", "Japan", "/start", "Mexico", "/start"):
        await alice.send_text(text)
        await alice.wait_for_message()
    assert not written()

    tg.world.chats[alice.chat_id].user["first_name"] = "Alicia"  # the profile changed
    await alice.send_command("/start")
    await alice.wait_for_message()
    assert written()
    assert last_seen()[0] == "Alicia"

    a_day_later = time.time() + 86_400 + 60
    monkeypatch.setattr(storage.users, "now", lambda: int(a_day_later))
    await alice.send_command("/start")  # once a day, last_seen_at moves on
    await alice.wait_for_message()
    assert written()
    assert last_seen()[1] == int(a_day_later)
    await alice.send_command("/start")
    await alice.wait_for_message()
    assert not written()
