"""PikaSimClient over httpx.MockTransport: every endpoint, every error mapping, retry rules."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from bot.pikasim import (
    BadRequest,
    CurrentStatus,
    Forbidden,
    InsufficientBalance,
    MalformedResponse,
    NotCancellable,
    NotFound,
    PackageRetired,
    PikaSimClient,
    PikaSimError,
    Priority,
    RateLimited,
    RequestBudget,
    ServerError,
    Unauthorized,
    Unavailable,
    parse_webhook_event,
)

BASE = "https://api.pikasim.test/api/v1/reseller"
PREFIX = "/api/v1/reseller"

Handler = Callable[[httpx.Request], Awaitable[httpx.Response] | httpx.Response]

PACKAGE: dict[str, Any] = {
    "packageCode": "JP_7D_1GB",
    "name": "Japan 7 Days 1GB",
    "slug": "japan-7-days-1gb",
    "location": "JP",
    "region": None,
    "isGlobalPackage": False,
    "locationNetworkList": [
        {
            "locationName": "Japan",
            "operatorList": [
                {"operatorName": "Docomo", "networkType": "4G"},
                {"operatorName": "SoftBank", "networkType": "5G"},
            ],
        }
    ],
    "volume": 1073741824,
    "volumeGB": 1,
    "dataType": 1,
    "duration": 7,
    "durationUnit": "DAY",
    "speed": "4G/LTE",
    "price": 500,
    "priceFormatted": "$5.00",
    "ipExport": "US",
    "maxPrivacy": True,
    "smsStatus": 0,
    "supportTopUpType": True,
    "activeType": 1,
    "description": "7-day Japan eSIM with 1GB data",
}

ESIM: dict[str, Any] = {
    "iccid": "8901234567890123456",
    "orderId": "65a4f8c9",
    "externalOrderId": "YOUR-REF-123",
    "packageCode": "JP_7D_1GB",
    "packageName": "Japan 7 Days 1GB",
    "qrCodeUrl": "https://qr.example/1.png",
    "activationCode": "LPA:1$smdp.example.com$MATCH-123",
    "lpaUrl": "https://lpa.example/1",
    "shortUrl": "https://s.example/1",
    "status": "IN_USE",
    "smdpStatus": "ENABLED",
    "totalData": 1073741824,
    "usedData": 536870912,
    "remainingData": 536870912,
    "expireTime": "2024-01-22T00:00:00Z",
    "apn": "internet",
    "imsi": "440101234567890",
    "msisdn": "+1234567890",
    "packageList": [{"packageCode": "JP_7D_1GB", "packageName": "Japan 7 Days 1GB"}],
    "purchasedAt": "2024-01-15T10:30:00Z",
    "createdAt": "2024-01-15T10:30:05Z",
}

ORDER: dict[str, Any] = {
    "orderId": "65a4f8c9",
    "externalOrderId": "YOUR-REF-123",
    "status": "completed",
    "packageCode": "JP_7D_1GB",
    "price": 518,
    "priceFormatted": "$5.18",
    "createdAt": "2024-01-15T10:30:00Z",
    "completedAt": "2024-01-15T10:30:05Z",
    "failureReason": None,
    "esim": ESIM,
}


def ok(data: Any, status: int = 200, **extra: Any) -> httpx.Response:
    return httpx.Response(status, json={"success": True, "data": data, **extra})


def fail(status: int, error: str = "nope", **extra: Any) -> httpx.Response:
    return httpx.Response(status, json={"success": False, "error": error, **extra})


class FakeApi:
    """Routes (method, path) to a handler, or a list of handlers used one after another."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Any]] = {}
        self.requests: list[httpx.Request] = []

    def on(self, method: str, path: str, *answers: Any) -> None:
        self.routes[(method, PREFIX + path)] = list(answers)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answers = self.routes.get((request.method, request.url.raw_path.decode().split("?")[0]))
        if not answers:
            return fail(404, f"no route {request.method} {request.url.path}")
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, BaseException):
            raise answer
        if callable(answer):
            answer = answer(request)
            if isinstance(answer, Awaitable):
                answer = await answer
        assert isinstance(answer, httpx.Response)
        return answer

    def bodies(self) -> list[Any]:
        return [
            json.loads(request.content) if request.content else None for request in self.requests
        ]


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
async def client(api: FakeApi) -> Any:
    async with httpx.AsyncClient(transport=httpx.MockTransport(api)) as http:
        yield PikaSimClient(
            http,
            "pk_test_key",
            BASE,
            budget=RequestBudget(limit=1000, window=1.0),
            backoff_base=0.001,
            backoff_max=0.005,
        )


# --- transport basics ---------------------------------------------------------------------


async def test_sends_api_key_timeout_and_no_redirects(client: PikaSimClient, api: FakeApi) -> None:
    api.on("GET", "/account", ok({"companyName": "ACME", "balance": 10000}))
    await client.account()
    request = api.requests[0]
    assert request.headers["X-API-Key"] == "pk_test_key"
    assert request.url == BASE + "/account"
    assert request.extensions["timeout"] == {
        "connect": 15.0,
        "read": 15.0,
        "write": 15.0,
        "pool": 15.0,
    }
    assert "pk_test_key" not in repr(client)


