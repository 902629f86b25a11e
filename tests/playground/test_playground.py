"""The playground without a browser: ``python -m bot`` with no token serves it, its page API
drives the real bot through the Bot API emulator (live updates over server-sent events), bad
requests get a clear answer and change nothing, the sandbox panel's knobs reach the sandbox, and
nothing of it is served when a token is set."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.settings import is_configured
from playground.cast import ADMIN_ID, CAST
from playground.runner import RunningPlayground, running_playground
from playground.views import STARTING_STARS
from tests.rig import RunningBot, eventually, free_port

ROOT = Path(__file__).resolve().parents[2]
ALICE, LUCIA = CAST[0], CAST[1]
JSON = dict[str, Any]


@pytest.fixture
async def running() -> AsyncIterator[RunningPlayground]:
    async with running_playground(http_port=free_port(), sandbox_provisioning_delay=0.05) as pg:
        yield pg


@pytest.fixture
async def client(running: RunningPlayground) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=running.url, timeout=10) as http:
        yield http


async def post(client: httpx.AsyncClient, path: str, body: JSON) -> httpx.Response:
    return await client.post(f"/playground/api/{path}", json=body)


async def chat(client: httpx.AsyncClient, user: int) -> JSON:
    response = await client.get("/playground/api/chat", params={"user": user})
    assert response.status_code == 200
    result: JSON = response.json()
    return result


def last_bot_message(view: JSON) -> JSON | None:
    return next((m for m in reversed(view["messages"]) if m["fromBot"]), None)


@pytest.mark.parametrize(
    ("args", "extra_env"),
    [([], {}), (["--playground"], {"TELEGRAM_BOT_TOKEN": "1:a-real-looking-token"})],
    ids=["no-token", "forced"],
)
async def test_python_m_bot_without_a_token_serves_the_playground(
    tmp_path: Path, args: list[str], extra_env: dict[str, str]
) -> None:
    port = free_port()
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "HTTP_PORT": str(port)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=tmp_path, env={**env, **extra_env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        assert f"open http://127.0.0.1:{port}/" in line and "TELEGRAM_BOT_TOKEN" in line
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            page = await http.get("/")
            assert page.status_code == 200 and "Playground" in page.text
            for asset in re.findall(r'(?:src|href)="(/playground/static/[^"]+)"', page.text):
                assert (await http.get(asset)).status_code == 200, asset
            health = (await http.get("/healthz")).json()
            assert health["reseller"] == "sandbox"
            # An open page (a live stream) does not keep the process from stopping.
            params = {"user": ALICE.id}
            async with http.stream("GET", "/playground/api/events", params=params) as stream:
                assert (await anext(stream.aiter_lines())).startswith("retry:")
                process.send_signal(signal.SIGTERM)
                assert await asyncio.wait_for(process.wait(), 15) == 0
        assert not (tmp_path / "data").exists()  # a throw-away database, not the operator's
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_only_a_set_token_counts_as_configured(tmp_path: Path) -> None:
    assert not is_configured("TELEGRAM_BOT_TOKEN", {}, None)
    assert not is_configured("TELEGRAM_BOT_TOKEN", {"TELEGRAM_BOT_TOKEN": "  "}, None)
    assert is_configured("TELEGRAM_BOT_TOKEN", {"TELEGRAM_BOT_TOKEN": "1:a"}, None)
    (tmp_path / ".env").write_text("TELEGRAM_BOT_TOKEN=1:from-file\n")
    assert is_configured("TELEGRAM_BOT_TOKEN", {}, tmp_path / ".env")


async def test_a_customer_chats_through_the_page_with_live_updates(
    running: RunningPlayground, client: httpx.AsyncClient
) -> None:
    seen: list[JSON] = []

    async def listen() -> None:
        params = {"user": LUCIA.id}
        async with client.stream("GET", "/playground/api/events", params=params) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            async for line in stream.aiter_lines():
                if line.startswith("data: "):
                    seen.append(json.loads(line.removeprefix("data: ")))

    listener = asyncio.create_task(listen())
    try:
        await eventually(lambda: seen)  # the chat as it is, at once
        assert (await post(client, "send", {"user": LUCIA.id, "text": "/start"})).json()["ok"]
        welcome = await eventually(lambda: seen and last_bot_message(seen[-1]))
    finally:
        listener.cancel()
    assert "Lucía" in welcome["text"]  # in Spanish, to her
    assert seen[-1]["stars"] == STARTING_STARS
    assert any(c["command"] == "language" for c in seen[-1]["commands"])
    labels = [b["text"] for row in welcome["buttons"] for b in row]
    assert any("eSIM" in label for label in labels)

    # A tap edits the message in place (same id), as in Telegram.
    data = welcome["buttons"][0][0]["callback_data"]
    tapped = await post(client, "tap", {"user": LUCIA.id, "message": welcome["id"], "data": data})
    assert tapped.json()["ok"]

    async def changed() -> bool:
        view = await chat(client, LUCIA.id)
        return any(m["id"] == welcome["id"] and m != welcome for m in view["messages"]) or (
            last_bot_message(view) != welcome
        )

    await eventually(changed)


async def test_an_invoice_is_paid_once_with_simulated_stars(
    running: RunningPlayground, client: httpx.AsyncClient
) -> None:
    await post(client, "send", {"user": ALICE.id, "text": "/start JP"})
    plans = await eventually(lambda: _with_data(running, ALICE.id, "p:"))
    await post(
        client, "tap", {"user": ALICE.id, "message": plans["id"], "data": _data(plans, "p:")}
    )
    plan = await eventually(lambda: _with_data(running, ALICE.id, "b:"))
    await post(client, "tap", {"user": ALICE.id, "message": plan["id"], "data": _data(plan, "b:")})
    invoice = await eventually(lambda: _invoice(running, ALICE.id))
    assert invoice["buttons"][0][0]["pay"] is True

    assert (await post(client, "pay", {"user": ALICE.id, "message": invoice["id"]})).json()["ok"]
    again = await post(client, "pay", {"user": ALICE.id, "message": invoice["id"]})
    assert again.status_code == 400 and "already paid" in again.json()["error"]
    view = await chat(client, ALICE.id)
    total = invoice["invoice"]["total_amount"]
    assert view["stars"] == STARTING_STARS - total
    assert any(m.get("service") == f"You paid ⭐ {total}" for m in view["messages"])
    paid = next(m for m in view["messages"] if m["id"] == invoice["id"])
    assert paid["invoice"]["paid"] and paid["buttons"][0][0]["text"] == "Paid ✓"
    assert [p.amount for p in running.playground.emulator.star_transactions] == [total]

    photo = await eventually(lambda: _photo(running, ALICE.id), timeout=10)
    image = await client.get(photo["photo"])
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("path", "body", "error"),
    [
        ("send", {"user": 1, "text": "hi"}, "unknown person"),
        ("send", {"user": ALICE.id, "text": "   "}, "Type a message"),
        ("tap", {"user": ALICE.id, "message": 999, "data": "x"}, "gone"),
        ("tap", {"user": ALICE.id, "message": "1", "data": "x"}, "number"),
        ("pay", {"user": ALICE.id, "message": 1}, "invoice is gone"),
        ("sandbox", {"action": "explode"}, "unknown action"),
        ("sandbox", {"action": "install", "iccid": "8900"}, "No such eSIM"),
    ],
)
async def test_bad_requests_get_a_clear_answer_and_change_nothing(
    running: RunningPlayground, client: httpx.AsyncClient, path: str, body: JSON, error: str
) -> None:
    faults_before = (await client.get("/playground/api/sandbox")).json()["faults"]
    response = await post(client, path, body)
    assert response.status_code == 400
    assert error in response.json()["error"]
    world = running.playground.emulator.world
    assert not world.updates.snapshot() and not world.callback_queries
    assert not world.pre_checkouts and not world.payments
    assert (await chat(client, ALICE.id))["messages"] == []
    assert (await client.get("/playground/api/sandbox")).json()["faults"] == faults_before
    not_json = await client.post("/playground/api/send", content=b"{")
    assert not_json.status_code == 400


async def test_the_sandbox_panel_turns_the_sandbox_knobs(
    running: RunningPlayground, client: httpx.AsyncClient
) -> None:
    state = (await client.get("/playground/api/sandbox")).json()
    assert state["balanceCents"] > 0 and state["orders"] == [] and state["esims"] == []
    for action in ("fail_order", "drop_webhook", "duplicate_webhook", "error_500", "rate_limit"):
        assert (await post(client, "sandbox", {"action": action})).status_code == 200
    faults = (await client.get("/playground/api/sandbox")).json()["faults"]
    assert faults == {
        "failOrders": 1,
        "dropWebhooks": 1,
        "duplicateWebhooks": 1,
        "error500": True,
        "rateLimited": True,
    }
    cleared = (await post(client, "sandbox", {"action": "clear"})).json()["faults"]
    assert not any(cleared.values())
    low = (await post(client, "sandbox", {"action": "low_balance"})).json()
    assert low["balanceCents"] == 1_500
    # The operator's chat exists from the start, so alerts reach the admin.
    admin = await chat(client, ADMIN_ID)
    assert any("Sandbox" in (m.get("text") or "") for m in admin["messages"])
    assert admin["counts"][str(ADMIN_ID)] == len(admin["messages"])  # the page's unread badges


async def test_nothing_of_the_playground_is_served_with_a_token(bot: RunningBot) -> None:
    async with httpx.AsyncClient(base_url=bot.url) as http:
        for path in ("/", "/playground/static/app.js", "/playground/api/people"):
            assert (await http.get(path)).status_code == 404, path


def _messages(running: RunningPlayground, user: int) -> list[JSON]:
    from playground.views import chat_view

    world = running.playground.emulator.world
    messages: list[JSON] = chat_view(world, world.chats[user])["messages"]
    return messages


def _with_data(running: RunningPlayground, user: int, prefix: str) -> JSON | None:
    return next((m for m in reversed(_messages(running, user)) if _data(m, prefix)), None)


def _data(message: JSON, prefix: str) -> str | None:
    for row in message["buttons"]:
        for button in row:
            if str(button.get("callback_data", "")).startswith(prefix):
                return str(button["callback_data"])
    return None


def _invoice(running: RunningPlayground, user: int) -> JSON | None:
    return next((m for m in _messages(running, user) if "invoice" in m), None)


def _photo(running: RunningPlayground, user: int) -> JSON | None:
    return next((m for m in _messages(running, user) if "photo" in m), None)
