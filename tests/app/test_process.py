"""``python -m bot`` as operators run it: configuration errors, logs, clean shutdown."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

from emulators.telegram import FakeTelegram
from tests.rig import TEST_API_KEY, TEST_WEBHOOK_SECRET, BotProcess, RunningSandbox

ROOT = Path(__file__).resolve().parents[2]


def run_bot_briefly(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        env={**base, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_malformed_token_gives_one_clear_line(tmp_path: Path) -> None:
    # Without any token the playground starts instead (tests/test_playground.py).
    result = run_bot_briefly({"TELEGRAM_BOT_TOKEN": "not-a-token"}, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "TELEGRAM_BOT_TOKEN" in lines[0]
    assert "BotFather" in lines[0]
    assert "Traceback" not in result.stderr


def test_malformed_value_names_the_variable(tmp_path: Path) -> None:
    result = run_bot_briefly({"TELEGRAM_BOT_TOKEN": "1:abc", "HTTP_PORT": "eighty"}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "HTTP_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_real_key_without_webhook_secret_is_refused(tmp_path: Path) -> None:
    result = run_bot_briefly({"TELEGRAM_BOT_TOKEN": "1:abc", "PIKASIM_API_KEY": "pk_x"}, tmp_path)
    assert result.returncode == 2
    assert "PIKASIM_WEBHOOK_SECRET" in result.stderr


def test_dotenv_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TELEGRAM_BOT_TOKEN=1:abc\nHTTP_PORT=99999\n")
    from_file = run_bot_briefly({}, tmp_path)
    assert "HTTP_PORT" in from_file.stderr
    assert "65535" in from_file.stderr  # the file's out-of-range port was read
    overridden = run_bot_briefly({"HTTP_PORT": "eighty"}, tmp_path)
    assert "whole number" in overridden.stderr  # the environment's value was used instead
    assert "65535" not in overridden.stderr


async def test_runs_answers_and_stops_cleanly_without_leaking_secrets(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    bot = BotProcess.for_rig(tmp_path, tg, sandbox)
    await bot.start()
    try:
        await bot.wait_ready()
        alice = tg.user(1001, "Alice")
        await alice.send_command("/start")
        await alice.wait_for_message(lambda m: "Alice" in m.get("text", ""), timeout=10)
        started = time.monotonic()
        code = await bot.stop()
    finally:
        await bot.kill()
    assert code == 0, bot.text
    assert time.monotonic() - started < 8
    log = bot.text
    assert "Traceback" not in log
    assert "bot started" in log
    for secret in (tg.token, tg.token.split(":")[1], TEST_API_KEY, TEST_WEBHOOK_SECRET):
        assert secret not in log


async def test_a_refused_token_is_one_clear_line(tmp_path: Path, tg: FakeTelegram) -> None:
    env = {
        "TELEGRAM_BOT_TOKEN": "999:not-the-token-the-server-knows",
        "TELEGRAM_API_URL": tg.api_url,
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": "0",
    }
    result = await asyncio.to_thread(run_bot_briefly, env, tmp_path)
    assert result.returncode == 3
    assert "Telegram refused TELEGRAM_BOT_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr
    assert "not-the-token" not in result.stderr
