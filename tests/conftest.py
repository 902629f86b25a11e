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


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """pyproject's addopts run the suite in parallel (``-n``, ``--dist``: pytest-xdist). With
    ``-p no:xdist`` (one process, for debugging) pytest would reject those options: accept
    them and ignore them instead. ``-n 0`` is the other way to run in one process."""
    if pluginmanager.has_plugin("xdist"):
        return
    group = parser.getgroup("xdist", "pytest-xdist is off (-p no:xdist): ignored")
    group._addoption("-n", "--numprocesses", dest="numprocesses", default=0, metavar="N")
    group.addoption("--dist", dest="dist", default="no", metavar="MODE")


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
