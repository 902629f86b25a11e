"""Signed webhook delivery with retries, plus the drop/duplicate/delay fault knobs."""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass
from typing import Any

import httpx

from bot.pikasim.signing import js_stringify, sign

from ._clock import Clock
from ._config import SandboxConfig
from ._models import WebhookDelivery
from ._util import iso

__all__ = ["EVENTS", "WebhookSender"]

EVENTS = ("esim.provisioned", "esim.topup.completed", "order.failed")
TIMEOUT = 10.0


class _Borrowed(httpx.AsyncBaseTransport):
    """Lends a caller's transport to a short-lived client without letting the client close it."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._inner.handle_async_request(request)


@dataclass
class WebhookJob:
    event: str
    url: str
    body: bytes
    signature: str
    copies: int = 1
    delay: float = 0.0


class WebhookSender:
    def __init__(self, config: SandboxConfig, clock: Clock) -> None:
        # The config is read at send time: embedders may set ``webhook_transport`` later.
        self._config = config
        self._clock = clock
        self.url: str | None = None
        self.events: list[str] = list(EVENTS)
        self.deliveries: list[WebhookDelivery] = []
        self.dropped: list[WebhookDelivery] = []
        self.drop_count = 0
        self.duplicate_count = 0
        self.delay = 0.0
        self._ssl: ssl.SSLContext | None = None  # loading CA certificates takes ~30 ms: once

    def clear_faults(self) -> None:
        self.drop_count = self.duplicate_count = 0
        self.delay = 0.0

    def job(self, event: str, data: dict[str, Any], *, faults: bool = True) -> WebhookJob | None:
        """Sign the payload now; None when no URL, event not subscribed, or dropped."""
        if self.url is None or (faults and event not in self.events):
            return None
        payload = {"event": event, "timestamp": iso(self._clock.now()), "data": data}
        body = js_stringify(payload).encode()
        job = WebhookJob(event, self.url, body, sign(body, self._config.webhook_secret))
        if faults:
            return self._apply_faults(job)
        return job

    def _apply_faults(self, job: WebhookJob) -> WebhookJob | None:
        if self.drop_count > 0:
            self.drop_count -= 1
            self.dropped.append(
                WebhookDelivery(
                    job.event,
                    job.url,
                    job.body,
                    job.signature,
                    at=time.time(),
                    error="dropped by the sandbox",
                )
            )
            return None
        if self.duplicate_count > 0:
            self.duplicate_count -= 1
            job.copies = 2
        job.delay = self.delay
        return job

    async def run(self, job: WebhookJob) -> None:
        if job.delay > 0:
            await self._clock.sleep(job.delay)
        async with self._client() as client:
            for _ in range(job.copies):
                await self._deliver(client, job)

    async def send_once(self, job: WebhookJob) -> WebhookDelivery:
        async with self._client() as client:
            return await self._attempt(client, job, 1)

    def _client(self) -> httpx.AsyncClient:
        transport = self._config.webhook_transport
        if transport is not None:
            return httpx.AsyncClient(transport=_Borrowed(transport), timeout=TIMEOUT)
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context()
        return httpx.AsyncClient(verify=self._ssl, timeout=TIMEOUT)

    async def _deliver(self, client: httpx.AsyncClient, job: WebhookJob) -> None:
        retries, backoff = self._config.webhook_retries, self._config.webhook_retry_backoff
        for attempt in range(1, retries + 2):
            if (await self._attempt(client, job, attempt)).ok:
                return
            if attempt <= retries:
                await asyncio.sleep(backoff * 2 ** (attempt - 1))

    async def _attempt(
        self, client: httpx.AsyncClient, job: WebhookJob, attempt: int
    ) -> WebhookDelivery:
        delivery = WebhookDelivery(
            job.event, job.url, job.body, job.signature, at=time.time(), attempt=attempt
        )
        headers = {
            "Content-Type": "application/json",
            "X-Webhook-Signature": job.signature,
            "X-Webhook-Event": job.event,
            "User-Agent": "PikaSim-Webhooks/1.0 (sandbox)",
        }
        try:
            response = await client.post(job.url, content=job.body, headers=headers)
            delivery.status_code = response.status_code
        except Exception as exc:  # a refused connection or an error inside an ASGI receiver
            delivery.error = f"{type(exc).__name__}: {exc}".rstrip(": ")
        self.deliveries.append(delivery)
        return delivery
