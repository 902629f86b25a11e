"""The HTTP listener's limits: slow requests are cut off, open connections are capped."""

from __future__ import annotations

import asyncio
import contextlib
import resource
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.asgi_server import BackgroundServer
from bot.http_limits import LISTENER_LIMITS, ServerLimits
from emulators.telegram import FakeTelegram
from tests.rig import RunningBot

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def echo(request: Request) -> JSONResponse:
    return JSONResponse({"received": len(await request.body())})


async def slow(request: Request) -> JSONResponse:
    await asyncio.sleep(1.5)
    return JSONResponse({"slow": True})


@contextlib.asynccontextmanager
async def small_server(**limits: Any) -> AsyncIterator[BackgroundServer]:
    app = Starlette(
        routes=[Route("/echo", echo, methods=["POST"]), Route("/slow", slow, methods=["GET"])]
    )
    defaults = {"header_timeout": 0.4, "body_timeout": 0.4, "max_body_bytes": 1000}
    async with BackgroundServer(app, limits=ServerLimits(**{**defaults, **limits})) as server:
        yield server


async def connect(server: BackgroundServer, data: bytes = b"") -> Streams:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    if data:
        writer.write(data)
        await writer.drain()
    return reader, writer


async def closed_within(streams: Streams, seconds: float) -> bytes:
    """Everything the server sent before closing the connection (fails if it stays open)."""
    reader, writer = streams
    try:
        return await asyncio.wait_for(reader.read(), seconds)
    finally:
        writer.close()


def post(length: int, body: bytes = b"") -> bytes:
    head = f"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {length}\r\n\r\n"
    return head.encode() + body


async def test_the_bot_listener_uses_the_documented_limits(bot: RunningBot) -> None:
    assert bot.listener.guard is not None and bot.listener.guard.limits == LISTENER_LIMITS
    assert (LISTENER_LIMITS.header_timeout, LISTENER_LIMITS.body_timeout) == (10.0, 10.0)
    assert LISTENER_LIMITS.max_connections == 256


async def test_slow_or_oversized_requests_are_cut_off() -> None:
    async with small_server() as server:
        partial_headers = await connect(server, b"POST /echo HTTP/1.1\r\nHost: t\r\n")
        silent = await connect(server)
        partial_body = await connect(server, post(100, b"x" * 10))
        assert await closed_within(partial_headers, 3) == b""
        assert await closed_within(silent, 3) == b""
        answer = await closed_within(partial_body, 3)
        assert answer.startswith(b"HTTP/1.1 408 ") and b"connection: close" in answer.lower()
        too_big = await closed_within(await connect(server, post(5000)), 3)
        assert too_big.startswith(b"HTTP/1.1 413 ")
        async with httpx.AsyncClient(base_url=server.url) as client:
            assert (await client.post("/echo", content=b"y" * 1000)).json() == {"received": 1000}
        chunk = b"258\r\n" + b"z" * 600 + b"\r\n"  # no length announced: counted as it comes
        head = b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        chunked = await closed_within(await connect(server, head + chunk + chunk), 3)
        assert chunked.startswith(b"HTTP/1.1 413 ")


async def test_when_full_the_oldest_idle_connection_makes_room() -> None:
    async with small_server(max_connections=3, header_timeout=30) as server:
        assert server.guard is not None
        idle = [await connect(server) for _ in range(3)]
        await asyncio.sleep(0.1)
        async with httpx.AsyncClient(base_url=server.url) as client:
            assert (await client.post("/echo", content=b"ok")).status_code == 200
        assert await closed_within(idle[0], 3) == b""  # the oldest went first
        assert server.guard.evicted >= 1 and server.guard.open_connections <= 3
        for streams in idle[1:]:
            streams[1].close()
        # Connections busy with a request are never dropped; a newcomer is refused instead.
        busy = [
            asyncio.create_task(httpx.AsyncClient(base_url=server.url).get("/slow"))
            for _ in range(3)
        ]
        await asyncio.sleep(0.5)
        refused = await closed_within(await connect(server, b"GET /slow HTTP/1.1\r\n\r\n"), 3)
        assert refused == b"" and server.guard.refused >= 1
        assert [(await task).status_code for task in busy] == [200, 200, 200]


async def test_a_thousand_half_open_connections_do_not_lock_anyone_out(
    bot: RunningBot, tg: FakeTelegram
) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096:  # 1,000 client sockets and the server's side live in this one process
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    guard = bot.listener.guard
    assert guard is not None
    held: list[Streams] = []
    try:
        for n in range(1000):
            partial = (
                b"POST /webhooks/pikasim HTTP/1.1\r\nHost: bot\r\n"  # headers never end
                if n % 2
                else b"POST /webhooks/pikasim HTTP/1.1\r\nHost: bot\r\nContent-Length: 900\r\n\r\n{"
            )
            held.append(await connect(bot.listener, partial))
        await asyncio.sleep(0.2)
        assert guard.open_connections <= LISTENER_LIMITS.max_connections
        assert guard.evicted >= 1000 - LISTENER_LIMITS.max_connections
        async with httpx.AsyncClient(timeout=5) as client:
            health = await client.get(bot.url + "/healthz")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        alice = tg.user(1001, "Alice")
        await alice.send_command("/start")
        menu = await alice.wait_for_message(lambda m: bool(alice.buttons(m)), timeout=15)
        assert menu
    finally:
        for _, writer in held:
            writer.close()
