"""Start the playground: the Bot API emulator, the real bot with the embedded sandbox reseller,
and the chat page on HTTP_PORT, all in this process. The bot talks to the emulator over HTTP
exactly as it talks to Telegram in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.asgi_server import BackgroundServer
from bot.services import Services
from bot.settings import Settings, SettingsError, is_configured, load_settings
from emulators.telegram import BotApiEmulator
from playground.cast import ADMIN_ID
from playground.session import PLAYGROUND_TOKEN, Playground
from playground.web import routes

__all__ = ["RunningPlayground", "main", "playground_settings", "running_playground"]

log = logging.getLogger("playground")


def playground_settings(
    emulator: BotApiEmulator, database_path: Path, **overrides: Any
) -> Settings:
    """The operator's settings with everything the playground must own replaced: the token and
    API address (the emulator), the reseller (the sandbox), the admin and a fresh database."""
    values: dict[str, Any] = {
        "telegram_bot_token": emulator.token,
        "telegram_api_url": emulator.api_url,
        "pikasim_api_key": None,
        "pikasim_webhook_secret": None,
        "public_url": None,
        "admin_ids": frozenset({ADMIN_ID}),
        "allowed_user_ids": frozenset(),
        "payments": "stars",
        "database_path": database_path,
    }
    if not is_configured("RECONCILE_SECONDS"):
        values["reconcile_seconds"] = 10  # a dropped webhook shows its effect within seconds
    if not is_configured("HTTP_HOST"):
        values["http_host"] = "127.0.0.1"  # the page has an admin and no login: local only
    # The emulator's Stars are simulated: sales here are demonstrations, open to every visitor.
    return dataclasses.replace(load_settings(**{**values, **overrides}), simulated_stars=True)


@dataclass
class RunningPlayground:
    playground: Playground
    services: Services
    listener: BackgroundServer
    settings: Settings

    @property
    def url(self) -> str:
        host = self.settings.http_host
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        return f"http://{shown}:{self.listener.port}/"


@contextlib.asynccontextmanager
async def running_playground(
    timeout: float = 20.0, **overrides: Any
) -> AsyncIterator[RunningPlayground]:
    """The whole playground in this event loop until the block ends."""
    from bot.app import serve

    stop = asyncio.Event()
    async with BotApiEmulator(
        token=PLAYGROUND_TOKEN, bot_username="esim_playground_bot", bot_first_name="eSIM Bot"
    ) as emulator:
        with tempfile.TemporaryDirectory(prefix="esim-playground-") as folder:
            settings = playground_settings(emulator, Path(folder) / "bot.sqlite3", **overrides)
            playground = Playground(emulator)
            ready: asyncio.Future[RunningPlayground] = asyncio.get_running_loop().create_future()

            def on_ready(services: Services, listener: BackgroundServer) -> None:
                playground.services = services
                ready.set_result(RunningPlayground(playground, services, listener, settings))

            task = asyncio.create_task(serve(settings, stop, on_ready, routes(playground)))
            try:
                await _wait_ready(task, ready, timeout)
                running = ready.result()
                await _wait_for_catalog(running.services, timeout)
                yield running
            finally:
                playground.close()  # end the pages' live streams first, or shutdown waits
                stop.set()
                await asyncio.wait_for(task, timeout)


async def _wait_ready(task: asyncio.Task[None], ready: asyncio.Future[Any], timeout: float) -> None:
    done, _ = await asyncio.wait({task, ready}, timeout=timeout, return_when="FIRST_COMPLETED")
    if task in done:
        task.result()  # re-raise the start-up error
        raise RuntimeError("the bot stopped during start-up")
    if ready not in done:
        raise TimeoutError("the playground did not start")


async def _wait_for_catalog(services: Services, timeout: float) -> None:
    # The first message typed into the page should already find every country.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while services.catalog.size == 0 and loop.time() < deadline:
        await asyncio.sleep(0.05)


async def _run(announce: Callable[[str], None]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with running_playground() as running:
        announce(running.url)
        await stop.wait()


def main() -> int:
    """``python -m bot`` without a token, or ``python -m bot --playground``."""
    from bot.logs import configure_logging

    try:  # the operator's other settings (log level, markup...) must still be valid
        base = load_settings(
            telegram_bot_token=PLAYGROUND_TOKEN,
            pikasim_api_key=None,
            pikasim_webhook_secret=None,
            payments="stars",
        )
    except SettingsError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging(base.log_level, base.secrets)

    def announce(url: str) -> None:
        print(
            f"Playground ready: open {url} (no Telegram token set, so the bot talks to a "
            "built-in Telegram emulator and the sandbox reseller; set TELEGRAM_BOT_TOKEN "
            "for production)",
            flush=True,
        )

    try:
        asyncio.run(_run(announce))
    except OSError as error:  # e.g. HTTP_PORT already in use
        log.error("cannot start the playground: %s", error)
        return 3
    return 0
