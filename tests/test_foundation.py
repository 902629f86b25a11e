"""The process as a whole: start-up, /start end to end, health, settings errors, shutdown."""

from __future__ import annotations

import httpx

from bot.testing import FakeTelegram
from tests.rig import RunningBot


async def test_start_command_gets_the_menu(bot: RunningBot, tg: FakeTelegram) -> None:
    alice = tg.user(1001, "Alice", language_code="en")
    await alice.send_command("/start")
    message = await alice.wait_for_message(lambda m: "Hi Alice" in m.get("text", ""))
    labels = [text for text, _, _ in alice.buttons(message)]
    assert any("Buy" in label for label in labels)
    assert any("My eSIMs" in label for label in labels)
    assert any("Help" in label for label in labels)


async def test_healthz_reports_ready(bot: RunningBot) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(bot.url + "/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["reseller"] == "pikasim"
    assert body["catalog_plans"] >= 300
