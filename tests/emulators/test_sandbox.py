"""The simulated PikaSim reseller API (emulators.pikasim), exercised over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import math
import re
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.asgi_server import BackgroundServer
from bot.pikasim.signing import js_stringify, sign, verify_signature
from emulators.pikasim import API_PREFIX, Sandbox, SandboxConfig, create_app
from emulators.pikasim._ids import luhn_digit
from tests.rig import free_port

REPO = Path(__file__).resolve().parents[2]
SECRET = "whsec_test"
GB = 1024**3


# -- fixtures ------------------------------------------------------------------------------------
@dataclass
class Hook:
    body: bytes
    headers: dict[str, str]

    @property
    def payload(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """A tiny webhook endpoint; answers 503 to the first ``fail_first`` deliveries."""

    fail_first: int = 0
    hooks: list[Hook] = field(default_factory=list)
    url: str = ""

    async def endpoint(self, request: Request) -> Response:
        self.hooks.append(Hook(await request.body(), dict(request.headers)))
        if self.fail_first > 0:
            self.fail_first -= 1
            return Response(status_code=503)
        return JSONResponse({"received": True})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hook", self.endpoint, methods=["POST"])])

    def events(self) -> list[str]:
        return [hook.payload["event"] for hook in self.hooks]


@dataclass
class Env:
    sandbox: Sandbox
    api: httpx.AsyncClient  # authenticated, base URL = the API prefix
    admin: httpx.AsyncClient  # base URL = the server root
    server: BackgroundServer

    async def close(self) -> None:
        await self.sandbox.aclose()
        await self.api.aclose()
        await self.admin.aclose()
        await self.server.stop()


StartSandbox = Callable[..., Awaitable[Env]]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hooks = Receiver()
    async with BackgroundServer(hooks.app()) as server:
        hooks.url = f"{server.url}/hook"
        yield hooks


@pytest.fixture
async def start() -> AsyncIterator[StartSandbox]:
    envs: list[Env] = []

    async def _start(**overrides: Any) -> Env:
        settings: dict[str, Any] = {
            "webhook_secret": SECRET,
            "provisioning_delay": 0.05,
            "webhook_retry_backoff": 0.01,
            **overrides,
        }
        config = SandboxConfig(**settings)
        app = create_app(config)
        server = BackgroundServer(app)
        await server.start()
        headers = {"X-API-Key": config.api_key}
        env = Env(
            app.state.sandbox,
            httpx.AsyncClient(base_url=server.url + API_PREFIX, headers=headers, verify=False),
            httpx.AsyncClient(base_url=server.url, verify=False),
            server,
        )
        envs.append(env)
        return env

    yield _start
    for env in envs:
        await env.close()


async def _hooked(start: StartSandbox, receiver: Receiver, **overrides: Any) -> Env:
    env = await start(**overrides)
    response = await env.api.put("/webhook", json={"webhookUrl": receiver.url})
    assert response.status_code == 200
    return env


async def _order(env: Env, code: str, ext: str | None = None) -> dict[str, Any]:
    body = {"packageCode": code} if ext is None else {"packageCode": code, "externalOrderId": ext}
    response = await env.api.post("/orders", json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def _provisioned(env: Env, code: str = "JP_7D_1GB") -> str:
    """Order ``code``, wait for provisioning, return the ICCID."""
    order = await _order(env, code)
    await env.sandbox.wait_idle()
    response = await env.api.get(f"/orders/{order['orderId']}")
    iccid: str = response.json()["data"]["esim"]["iccid"]
    return iccid


def _refundable_code(sandbox: Sandbox, active_type: int | None = None) -> str:
    for package in sandbox.catalog.packages.values():
        if package.non_refundable or not package.support_topup or package.has_voice:
            continue
        if active_type is None or package.active_type == active_type:
            return package.code
    raise AssertionError("no suitable package")


async def _all_packages(env: Env, **params: Any) -> list[dict[str, Any]]:
    packages: list[dict[str, Any]] = []
    page = 1
    while True:
        response = await env.api.get("/packages", params={**params, "page": page, "limit": 200})
        assert response.status_code == 200
        data = response.json()["data"]
        packages += data["packages"]
        if page >= data["pagination"]["pages"]:
            assert data["pagination"]["total"] == len(packages)
            return packages
        page += 1


async def _first_page(env: Env, **params: Any) -> list[dict[str, Any]]:
    response = await env.api.get("/packages", params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    packages: list[dict[str, Any]] = response.json()["data"]["packages"]
    return packages


# -- catalog -------------------------------------------------------------------------------------
async def test_catalog_is_large_realistic_and_pages(start: StartSandbox) -> None:
    env = await start()
    packages = await _all_packages(env)
    codes = [p["packageCode"] for p in packages]
    assert len(packages) >= 300 and len(set(codes)) == len(codes)
    countries = {p["location"] for p in packages if p["locationCode"]}
    assert len(countries) >= 60
    assert {"JP", "US", "GB", "FR", "DE", "TH", "AE", "TR"} <= countries
    assert not [c for c in codes if "TOPUP" in c]  # top-ups are not listed by default
    assert {p["duration"] for p in packages} <= {1, 3, 7, 10, 15, 30}
    assert {p["volumeGB"] for p in packages} <= {0.5, 1, 2, 3, 5, 10, 20, 50}
    assert {p["dataType"] for p in packages} == {1}
    assert {p["activeType"] for p in packages} == {1, 2}
    assert {p["maxPrivacy"] for p in packages} == {True, False}
    assert any(p["nonRefundable"] for p in packages)
    assert all(p["volume"] == int(p["volumeGB"] * GB) for p in packages)
    assert all(p["suggestedRetailPrice"] > p["price"] > 0 for p in packages)

    jp = (await env.api.get("/packages/JP_7D_1GB")).json()["data"]
    assert jp["name"] == "Japan 7 Days 1GB" and jp["location"] == "JP"
    assert 350 <= jp["price"] <= 550 and jp["priceFormatted"] == f"${jp['price'] / 100:.2f}"
    operators = jp["locationNetworkList"][0]["operatorList"]
    assert "NTT Docomo" in {o["operatorName"] for o in operators}

    second = (await env.api.get("/packages", params={"page": 2, "limit": 10})).json()["data"]
    assert [p["packageCode"] for p in second["packages"]] == codes[10:20]
    assert second["pagination"] == {
        "page": 2,
        "limit": 10,
        "total": len(codes),
        "pages": math.ceil(len(codes) / 10),
    }


async def test_catalog_filters_and_errors(start: StartSandbox) -> None:
    env = await start()
    jp = await _first_page(env, country="jp")
    assert jp and {p["location"] for p in jp} == {"JP"}

    europe = await _first_page(env, region="Europe")
    assert europe and all(p["location"] == "EU" and p["locationCode"] is None for p in europe)
    assert len(europe[0]["locationNetworkList"]) >= 20
    assert "EU_30D_5GB" in {p["packageCode"] for p in europe}
    assert await _first_page(env, region="eu") == europe
    for region in ("Asia", "Latin America", "Middle East", "Africa"):
        assert await _first_page(env, region=region, limit=1), region

    world = await _first_page(env, region="Global")
    assert world and all(p["isGlobalPackage"] and p["location"] == "GL" for p in world)
    assert "GL_15D_3GB" in {p["packageCode"] for p in world}

    private = await _first_page(env, privacy="max")
    assert private and all(p["maxPrivacy"] and p["ipExport"] not in (None, "HK") for p in private)
    standard = await _first_page(env, privacy="standard")
    assert standard and all(not p["maxPrivacy"] and p["ipExport"] in (None, "HK") for p in standard)

    month = await _first_page(env, duration=30, minData=5, maxData=10)
    assert month and all(p["duration"] == 30 and 5 <= p["volumeGB"] <= 10 for p in month)
    phones = await _first_page(env, type="phone")
    assert phones and all(p["hasVoice"] and p["phoneNumberIncluded"] for p in phones)

    for params in ({"limit": 201}, {"privacy": "secret"}, {"duration": "week"}, {"page": 0}):
        response = await env.api.get("/packages", params=params)
        assert response.status_code == 400 and response.json()["success"] is False, params
    missing = await env.api.get("/packages/XX_1D_1GB")
    assert missing.status_code == 404 and missing.json()["success"] is False


def test_catalog_and_ids_are_deterministic_per_seed() -> None:
    def listing(seed: int) -> list[dict[str, Any]]:
        return [p.to_json() for p in Sandbox(SandboxConfig(seed=seed)).catalog.packages.values()]

    assert listing(7) == listing(7)
    assert listing(7) != listing(8)
    ids = [Sandbox(SandboxConfig(seed=3)).transactions[0].id for _ in range(2)]
    assert ids[0] == ids[1]


# -- orders and webhooks -------------------------------------------------------------------------
async def test_order_provisions_esim_and_sends_signed_webhook(
    start: StartSandbox, receiver: Receiver
) -> None:
    env = await _hooked(start, receiver)
    before = env.sandbox.balance_cents
    order = await _order(env, "JP_7D_1GB", "ref-1")
    assert re.fullmatch(r"[0-9a-f]{24}", order["orderId"])
    assert order["status"] == "processing" and order["externalOrderId"] == "ref-1"
    assert env.sandbox.balance_cents == before - order["price"]
    await env.sandbox.wait_idle()

    assert receiver.events() == ["esim.provisioned"]
    hook = receiver.hooks[0]
    assert hook.headers["content-type"] == "application/json"
    assert hook.headers["x-webhook-signature"] == sign(hook.body, SECRET)
    assert verify_signature(hook.body, hook.headers["x-webhook-signature"], SECRET)
    assert hook.body == js_stringify(hook.payload).encode()  # exactly JSON.stringify
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", hook.payload["timestamp"])

    detail = (await env.api.get(f"/orders/{order['orderId']}")).json()["data"]
    assert detail["status"] == "completed" and detail["completedAt"]
    esim = detail["esim"]
    assert hook.payload["data"]["orderId"] == order["orderId"]
    assert hook.payload["data"]["esim"]["iccid"] == esim["iccid"]
    assert re.fullmatch(r"8985\d{16}", esim["iccid"])
    assert luhn_digit(esim["iccid"][:-1]) == esim["iccid"][-1]
    assert re.fullmatch(r"LPA:1\$[a-z0-9.-]+\$[A-Z0-9-]+", esim["activationCode"])
    assert (esim["status"], esim["smdpStatus"]) == ("GOT_RESOURCE", "RELEASED")
    assert esim["qrCodeUrl"].startswith("https://") and esim["shortUrl"].startswith("https://")

    listed = (await env.api.get("/orders", params={"status": "completed"})).json()["data"]
    assert [o["orderId"] for o in listed["orders"]] == [order["orderId"]]
    delivery = env.sandbox.webhook_deliveries[0]
    assert (delivery.event, delivery.status_code, delivery.body) == (
        "esim.provisioned",
        200,
        hook.body,
    )


async def test_external_order_id_is_idempotent(start: StartSandbox) -> None:
    env = await start()
    first = await _order(env, "US_7D_1GB", "same")
    balance = env.sandbox.balance_cents
    again = await env.api.post(
        "/orders", json={"packageCode": "US_7D_1GB", "externalOrderId": "same"}
    )
    assert again.status_code == 200
    assert again.json()["duplicate"] is True and again.json()["data"]["duplicate"] is True
    assert again.json()["data"]["orderId"] == first["orderId"]
    assert env.sandbox.balance_cents == balance and len(env.sandbox.orders) == 1

    # The order is created but the answer is lost: the retry must not charge twice.
    env.sandbox.fail_next(path_prefix="/orders", after=True)
    lost = await env.api.post("/orders", json={"packageCode": "US_7D_1GB", "externalOrderId": "x"})
    assert lost.status_code == 500 and len(env.sandbox.orders) == 2
    retry = await env.api.post("/orders", json={"packageCode": "US_7D_1GB", "externalOrderId": "x"})
    assert retry.status_code == 200 and retry.json()["data"]["duplicate"] is True
    orders = [t for t in env.sandbox.transactions if t.type == "order"]
    assert len(orders) == 2


async def test_order_errors(start: StartSandbox) -> None:
    env = await start(initial_balance_cents=100)
    short = await env.api.post("/orders", json={"packageCode": "JP_7D_1GB"})
    assert short.status_code == 402
    assert short.json()["error"] == "Insufficient balance"
    assert short.json()["code"] == "INSUFFICIENT_BALANCE"
    assert env.sandbox.balance_cents == 100 and not env.sandbox.orders

    unknown = await env.api.post("/orders", json={"packageCode": "NOPE"})
    assert unknown.status_code == 400 and unknown.json()["code"] == "INVALID_PACKAGE"
    retired = await env.api.post("/orders", json={"packageCode": "JP_5D_1GB"})
    assert retired.json()["code"] == "PACKAGE_RETIRED"
    assert retired.json()["replacement"] == "JP_7D_1GB"
    bad_json = await env.api.post("/orders", content=b"{nope", headers={"Content-Type": "x"})
    assert bad_json.status_code == 400 and bad_json.json()["success"] is False
    missing = await env.api.post("/orders", json={})
    assert missing.status_code == 400
    assert (await env.api.get("/orders/0123456789abcdef01234567")).status_code == 404
    nowhere = await env.api.get("/no/such/route")
    assert nowhere.status_code == 404 and nowhere.json() == {"success": False, "error": "Not found"}


async def test_failed_order_is_refunded_and_notified(
    start: StartSandbox, receiver: Receiver
) -> None:
    env = await _hooked(start, receiver)
    before = env.sandbox.balance_cents
    env.sandbox.fail_orders(1, reason="No stock")
    order = await _order(env, "TH_7D_1GB", "will-fail")
    await env.sandbox.wait_idle()

    detail = (await env.api.get(f"/orders/{order['orderId']}")).json()["data"]
    assert (detail["status"], detail["failureReason"], detail["esim"]) == (
        "failed",
        "No stock",
        None,
    )
    assert env.sandbox.balance_cents == before
    refunds = (await env.api.get("/transactions", params={"type": "refund"})).json()["data"]
    assert [t["amount"] for t in refunds["transactions"]] == [order["price"]]
    assert refunds["transactions"][0]["orderId"] == order["orderId"]
    assert receiver.events() == ["order.failed"]
    assert receiver.hooks[0].payload["data"]["externalOrderId"] == "will-fail"

    ok = await _order(env, "TH_7D_1GB")  # the knob was for one order only
    await env.sandbox.wait_idle()
    assert env.sandbox.orders[ok["orderId"]].status == "completed"


# -- eSIM lifecycle ------------------------------------------------------------------------------
async def test_cancel_only_unused_esims(start: StartSandbox) -> None:
    env = await start()
    code = _refundable_code(env.sandbox)
    iccid = await _provisioned(env, code)
    before = env.sandbox.balance_cents
    cancelled = await env.api.post(f"/esims/{iccid}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    data = cancelled.json()["data"]
    price = env.sandbox.catalog.packages[code].price
    assert data["refundAmount"] == price and data["newBalance"] == before + price
    assert env.sandbox.balance_cents == before + price
    again = await env.api.post(f"/esims/{iccid}/cancel")
    assert again.status_code == 400 and again.json()["currentStatus"]["esimStatus"] == "CANCELLED"

    installed = await _provisioned(env, code)
    response = await env.admin.post(f"/_sandbox/esims/{installed}/install")
    assert response.json()["data"]["status"] == "ENABLED"
    refused = await env.api.post(f"/esims/{installed}/cancel")
    assert refused.status_code == 400
    body = refused.json()
    assert body["success"] is False and body["error"].startswith("eSIM cannot be cancelled")
    assert body["currentStatus"] == {"esimStatus": "ENABLED", "smdpStatus": "ENABLED"}


async def test_usage_grows_and_status_moves_on(start: StartSandbox) -> None:
    env = await start()
    code = _refundable_code(env.sandbox, active_type=2)
    iccid = await _provisioned(env, code)
    usage = (await env.api.get(f"/esims/{iccid}/usage")).json()["data"]
    assert (usage["status"], usage["usedData"], usage["expireTime"]) == ("GOT_RESOURCE", 0, None)

    await env.admin.post(f"/_sandbox/esims/{iccid}/install")
    await env.admin.post("/_sandbox/advance", json={"seconds": 3600})
    usage = (await env.api.get(f"/esims/{iccid}/usage")).json()["data"]
    rate = env.sandbox.esims[iccid].usage_per_minute
    assert (usage["status"], usage["smdpStatus"]) == ("IN_USE", "ENABLED")
    assert usage["usedData"] == 60 * rate > 0
    assert usage["remainingData"] == usage["totalData"] - usage["usedData"]
    assert usage["usedDataMB"] == round(usage["usedData"] / 2**20, 2)
    assert usage["expireTime"] is not None  # activeType 2: validity started on first use

    env.sandbox.advance(3600)
    assert env.sandbox.esims[iccid].used_bytes == 120 * rate
    env.sandbox.consume(iccid, usage["totalData"])
    usage = (await env.api.get(f"/esims/{iccid}/usage")).json()["data"]
    assert (usage["status"], usage["remainingData"], usage["usagePercent"]) == ("USED_UP", 0, 100)

    env.sandbox.advance(31 * 86400)
    detail = (await env.api.get(f"/esims/{iccid}")).json()["data"]
    assert detail["status"] == "EXPIRED" and detail["packageList"][0]["packageCode"] == code


async def test_topup_adds_data_and_days(start: StartSandbox, receiver: Receiver) -> None:
    env = await _hooked(start, receiver)
    iccid = await _provisioned(env, _refundable_code(env.sandbox, active_type=1))
    env.sandbox.install(iccid)
    esim = env.sandbox.esims[iccid]
    expires, total = esim.expires_at, esim.total_bytes
    env.sandbox.consume(iccid, total)
    assert esim.status == "USED_UP"

    options = (await env.api.get(f"/esims/{iccid}/topup-options")).json()["data"]
    assert options["iccid"] == iccid and options["topupPackages"]
    option = options["topupPackages"][0]
    assert "_TOPUP_" in option["packageCode"] and option["price"] > 0
    before = env.sandbox.balance_cents
    body = {"packageCode": option["packageCode"], "externalOrderId": "top-1"}
    created = await env.api.post(f"/esims/{iccid}/topup", json=body)
    assert created.status_code == 201
    topup = created.json()["data"]
    assert topup["status"] == "processing" and topup["price"] == option["price"]
    dup = await env.api.post(f"/esims/{iccid}/topup", json=body)
    assert (
        dup.json()["data"]["duplicate"] is True
        and dup.json()["data"]["topupId"] == topup["topupId"]
    )
    assert env.sandbox.balance_cents == before - option["price"]
    await env.sandbox.wait_idle()

    assert receiver.events() == ["esim.provisioned", "esim.topup.completed"]
    data = receiver.hooks[1].payload["data"]
    assert data == {
        "topupId": topup["topupId"],
        "iccid": iccid,
        "orderId": esim.order_id,
        "externalOrderId": "top-1",
        "packageCode": option["packageCode"],
    }
    usage = (await env.api.get(f"/esims/{iccid}/usage")).json()["data"]
    assert usage["totalData"] == total + int(option["volumeGB"] * GB)
    assert usage["status"] == "IN_USE" and len(usage["packageList"]) == 2
    assert expires is not None and esim.expires_at == expires + option["duration"] * 86400
    wrong = await env.api.post(f"/esims/{iccid}/topup", json={"packageCode": "JP_7D_1GB"})
    assert wrong.status_code == 400 and wrong.json()["code"] == "INVALID_PACKAGE"


# -- rate limits, faults, auth -------------------------------------------------------------------
async def test_rate_limit_headers_and_429(start: StartSandbox) -> None:
    env = await start(rate_limit=3, rate_window=30.0)
    remaining = []
    for _ in range(3):
        response = await env.api.get("/balance")
        assert response.status_code == 200
        remaining.append(int(response.headers["X-RateLimit-Remaining"]))
        assert response.headers["X-RateLimit-Limit"] == "3"
        assert int(response.headers["X-RateLimit-Reset"]) >= time.time()
    assert remaining == [2, 1, 0]
    limited = await env.api.get("/balance")
    assert limited.status_code == 429
    assert limited.json() == {"success": False, "error": "Rate limit exceeded"}
    assert 1 <= int(limited.headers["Retry-After"]) <= 30
    assert limited.headers["X-RateLimit-Remaining"] == "0"

    anonymous = await env.api.get("/balance", headers={"X-API-Key": "wrong"})  # its own bucket
    assert anonymous.status_code == 401
    assert anonymous.json() == {"success": False, "error": "Invalid or missing API key"}
    assert "X-RateLimit-Reset" in anonymous.headers
    recorded = [(r.status, r.api_key_ok) for r in env.sandbox.requests]
    assert recorded == [(200, True)] * 3 + [(429, True), (401, False)]


async def test_fault_knobs(start: StartSandbox) -> None:
    env = await start()
    env.sandbox.rate_limit_for(0.15)
    storm = await env.api.get("/account")
    assert storm.status_code == 429 and "Retry-After" in storm.headers
    await asyncio.sleep(0.2)
    assert (await env.api.get("/account")).status_code == 200

    knob = await env.admin.post(
        "/_sandbox/faults", json={"failNext": {"count": 2, "status": 503, "pathPrefix": "/orders"}}
    )
    assert knob.status_code == 200 and knob.json()["data"]["failNext"][0]["remaining"] == 2
    assert (await env.api.get("/balance")).status_code == 200  # other paths unaffected
    statuses = [(await env.api.get("/orders")).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]

    env.sandbox.fail_for(0.15)
    outage = await env.api.get("/balance")
    assert outage.status_code == 500 and outage.json()["success"] is False
    assert "X-RateLimit-Limit" in outage.headers
    await asyncio.sleep(0.2)
    assert (await env.api.get("/balance")).status_code == 200
    assert (await env.admin.post("/_sandbox/faults", json={"explode": 1})).status_code == 400


async def test_dropped_duplicated_and_retried_webhooks(
    start: StartSandbox, receiver: Receiver
) -> None:
    env = await _hooked(start, receiver)
    env.sandbox.drop_webhooks(1)
    await _order(env, "GB_7D_1GB")
    await env.sandbox.wait_idle()
    assert receiver.hooks == [] and len(env.sandbox.dropped_webhooks) == 1

    env.sandbox.duplicate_webhooks(1)
    await _order(env, "GB_7D_1GB")
    await env.sandbox.wait_idle()
    assert len(receiver.hooks) == 2 and receiver.hooks[0].body == receiver.hooks[1].body

    receiver.fail_first = 2
    await _order(env, "GB_7D_1GB")
    await env.sandbox.wait_idle()
    attempts = [(d.attempt, d.status_code) for d in env.sandbox.webhook_deliveries[2:]]
    assert attempts == [(1, 503), (2, 503), (3, 200)]

    env.sandbox.delay_webhooks(3600)  # simulated seconds: advancing the clock releases it
    await _order(env, "GB_7D_1GB")
    await asyncio.sleep(0.2)
    assert len(receiver.hooks) == 5
    env.sandbox.advance(3600)
    await env.sandbox.wait_idle()
    assert len(receiver.hooks) == 6


async def test_webhook_settings_and_test_event(start: StartSandbox, receiver: Receiver) -> None:
    env = await start()
    bad = await env.api.put("/webhook", json={"webhookUrl": "ftp://example.com/x"})
    assert bad.status_code == 400
    assert (await env.api.post("/webhook/test")).status_code == 400  # nothing configured yet
    settings = {"webhookUrl": receiver.url, "webhookEvents": ["order.failed"]}
    saved = await env.api.put("/webhook", json=settings)
    assert saved.json()["data"] == settings
    assert (await env.api.get("/webhook")).json()["data"] == settings

    tested = await env.api.post("/webhook/test")
    assert tested.json()["data"]["delivered"] is True
    assert tested.json()["data"]["statusCode"] == 200
    assert receiver.events() == ["webhook.test"] and receiver.hooks[0].payload["data"]["message"]

    await _order(env, "FR_7D_1GB")  # esim.provisioned is not subscribed
    await env.sandbox.wait_idle()
    assert receiver.events() == ["webhook.test"]


async def test_wallet_account_and_deposits(start: StartSandbox) -> None:
    env = await start(initial_balance_cents=5000)
    account = (await env.api.get("/account")).json()["data"]
    assert (account["balance"], account["balanceFormatted"]) == (5000, "$50.00")
    wallet = (await env.api.get("/balance")).json()["data"]
    assert wallet["availableCredit"] == 5000 and wallet["currency"] == "USD"

    assert (await env.api.post("/deposit/stripe", json={"amount": 50})).status_code == 400
    stripe = (await env.api.post("/deposit/stripe", json={"amount": 10000})).json()
    assert stripe["success"] and stripe["sessionId"] and stripe["checkoutUrl"].startswith("https")
    btc = (await env.api.post("/deposit/btcpay", json={"amount": 2500})).json()
    assert btc["invoiceId"] and btc["amount"] == 2500 and "data" not in btc
    assert env.sandbox.balance_cents == 5000  # nothing credited until paid
    paid = await env.admin.post(f"/_sandbox/deposits/{stripe['sessionId']}/complete")
    assert paid.json()["data"]["balanceAfter"] == 15000 and env.sandbox.balance_cents == 15000

    env.sandbox.set_balance(700)
    history = (await env.api.get("/transactions", params={"limit": 2})).json()["data"]
    assert [t["type"] for t in history["transactions"]] == ["adjustment", "deposit"]
    assert history["transactions"][0]["amount"] == -14300
    assert history["pagination"]["total"] == 3
    assert (await env.api.get("/transactions", params={"limit": 101})).status_code == 400
    state = (await env.admin.get("/_sandbox/state")).json()["data"]
    assert state["balance"] == 700 and len(state["transactions"]) == 3


# -- embedded mode and CLI -----------------------------------------------------------------------
async def test_in_process_via_asgi_transport() -> None:
    received: list[tuple[bytes, str]] = []

    async def bot_webhook(request: Request) -> Response:
        received.append((await request.body(), request.headers["x-webhook-signature"]))
        return JSONResponse({"ok": True})

    bot_app = Starlette(routes=[Route("/pikasim/webhook", bot_webhook, methods=["POST"])])
    config = SandboxConfig(
        provisioning_delay=0.01,
        webhook_secret=SECRET,
        webhook_url="http://bot.internal/pikasim/webhook",
    )
    app = create_app(config)
    # As the bot does: the transport to its listener is known only after the sandbox exists.
    app.state.sandbox.config.webhook_transport = httpx.ASGITransport(bot_app)
    transport = httpx.ASGITransport(app)
    base = "http://sandbox" + API_PREFIX
    async with httpx.AsyncClient(transport=transport, base_url=base) as client:
        client.headers["X-API-Key"] = config.api_key
        created = await client.post("/orders", json={"packageCode": "DE_7D_1GB"})
        assert created.status_code == 201
        await app.state.sandbox.wait_idle()
        order = (await client.get(f"/orders/{created.json()['data']['orderId']}")).json()["data"]
    assert order["status"] == "completed"
    assert len(received) == 1 and verify_signature(received[0][0], received[0][1], SECRET)
    assert json.loads(received[0][0])["data"]["esim"]["iccid"] == order["esim"]["iccid"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
async def test_cli_serves_and_stops_cleanly(signum: signal.Signals) -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "emulators.pikasim",
        "--port",
        str(port),
        "--api-key",
        "k_cli",
        "--provisioning-delay",
        "0.1",
        "--balance",
        "4200",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        banner = ""
        while "k_cli" not in banner:
            line = await asyncio.wait_for(process.stdout.readline(), 15)
            assert line, f"sandbox exited early: {banner}"
            banner += line.decode()
        base = f"http://127.0.0.1:{port}{API_PREFIX}"
        assert base in banner
        headers = {"X-API-Key": "k_cli"}
        async with httpx.AsyncClient(base_url=base, headers=headers, verify=False) as client:
            balance = await client.get("/balance")
        assert balance.status_code == 200 and balance.json()["data"]["balance"] == 4200
        process.send_signal(signum)
        assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
