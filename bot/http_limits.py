"""Limits that keep a public HTTP listener cheap for strangers.

uvicorn (with h11) waits for ever for a request's headers and body, and accepts every
connection. Here a connection must send its request headers within ``header_timeout`` of
connecting (or of its last response), the body must follow within ``body_timeout`` (answered
408 otherwise), and at most ``max_connections`` stay open: when a new one would exceed that, the
oldest connection still waiting for its request is closed to make room (so a flood of half-open
connections cannot lock out real clients), or the new one when every connection is busy.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["LISTENER_LIMITS", "ConnectionGuard", "RequestBodyLimits", "ServerLimits"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerLimits:
    max_connections: int = 256
    header_timeout: float = 10.0  # connect (or last response) -> complete request headers
    body_timeout: float = 10.0  # request headers -> end of the body
    max_body_bytes: int = 256 * 1024  # bodies are read in full before the app sees them
    keep_alive_timeout: float = 5.0  # uvicorn's idle time between requests


LISTENER_LIMITS = ServerLimits()


class ConnectionGuard:
    """The open connections of one server, oldest first."""

    def __init__(self, limits: ServerLimits) -> None:
        self.limits = limits
        self._open: dict[GuardedH11Protocol, None] = {}
        self.evicted = 0
        self.refused = 0
        self._warned_at = float("-inf")

    @property
    def open_connections(self) -> int:
        return len(self._open)

    def admit(self, connection: GuardedH11Protocol) -> bool:
        """Register a new connection; False when it was closed at once."""
        self._open[connection] = None
        if len(self._open) <= self.limits.max_connections:
            return True
        self._warn()
        for old in self._open:
            if old is not connection and old.waiting_for_request:
                self._drop(old)
                self.evicted += 1
                return True
        self._drop(connection)
        self.refused += 1
        return False

    def forget(self, connection: GuardedH11Protocol) -> None:
        self._open.pop(connection, None)

    def _drop(self, connection: GuardedH11Protocol) -> None:
        self._open.pop(connection, None)
        connection.drop()

    def _warn(self) -> None:
        now = time.monotonic()
        if now - self._warned_at >= 60:  # one line a minute, whatever the flood
            self._warned_at = now
            log.warning(
                "HTTP listener full (%d connections): closing connections that send no request",
                self.limits.max_connections,
            )


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the guard's deadlines; one subclass per server (``guard``)."""

    guard: ClassVar[ConnectionGuard]
    _deadline: asyncio.TimerHandle | None = None

    @classmethod
    def for_guard(cls, guard: ConnectionGuard) -> type[GuardedH11Protocol]:
        return type("GuardedH11Protocol", (cls,), {"guard": guard})

    @property
    def waiting_for_request(self) -> bool:
        """No request in progress: headers or body still to come (or idle between requests)."""
        return self.conn.their_state in (h11.IDLE, h11.SEND_BODY)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.guard.admit(self):
            self._arm(self.guard.limits.header_timeout, headers=True)

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.forget(self)
        self._disarm()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():  # the next request's headers get the same time
            self._arm(self.guard.limits.header_timeout, headers=True)

    def drop(self) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self.transport.close()

    def _arm(self, delay: float, *, headers: bool) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(delay, self._overdue, headers)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _overdue(self, headers: bool) -> None:
        self._deadline = None
        state = self.conn.their_state
        if state is h11.IDLE:
            self.drop()
        elif state is h11.SEND_BODY:
            if headers:  # RequestBodyLimits answers 408 first; this is the backstop
                self._arm(self.guard.limits.body_timeout, headers=False)
            else:
                self.drop()


class RequestBodyLimits:
    """ASGI middleware: read each request body in full, within the time and size limits.

    The app then gets the whole body at once, so it never waits on a slow client itself.
    """

    def __init__(self, app: Any, limits: ServerLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = await self._read(scope, receive, send)
        if body is None:
            return
        delivered = False

        async def replay() -> dict[str, Any]:
            nonlocal delivered
            if delivered:
                return dict(await receive())  # e.g. waiting for a disconnect
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _read(self, scope: Any, receive: Any, send: Any) -> bytes | None:
        """The body, or None once a refusal was sent (or the client went away)."""
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limits.max_body_bytes:
            await _refuse(send, 413, "body too large")
            return None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.body_timeout
        chunks: list[bytes] = []
        size = 0
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                await _refuse(send, 408, "request body too slow")
                return None
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limits.max_body_bytes:
                await _refuse(send, 413, "body too large")
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


async def _refuse(send: Any, status: int, error: str) -> None:
    body = json.dumps({"success": False, "error": error}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),  # the rest of the body is never read: no keep-alive
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