async def test_redirect_is_not_followed(client: PikaSimClient, api: FakeApi) -> None:
    api.on("GET", "/balance", httpx.Response(302, headers={"Location": "https://evil.test/steal"}))
    with pytest.raises(MalformedResponse, match="redirect") as caught:
        await client.balance()
    assert caught.value.status == 302
    assert len(api.requests) == 1


async def test_custom_timeout_is_applied(api: FakeApi) -> None:
    api.on("GET", "/balance", ok({"balance": 1}))
    async with httpx.AsyncClient(transport=httpx.MockTransport(api)) as http:
        short = PikaSimClient(http, "k", BASE + "/", budget=RequestBudget(100, 1.0), timeout=2.5)
        await short.balance()
    assert api.requests[0].extensions["timeout"]["read"] == 2.5
    assert str(api.requests[0].url) == BASE + "/balance"


async def test_identifiers_are_escaped_into_one_path_segment(
    client: PikaSimClient, api: FakeApi
) -> None:
    api.on("GET", "/esims/..%2Faccount", ok(ESIM))
    await client.esim("../account")
    assert api.requests[0].url.raw_path == PREFIX.encode() + b"/esims/..%2Faccount"
    with pytest.raises(ValueError):
        await client.esim("..")
    with pytest.raises(ValueError):
        await client.order("")


# --- account ------------------------------------------------------------------------------


async def test_account(client: PikaSimClient, api: FakeApi) -> None:
    api.on(
        "GET",
        "/account",
        ok(
            {
                "companyName": "Your Company",
                "status": "approved",
                "balance": 10000,
                "balanceFormatted": "$100.00",
                "totalOrders": 42,
                "somethingNew": {"x": 1},
            }
        ),
    )
    account = await client.account()
    assert account.company_name == "Your Company"
    assert account.status == "approved"
    assert account.balance_cents == account.balance == 10000
    assert account.total_orders == 42


async def test_balance_with_and_without_credit(client: PikaSimClient, api: FakeApi) -> None:
    api.on(
        "GET",
        "/balance",
        ok(
            {
                "balance": 1500,
                "balanceFormatted": "$15.00",
                "availableCredit": 5000,
                "availableCreditFormatted": "$50.00",
                "currency": "USD",
            }
        ),
        ok({"balance": 700}),
        ok({"balance": 700, "availableCredit": None, "currency": None}),
    )
    full = await client.balance()
    assert (full.balance_cents, full.available_credit_cents, full.currency) == (1500, 5000, "USD")
    assert full.balance == 1500 and full.available_credit == 5000
    bare = await client.balance()
    assert (bare.balance_cents, bare.available_credit_cents) == (700, 0)
    nulls = await client.balance()
    assert (nulls.available_credit_cents, nulls.currency) == (0, "USD")


async def test_balance_without_data_wrapper_is_accepted(
    client: PikaSimClient, api: FakeApi
) -> None:
    api.on("GET", "/balance", httpx.Response(200, json={"success": True, "balance": 42}))
    assert (await client.balance()).balance_cents == 42


async def test_transactions(client: PikaSimClient, api: FakeApi) -> None:
    api.on(
        "GET",
        "/transactions",
        ok(
            {
                "transactions": [
                    {
                        "id": "t1",
                        "type": "deposit",
                        "amount": 10000,
                        "balanceAfter": 10000,
                        "description": "Stripe deposit",
                        "orderId": None,
                        "createdAt": "2024-01-15T10:30:00Z",
                    },
                    {"id": 2, "type": "order", "amount": -518, "balanceAfter": 9482},
                ],
                "pagination": {"page": 2, "limit": 50, "total": 52, "pages": 2},
            }
        ),
    )
    page = await client.transactions(page=2, limit=500, type="order")
    params = api.requests[0].url.params
    assert (params["page"], params["limit"], params["type"]) == ("2", "100", "order")
    assert [t.amount_cents for t in page.transactions] == [10000, -518]
    assert page.transactions[1].id == "2"
    assert page.transactions[0].created_at is not None
    assert page.transactions[0].created_at.year == 2024
    assert page.pagination.total == 52 and page.pagination.pages == 2


# --- packages -----------------------------------------------------------------------------


