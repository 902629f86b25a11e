"""The end-to-end rig: the real bot, a fake Telegram server and the sandbox reseller.

Everything talks over real HTTP on 127.0.0.1; nothing needs the internet. Tests import the
helpers from here; the fixtures in conftest.py put them together.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.app import serve
from bot.asgi_server import BackgroundServer
from bot.services import Services
from bot.settings import Settings, load_settings
from emulators.pikasim import SandboxConfig, create_app
from emulators.telegram import FakeTelegram
from tests.databases import environment_for, settings_for

TEST_API_KEY = "pk_test_rig_key_0123456789"
TEST_WEBHOOK_SECRET = "whsec_test_rig_secret_0123456789"
TEST_TOKEN = "123456:TEST-rig-token-abcdefghijklmnop"
ADMIN_ID = 4242


# Ports for servers that must know their port before they bind it (the bot's listener: its
# PUBLIC_URL names it). Asking the kernel for port 0 and closing the socket races: another xdist
# worker, or any outgoing connection, can be given the same port before the server binds it. So
# each test process draws from its own block below Linux's ephemeral range (32768-60999 by
# default; the kernel never picks these for port 0 or for outgoing connections), never hands out
# a port twice, and skips ports something else on the machine holds.
_PORT_BASE = 20000
_PORT_BLOCK = 1000
_PORT_BLOCKS = 12  # 20000-31999: the process without xdist, then gw0 … gw10 (and wrapping on)
_ports_handed_out: set[int] = set()
_port_random = random.Random()  # its own: tests that seed the global one don't steer it


def _port_block() -> range:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", …; unset without xdist
    index = int(worker[2:]) + 1 if worker[2:].isdigit() else 0
    start = _PORT_BASE + (index % _PORT_BLOCKS) * _PORT_BLOCK
    return range(start, start + _PORT_BLOCK)


def _bindable(port: int) -> bool:
    # No SO_REUSEADDR: a port still in TIME_WAIT, or with any socket on it, counts as taken.
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port on 127.0.0.1 that nothing holds and no other test process will be handed."""
    block = _port_block()
    # A random starting point: two test runs on one machine (two checkouts) rarely meet.
    offset = _port_random.randrange(len(block))
    for step in range(len(block)):
        port = block[(offset + step) % len(block)]
        if port not in _ports_handed_out and _bindable(port):
            _ports_handed_out.add(port)
            return port
    raise RuntimeError(f"no free port left in {block.start}-{block.stop - 1}")


@dataclass
class RunningSandbox:
    server: BackgroundServer
    state: Any  # emulators.pikasim.Sandbox

    @property
    def api_url(self) -> str:
        return self.server.url + "/api/v1/reseller"


@contextlib.asynccontextmanager
async def running_sandbox(**config: Any) -> AsyncIterator[RunningSandbox]:
    defaults: dict[str, Any] = {
        "api_key": TEST_API_KEY,
        "webhook_secret": TEST_WEBHOOK_SECRET,
        "provisioning_delay": 0.05,
        "rate_limit": 600,
        "webhook_retry_backoff": 0.05,
    }
    app = create_app(SandboxConfig(**{**defaults, **config}))
    async with BackgroundServer(app) as server:
        yield RunningSandbox(server, app.state.sandbox)


def bot_settings(
    tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox | None, **overrides: Any
) -> Settings:
    """Settings for a bot wired to the rig (the embedded sandbox when ``sandbox`` is None)."""
    port = free_port()
    values: dict[str, Any] = {
        "telegram_bot_token": tg.token,
        "telegram_api_url": tg.api_url,
        "http_host": "127.0.0.1",
        "http_port": port,
        **settings_for(tmp_path),
        "admin_ids": str(ADMIN_ID),
        "reconcile_seconds": 60,
        "sandbox_provisioning_delay": 0.05,
        "log_level": "DEBUG",
    }
    if sandbox is not None:
        values |= {
            "pikasim_api_key": TEST_API_KEY,
            "pikasim_api_url": sandbox.api_url,
            "pikasim_webhook_secret": TEST_WEBHOOK_SECRET,
            "public_url": f"http://127.0.0.1:{port}",
        }
    values |= overrides
    return load_settings(environ={}, env_file=None, **values)


