"""LOG_FORMAT=json: one JSON object per line, with the same masking as the text format."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from bot.logs import JsonFormatter
from emulators.telegram import FakeTelegram
from tests.rig import TEST_API_KEY, TEST_WEBHOOK_SECRET, BotProcess, RunningSandbox


async def test_the_bot_logs_json_lines_without_secrets(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox
) -> None:
    bot = BotProcess.for_rig(tmp_path, tg, sandbox, LOG_FORMAT="json")
    await bot.start()
    try:
        await bot.wait_ready()
        alice = tg.user(1001, "Alice")
        await alice.send_command("/start")
        await alice.wait_for_message(lambda m: "Alice" in m.get("text", ""), timeout=10)
        assert await bot.stop() == 0, bot.text
    finally:
        await bot.kill()
    lines = bot.text.splitlines()
    assert len(lines) > 5
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)
    assert any("bot started" in entry["message"] for entry in entries)
    assert {entry["level"] for entry in entries} >= {"INFO", "DEBUG"}
    for secret in (tg.token, tg.token.split(":")[1], TEST_API_KEY, TEST_WEBHOOK_SECRET):
        assert secret not in bot.text


def test_json_masks_secrets_in_messages_and_tracebacks() -> None:
    secret = 'sec"ret\\value-0123'  # characters JSON escapes: masked before encoding
    formatter = JsonFormatter([secret])
    try:
        raise RuntimeError(f"failed with {secret}")
    except RuntimeError:
        record = logging.LogRecord(
            "bot", logging.ERROR, __file__, 1, "token %s\nnext", (secret,), sys.exc_info()
        )
    line = formatter.format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "token ***\nnext"
    assert "RuntimeError: failed with ***" in entry["exc_info"]
    assert secret not in line and "0123" not in line