async def test_packages_filters_and_fields(client: PikaSimClient, api: FakeApi) -> None:
    newer = {
        **PACKAGE,
        "packageCode": "EU_30D_10GB",
        "location": "EU",
        "locationCode": None,
        "planType": "data",
        "hasVoice": False,
        "hasSms": True,
        "voiceMinutes": -1,
        "smsCount": 50,
        "phoneNumberIncluded": False,
        "nonRefundable": True,
        "requiresActivationDate": False,
        "suggestedRetailPrice": 2099,
        "brandNewField": [1, 2, 3],
        "locationNetworkList": None,
    }
    api.on(
        "GET",
        "/packages",
        ok({"packages": [PACKAGE, newer], "pagination": {"page": 1, "limit": 200, "total": 2}}),
    )
    page = await client.packages(
        country="JP", duration=7, min_data=1.0, max_data=0.5, privacy="max", type="data"
    )
    params = dict(api.requests[0].url.params)
    assert params == {
        "country": "JP",
        "duration": "7",
        "minData": "1",
        "maxData": "0.5",
        "privacy": "max",
        "type": "data",
        "page": "1",
        "limit": "200",
    }
    first, second = page.packages
    assert first.package_code == "JP_7D_1GB"
    assert first.name == "Japan 7 Days 1GB"
    assert first.location == "JP" and first.region is None and first.is_global is False
    assert first.countries[0].name == "Japan"
    assert [(o.name, o.network_type) for o in first.countries[0].operators] == [
        ("Docomo", "4G"),
        ("SoftBank", "5G"),
    ]
    assert first.country_names == ["Japan"]
    assert first.volume_bytes == 1073741824 and first.volume_gb == 1
    assert first.data_type == 1 and not first.is_unlimited
    assert first.duration_days == 7 and first.duration_unit == "DAY"
    assert first.speed == "4G/LTE" and first.price_cents == 500
    assert first.ip_export == "US" and first.max_privacy is True
    assert first.sms_status == 0 and first.supports_topup is True and first.active_type == 1
    assert first.description == "7-day Japan eSIM with 1GB data"
    assert first.suggested_retail_price_cents is None and first.non_refundable is None
    assert second.location_code is None and second.plan_type == "data"
    assert second.has_voice is False and second.has_sms is True
    assert second.voice_minutes == -1 and second.sms_count == 50
    assert second.non_refundable is True and second.suggested_retail_price_cents == 2099
    assert second.requires_activation_date is False and second.phone_number_included is False
    assert second.countries == []
    assert page.pagination.pages == 0  # missing in the answer: default


async def test_package_minimal_and_odd_values(client: PikaSimClient, api: FakeApi) -> None:
    api.on(
        "GET",
        "/packages/X",
        ok({"packageCode": "X", "price": 100, "supportTopUpType": 2, "name": None}),
        ok({"packageCode": "X", "price": 100, "supportTopUpType": 0}),
    )
    minimal = await client.package("X")
    assert minimal.name == "" and minimal.supports_topup is True and minimal.countries == []
    assert (await client.package("X")).supports_topup is False


async def test_all_packages_pages_through_the_catalog(client: PikaSimClient, api: FakeApi) -> None:
    def page(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params["page"])
        assert request.url.params["limit"] == "200"
        count = 200 if number < 3 else 17
        packages = [{**PACKAGE, "packageCode": f"P{number}_{i}", "price": i} for i in range(count)]
        if number == 2:
            packages[0]["packageCode"] = "P1_0"  # the catalog shifted: a repeat
        return ok(
            {
                "packages": packages,
                "pagination": {"page": number, "limit": 200, "total": 417, "pages": 3},
            }
        )

    api.on("GET", "/packages", page)
    packages = await client.all_packages(country="JP")
    assert len(api.requests) == 3
    assert all(r.url.params["country"] == "JP" for r in api.requests)
    assert len(packages) == 416
    assert len({p.package_code for p in packages}) == 416


async def test_all_packages_without_pagination_stops_on_a_short_page(
    client: PikaSimClient, api: FakeApi
) -> None:
    api.on(
        "GET",
        "/packages",
        ok([{**PACKAGE, "packageCode": f"A{i}"} for i in range(200)]),
        ok([{**PACKAGE, "packageCode": "B"}]),
    )
    assert len(await client.all_packages()) == 201
    assert len(api.requests) == 2


async def test_package_plain_and_wrapped(client: PikaSimClient, api: FakeApi) -> None:
    api.on("GET", "/packages/JP_7D_1GB", ok(PACKAGE), ok({"package": PACKAGE}))
    plain = await client.package("JP_7D_1GB")
    wrapped = await client.package("JP_7D_1GB")
    assert plain == wrapped
    assert plain.package_code == "JP_7D_1GB"


# --- orders -------------------------------------------------------------------------------


async def test_create_order(client: PikaSimClient, api: FakeApi) -> None:
    created = {
        "orderId": "65a4f8c9",
        "externalOrderId": "tg-1-1",
        "status": "processing",
        "packageCode": "JP_7D_1GB",
        "price": 518,
        "priceFormatted": "$5.18",
        "message": "Order created. eSIM details will be sent via webhook.",
    }
    api.on(
        "POST",
        "/orders",
        ok(created, status=201),
        ok({**created, "duplicate": True}, status=201),
        httpx.Response(201, json={"success": True, "duplicate": True, "data": created}),
    )
    order = await client.create_order("JP_7D_1GB", "tg-1-1")
    assert api.requests[0].method == "POST"
    assert api.bodies()[0] == {"packageCode": "JP_7D_1GB", "externalOrderId": "tg-1-1"}
    assert order.order_id == "65a4f8c9" and order.status == "processing"
    assert order.price_cents == 518 and order.esim is None and order.duplicate is False
    assert not order.is_final
    assert (await client.create_order("JP_7D_1GB", "tg-1-1")).duplicate is True
    assert (await client.create_order("JP_7D_1GB", "tg-1-1")).duplicate is True
    with pytest.raises(ValueError):
        await client.create_order("JP_7D_1GB", "")