@dataclass
class RunningBot:
    services: Services
    listener: BackgroundServer
    settings: Settings

    @property
    def url(self) -> str:
        return self.listener.url


@contextlib.asynccontextmanager
async def running_bot(settings: Settings, timeout: float = 30.0) -> AsyncIterator[RunningBot]:
    """Run the real bot (bot.app.serve) in this event loop until the block ends."""
    stop = asyncio.Event()
    ready: asyncio.Future[RunningBot] = asyncio.get_running_loop().create_future()

    def on_ready(services: Services, listener: BackgroundServer) -> None:
        ready.set_result(RunningBot(services, listener, settings))

    task = asyncio.create_task(serve(settings, stop, on_ready))
    try:
        done, _ = await asyncio.wait({task, ready}, timeout=timeout, return_when="FIRST_COMPLETED")
        if task in done:
            task.result()  # re-raise the start-up error
        if ready not in done:
            raise TimeoutError("the bot did not start")
        bot = ready.result()
        await _wait_for_catalog(bot)
        yield bot
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=timeout)


async def _wait_for_catalog(bot: RunningBot, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while bot.services.catalog.size == 0:
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("the catalog never synced")
        await asyncio.sleep(0.02)


async def eventually(check: Any, timeout: float = 15.0, interval: float = 0.02) -> Any:
    """Wait until ``check()`` (sync or async) returns something truthy, and return it.

    The deadline only matters when the check fails: it is generous because the suite runs in
    parallel (pytest-xdist) and a loaded machine makes the bot slow, not wrong."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


class BotProcess:
    """``python -m bot`` as a real child process, for crash, signal and logging tests."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.process: asyncio.subprocess.Process | None = None
        self.output = b""

    @classmethod
    def for_rig(
        cls, tmp_path: Path, tg: FakeTelegram, sandbox: RunningSandbox, **extra: str
    ) -> BotProcess:
        import os
        import sys

        port = free_port()
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
            "PYTHONUNBUFFERED": "1",
            "TELEGRAM_BOT_TOKEN": tg.token,
            "TELEGRAM_API_URL": tg.api_url,
            "PIKASIM_API_KEY": TEST_API_KEY,
            "PIKASIM_API_URL": sandbox.api_url,
            "PIKASIM_WEBHOOK_SECRET": TEST_WEBHOOK_SECRET,
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(port),
            **environment_for(tmp_path),
            "ADMIN_IDS": str(ADMIN_ID),
            "RECONCILE_SECONDS": "1",
            "LOG_LEVEL": "DEBUG",
            "PYTHON": sys.executable,
        }
        env.update(extra)
        return cls(env, tmp_path)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env['HTTP_PORT']}"

    async def start(self, **extra_env: str) -> None:
        env = {**self.env, **extra_env}
        self.output = b""
        self.process = await asyncio.create_subprocess_exec(
            env["PYTHON"],
            "-m",
            "bot",
            cwd=self.cwd,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        while chunk := await self.process.stdout.read(65536):
            self.output += chunk

    async def wait_ready(self, timeout: float = 20.0) -> None:
        import httpx

        async def healthy() -> bool:
            if self.process is not None and self.process.returncode is not None:
                raise AssertionError(f"bot exited early:\n{self.text}")
            try:
                async with httpx.AsyncClient() as client:
                    response = await client.get(self.url + "/healthz")
            except httpx.HTTPError:
                return False
            return response.status_code == 200 and response.json().get("catalog_plans", 0) > 0

        await eventually(healthy, timeout=timeout, interval=0.1)

    async def wait_exit(self, timeout: float = 20.0) -> int:
        assert self.process is not None
        code = await asyncio.wait_for(self.process.wait(), timeout)
        await self._reader
        return code

    async def stop(self, timeout: float = 10.0) -> int:
        import signal

        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await self.wait_exit(timeout)

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.wait_exit()

    @property
    def text(self) -> str:
        return self.output.decode(errors="replace")
