"""The process as a whole: start-up, /start end to end, health, settings errors, shutdown."""

from __future__ import annotations

from pathlib import Path

import httpx

from emulators.telegram import FakeTelegram
from handlers.callbacks import BuyPlan
from tests.rig import ADMIN_ID, RunningBot, bot_settings, running_bot


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
    assert body["role"] == "active"  # alone on its database (bot/standby.py)
    assert body["database"] == "ok"
    assert body["reseller"] == "pikasim"
    assert body["catalog_plans"] >= 300


async def test_embedded_sandbox_mode_sells_end_to_end(tmp_path: Path, tg: FakeTelegram) -> None:
    """No PIKASIM_API_KEY: the default a newcomer gets. Admins are told; a purchase works."""
    async with running_bot(bot_settings(tmp_path, tg, None, sandbox_open="1")) as bot:
        assert bot.services.settings.uses_sandbox
        admin = tg.user(ADMIN_ID)
        notice = await admin.wait_for_message(lambda m: "Sandbox mode" in m.get("text", ""))
        assert "PIKASIM_API_KEY" in notice["text"]
        async with httpx.AsyncClient() as client:
            health = (await client.get(bot.url + "/healthz")).json()
        assert health["reseller"] == "sandbox"

        alice = tg.user(1001, "Alice")
        await alice.send_command("/start")
        menu = await alice.wait_for_message(lambda m: bool(alice.buttons(m)))
        code = bot.services.catalog.index.country_plans("JP")[0].code
        await alice.tap_data(BuyPlan(code).pack(), menu)
        await alice.wait_for_message(lambda m: "invoice" in m)
        await alice.pay_last_invoice()
        photo = await alice.wait_for_message(lambda m: "photo" in m, timeout=10)
        assert "ICCID" in photo["caption"]
        [esim] = await bot.services.storage.esims.for_user(1001)
        assert esim.activation_code.startswith("LPA:1$")

        await admin.send_command("/balance")
        balance = await admin.wait_for_message(lambda m: "Reseller wallet" in m.get("text", ""))
        assert "Sandbox mode" in balance["text"]


async def test_healthz_is_503_until_ready() -> None:
    from bot.listener import ListenerHooks, create_listener

    ready: dict[str, object] | None = None

    async def health() -> dict[str, object] | None:
        return ready

    async def unused(*_: object) -> None:
        raise AssertionError("not called")

    hooks = ListenerHooks("secret", health, unused, unused, unused)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=create_listener(hooks))
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        assert (await client.get("/healthz")).status_code == 503
        ready = {"status": "ok", "database": "ok"}
        response = await client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"


async def test_embedded_sandbox_restarted_next_to_the_same_database_still_delivers(
    tmp_path: Path, tg: FakeTelegram
) -> None:
    """The sandbox forgets everything on restart, our database does not: its new orders must
    not collide with the old ones (a reused order id would look like a duplicate webhook)."""
    alice = tg.user(1001, "Alice")
    for run in range(2):
        async with running_bot(bot_settings(tmp_path, tg, None, sandbox_open="1")) as bot:
            await alice.send_command("/start")
            menu = await alice.wait_for_message(lambda m: bool(alice.buttons(m)))
            code = bot.services.catalog.index.country_plans("JP")[0].code
            await alice.tap_data(BuyPlan(code).pack(), menu)
            await alice.wait_for_message(lambda m: "invoice" in m)
            await alice.pay_last_invoice()
            await alice.wait_for_message(lambda m: "photo" in m, timeout=10)
            assert len(await bot.services.storage.esims.for_user(1001)) == run + 1