async def test_orders_list(client: PikaSimClient, api: FakeApi) -> None:
    api.on(
        "GET",
        "/orders",
        ok(
            {
                "orders": [ORDER, {**ORDER, "orderId": "o2", "status": "pending", "esim": None}],
                "pagination": {"page": 1, "limit": 20, "total": 2, "pages": 1},
            }
        ),
    )
    page = await client.orders(status="completed")
    assert api.requests[0].url.params["status"] == "completed"
    assert [o.order_id for o in page.orders] == ["65a4f8c9", "o2"]
    assert page.orders[0].esim is not None and page.orders[1].esim is None


@pytest.mark.parametrize(
    "variant",
    [
        ORDER,
        {**{k: v for k, v in ORDER.items() if k != "esim"}, "esims": [ESIM]},
        {**ORDER, "esim": None, "esims": [ESIM, {**ESIM, "iccid": "other"}]},
        {"order": ORDER},
    ],
    ids=["esim", "esims[0]", "null-esim-with-esims", "data.order"],
)
async def test_order_variants(client: PikaSimClient, api: FakeApi, variant: Any) -> None:
    api.on("GET", "/orders/65a4f8c9", ok(variant))
    order = await client.order("65a4f8c9")
    assert order.is_completed and order.is_final
    assert order.esim is not None
    assert order.esim.iccid == "8901234567890123456"
    assert order.esim.smdp_address == "smdp.example.com"
    assert order.esim.matching_id == "MATCH-123"
    assert order.completed_at is not None


async def test_order_pending_and_failed(client: PikaSimClient, api: FakeApi) -> None:
    api.on(
        "GET",
        "/orders/o1",
        ok({"orderId": "o1", "status": "pending", "esims": []}),
        ok({"orderId": "o1", "status": "failed", "failureReason": "out of stock"}),
    )
    pending = await client.order("o1")
    assert pending.esim is None and not pending.is_final
    failed = await client.order("o1")
    assert failed.is_failed and failed.failure_reason == "out of stock"


# --- eSIMs --------------------------------------------------------------------------------


async def test_esim(client: PikaSimClient, api: FakeApi) -> None:
    api.on("GET", "/esims/8901234567890123456", ok({**ESIM, "packageList": None, "new": 1}))
    esim = await client.esim("8901234567890123456")
    assert esim.status == "IN_USE" and esim.smdp_status == "ENABLED"
    assert esim.total_data_bytes == 1073741824 and esim.remaining_data_bytes == 536870912
    assert esim.expire_time is not None and esim.expire_time.day == 22
    assert esim.package_list == []
    assert esim.activation_code == "LPA:1$smdp.example.com$MATCH-123"


async def test_usage(client: PikaSimClient, api: FakeApi) -> None:
    api.on(
        "GET",
        "/esims/8901234567890123456/usage",
        ok(
            {
                "iccid": "8901234567890123456",
                "status": "IN_USE",
                "smdpStatus": "ENABLED",
                "statusDescription": "eSIM is active and in use",
                "totalData": 1073741824,
                "usedData": 536870912,
                "remainingData": 536870912,
                "totalDataGB": 1,
                "usedDataGB": 0.5,
                "remainingDataGB": 0.5,
                "totalDataMB": 1024,
                "usedDataMB": 512,
                "remainingDataMB": 512,
                "usagePercent": 50,
                "expireTime": "2024-01-22T00:00:00Z",
                "createTime": "2024-01-15T10:30:00Z",
                "packageList": [
                    {
                        "packageCode": "JP_7D_1GB",
                        "packageName": "Japan 7 Days 1GB",
                        "volume": 1073741824,
                        "volumeGB": 1,
                        "duration": 7,
                        "createTime": "2024-01-15T10:30:00Z",
                    }
                ],
            }
        ),
    )
    usage = await client.usage("8901234567890123456")
    assert usage.used_data_gb == 0.5 and usage.usage_percent == 50
    assert usage.remaining_data_mb == 512
    assert usage.package_list[0].duration_days == 7
    assert usage.package_list[0].created_at is not None


async def test_topup_options(client: PikaSimClient, api: FakeApi) -> None:
    option = {
        "packageCode": "JP_TOPUP_1GB",
        "name": "Japan 1GB top-up",
        "volumeGB": 1,
        "duration": 7,
        "price": 450,
        "priceFormatted": "$4.50",
    }
    api.on(
        "GET",
        "/esims/123/topup-options",
        ok({"iccid": "123", "topupPackages": [option]}),
        ok([option]),
        ok({"iccid": "123", "topupPackages": None}),
        ok({"iccid": "123"}),
    )
    options = await client.topup_options("123")
    assert [(o.package_code, o.price_cents, o.volume_gb) for o in options] == [
        ("JP_TOPUP_1GB", 450, 1)
    ]
    assert await client.topup_options("123") == options
    assert await client.topup_options("123") == []
    with pytest.raises(MalformedResponse, match="topupPackages"):
        await client.topup_options("123")


