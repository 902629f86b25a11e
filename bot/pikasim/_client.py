"""The PikaSim reseller API client."""

from __future__ import annotations

import asyncio
import logging
import random
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
from bot.pikasim._models import (
    Account,
    Balance,
    CancelResult,
    ConversionError,
    Deposit,
    Esim,
    Order,
    OrderPage,
    Package,
    PackagePage,
    Topup,
    TopupOption,
    TransactionPage,
    Usage,
    WebhookSettings,
    WebhookTestResult,
    describe_validation_error,
    from_json,
)

__all__ = ["PikaSimClient"]

log = logging.getLogger(__name__)

ModelT = TypeVar("ModelT")

Privacy = Literal["max", "standard", "all"]
PackageType = Literal["data", "phone", "all"]
TransactionType = Literal["deposit", "order", "topup", "refund", "adjustment"]
OrderStatus = Literal["pending", "processing", "completed", "failed"]

PACKAGES_PAGE_LIMIT = 200
TRANSACTIONS_PAGE_LIMIT = 100
_MAX_CATALOG_PAGES = 500


class PikaSimClient:
    """Async client for ``https://pikasim.com/api/v1/reseller``.

    Every call goes through the shared :class:`RequestBudget` with a :class:`Priority`; GETs and
    the POSTs that carry an ``externalOrderId`` (orders, top-ups; the API treats it as an
    idempotency key) are retried with exponential backoff and jitter on 5xx, 429, timeouts and
    connection errors. Other POSTs and PUTs (cancel, deposits, webhook settings) are sent once.
    """

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

    def __repr__(self) -> str:  # never show the key
        return f"PikaSimClient(base_url={self.base_url!r})"

    # --- account -----------------------------------------------------------------------

    async def account(self, *, priority: Priority = Priority.CUSTOMER) -> Account:
        body = await self._request("GET", "/account", priority=priority)
        return self._model(Account, _data(body, "GET /account"), "GET /account")

    async def balance(self, *, priority: Priority = Priority.CUSTOMER) -> Balance:
        body = await self._request("GET", "/balance", priority=priority)
        data = _data(body, "GET /balance", top_level_keys=("balance",))
        return self._model(Balance, data, "GET /balance")

    async def transactions(
        self,
        page: int = 1,
        limit: int = 20,
        type: TransactionType | str | None = None,
        *,
        priority: Priority = Priority.CUSTOMER,
    ) -> TransactionPage:
        params = _params(page=page, limit=min(max(1, limit), TRANSACTIONS_PAGE_LIMIT), type=type)
        body = await self._request("GET", "/transactions", params=params, priority=priority)
        data = _data(body, "GET /transactions")
        if isinstance(data, list):
            data = {"transactions": data}
        return self._model(TransactionPage, data, "GET /transactions")

    # --- packages ----------------------------------------------------------------------

    async def packages(
        self,
        country: str | None = None,
        region: str | None = None,
        duration: int | None = None,
        min_data: float | None = None,
        max_data: float | None = None,
        privacy: Privacy | None = None,
        type: PackageType | None = None,
        page: int = 1,
        limit: int = PACKAGES_PAGE_LIMIT,
        *,
        priority: Priority = Priority.BACKGROUND,
    ) -> PackagePage:
        params = _params(
            country=country,
            region=region,
            duration=duration,
            minData=min_data,
            maxData=max_data,
            privacy=privacy,
            type=type,
            page=page,
            limit=min(max(1, limit), PACKAGES_PAGE_LIMIT),
        )
        body = await self._request("GET", "/packages", params=params, priority=priority)
        data = _data(body, "GET /packages")
        if isinstance(data, list):
            data = {"packages": data}
        return self._model(PackagePage, data, "GET /packages")

    async def all_packages(
        self,
        country: str | None = None,
        region: str | None = None,
        duration: int | None = None,
        min_data: float | None = None,
        max_data: float | None = None,
        privacy: Privacy | None = None,
        type: PackageType | None = None,
        *,
        priority: Priority = Priority.BACKGROUND,
    ) -> list[Package]:
        """The whole catalog for these filters, page by page (200 a page), without repeats."""
        seen: set[str] = set()
        result: list[Package] = []
        page = 1
        while page <= _MAX_CATALOG_PAGES:
            answer = await self.packages(
                country=country,
                region=region,
                duration=duration,
                min_data=min_data,
                max_data=max_data,
                privacy=privacy,
                type=type,
                page=page,
                limit=PACKAGES_PAGE_LIMIT,
                priority=priority,
            )
            for package in answer.packages:
                if package.package_code not in seen:
                    seen.add(package.package_code)
                    result.append(package)
            pages = answer.pagination.pages
            if not answer.packages or (pages and page >= pages):
                break
            if not pages and len(answer.packages) < PACKAGES_PAGE_LIMIT:
                break  # no pagination info: a short page is the last one
            page += 1
        return result

    async def package(self, code: str, *, priority: Priority = Priority.CUSTOMER) -> Package:
        path = f"/packages/{_segment(code, 'package code')}"
        body = await self._request("GET", path, priority=priority)
        data = _data(body, f"GET {path}")
        if isinstance(data, Mapping) and isinstance(data.get("package"), Mapping):
            data = data["package"]
        return self._model(Package, data, f"GET {path}")

    # --- orders ------------------------------------------------------------------------

    async def create_order(
        self,
        package_code: str,
        external_order_id: str,
        *,
        priority: Priority = Priority.ORDER,
    ) -> Order:
        """Order an eSIM. ``external_order_id`` is the idempotency key: a retry (ours or the
        caller's) with the same id returns the original order flagged ``duplicate``."""
        _require(package_code, "package code")
        _require(external_order_id, "external order id")
        payload = {"packageCode": package_code, "externalOrderId": external_order_id}
        body = await self._request(
            "POST", "/orders", json=payload, priority=priority, idempotent=True
        )
        data = _with_top_level_flags(_data(body, "POST /orders"), body)
        return self._model(Order, data, "POST /orders")

    async def orders(
        self,
        status: OrderStatus | None = None,
        page: int = 1,
        limit: int = 20,
        *,
        priority: Priority = Priority.BACKGROUND,
        retry: bool = True,
    ) -> OrderPage:
        params = _params(status=status, page=page, limit=max(1, limit))
        body = await self._request("GET", "/orders", params=params, priority=priority, retry=retry)
        data = _data(body, "GET /orders")
        if isinstance(data, list):
            data = {"orders": data}
        return self._model(OrderPage, data, "GET /orders")

    async def order(
        self, order_id: str, *, priority: Priority = Priority.BACKGROUND, retry: bool = True
    ) -> Order:
        """One order; ``retry=False`` for periodic checks, which come back later anyway."""
        path = f"/orders/{_segment(order_id, 'order id')}"
        body = await self._request("GET", path, priority=priority, retry=retry)
        data = _data(body, f"GET {path}")
        if isinstance(data, Mapping) and isinstance(data.get("order"), Mapping):
            data = data["order"]
        return self._model(Order, data, f"GET {path}")

    # --- eSIMs -------------------------------------------------------------------------

    async def esim(
        self, iccid: str, *, priority: Priority = Priority.CUSTOMER, retry: bool = True
    ) -> Esim:
        path = f"/esims/{_segment(iccid, 'ICCID')}"
        body = await self._request("GET", path, priority=priority, retry=retry)
        data = _data(body, f"GET {path}")
        if (
            isinstance(data, Mapping)
            and "iccid" not in data
            and isinstance(data.get("esim"), Mapping)
        ):
            data = data["esim"]
        return self._model(Esim, data, f"GET {path}")

    async def usage(
        self, iccid: str, *, priority: Priority = Priority.CUSTOMER, retry: bool = True
    ) -> Usage:
        path = f"/esims/{_segment(iccid, 'ICCID')}/usage"
        body = await self._request("GET", path, priority=priority, retry=retry)
        return self._model(Usage, _data(body, f"GET {path}"), f"GET {path}")

    async def topup_options(
        self, iccid: str, *, priority: Priority = Priority.CUSTOMER
    ) -> list[TopupOption]:
        path = f"/esims/{_segment(iccid, 'ICCID')}/topup-options"
        body = await self._request("GET", path, priority=priority)
        data = _data(body, f"GET {path}")
        items: Any = data
        if isinstance(data, Mapping):
            for key in ("topupPackages", "packages", "options", "topupOptions"):
                if key in data:
                    items = data[key]
                    break
            else:
                raise MalformedResponse(
                    f"GET {path}: no topupPackages in the answer", method="GET", path=path
                )
        if items is None:
            return []
        if not isinstance(items, list):
            raise MalformedResponse(
                f"GET {path}: topupPackages is not a list", method="GET", path=path
            )
        return [self._model(TopupOption, item, f"GET {path}") for item in items]

    async def topup(
        self,
        iccid: str,
        package_code: str,
        external_order_id: str,
        *,
        priority: Priority = Priority.ORDER,
    ) -> Topup:
        """Add data to an eSIM; ``external_order_id`` is the idempotency key (see
        :meth:`create_order`). Failed top-ups are refunded by PikaSim automatically."""
        path = f"/esims/{_segment(iccid, 'ICCID')}/topup"
        _require(package_code, "package code")
        _require(external_order_id, "external order id")
        payload = {"packageCode": package_code, "externalOrderId": external_order_id}
        body = await self._request("POST", path, json=payload, priority=priority, idempotent=True)
        data = _with_top_level_flags(_data(body, f"POST {path}"), body)
        return self._model(Topup, data, f"POST {path}")

    async def cancel(self, iccid: str, *, priority: Priority = Priority.ORDER) -> CancelResult:
        """Cancel an unused eSIM for a refund. Raises :class:`NotCancellable` (with
        ``current_status``) when it was installed or used or the plan is non-refundable.
        Never retried: on ``Unavailable`` / ``ServerError`` the outcome is unknown, check
        :meth:`esim` before trying again."""
        path = f"/esims/{_segment(iccid, 'ICCID')}/cancel"
        body = await self._request("POST", path, json={}, priority=priority, cancel=True)
        return self._model(CancelResult, _data(body, f"POST {path}"), f"POST {path}")

    # --- deposits ----------------------------------------------------------------------

    async def deposit_stripe(
        self, amount_cents: int, *, priority: Priority = Priority.CUSTOMER
    ) -> Deposit:
        return await self._deposit("stripe", amount_cents, priority)

    async def deposit_btcpay(
        self, amount_cents: int, *, priority: Priority = Priority.CUSTOMER
    ) -> Deposit:
        return await self._deposit("btcpay", amount_cents, priority)

    async def _deposit(self, provider: str, amount_cents: int, priority: Priority) -> Deposit:
        if isinstance(amount_cents, bool) or not isinstance(amount_cents, int):
            raise TypeError("amount_cents must be an int (US cents)")
        if amount_cents <= 0:
            raise ValueError("amount_cents must be positive")
        path = f"/deposit/{provider}"
        body = await self._request("POST", path, json={"amount": amount_cents}, priority=priority)
        wrapped = body.get("data")
        data = dict(wrapped) if isinstance(wrapped, Mapping) else dict(body)
        data["provider"] = provider
        return self._model(Deposit, data, f"POST {path}")

    # --- webhook settings --------------------------------------------------------------

    async def set_webhook(
        self,
        url: str,
        events: list[str] | None = None,
        *,
        priority: Priority = Priority.BACKGROUND,
    ) -> WebhookSettings:
        payload: dict[str, Any] = {"webhookUrl": url}
        if events is not None:
            payload["webhookEvents"] = list(events)
        body = await self._request("PUT", "/webhook", json=payload, priority=priority)
        data = _data(body, "PUT /webhook", top_level_keys=("webhookUrl",))
        return self._model(WebhookSettings, data, "PUT /webhook")

    async def test_webhook(self, *, priority: Priority = Priority.BACKGROUND) -> WebhookTestResult:
        body = await self._request("POST", "/webhook/test", json={}, priority=priority)
        data = body.get("data")
        if not isinstance(data, Mapping):
            data = {key: value for key, value in body.items() if key != "success"}
        return self._model(WebhookTestResult, data, "POST /webhook/test")

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
                raise _not_cancellable(response.status_code, body, method, path)
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


def _not_cancellable(status: int, body: Mapping[str, Any], method: str, path: str) -> PikaSimError:
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


def _data(body: Mapping[str, Any], where: str, *, top_level_keys: tuple[str, ...] = ()) -> Any:
    """``body["data"]``; a few endpoints may answer without the wrapper (``top_level_keys``)."""
    if "data" in body and body["data"] is not None:
        return body["data"]
    if any(key in body for key in top_level_keys):
        return {key: value for key, value in body.items() if key != "success"}
    method, _, path = where.partition(" ")
    raise MalformedResponse(f"{where}: answer has no data", method=method, path=path)


def _with_top_level_flags(data: Any, body: Mapping[str, Any]) -> Any:
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


def _params(**values: Any) -> dict[str, str]:
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


def _require(value: str, what: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string")


def _segment(value: str, what: str) -> str:
    """One URL path segment, escaped so that an identifier can never change the path."""
    _require(value, what)
    value = value.strip()
    if value in (".", ".."):
        raise ValueError(f"invalid {what}: {value!r}")
    return quote(value, safe="")
