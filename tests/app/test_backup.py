"""Backups: ``python -m bot backup PATH`` while the bot sells, and the BACKUP_DIR daily job."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from bot.backup import backup_name, backups_in
from emulators.telegram import FakeTelegram, FakeUser
from tests.databases import postgres_only, sqlite_only
from tests.handlers.test_journey_purchase import button, choose_plan
from tests.rig import RunningBot, RunningSandbox, bot_settings, eventually, running_bot

ROOT = Path(__file__).resolve().parents[2]


async def backup_cli(database: Path, target: Path, **more: str) -> tuple[int, str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": "1:unused-by-backup",
        "DATABASE_PATH": str(database),
        **more,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "backup", str(target),
        env=env, cwd=target.parent, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


def orders(database: Path) -> dict[str, str]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        return dict(conn.execute("SELECT reference, status FROM orders"))


def wal_beside(database: Path) -> bool:
    return database.with_name(database.name + "-wal").exists()


def integrity(database: Path) -> list[str]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        return [row[0] for row in conn.execute("PRAGMA integrity_check")]


@sqlite_only  # SQLite's online backup; on PostgreSQL backups are the database host's job
async def test_a_backup_during_a_burst_of_purchases_holds_every_committed_order(
    bot: RunningBot, tg: FakeTelegram, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    live = bot.settings.database_path
    plan = bot.services.catalog.index.country_plans("JP")[0]
    buyers = [tg.user(2000 + n, f"Buyer{n}", "en") for n in range(12)]

    async def buy_once(user: FakeUser) -> None:
        # One purchase each: a customer's own messages are paced at one a second after a
        # burst (Telegram's limit), and this is about many customers at once.
        details = await choose_plan(user, "Japan", plan)
        await user.tap(button(user, details, f"b:{plan.code}"), details)
        await user.wait_for_message(lambda m: "invoice" in m)
        await user.pay_last_invoice()
        await user.wait_for_message(lambda m: "photo" in m, timeout=15)

    burst = asyncio.ensure_future(asyncio.gather(*(buy_once(user) for user in buyers)))
    copies: list[tuple[dict[str, str], Path]] = []
    for n in range(12):
        if burst.done():
            break
        await asyncio.sleep(0.2)
        committed = orders(live)  # everything committed before this backup starts
        target = tmp_path / f"during-{n}.sqlite3"
        code, output = await backup_cli(live, target)
        assert code == 0, output
        assert "integrity ok" in output
        copies.append((committed, target))
    await asyncio.wait_for(burst, 30)

    in_flight = [c for c, _ in copies if set(c.values()) - {"awaiting_payment", "delivered"}]
    assert len(in_flight) >= 2, "no two backups overlapped orders in progress"
    for committed, target in copies:
        assert integrity(target) == ["ok"]
        assert not wal_beside(target)  # one self-contained file
        assert set(committed) <= set(orders(target))

    def all_delivered() -> bool:
        return list(orders(live).values()).count("delivered") == len(buyers)

    await eventually(all_delivered, timeout=10)
    code, output = await backup_cli(live, tmp_path)  # a folder: the backup is named in it
    assert code == 0, output
    final = backups_in(tmp_path)[-1]
    assert integrity(final) == ["ok"]
    assert orders(final) == orders(live)


@sqlite_only
async def test_the_daily_backup_keeps_the_last_backup_keep(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    two_days_ago = time.time() - 2 * 86400
    for n in range(9):  # older backups, the newest two days old: one is due now
        old = folder / backup_name(two_days_ago - n * 86400)
        old.write_bytes(b"old")
        os.utime(old, (two_days_ago - n * 86400,) * 2)
    settings = bot_settings(tmp_path, tg, sandbox, backup_dir=folder, backup_keep=7)
    async with running_bot(settings):
        await eventually(lambda: integrity_ok(backups_in(folder)[-1]), timeout=10)
        await eventually(lambda: len(backups_in(folder)) == 7, timeout=5)
    kept = backups_in(folder)
    assert [p.read_bytes() for p in kept[:-1]] == [b"old"] * 6  # the six newest old ones
    assert kept[0].name == backup_name(two_days_ago - 5 * 86400)


def integrity_ok(path: Path) -> bool:
    try:
        return path.read_bytes() != b"old" and integrity(path) == ["ok"]
    except sqlite3.Error:
        return False


async def test_backup_of_a_missing_database_fails_with_one_line(tmp_path: Path) -> None:
    code, output = await backup_cli(tmp_path / "nothing.sqlite3", tmp_path / "copy.sqlite3")
    assert code == 1
    assert output.strip().count("\n") == 0
    assert "no database at" in output and "DATABASE_PATH" in output
    assert not (tmp_path / "copy.sqlite3").exists()


async def test_backup_on_postgresql_says_it_is_the_database_hosts_job(tmp_path: Path) -> None:
    url = "postgresql://bot:pw-Not-For-Output-77@db.example/shop"
    code, output = await backup_cli(
        tmp_path / "bot.sqlite3", tmp_path / "copy.sqlite3", DATABASE_URL=url
    )
    assert code == 1
    assert output.strip().count("\n") == 0
    assert "PostgreSQL" in output and "pg_dump" in output and "database host" in output
    assert "pw-Not-For-Output-77" not in output
    assert not (tmp_path / "copy.sqlite3").exists()


@postgres_only
async def test_the_daily_backup_on_postgresql_says_so_once_and_does_nothing(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "backups"
    settings = bot_settings(tmp_path, tg, sandbox, backup_dir=folder)
    assert settings.uses_postgres
    async with running_bot(settings):
        await asyncio.sleep(2.5)  # a first backup would be due a second after start
    said = [r.getMessage() for r in caplog.records if "BACKUP_DIR is ignored" in r.getMessage()]
    assert len(said) == 1 and "pg_dump" in said[0]
    assert backups_in(folder) == []
