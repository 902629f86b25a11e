"""The HTTP listener: health check and the reseller's webhooks."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from bot.in_process import is_in_process
from bot.pikasim.signing import fallback_candidate, verify_raw, verify_reserialised

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_EVENT_AGE_SECONDS",
    "ListenerHooks",
    "create_listener",
    "webhook_dedup_key",
]

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
MAX_EVENT_AGE_SECONDS = 600  # an older signed event is a replay (or hopelessly late)
WEBHOOK_TEST_EVENT = "webhook.test"


@dataclass
class ListenerHooks:
    """What the listener needs from the rest of the process."""

    webhook_secret: str
    health: Callable[[], Awaitable[dict[str, Any] | None]]  # None while starting up
    store_event: Callable[[str, str, str], Awaitable[int | None]]  # key, event, payload -> id
    enqueue_event: Callable[[int], Awaitable[None]]
    on_bad_signature: Callable[[str], Awaitable[None]]
    # The embedded sandbox: its webhooks arrive in-process only; the network route refuses.
    in_process_only: bool = False
    count_webhook: Callable[[str, str], None] = lambda source, outcome: None  # /metrics


def webhook_dedup_key(payload: dict[str, Any], raw_body: bytes) -> str:
    """One key per business event, so a re-sent webhook (new timestamp) is still a duplicate.

    An order's events are keyed by its order id; a top-up by the eSIM's ICCID plus the top-up's
    own id (a top-up carries the eSIM's order id, the same for every top-up of that eSIM).
    Anything without those ids is keyed by its exact body.
    """
    event = str(payload.get("event", ""))
    data = payload.get("data")
    if not isinstance(data, dict):
        data = {}
    if event == "esim.topup.completed":
        topup = _id(data, "topupId", "topup_id") or _id(
            data, "externalOrderId", "external_order_id"
        )
        if topup:
            return f"{event}:iccid:{_id(data, 'iccid')}:topup:{topup}"
    else:
        order = _id(data, "orderId", "order_id")
        if order:
            return f"{event}:order:{order}"
    return f"{event}:sha256:{hashlib.sha256(raw_body).hexdigest()}"


def _id(data: dict[str, Any], *names: str) -> str:
    for name in names:
        value = data.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    return ""


def create_listener(hooks: ListenerHooks, extra_routes: Sequence[BaseRoute] = ()) -> Starlette:
    """The listener's app; ``extra_routes`` serve the playground page (never with a token)."""
    fallback = _FallbackVerifier()

    async def healthz(request: Request) -> JSONResponse:
        report = await hooks.health()
        if report is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        healthy = report.get("status") in ("ok", "standby")  # a standby is healthy, waiting
        return JSONResponse(report, status_code=200 if healthy else 503)

    async def pikasim_webhook(request: Request) -> JSONResponse:
        if hooks.in_process_only and not is_in_process(request.scope):
            log.info("refused a reseller webhook from the network in sandbox mode")
            return JSONResponse({"success": False, "error": "not accepted"}, status_code=403)
        body = await _read_capped(request)
        if body is None:
            hooks.count_webhook("pikasim", "too_large")
            return _error("body too large", 413)
        signature = request.headers.get("x-webhook-signature")
        verified: bool | None = verify_raw(body, signature, hooks.webhook_secret)
        if not verified:
            verified = await fallback.verify(body, signature, hooks.webhook_secret)
        if verified is None:
            return _error("busy, retry later", 503, {"Retry-After": "5"})
        if not verified:
            client = request.client.host if request.client else "unknown"
            log.warning("rejected a reseller webhook with a bad signature from %s", client)
            hooks.count_webhook("pikasim", "bad_signature")
            await hooks.on_bad_signature(client)
            return _error("bad signature", 401)
        try:
            payload = json.loads(body.decode("utf-8"))
        except ValueError:  # UnicodeDecodeError too: PikaSim sends UTF-8 only
            hooks.count_webhook("pikasim", "malformed")
            return _error("invalid JSON", 400)
        if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
            hooks.count_webhook("pikasim", "malformed")
            return _error("no event", 400)
        stale = _stale_reason(payload)
        if stale is not None:
            log.warning("rejected a signed reseller webhook %s: %s", payload["event"], stale)
            hooks.count_webhook("pikasim", "stale")
            return _error(stale, 400)
        event_id = await hooks.store_event(
            webhook_dedup_key(payload, body), payload["event"], body.decode("utf-8")
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
            *extra_routes,
        ]
    )


def _error(message: str, status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"success": False, "error": message}, status_code=status, headers=headers)


def _stale_reason(payload: dict[str, Any]) -> str | None:
    """Why a signed event must not be acted on (None when it may).

    The signature does not expire, so a captured event could be replayed for ever; the
    timestamp inside it cannot be changed without breaking the signature. Only age counts:
    the sandbox's clock can be moved forward, so its events may be dated in the future.
    """
    sent_at = _timestamp(payload.get("timestamp"))
    if sent_at is None:
        # A test event changes nothing, so it may come without one.
        return None if payload["event"] == WEBHOOK_TEST_EVENT else "no valid timestamp"
    if time.time() - sent_at > MAX_EVENT_AGE_SECONDS:
        return "event too old"
    return None


def _timestamp(value: object) -> float | None:
    """Epoch seconds from an ISO 8601 text (``...Z``) or epoch seconds/milliseconds."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            return None
        return value / 1000 if value > 1e11 else float(value)  # JavaScript sends milliseconds
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


class _FallbackVerifier:
    """Runs the ``JSON.stringify`` fallback off the event loop, a few checks at a time.

    Anyone can post a body with a wrong signature, and the fallback is pure-Python work. One
    worker thread keeps the loop responsive (it competes with a single thread for the GIL);
    beyond ``max_pending`` waiting checks, new ones are refused at once as "busy" (None).
    Real webhooks pass the cheap raw-body check and never get here.
    """

    _executor: ThreadPoolExecutor | None = None  # one per process, made on first use

    def __init__(self, max_pending: int = 4) -> None:
        self._max_pending = max_pending
        self._pending = 0
        self._lock = threading.Lock()

    async def verify(self, body: bytes, signature: str | None, secret: str) -> bool | None:
        if not signature or not fallback_candidate(body):
            return False  # the fallback would refuse it anyway: no thread needed
        with self._lock:
            if self._pending >= self._max_pending:
                return None
            self._pending += 1
        return await asyncio.wrap_future(self._pool().submit(self._check, body, signature, secret))

    def _check(self, body: bytes, signature: str | None, secret: str) -> bool:
        try:
            return verify_reserialised(body, signature, secret)
        finally:  # in the worker, so a cancelled request still counts until the work ends
            with self._lock:
                self._pending -= 1

    @classmethod
    def _pool(cls) -> ThreadPoolExecutor:
        if cls._executor is None:
            cls._executor = ThreadPoolExecutor(1, thread_name_prefix="webhook-signature")
        return cls._executor


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