async def test_topup(client: PikaSimClient, api: FakeApi) -> None:
    api.on(
        "POST",
        "/esims/123/topup",
        ok(
            {
                "topupId": "tu1",
                "iccid": "123",
                "packageCode": "JP_TOPUP_1GB",
                "externalOrderId": "tg-9",
                "status": "processing",
                "price": 450,
                "priceFormatted": "$4.50",
            },
            status=201,
        ),
    )
    topup = await client.topup("123", "JP_TOPUP_1GB", "tg-9")
    assert api.bodies()[0] == {"packageCode": "JP_TOPUP_1GB", "externalOrderId": "tg-9"}
    assert (topup.topup_id, topup.status, topup.price_cents) == ("tu1", "processing", 450)
    assert topup.duplicate is False


async def test_cancel(client: PikaSimClient, api: FakeApi) -> None:
    api.on(
        "POST",
        "/esims/123/cancel",
        ok(
            {
                "iccid": "123",
                "orderId": "o1",
                "refundAmount": 500,
                "refundFormatted": "$5.00",
                "newBalance": 1500,
                "newBalanceFormatted": "$15.00",
                "message": "eSIM cancelled successfully.",
            }
        ),
    )
    result = await client.cancel("123")
    assert (result.refund_cents, result.new_balance_cents, result.order_id) == (500, 1500, "o1")


REFUSED = {
    "success": False,
    "error": "eSIM cannot be cancelled - already installed or in use",
    "currentStatus": {"esimStatus": "IN_USE", "smdpStatus": "ENABLED"},
    "message": "Only unused eSIMs that have not been installed can be cancelled for a refund.",
}


@pytest.mark.parametrize("status", [400, 200, 409])
async def test_cancel_refused(client: PikaSimClient, api: FakeApi, status: int) -> None:
    api.on("POST", "/esims/123/cancel", httpx.Response(status, json=REFUSED))
    with pytest.raises(NotCancellable) as caught:
        await client.cancel("123")
    error = caught.value
    assert error.kind == "not_cancellable"
    assert error.current_status == CurrentStatus("IN_USE", "ENABLED")
    assert error.current_status is not None and error.current_status.esim_status == "IN_USE"
    assert error.error == REFUSED["error"] and error.message == REFUSED["message"]
    assert error.status == status
    assert len(api.requests) == 1


async def test_cancel_non_refundable(client: PikaSimClient, api: FakeApi) -> None:
    api.on(
        "POST",
        "/esims/123/cancel",
        fail(400, "This plan cannot be refunded", code="PLAN_NON_REFUNDABLE"),
    )
    with pytest.raises(NotCancellable) as caught:
        await client.cancel("123")
    assert caught.value.code == "PLAN_NON_REFUNDABLE" and caught.value.current_status is None


async def test_cancel_unknown_esim_is_not_found(client: PikaSimClient, api: FakeApi) -> None:
    api.on("POST", "/esims/123/cancel", fail(404, "eSIM not found"))
    with pytest.raises(NotFound):
        await client.cancel("123")


# --- deposits and webhook settings --------------------------------------------------------


async def test_deposits(client: PikaSimClient, api: FakeApi) -> None:
    api.on(
        "POST",
        "/deposit/stripe",
        httpx.Response(
            200,
            json={
                "success": True,
                "sessionId": "cs_test_1",
                "checkoutUrl": "https://checkout.stripe.test/cs_test_1",
            },
        ),
    )
    api.on(
        "POST",
        "/deposit/btcpay",
        httpx.Response(
            200,
            json={
                "success": True,
                "invoiceId": "inv_1",
                "checkoutUrl": "https://btcpay.test/i/inv_1",
                "amount": 2500,
            },
        ),
        ok({"invoiceId": "inv_2", "checkoutUrl": "https://btcpay.test/i/inv_2"}),
    )
    stripe = await client.deposit_stripe(10000)
    assert api.bodies()[0] == {"amount": 10000}
    assert (stripe.provider, stripe.session_id, stripe.id) == ("stripe", "cs_test_1", "cs_test_1")
    assert stripe.checkout_url.startswith("https://checkout.stripe.test/")
    btc = await client.deposit_btcpay(2500)
    assert (btc.provider, btc.invoice_id, btc.amount_cents) == ("btcpay", "inv_1", 2500)
    assert (await client.deposit_btcpay(2500)).invoice_id == "inv_2"
    with pytest.raises(ValueError):
        await client.deposit_stripe(0)
    with pytest.raises(TypeError):
        await client.deposit_stripe(10.5)  # type: ignore[arg-type]


