"""The way to the reseller: one request through the shared budget, retried when that is safe,
and every answer turned into JSON or one of the exception tree's errors."""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import httpx

from bot.pikasim._budget import Priority, RequestBudget
from bot.pikasim._errors import (
    BadRequest,
    MalformedResponse,
    NotCancellable,
    PackageRetired,
    PikaSimError,
    Unavailable,
    error_details,
    error_for_status,
)
from bot.pikasim._parsing import ConversionError, describe_validation_error, from_json

__all__ = ["Transport", "data_of", "params_of", "require", "segment", "with_top_level_flags"]

log = logging.getLogger(__name__)

ModelT = TypeVar("ModelT")

Privacy = Literal["max", "standard", "all"]
PackageType = Literal["data", "phone", "all"]
TransactionType = Literal["deposit", "order", "topup", "refund", "adjustment"]
OrderStatus = Literal["pending", "processing", "completed", "failed"]


class Transport:
    """The HTTP side of :class:`bot.pikasim.PikaSimClient` (which adds the endpoints)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        api_key: str,
        base_url: str,
        budget: RequestBudget | None = None,
        timeout: float = 15.0,
        max_retries: int = 3,
        *,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self._http = http
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.budget = budget if budget is not None else RequestBudget()
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._sleep = sleep
        self._random = random.Random()
        # counters for tests and operations
        self.requests_sent = 0
        self.retries = 0
        # (endpoint, outcome) -> attempts, e.g. ("GET /esims/{id}", "2xx"), for /metrics
        self.outcomes: Counter[tuple[str, str]] = Counter()

    def __repr__(self) -> str:  # never show the key
        return f"PikaSimClient(base_url={self.base_url!r})"

    # --- transport ---------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        priority: Priority,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        idempotent: bool = False,
        cancel: bool = False,
        retry: bool = True,
    ) -> dict[str, Any]:
        """Send one API call (with retries when allowed) and return the JSON object."""
        retriable = retry and (method == "GET" or idempotent)
        url = self.base_url + path
        headers = {"X-API-Key": self._api_key, "Accept": "application/json"}
        attempt = 0
        while True:
            slot = await self.budget.acquire(priority)
            response: httpx.Response | None = None
            failure: Exception | None = None
            try:
                self.requests_sent += 1
                response = await self._http.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers=headers,
                    timeout=self.timeout,
                    follow_redirects=False,
                )
            except httpx.DecodingError as exc:
                raise MalformedResponse(
                    f"{method} {path}: undecodable answer ({exc})", method=method, path=path
                ) from exc
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                failure = exc
            except httpx.HTTPError as exc:  # proxy, protocol and URL errors: not transient
                raise Unavailable(
                    f"{method} {path}: {type(exc).__name__}: {exc}", method=method, path=path
                ) from exc
            finally:
                self.budget.release(slot)
                self.outcomes[(endpoint_of(method, path), outcome_of(response))] += 1

            if response is None:
                assert failure is not None
                description = f"{type(failure).__name__}: {failure}".rstrip(": ")
                if retriable and attempt < self.max_retries:
                    attempt += 1
                    await self._backoff(attempt, None, method, path, description)
                    continue
                raise Unavailable(
                    f"{method} {path}: {description}"
                    + (f" (after {attempt + 1} attempts)" if attempt else ""),
                    method=method,
                    path=path,
                ) from failure

            retry_after = self.budget.observe(response.status_code, response.headers)
            status = response.status_code
            if status == 429 or status >= 500:
                error = self._error(response, method, path, retry_after, cancel=False)
                if retriable and attempt < self.max_retries:
                    attempt += 1
                    await self._backoff(attempt, retry_after, method, path, str(error))
                    continue
                if retriable:
                    raise Unavailable(
                        f"{method} {path}: gave up after {attempt + 1} attempts: {error.message}",
                        status=status,
                        error=error.error,
                        code=error.code,
                        retry_after=retry_after,
                        method=method,
                        path=path,
                    ) from error
                raise error
            if 300 <= status < 400:
                location = response.headers.get("location", "?")
                raise MalformedResponse(
                    f"{method} {path}: unexpected redirect ({status}) to {location}; not followed",
                    status=status,
                    method=method,
                    path=path,
                )
            if status >= 400:
                raise self._error(response, method, path, retry_after, cancel=cancel)
            return self._success_body(response, method, path, cancel=cancel)

    async def _backoff(
        self, attempt: int, retry_after: float | None, method: str, path: str, why: str
    ) -> None:
        self.retries += 1
        delay = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        delay = self._random.uniform(delay / 2, delay)  # jitter
        if retry_after is not None:
            # the budget holds every request until then; we only add a little jitter
            delay = min(delay, self.backoff_base)
        log.info("PikaSim %s %s failed (%s); retry %d in %.2fs", method, path, why, attempt, delay)
        await self._sleep(delay)

    def _error(
        self,
        response: httpx.Response,
        method: str,
        path: str,
        retry_after: float | None,
        *,
        cancel: bool,
    ) -> PikaSimError:
        body: Any
        try:
            body = response.json()
        except ValueError:
            body = None
        details = error_details(body)
        status = response.status_code
        cls = error_for_status(status)
        if details["code"] == "PACKAGE_RETIRED":
            cls = PackageRetired
        elif (
            cancel
            and (cls is BadRequest or details["current_status"] is not None)
            and status not in (401, 402, 403, 404)
        ):
            cls = NotCancellable
        message = details["message"] or details["error"]
        if message is None:
            snippet = response.text[:200].strip() if body is None else ""
            message = f"HTTP {status}" + (f": {snippet}" if snippet else "")
        return cls(
            message,
            status=status,
            error=details["error"],
            code=details["code"],
            current_status=details["current_status"],
            retry_after=retry_after,
            replacement=details["replacement"],
            method=method,
            path=path,
        )

    def _success_body(
        self, response: httpx.Response, method: str, path: str, *, cancel: bool
    ) -> dict[str, Any]:
        where = f"{method} {path}"
        try:
            body = response.json()
        except ValueError as exc:
            snippet = response.text[:120].strip()
            raise MalformedResponse(
                f"{where}: answer is not JSON (HTTP {response.status_code}): {snippet!r}",
                status=response.status_code,
                method=method,
                path=path,
            ) from exc
        if not isinstance(body, dict):
            raise MalformedResponse(
                f"{where}: answer is a JSON {type(body).__name__}, not an object",
                status=response.status_code,
                method=method,
                path=path,
            )
        if body.get("success") is False:
            if cancel:
                raise not_cancellable(response.status_code, body, method, path)
            details = error_details(body)
            raise MalformedResponse(
                f"{where}: success is false on HTTP {response.status_code}: "
                f"{details['message'] or details['error'] or 'no reason given'}",
                status=response.status_code,
                error=details["error"],
                code=details["code"],
                method=method,
                path=path,
            )
        return body

    def _model(self, model: type[ModelT], data: Any, where: str) -> ModelT:
        method, _, path = where.partition(" ")
        if not isinstance(data, Mapping):
            raise MalformedResponse(
                f"{where}: expected an object, got {type(data).__name__}",
                method=method,
                path=path,
            )
        try:
            return from_json(model, data)
        except ConversionError as exc:
            raise MalformedResponse(
                f"{where}: unexpected {model.__name__}: {describe_validation_error(exc)}",
                method=method,
                path=path,
            ) from exc


# A path segment made of lower-case words is part of the route; anything else is an id or code.

_ROUTE_SEGMENT = re.compile(r"^[a-z][a-z_-]*$")


def endpoint_of(method: str, path: str) -> str:
    """``GET /esims/{id}/usage``: one label per route, not one per eSIM."""
    route = path.split("?", 1)[0]
    parts = [p if _ROUTE_SEGMENT.match(p) else "{id}" for p in route.strip("/").split("/")]
    return f"{method} /" + "/".join(parts)


def outcome_of(response: httpx.Response | None) -> str:
    if response is None:
        return "error"
    status = response.status_code
    return "429" if status == 429 else f"{status // 100}xx"


def not_cancellable(status: int, body: Mapping[str, Any], method: str, path: str) -> PikaSimError:
    details = error_details(body)
    return NotCancellable(
        details["message"] or details["error"],
        status=status,
        error=details["error"],
        code=details["code"],
        current_status=details["current_status"],
        method=method,
        path=path,
    )


def data_of(body: Mapping[str, Any], where: str, *, top_level_keys: tuple[str, ...] = ()) -> Any:
    """``body["data"]``; a few endpoints may answer without the wrapper (``top_level_keys``)."""
    if "data" in body and body["data"] is not None:
        return body["data"]
    if any(key in body for key in top_level_keys):
        return {key: value for key, value in body.items() if key != "success"}
    method, _, path = where.partition(" ")
    raise MalformedResponse(f"{where}: answer has no data", method=method, path=path)


def with_top_level_flags(data: Any, body: Mapping[str, Any]) -> Any:
    """Some answers put ``duplicate`` / ``message`` next to ``data`` instead of inside it."""
    if isinstance(data, Mapping):
        extra = {
            key: body[key]
            for key in ("duplicate", "message")
            if key in body and data.get(key) is None
        }
        if extra:
            return {**data, **extra}
    return data


def params_of(**values: Any) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            params[key] = "true" if value else "false"
        elif isinstance(value, float) and value.is_integer():
            params[key] = str(int(value))
        else:
            params[key] = str(value)
    return params


def require(value: str, what: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string")


def segment(value: str, what: str) -> str:
    """One URL path segment, escaped so that an identifier can never change the path."""
    require(value, what)
    value = value.strip()
    if value in (".", ".."):
        raise ValueError(f"invalid {what}: {value!r}")
    return quote(value, safe="")
