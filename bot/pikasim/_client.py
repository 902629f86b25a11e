"""The PikaSim reseller API client."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

from bot.pikasim._budget import Priority
from bot.pikasim._errors import (
    MalformedResponse,
)
from bot.pikasim._events import Deposit, WebhookSettings, WebhookTestResult
from bot.pikasim._models import (
    Account,
    Balance,
    CancelResult,
    Esim,
    Order,
    OrderPage,
    Package,
    PackagePage,
    Topup,
    TopupOption,
    TransactionPage,
    Usage,
)
from bot.pikasim._transport import (
    Transport,
    data_of,
    params_of,
    require,
    segment,
    with_top_level_flags,
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


class PikaSimClient(Transport):
    """Async client for ``https://pikasim.com/api/v1/reseller``.

    Every call goes through the shared :class:`RequestBudget` with a :class:`Priority`; GETs and
    the POSTs that carry an ``externalOrderId`` (orders, top-ups; the API treats it as an
    idempotency key) are retried with exponential backoff and jitter on 5xx, 429, timeouts and
    connection errors. Other POSTs and PUTs (cancel, deposits, webhook settings) are sent once.
    """

    # --- account -----------------------------------------------------------------------

    async def account(self, *, priority: Priority = Priority.CUSTOMER) -> Account:
        body = await self._request("GET", "/account", priority=priority)
        return self._model(Account, data_of(body, "GET /account"), "GET /account")

    async def balance(self, *, priority: Priority = Priority.CUSTOMER) -> Balance:
        body = await self._request("GET", "/balance", priority=priority)
        data = data_of(body, "GET /balance", top_level_keys=("balance",))
        return self._model(Balance, data, "GET /balance")

    async def transactions(
        self,
        page: int = 1,
        limit: int = 20,
        type: TransactionType | str | None = None,
        *,
        priority: Priority = Priority.CUSTOMER,
    ) -> TransactionPage:
        params = params_of(page=page, limit=min(max(1, limit), TRANSACTIONS_PAGE_LIMIT), type=type)
        body = await self._request("GET", "/transactions", params=params, priority=priority)
        data = data_of(body, "GET /transactions")
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
        params = params_of(
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
        data = data_of(body, "GET /packages")
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
        path = f"/packages/{segment(code, 'package code')}"
        body = await self._request("GET", path, priority=priority)
        data = data_of(body, f"GET {path}")
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
        require(package_code, "package code")
        require(external_order_id, "external order id")
        payload = {"packageCode": package_code, "externalOrderId": external_order_id}
        body = await self._request(
            "POST", "/orders", json=payload, priority=priority, idempotent=True
        )
        data = with_top_level_flags(data_of(body, "POST /orders"), body)
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
        params = params_of(status=status, page=page, limit=max(1, limit))
        body = await self._request("GET", "/orders", params=params, priority=priority, retry=retry)
        data = data_of(body, "GET /orders")
        if isinstance(data, list):
            data = {"orders": data}
        return self._model(OrderPage, data, "GET /orders")

    async def order(
        self, order_id: str, *, priority: Priority = Priority.BACKGROUND, retry: bool = True
    ) -> Order:
        """One order; ``retry=False`` for periodic checks, which come back later anyway."""
        path = f"/orders/{segment(order_id, 'order id')}"
        body = await self._request("GET", path, priority=priority, retry=retry)
        data = data_of(body, f"GET {path}")
        if isinstance(data, Mapping) and isinstance(data.get("order"), Mapping):
            data = data["order"]
        return self._model(Order, data, f"GET {path}")

    # --- eSIMs -------------------------------------------------------------------------

    async def esim(
        self, iccid: str, *, priority: Priority = Priority.CUSTOMER, retry: bool = True
    ) -> Esim:
        path = f"/esims/{segment(iccid, 'ICCID')}"
        body = await self._request("GET", path, priority=priority, retry=retry)
        data = data_of(body, f"GET {path}")
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
        path = f"/esims/{segment(iccid, 'ICCID')}/usage"
        body = await self._request("GET", path, priority=priority, retry=retry)
        return self._model(Usage, data_of(body, f"GET {path}"), f"GET {path}")

    async def topup_options(
        self, iccid: str, *, priority: Priority = Priority.CUSTOMER
    ) -> list[TopupOption]:
        path = f"/esims/{segment(iccid, 'ICCID')}/topup-options"
        body = await self._request("GET", path, priority=priority)
        data = data_of(body, f"GET {path}")
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
        path = f"/esims/{segment(iccid, 'ICCID')}/topup"
        require(package_code, "package code")
        require(external_order_id, "external order id")
        payload = {"packageCode": package_code, "externalOrderId": external_order_id}
        body = await self._request("POST", path, json=payload, priority=priority, idempotent=True)
        data = with_top_level_flags(data_of(body, f"POST {path}"), body)
        return self._model(Topup, data, f"POST {path}")

    async def cancel(self, iccid: str, *, priority: Priority = Priority.ORDER) -> CancelResult:
        """Cancel an unused eSIM for a refund. Raises :class:`NotCancellable` (with
        ``current_status``) when it was installed or used or the plan is non-refundable.
        Never retried: on ``Unavailable`` / ``ServerError`` the outcome is unknown, check
        :meth:`esim` before trying again."""
        path = f"/esims/{segment(iccid, 'ICCID')}/cancel"
        body = await self._request("POST", path, json={}, priority=priority, cancel=True)
        return self._model(CancelResult, data_of(body, f"POST {path}"), f"POST {path}")

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
        data = data_of(body, "PUT /webhook", top_level_keys=("webhookUrl",))
        return self._model(WebhookSettings, data, "PUT /webhook")

    async def webhook_settings(
        self, *, priority: Priority = Priority.BACKGROUND
    ) -> WebhookSettings:
        body = await self._request("GET", "/webhook", priority=priority)
        data = data_of(body, "GET /webhook", top_level_keys=("webhookUrl",))
        return self._model(WebhookSettings, data, "GET /webhook")

    async def test_webhook(self, *, priority: Priority = Priority.BACKGROUND) -> WebhookTestResult:
        body = await self._request("POST", "/webhook/test", json={}, priority=priority)
        data = body.get("data")
        if not isinstance(data, Mapping):
            data = {key: value for key, value in body.items() if key != "success"}
        return self._model(WebhookTestResult, data, "POST /webhook/test")