async def test_deposit_without_checkout_url_is_malformed(
    client: PikaSimClient, api: FakeApi
) -> None:
    api.on("POST", "/deposit/stripe", httpx.Response(200, json={"success": True}))
    with pytest.raises(MalformedResponse, match="checkout"):
        await client.deposit_stripe(100)


async def test_webhook_settings_and_test(client: PikaSimClient, api: FakeApi) -> None:
    events = ["esim.provisioned", "esim.topup.completed", "order.failed"]
    api.on(
        "PUT",
        "/webhook",
        ok({"webhookUrl": "https://bot.test/webhooks/pikasim", "webhookEvents": events}),
    )
    api.on(
        "POST",
        "/webhook/test",
        ok({"delivered": True, "statusCode": 200, "attempt": 1}),
        ok({"delivered": False, "statusCode": None}),
    )
    settings = await client.set_webhook("https://bot.test/webhooks/pikasim", events)
    assert api.requests[0].method == "PUT"
    assert api.bodies()[0] == {
        "webhookUrl": "https://bot.test/webhooks/pikasim",
        "webhookEvents": events,
    }
    assert settings.webhook_url == "https://bot.test/webhooks/pikasim"
    assert settings.webhook_events == events
    result = await client.test_webhook()
    assert result.delivered is True and result.status_code == 200
    assert result["attempt"] == 1 and result.get("statusCode") == 200
    failed = await client.test_webhook()
    assert failed.delivered is False and failed.status_code is None


async def test_set_webhook_without_events(client: PikaSimClient, api: FakeApi) -> None:
    api.on("PUT", "/webhook", ok({"webhookUrl": "https://x.test/h", "webhookEvents": None}))
    settings = await client.set_webhook("https://x.test/h")
    assert api.bodies()[0] == {"webhookUrl": "https://x.test/h"}
    assert settings.webhook_events == []


# --- error mapping ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls", "kind"),
    [
        (400, BadRequest, "bad_request"),
        (401, Unauthorized, "unauthorized"),
        (402, InsufficientBalance, "insufficient_balance"),
        (403, Forbidden, "forbidden"),
        (404, NotFound, "not_found"),
        (422, BadRequest, "bad_request"),
    ],
)
async def test_client_errors_map_and_are_not_retried(
    client: PikaSimClient, api: FakeApi, status: int, cls: type[PikaSimError], kind: str
) -> None:
    api.on(
        "POST",
        "/orders",
        fail(status, "Error message here", message="More detail", code="SOME_CODE"),
    )
    with pytest.raises(cls) as caught:
        await client.create_order("JP_7D_1GB", "tg-1")
    error = caught.value
    assert type(error) is cls and error.kind == kind and isinstance(error, PikaSimError)
    assert error.status == status and error.error == "Error message here"
    assert error.message == "More detail" and error.code == "SOME_CODE"
    assert error.method == "POST" and error.path == "/orders"
    assert str(status) in str(error) and kind in str(error)
    assert len(api.requests) == 1


async def test_rate_limited_on_a_post_that_may_not_be_retried(
    client: PikaSimClient, api: FakeApi
) -> None:
    api.on(
        "POST",
        "/deposit/stripe",
        httpx.Response(
            429, json={"success": False, "error": "Too many"}, headers={"Retry-After": "0.05"}
        ),
    )
    with pytest.raises(RateLimited) as caught:
        await client.deposit_stripe(100)
    assert caught.value.kind == "rate_limited" and caught.value.retry_after == 0.05
    assert len(api.requests) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_error_on_a_post_that_may_not_be_retried(
    client: PikaSimClient, api: FakeApi, status: int
) -> None:
    api.on("POST", "/esims/1/cancel", fail(status, "Internal Server Error"))
    with pytest.raises(ServerError) as caught:
        await client.cancel("1")
    assert caught.value.kind == "server_error" and caught.value.status == status
    assert len(api.requests) == 1


async def test_html_error_page(client: PikaSimClient, api: FakeApi) -> None:
    api.on("PUT", "/webhook", httpx.Response(502, text="<html>Bad gateway</html>"))
    with pytest.raises(ServerError, match="Bad gateway"):
        await client.set_webhook("https://x.test/h")


async def test_package_retired(client: PikaSimClient, api: FakeApi) -> None:
    api.on(
        "POST",
        "/orders",
        fail(
            400,
            "Package retired",
            code="PACKAGE_RETIRED",
            replacement={"packageCode": "JP_7D_1GB_V2", "price": 510},
        ),
    )
    with pytest.raises(PackageRetired) as caught:
        await client.create_order("JP_7D_1GB", "tg-1")
    assert caught.value.kind == "package_retired"
    assert caught.value.replacement == "JP_7D_1GB_V2" and caught.value.status == 400


