"""Fixtures: a fake Telegram server, the sandbox reseller, and the real bot between them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from emulators.telegram import FakeTelegram
from tests.databases import ON_POSTGRES, drop_test_databases
from tests.rig import (
    ADMIN_ID,
    TEST_TOKEN,
    RunningBot,
    RunningSandbox,
    bot_settings,
    running_bot,
    running_sandbox,
)


@pytest.fixture(autouse=True)
def _own_database() -> Iterator[None]:
    """On PostgreSQL, each test's databases are dropped when it ends."""
    yield
    if ON_POSTGRES:
        drop_test_databases()


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TEST_TOKEN) as telegram:
        telegram.user(ADMIN_ID, "Operator")  # admins have talked to the bot, so alerts reach them
        yield telegram


@pytest.fixture
async def sandbox() -> AsyncIterator[RunningSandbox]:
    async with running_sandbox() as running:
        yield running


@pytest.fixture
async def bot(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> AsyncIterator[RunningBot]:
    """The real bot, selling through the sandbox over HTTP, with webhooks to its listener."""
    async with running_bot(bot_settings(tmp_path, tg, sandbox)) as running:
        yield running
