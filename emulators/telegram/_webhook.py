"""Telegram's side of a webhook: after ``setWebhook``, pending updates are POSTed to the URL
one at a time, in order, with the ``X-Telegram-Bot-Api-Secret-Token`` header, and an update
stays pending (retried with a growing pause, as Telegram does) until the bot answers 2xx.
``getWebhookInfo`` reports the last failure the way Telegram words it."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from dataclasses import dataclass
from typing import Any

import httpx

from emulators.telegram._state import JSON, World
from emulators.telegram._wire import ApiError

__all__ = ["WebhookAttempt", "WebhookDelivery"]

_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@dataclass(frozen=True)
class WebhookAttempt:
    update_id: int
    kind: str  # "message", "callback_query", ...
    status: int | None  # None: no answer (connection refused, timeout)
    at: float


class WebhookDelivery:
    def __init__(self, world: World, *, retry_base: float = 0.05, retry_max: float = 1.0) -> None:
        self._world = world
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.secret: str | None = None
        self.attempts: list[WebhookAttempt] = []
        self.last_error_date: int | None = None
        self.last_error_message: str | None = None
        self._task: asyncio.Task[None] | None = None

    # -- Bot API methods ---------------------------------------------------------------------

    async def set_webhook(self, params: JSON, files: Any) -> bool:
        url = str(params.get("url") or "")
        if url and not url.startswith(("https://", "http://")):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET.match(str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if params.get("drop_pending_updates") in (True, "true"):
            self._world.updates.clear()
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._world.updates.allowed = frozenset(map(str, allowed)) or None
        self._world.webhook_url = url
        self.secret = str(secret) if secret is not None else None
        self._world.updates.signal.notify()
        return True

    async def get_webhook_info(self, params: JSON, files: Any) -> JSON:
        info: JSON = {
            "url": self._world.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._world.updates),
            "max_connections": 40,
        }
        if self.last_error_date is not None:
            info["last_error_date"] = self.last_error_date
            info["last_error_message"] = self.last_error_message
        return info

    # -- delivery ----------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._deliver_forever())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _deliver_forever(self) -> None:
        async with httpx.AsyncClient(timeout=5.0) as http:
            pause = self.retry_base
            while (update := await self._next_update()) is not None:
                if await self._post(http, update):
                    self._world.updates.confirm(int(update["update_id"]) + 1)
                    pause = self.retry_base
                else:
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, self.retry_max)

    async def _next_update(self) -> JSON | None:
        """The oldest pending update once a webhook is set; None when the fake is closing
        (asyncio.wait_for in Python 3.11 can swallow a cancellation: do not rely on it)."""

        def ready() -> JSON | None:
            if self._world.closing:
                # Ends the wait at once: when stop()'s cancellation is swallowed, the wait
                # would otherwise sit out its whole second (in every test's teardown).
                return {}
            if not self._world.webhook_url:
                return None
            pending = self._world.updates.peek(1)
            return pending[0] if pending else None

        while not self._world.closing:
            update = await self._world.updates.signal.wait_for(ready, 1.0)
            if update:  # {}: closing
                return update
        return None

    async def _post(self, http: httpx.AsyncClient, update: JSON) -> bool:
        url = self._world.webhook_url
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.secret} if self.secret else {}
        kind = next(key for key in update if key != "update_id")
        try:
            response = await http.post(url, json=update, headers=headers)
        except httpx.HTTPError as error:
            self._failed(update, kind, None, f"Connection failed: {type(error).__name__}")
            return False
        if 200 <= response.status_code < 300:
            self.attempts.append(WebhookAttempt(update["update_id"], kind, response.status_code,
                                                time.time()))  # fmt: skip
            return True
        message = f"Wrong response from the webhook: {response.status_code}"
        self._failed(update, kind, response.status_code, f"{message} {response.reason_phrase}")
        return False

    def _failed(self, update: JSON, kind: str, status: int | None, message: str) -> None:
        self.attempts.append(WebhookAttempt(update["update_id"], kind, status, time.time()))
        self.last_error_date = int(time.time())
        self.last_error_message = message