# --- malformed answers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "match"),
    [
        (httpx.Response(200, text="<html>maintenance</html>"), "not JSON"),
        (httpx.Response(200, json=[1, 2]), "not an object"),
        (httpx.Response(200, json={"success": True}), "no data"),
        (httpx.Response(200, json={"success": True, "data": None}), "no data"),
        (httpx.Response(200, json={"success": True, "data": "x"}), "expected an object"),
        (ok({"balanceFormatted": "$1"}), "balance"),
        (ok({"balance": "lots"}), "valid integer"),
        (ok({"balance": 5.18}), "balance"),
        (httpx.Response(200, json={"success": False, "error": "weird"}), "success is false"),
    ],
    ids=[
        "html",
        "array",
        "no-data",
        "null-data",
        "string-data",
        "missing-field",
        "wrong-type",
        "fractional-cents",
        "success-false",
    ],
)
async def test_malformed_answers(
    client: PikaSimClient, api: FakeApi, response: httpx.Response, match: str
) -> None:
    api.on("GET", "/balance", response)
    with pytest.raises(MalformedResponse, match=match) as caught:
        await client.balance()
    assert caught.value.kind == "malformed_response"
    assert "GET /balance" in str(caught.value)
    assert len(api.requests) == 1  # a malformed 200 is not retried


@pytest.mark.parametrize(
    "packages",
    [
        [{"name": "no code", "price": 1}],
        [{**PACKAGE, "price": None}],
        [{**PACKAGE, "locationNetworkList": "Japan"}],
        "not a list",
    ],
)
async def test_malformed_packages(client: PikaSimClient, api: FakeApi, packages: Any) -> None:
    api.on("GET", "/packages", ok({"packages": packages}))
    with pytest.raises(MalformedResponse, match="PackagePage"):
        await client.packages()


async def test_malformed_order_and_esim(client: PikaSimClient, api: FakeApi) -> None:
    api.on("GET", "/orders/o1", ok({"status": "completed"}))
    api.on("GET", "/esims/1", ok({"status": "IN_USE"}))
    with pytest.raises(MalformedResponse, match=r"order_id|orderId"):
        await client.order("o1")
    with pytest.raises(MalformedResponse, match="iccid"):
        await client.esim("1")


# --- retries ------------------------------------------------------------------------------


async def test_get_is_retried_on_5xx_429_timeouts_and_connection_errors(
    client: PikaSimClient, api: FakeApi
) -> None:
    api.on(
        "GET",
        "/account",
        fail(500),
        httpx.ReadTimeout("slow"),
        httpx.ConnectError("refused"),
        ok({"companyName": "ACME", "balance": 1}),
    )
    account = await client.account()
    assert account.company_name == "ACME"
    assert len(api.requests) == 4 and client.retries == 3
    api.on("GET", "/balance", httpx.Response(429, headers={"Retry-After": "0"}), ok({"balance": 3}))
    assert (await client.balance()).balance_cents == 3


async def test_get_gives_up_after_max_retries(client: PikaSimClient, api: FakeApi) -> None:
    api.on("GET", "/esims/1/usage", fail(503, "Service Unavailable"))
    with pytest.raises(Unavailable) as caught:
        await client.usage("1")
    error = caught.value
    assert error.kind == "unavailable" and error.status == 503
    assert isinstance(error.__cause__, ServerError)
    assert len(api.requests) == 1 + client.max_retries


async def test_network_failure_gives_up_as_unavailable(client: PikaSimClient, api: FakeApi) -> None:
    api.on("GET", "/account", httpx.ConnectTimeout("no route"))
    with pytest.raises(Unavailable, match="ConnectTimeout") as caught:
        await client.account()
    assert caught.value.status is None
    assert isinstance(caught.value.__cause__, httpx.ConnectTimeout)
    assert len(api.requests) == 4


async def test_create_order_is_retried_with_the_same_external_id(
    client: PikaSimClient, api: FakeApi
) -> None:
    created = {"orderId": "o1", "externalOrderId": "tg-7", "status": "processing"}
    api.on(
        "POST",
        "/orders",
        httpx.ReadTimeout("lost answer"),
        fail(502, "Bad Gateway"),
        ok({**created, "duplicate": True}, status=201),
    )
    order = await client.create_order("JP_7D_1GB", "tg-7")
    assert order.duplicate is True and order.order_id == "o1"
    bodies = api.bodies()
    assert len(bodies) == 3
    assert all(body == {"packageCode": "JP_7D_1GB", "externalOrderId": "tg-7"} for body in bodies)


async def test_topup_is_retried_with_the_same_external_id(
    client: PikaSimClient, api: FakeApi
) -> None:
    api.on(
        "POST",
        "/esims/1/topup",
        httpx.RemoteProtocolError("dropped"),
        ok({"topupId": "t1", "externalOrderId": "tg-8", "status": "processing"}, status=201),
    )
    await client.topup("1", "JP_TOPUP_1GB", "tg-8")
    assert [body["externalOrderId"] for body in api.bodies()] == ["tg-8", "tg-8"]


