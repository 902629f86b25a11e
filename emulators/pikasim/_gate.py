"""ASGI middleware in front of the API: records every request, enforces the per-key rate limit
and the API key, injects configured faults, and puts rate-limit headers on every response."""

from __future__ import annotations

import hmac
import logging
import time

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._errors import error_body
from ._faults import Fault, RateDecision
from ._models import RecordedRequest
from ._sandbox import Sandbox

__all__ = ["ApiGate"]

log = logging.getLogger("emulators.pikasim")
FAULT_MESSAGES = {
    429: "Rate limit exceeded",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service temporarily unavailable",
    504: "Gateway timeout",
}


def _error(status: int, message: str, headers: dict[str, str]) -> JSONResponse:
    return JSONResponse(error_body(message), status_code=status, headers=headers)


def _fault_response(fault: Fault, headers: dict[str, str]) -> JSONResponse:
    if fault.status == 429:
        headers = {**headers, "X-RateLimit-Remaining": "0", "Retry-After": "1"}
    message = FAULT_MESSAGES.get(fault.status, "Simulated failure")
    return _error(fault.status, message, headers)


class ApiGate:
    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        now = time.time()
        key = Headers(scope=scope).get("x-api-key", "")
        key_ok = hmac.compare_digest(key.encode(), self.sandbox.config.api_key.encode())
        query = scope.get("query_string", b"").decode("latin-1")
        record = RecordedRequest(scope["method"], scope["path"], query, 0, now, key_ok)
        self.sandbox.requests.append(record)
        decision = self.sandbox.limiter.hit(key, now, self.sandbox.faults.storm_until)
        headers = decision.headers()
        fault = self._fault(decision, key_ok, scope["path"], now)
        if decision.allowed and key_ok and (fault is None or fault.after):
            await self._forward(scope, receive, send, record, headers, fault)
            return
        if not decision.allowed:
            response = _error(429, "Rate limit exceeded", headers)
        elif not key_ok:
            response = _error(401, "Invalid or missing API key", headers)
        else:
            assert fault is not None
            response = _fault_response(fault, headers)
        record.status = response.status_code
        await response(scope, receive, send)

    def _fault(self, decision: RateDecision, key_ok: bool, path: str, now: float) -> Fault | None:
        if not (decision.allowed and key_ok):
            return None
        return self.sandbox.faults.take(path, now)

    async def _forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        record: RecordedRequest,
        headers: dict[str, str],
        fault: Fault | None,
    ) -> None:
        extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                record.status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            if fault is None:
                await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("sandbox handler crashed on %s %s", scope["method"], scope["path"])
            if started and fault is None:
                raise
            fault = Fault(500)
        if fault is not None:
            record.status = fault.status
            await _fault_response(fault, headers)(scope, receive, send)
