"""Serve an ASGI app with uvicorn inside the running event loop.

The bot, the sandbox reseller and the fake Telegram server all need the same thing: a server
that starts in the current loop, reports the port it actually bound (port 0 picks a free one),
and stops cleanly without touching signal handlers, which belong to the process owner.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from types import TracebackType
from typing import Any

import uvicorn

from bot.http_limits import ConnectionGuard, GuardedH11Protocol, RequestBodyLimits, ServerLimits

__all__ = ["BackgroundServer"]


class _QuietServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the process owner handles signals
        return


class BackgroundServer:
    def __init__(
        self, app: Any, host: str = "127.0.0.1", port: int = 0, limits: ServerLimits | None = None
    ) -> None:
        self._app = app
        self._host = host
        self._port = port
        # Without limits (test servers), plain uvicorn; with them, see bot.http_limits.
        self.guard = None if limits is None else ConnectionGuard(limits)
        self._server: _QuietServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("server not started")
        return int(self._socket.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    async def start(self) -> None:
        # Binding the socket ourselves makes the chosen port known before uvicorn starts.
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        # IPPROTO_TCP explicitly: asyncio only enables TCP_NODELAY on such sockets, and without
        # it every small response waits ~40 ms for delayed ACKs.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        sock.set_inheritable(True)
        self._socket = sock
        config = uvicorn.Config(
            self._app if self.guard is None else RequestBodyLimits(self._app, self.guard.limits),
            log_level="warning",
            log_config=None,  # our handlers: one line per event, secrets masked
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=3,
            ws="none",
            **self._limit_options(),
        )
        self._server = _QuietServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()  # re-raise the start-up error
                raise RuntimeError("HTTP server stopped during start-up")
            await asyncio.sleep(0.01)

    def _limit_options(self) -> dict[str, Any]:
        if self.guard is None:
            return {}
        return {
            "http": GuardedH11Protocol.for_guard(self.guard),
            "timeout_keep_alive": self.guard.limits.keep_alive_timeout,
        }

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._socket is not None:
            self._socket.close()
        self._server = None
        self._task = None

    async def __aenter__(self) -> BackgroundServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