@pytest.mark.parametrize(
    ("method", "path", "call"),
    [
        ("POST", "/esims/1/cancel", lambda c: c.cancel("1")),
        ("POST", "/deposit/stripe", lambda c: c.deposit_stripe(100)),
        ("POST", "/deposit/btcpay", lambda c: c.deposit_btcpay(100)),
        ("PUT", "/webhook", lambda c: c.set_webhook("https://x.test/h")),
        ("POST", "/webhook/test", lambda c: c.test_webhook()),
    ],
    ids=["cancel", "stripe", "btcpay", "set_webhook", "test_webhook"],
)
@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("slow"), httpx.ConnectError("refused")],
    ids=["timeout", "connect"],
)
async def test_other_writes_are_never_retried(
    client: PikaSimClient,
    api: FakeApi,
    method: str,
    path: str,
    call: Callable[[PikaSimClient], Awaitable[Any]],
    failure: Exception,
) -> None:
    api.on(method, path, failure, ok({}))
    with pytest.raises(Unavailable):
        await call(client)
    assert len(api.requests) == 1 and client.retries == 0


async def test_retry_waits_for_retry_after(api: FakeApi) -> None:
    times: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        times.append(budget._clock())
        if len(times) == 1:
            return httpx.Response(429, json={"success": False}, headers={"Retry-After": "0.3"})
        return ok({"balance": 1})

    api.on("GET", "/balance", answer)
    budget = RequestBudget(limit=100, window=1.0)
    async with httpx.AsyncClient(transport=httpx.MockTransport(api)) as http:
        client = PikaSimClient(http, "k", BASE, budget=budget, backoff_base=0.001)
        await client.balance()
    assert times[1] - times[0] >= 0.29
    assert budget.rate_limited == 1


async def test_priority_is_passed_to_the_budget(client: PikaSimClient, api: FakeApi) -> None:
    api.on("POST", "/orders", ok({"orderId": "o"}, status=201))
    api.on("GET", "/packages", ok({"packages": []}))
    api.on("GET", "/esims/1/usage", ok({"iccid": "1"}))
    await client.create_order("P", "x")
    await client.packages()
    await client.usage("1")
    await client.usage("1", priority=Priority.BACKGROUND)
    assert [priority for _, priority in client.budget.start_log()] == [
        Priority.ORDER,
        Priority.BACKGROUND,
        Priority.CUSTOMER,
        Priority.BACKGROUND,
    ]


# --- webhook events -----------------------------------------------------------------------


def test_parse_provisioned_event() -> None:
    event = parse_webhook_event(
        {
            "event": "esim.provisioned",
            "timestamp": "2024-01-15T10:30:00Z",
            "data": {
                "orderId": "65a4f8c9",
                "externalOrderId": "YOUR-REF-123",
                "packageCode": "JP_7D_1GB",
                "esim": {
                    "iccid": "8901234567890123456",
                    "qrCodeUrl": "https://qr",
                    "activationCode": "LPA:1$smdp.io$M1",
                    "shortUrl": "https://s",
                },
            },
        }
    )
    assert event.event == "esim.provisioned" and event.timestamp is not None
    assert (event.order_id, event.external_order_id) == ("65a4f8c9", "YOUR-REF-123")
    assert event.esim is not None and event.esim.smdp_address == "smdp.io"
    assert event.iccid == "8901234567890123456" and event.package_code == "JP_7D_1GB"
    assert event.data["orderId"] == "65a4f8c9"


def test_parse_other_events() -> None:
    topup = parse_webhook_event(
        {
            "event": "esim.topup.completed",
            "timestamp": "2024-01-16T00:00:00Z",
            "data": {
                "topupId": "tu1",
                "iccid": "123",
                "orderId": "o1",
                "externalOrderId": "tg-2",
                "packageCode": "JP_TOPUP_1GB",
            },
        }
    )
    assert (topup.topup_id, topup.iccid, topup.external_order_id) == ("tu1", "123", "tg-2")
    failed = parse_webhook_event(
        {
            "event": "order.failed",
            "timestamp": "2024-01-16T00:00:00Z",
            "data": {
                "orderId": "o1",
                "externalOrderId": "tg-1",
                "packageCode": "X",
                "reason": "out of stock",
                "refundAmount": 518,
            },
        }
    )
    assert (failed.reason, failed.refund_cents) == ("out of stock", 518)
    test = parse_webhook_event({"event": "webhook.test", "data": {"message": "hello"}})
    assert test.is_test and test.message == "hello" and test.timestamp is None
    future = parse_webhook_event({"event": "esim.suspended", "data": {"iccid": "9", "x": 1}})
    assert future.iccid == "9"


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {},
        {"event": ""},
        {"event": 5, "data": {}},
        {"event": "order.failed", "data": "x"},
        {"event": "order.failed", "data": {"reason": "no order id"}},
        {"event": "esim.provisioned", "data": {"orderId": "o1"}},
        {"event": "esim.provisioned", "data": {"orderId": "o1", "esim": {"qrCodeUrl": "q"}}},
        {"event": "esim.topup.completed", "data": {"topupId": "t"}},
        {"event": "order.failed", "data": {"orderId": "o", "refundAmount": "lots"}},
    ],
)
def test_parse_nonsense_events(payload: Any) -> None:
    with pytest.raises(MalformedResponse):
        parse_webhook_event(payload)
