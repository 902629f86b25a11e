"""Fewer writes per message (issue 10, point 11): /start and texts write the user's row only
when their profile changed, or once a day, instead of an fsync'd upsert on every message."""

from __future__ import annotations

import sqlite3
import time

import pytest

import storage.users
from emulators.telegram import FakeTelegram
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
    database = sqlite3.connect(bot.settings.database_path)
    commits = database.execute("PRAGMA data_version").fetchone()[0]

    def written() -> bool:  # whether anyone committed to the database since the last look
        nonlocal commits
        version = database.execute("PRAGMA data_version").fetchone()[0]
        changed, commits = version != commits, version
        return bool(changed)

    for text in ("/start", "Japan", "/start", "Mexico", "/start"):
        await alice.send_text(text)
        await alice.wait_for_message()
    assert not written()

    tg.world.chats[alice.chat_id].user["first_name"] = "Alicia"  # the profile changed
    await alice.send_command("/start")
    await alice.wait_for_message()
    assert written()
    row = database.execute("SELECT first_name, last_seen_at FROM users WHERE id = 1001")
    assert row.fetchone()[0] == "Alicia"

    a_day_later = time.time() + 86_400 + 60
    monkeypatch.setattr(storage.users, "now", lambda: int(a_day_later))
    await alice.send_command("/start")  # once a day, last_seen_at moves on
    await alice.wait_for_message()
    assert written()
    last_seen = database.execute("SELECT last_seen_at FROM users WHERE id = 1001").fetchone()[0]
    assert last_seen == int(a_day_later)
    await alice.send_command("/start")
    await alice.wait_for_message()
    assert not written()
    database.close()
