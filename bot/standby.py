"""Two processes of the bot on one PostgreSQL database, one of them active.

A session-level advisory lock decides: the process that holds it polls Telegram, runs the
reconciler and the jobs; the other waits as a standby, answers ``/healthz`` with
``"role": "standby"`` and turns every other request away with 503, so the reseller and Telegram
retry (and a load balancer sends them to the active process). When the active process dies, even
by ``kill -9``, PostgreSQL ends its session and frees the lock; the standby takes it within
``poll_seconds`` and starts. With SQLite there is one process and it is always active.

An active process that loses its lock connection stops at once rather than risk two actives:
its supervisor starts it again, as the standby.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["LEADER_LOCK", "LeaderLockLost", "Leadership", "StandbyGate"]

log = logging.getLogger(__name__)

LEADER_LOCK = 0x65_53_49_4D_02  # "eSIM" 2 (the write lock of storage._postgres is 1)
_OPEN_PATHS = frozenset({"/healthz"})


class LeaderLockLost(Exception):
    """The active process lost its lock's connection and stopped (exit non-zero: restart)."""


class Leadership:
    """Who is active. ``url`` None (SQLite): this process, always."""

    def __init__(self, url: str | None, poll_seconds: float = 1.0) -> None:
        self._url = url
        self._poll = poll_seconds
        self._conn: Any = None  # an asyncpg connection, loaded only with PostgreSQL
        self._watcher: asyncio.Task[None] | None = None
        self.role = "active" if url is None else "standby"
        self.lost = False  # the lock's connection broke while active

    @property
    def standby(self) -> bool:
        return self.role == "standby"

    async def acquire(self, stop: asyncio.Event) -> bool:
        """Wait until this process holds the lock (True), or ``stop`` is set first (False)."""
        if self._url is None:
            return True
        announced = False
        while not stop.is_set():
            if await self._try_lock():
                self.role = "active"
                log.info("this process is active: it holds the leader lock")
                return True
            if not announced:
                log.info("another process is active: this one waits as the standby")
                announced = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._poll)
        return False

    async def _try_lock(self) -> bool:
        import asyncpg

        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = await asyncpg.connect(self._url)
            return bool(await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            log.warning("cannot reach the database to take the leader lock: %s", error)
            await self._drop()
            return False

    def watch(self, on_lost: Callable[[], None], every: float = 2.0) -> None:
        """Check the lock's connection every ``every`` seconds; call ``on_lost`` if it broke."""
        if self._conn is None or self._watcher is not None:
            return

        async def check() -> None:
            while True:
                await asyncio.sleep(every)
                try:
                    assert self._conn is not None
                    await asyncio.wait_for(self._conn.fetchval("SELECT 1"), every * 2)
                except Exception as error:  # any failure: the lock may be gone
                    log.critical("lost the leader lock's connection (%s): stopping", error)
                    self.role = "standby"
                    self.lost = True
                    on_lost()
                    return

        self._watcher = asyncio.create_task(check(), name="leader-lock-watch")

    async def release(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        await self._drop()  # closing the session frees the lock

    async def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
        self._conn = None


class StandbyGate:
    """ASGI middleware: while the process is the standby, only ``/healthz`` is served."""

    def __init__(self, app: ASGIApp, leadership: Leadership) -> None:
        self._app = app
        self._leadership = leadership

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and self._leadership.standby
            and scope.get("path") not in _OPEN_PATHS
        ):
            body = b'{"success": false, "error": "standby, retry later"}'
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"retry-after", b"5"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self._app(scope, receive, send)
