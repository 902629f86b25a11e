"""The HTTP listener: health check and the reseller's webhooks."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from bot.pikasim.signing import verify_signature

__all__ = ["MAX_BODY_BYTES", "ListenerHooks", "create_listener", "webhook_dedup_key"]

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024


@dataclass
class ListenerHooks:
    """What the listener needs from the rest of the process."""

    webhook_secret: str
    health: Callable[[], Awaitable[dict[str, Any] | None]]  # None while starting up
    store_event: Callable[[str, str, str], Awaitable[int | None]]  # key, event, payload -> id
    enqueue_event: Callable[[int], Awaitable[None]]
    on_bad_signature: Callable[[str], Awaitable[None]]
    count_webhook: Callable[[str, str], None] = lambda source, outcome: None  # for /metrics
    extra_routes: list[BaseRoute] = field(default_factory=list)  # /metrics, Telegram's webhook


def webhook_dedup_key(payload: dict[str, Any], raw_body: bytes) -> str:
    """One key per business event, so a re-sent webhook (new timestamp) is still a duplicate."""
    event = str(payload.get("event", ""))
    data = payload.get("data")
    if isinstance(data, dict):
        for field in ("topupId", "orderId", "iccid"):
            value = data.get(field)
            if isinstance(value, str) and value:
                return f"{event}:{field}:{value}"
    return f"{event}:sha256:{hashlib.sha256(raw_body).hexdigest()}"


def create_listener(hooks: ListenerHooks) -> Starlette:
    async def healthz(request: Request) -> JSONResponse:
        report = await hooks.health()
        if report is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        healthy = report.get("status") == "ok"
        return JSONResponse(report, status_code=200 if healthy else 503)

    async def pikasim_webhook(request: Request) -> JSONResponse:
        body = await _read_capped(request)
        if body is None:
            hooks.count_webhook("pikasim", "too_large")
            return JSONResponse({"success": False, "error": "body too large"}, status_code=413)
        signature = request.headers.get("x-webhook-signature")
        if not verify_signature(body, signature, hooks.webhook_secret):
            client = request.client.host if request.client else "unknown"
            log.warning("rejected a reseller webhook with a bad signature from %s", client)
            hooks.count_webhook("pikasim", "bad_signature")
            await hooks.on_bad_signature(client)
            return JSONResponse({"success": False, "error": "bad signature"}, status_code=401)
        try:
            payload = json.loads(body)
        except ValueError:
            hooks.count_webhook("pikasim", "malformed")
            return JSONResponse({"success": False, "error": "invalid JSON"}, status_code=400)
        if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
            hooks.count_webhook("pikasim", "malformed")
            return JSONResponse({"success": False, "error": "no event"}, status_code=400)
        event_id = await hooks.store_event(
            webhook_dedup_key(payload, body), payload["event"], body.decode("utf-8", "replace")
        )
        if event_id is None:
            log.info("duplicate reseller webhook %s ignored", payload["event"])
            hooks.count_webhook("pikasim", "duplicate")
            return JSONResponse({"success": True, "duplicate": True})
        await hooks.enqueue_event(event_id)
        hooks.count_webhook("pikasim", "accepted")
        return JSONResponse({"success": True})

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/webhooks/pikasim", pikasim_webhook, methods=["POST"]),
            *hooks.extra_routes,
        ]
    )


async def _read_capped(request: Request) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
