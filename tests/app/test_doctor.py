"""``python -m bot doctor``: all clear against a healthy bot; one clear failing line (and exit
code 1) for a wrong token, a wrong reseller key and an unreachable webhook."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from bot.doctor import run_doctor
from bot.settings import Settings
from emulators.telegram import FakeTelegram
from storage import Storage
from storage.migrations import MIGRATIONS
from tests.databases import ON_POSTGRES, new_postgres_database, postgres_only, rows
from tests.rig import (
    TEST_API_KEY,
    TEST_WEBHOOK_SECRET,
    BotProcess,
    RunningSandbox,
    bot_settings,
    eventually,
)


async def doctor(settings: Settings) -> tuple[int, list[str]]:
    lines: list[str] = []
    code = await run_doctor(settings, lines.append)
    return code, lines


def line_for(lines: list[str], check: str) -> str:
    return next(line for line in lines if line.split(None, 1)[1].startswith(check + ":"))


async def test_a_healthy_bot_passes_every_check(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    bot = BotProcess.for_rig(tmp_path, tg, sandbox)
    await bot.start()
    try:
        await bot.wait_ready()
        process = await asyncio.create_subprocess_exec(
            bot.env["PYTHON"], "-m", "bot", "doctor",
            env=bot.env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output = (await process.communicate())[0].decode()
        assert await bot.stop() == 0
    finally:
        await bot.kill()
    assert process.returncode == 0, output
    lines = output.strip().splitlines()
    assert all(line.startswith(("OK", "WARN")) for line in lines), output
    for check in ("telegram token", "clock", "telegram webhook", "reseller key", "wallet"):
        assert line_for(lines, check).startswith("OK"), output
    assert "signature verified" in line_for(lines, "webhook round trip")
    assert f"schema version {len(MIGRATIONS)}" in line_for(lines, "database")
    if ON_POSTGRES:
        assert line_for(lines, "database").startswith("OK    database: PostgreSQL ")
        assert "not checked: the data lives in PostgreSQL" in line_for(lines, "disk")
    else:
        assert "integrity ok" in line_for(lines, "database")
        assert "GiB free" in line_for(lines, "disk")
    for secret in (tg.token, TEST_API_KEY, TEST_WEBHOOK_SECRET):
        assert secret not in output


async def test_a_wrong_token_fails_with_one_clear_line(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    wrong = "999:not-the-token-the-server-knows"
    settings = bot_settings(tmp_path, tg, sandbox, telegram_bot_token=wrong, public_url="")
    code, lines = await doctor(settings)
    assert code == 1
    failing = [line for line in lines if line.startswith("FAIL")]
    assert len(failing) == 1
    assert "Telegram refused TELEGRAM_BOT_TOKEN" in failing[0] and "@BotFather" in failing[0]
    assert "not-the-token" not in "\n".join(lines)


async def test_a_wrong_reseller_key_fails_with_one_clear_line(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    settings = bot_settings(
        tmp_path, tg, sandbox, pikasim_api_key="pk_live_wrong_key_123", public_url=""
    )
    code, lines = await doctor(settings)
    assert code == 1
    failing = [line for line in lines if line.startswith("FAIL")]
    assert len(failing) == 1
    assert "refused PIKASIM_API_KEY (401)" in failing[0]
    assert "pk_live_wrong_key_123" not in "\n".join(lines)


async def test_an_unreachable_webhook_fails_with_one_clear_line(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    settings = bot_settings(tmp_path, tg, sandbox)  # PUBLIC_URL: a port nobody listens on
    assert settings.public_url is not None
    sandbox.state.webhooks.url = settings.public_url + "/webhooks/pikasim"
    code, lines = await doctor(settings)
    assert code == 1
    failing = [line for line in lines if line.startswith("FAIL")]
    assert len(failing) == 1, lines
    assert failing[0].startswith("FAIL  webhook round trip: the reseller could not deliver to")
    assert "proxy" in failing[0]
    assert line_for(lines, "reseller webhook").startswith("OK")


async def test_an_unregistered_webhook_says_what_to_do(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    code, lines = await doctor(bot_settings(tmp_path, tg, sandbox))
    assert code == 1
    assert "expected http://127.0.0.1:" in line_for(lines, "reseller webhook")
    assert "start the bot" in line_for(lines, "reseller webhook")
    assert line_for(lines, "database").startswith("WARN")  # not created yet: not a failure


async def test_an_unreachable_telegram_webhook_fails_with_one_clear_line(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    settings = bot_settings(tmp_path, tg, sandbox, public_url="")
    url = f"http://127.0.0.1:{settings.http_port}/webhooks/telegram"  # nobody listens there
    settings = dataclasses.replace(settings, telegram_webhook_url=url)
    tg.world.webhook_url = url
    await tg.user(1001, "Alice").send_command("/start")  # Telegram tries to deliver it
    await eventually(lambda: tg.webhook.attempts)
    code, lines = await doctor(settings)
    assert code == 1
    failing = [line for line in lines if line.startswith("FAIL")]
    assert len(failing) == 1, lines
    assert failing[0].startswith("FAIL  telegram webhook: Telegram's last delivery failed")
    assert "1 updates pending" in failing[0] and "TELEGRAM_WEBHOOK_URL" in failing[0]


@postgres_only
async def test_on_postgresql_it_reads_the_real_database_and_never_writes(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    password = "pw-Doctor-Never-Prints-It"
    url = new_postgres_database().replace("postgres@", f"postgres:{password}@", 1)
    settings = bot_settings(tmp_path, tg, None, database_url=url, backup_dir=tmp_path / "b")

    code, lines = await doctor(settings)  # a fresh, empty database

    assert code == 0, lines
    assert line_for(lines, "database").endswith(
        "no schema yet -> nothing: the bot creates it at start"
    )
    assert "not checked" in line_for(lines, "disk")
    assert "pg_dump" in line_for(lines, "backups")
    assert rows(url, "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = current_schema()") == []  # fmt: skip
    storage = Storage(url)
    await storage.open()
    await storage.close()
    code, lines = await doctor(settings)
    assert code == 0, lines
    assert line_for(lines, "database").startswith("OK    database: PostgreSQL ")
    assert line_for(lines, "database").endswith(f"schema version {len(MIGRATIONS)}")

    missing = url.replace("/t_", "/no_such_")
    missing_settings = bot_settings(tmp_path, tg, sandbox, database_url=missing)
    assert missing_settings.public_url is not None
    sandbox.state.webhooks.url = missing_settings.public_url + "/webhooks/pikasim"
    code, lines = await doctor(missing_settings)
    assert code == 1
    assert line_for(lines, "database").startswith(
        "FAIL  database: cannot read the PostgreSQL database of DATABASE_URL"
    )
    assert line_for(lines, "webhook round trip").startswith(
        "FAIL  webhook round trip: cannot read the database to see it arrive"
    )
    assert password not in "\n".join(lines)
