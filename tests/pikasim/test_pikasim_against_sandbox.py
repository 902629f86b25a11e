"""PikaSimClient over real HTTP on 127.0.0.1 against the sandbox reseller (emulators.pikasim)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from bot.asgi_server import BackgroundServer
from bot.pikasim import (
    EVENT_ESIM_PROVISIONED,
    EVENT_TOPUP_COMPLETED,
    BadRequest,
    Forbidden,
    InsufficientBalance,
    NotCancellable,
    NotFound,
    Order,
    PackageRetired,
    PikaSimClient,
    Priority,
    RequestBudget,
    ServerError,
    Unauthorized,
    Unavailable,
    parse_webhook_event,
    verify_signature,
)
from emulators.pikasim import SandboxConfig, create_app

API_KEY = "pk_test"
SECRET = "whsec_test"
HOOK_URL = "http://receiver.test/webhooks/pikasim"


class Receiver:
    """A webhook endpoint (plain ASGI) that keeps every body and signature it gets."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, str | None]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {key.decode(): value.decode() for key, value in scope["headers"]}
        self.received.append((body, headers.get("x-webhook-signature")))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b'{"success":true}'})


@dataclass
class Rig:
    client: PikaSimClient
    sandbox: Any  # emulators.pikasim.Sandbox
    receiver: Receiver
    url: str

    def seen(self, suffix: str, method: str | None = None) -> list[Any]:
        return [
            r
            for r in self.sandbox.requests
            if r.path.endswith(suffix) and (method is None or r.method == method)
        ]


@contextlib.asynccontextmanager
async def rig(
    *, rate_limit: int = 60, rate_window: float = 60.0, budget: RequestBudget | None = None
) -> AsyncIterator[Rig]:
    receiver = Receiver()
    config = SandboxConfig(
        api_key=API_KEY,
        webhook_secret=SECRET,
        provisioning_delay=0.05,
        rate_limit=rate_limit,
        rate_window=rate_window,
    )
    config.webhook_transport = httpx.ASGITransport(app=receiver)
    config.webhook_retry_backoff = 0.01
    app = create_app(config)
    sandbox = app.state.sandbox
    async with BackgroundServer(app) as srv, httpx.AsyncClient() as http:
        client = PikaSimClient(
            http,
            API_KEY,
            srv.url + "/api/v1/reseller",
            budget=budget or RequestBudget(limit=rate_limit, window=rate_window),
            timeout=5.0,
            backoff_base=0.01,
            backoff_max=0.05,
        )
        try:
            yield Rig(client, sandbox, receiver, srv.url)
        finally:
            await sandbox.aclose()


async def completed(client: PikaSimClient, order_id: str, timeout: float = 3.0) -> Order:
    """Poll the order (as a bot without a public webhook URL does) until it is final."""
    deadline = time.monotonic() + timeout
    while True:
        order = await client.order(order_id)
        if order.is_final or time.monotonic() > deadline:
            return order
        await asyncio.sleep(0.05)


def cheapest(packages: list[Any], *, topup: bool = False) -> Any:
    chosen = [p for p in packages if p.supports_topup or not topup]
    return min(chosen, key=lambda p: p.price_cents)


async def test_account_balance_and_transactions() -> None:
    async with rig() as r:
        account = await r.client.account()
        assert account.status == "approved" and account.company_name
        assert account.balance_cents == r.sandbox.balance_cents
        balance = await r.client.balance()
        assert balance.balance_cents == r.sandbox.balance_cents
        assert balance.available_credit_cents >= 0 and balance.currency == "USD"
        page = await r.client.transactions()
        assert page.transactions[0].type == "deposit" and page.transactions[0].amount_cents > 0
        assert page.pagination.total == len(r.sandbox.transactions)
        orders_only = await r.client.transactions(type="order", limit=5)
        assert orders_only.transactions == []
        assert [x.method for x in r.sandbox.requests] == ["GET"] * 4
        assert all(x.api_key_ok for x in r.sandbox.requests)


async def test_catalog() -> None:
    async with rig() as r:
        jp = await r.client.packages(country="JP")
        assert jp.packages and all(p.location == "JP" for p in jp.packages)
        first = jp.packages[0]
        assert first.price_cents > 0 and first.volume_bytes and first.duration_days
        assert first.countries and first.countries[0].operators
        assert first.suggested_retail_price_cents is not None
        assert first.suggested_retail_price_cents > first.price_cents
        everything = await r.client.all_packages()
        total = (await r.client.packages(limit=1)).pagination.total
        assert len(everything) == total > 200  # more than one page
        assert len(r.seen("/packages")) == 2 + (total + 199) // 200
        private = await r.client.packages(privacy="max", limit=50)
        assert private.packages and all(p.max_privacy for p in private.packages)
        phones = await r.client.packages(type="phone")
        assert all(p.has_voice for p in phones.packages)
        one = await r.client.package(first.package_code)
        assert one == first
        with pytest.raises(PackageRetired) as retired:
            await r.client.package("JP_5D_1GB")
        assert retired.value.replacement == "JP_7D_1GB"
        with pytest.raises(NotFound):
            await r.client.package("NOPE_1D_1GB")


async def test_order_topup_and_webhooks() -> None:
    async with rig() as r:
        settings = await r.client.set_webhook(
            HOOK_URL, [EVENT_ESIM_PROVISIONED, EVENT_TOPUP_COMPLETED]
        )
        assert settings.webhook_url == HOOK_URL
        assert settings.webhook_events == [EVENT_ESIM_PROVISIONED, EVENT_TOPUP_COMPLETED]
        test = await r.client.test_webhook()
        assert test.delivered is True and test.status_code == 200

        package = cheapest((await r.client.packages(country="JP")).packages, topup=True)
        before = r.sandbox.balance_cents
        order = await r.client.create_order(package.package_code, "tg-1-1")
        assert order.status in ("pending", "processing") and not order.duplicate
        assert order.price_cents == package.price_cents
        assert r.sandbox.balance_cents == before - package.price_cents
        again = await r.client.create_order(package.package_code, "tg-1-1")
        assert again.duplicate and again.order_id == order.order_id
        assert r.sandbox.balance_cents == before - package.price_cents  # charged once

        done = await completed(r.client, order.order_id)
        assert done.is_completed and done.esim is not None
        iccid = done.esim.iccid
        assert done.esim.activation_code and done.esim.smdp_address
        listed = await r.client.orders(status="completed")
        assert [o.order_id for o in listed.orders] == [order.order_id]

        esim = await r.client.esim(iccid)
        assert esim.order_id == order.order_id and esim.external_order_id == "tg-1-1"
        assert (esim.status, esim.smdp_status) == ("GOT_RESOURCE", "RELEASED")
        usage = await r.client.usage(iccid)
        assert usage.total_data_bytes == package.volume_bytes and usage.used_data_bytes == 0

        options = await r.client.topup_options(iccid)
        assert options
        option = min(options, key=lambda o: o.price_cents)
        topup = await r.client.topup(iccid, option.package_code, "tg-1-2")
        assert topup.iccid == iccid and not topup.duplicate
        repeat = await r.client.topup(iccid, option.package_code, "tg-1-2")
        assert repeat.duplicate and repeat.topup_id == topup.topup_id
        await r.sandbox.wait_idle()
        grown = await r.client.usage(iccid)
        assert grown.total_data_bytes == package.volume_bytes + (option.volume_bytes or 0)

        events = []
        for body, signature in r.receiver.received:
            assert verify_signature(body, signature, SECRET)
            assert not verify_signature(body, signature, "whsec_wrong")
            events.append(parse_webhook_event(json.loads(body)))
        names = [event.event for event in events]
        assert names == ["webhook.test", EVENT_ESIM_PROVISIONED, EVENT_TOPUP_COMPLETED]
        provisioned, topped_up = events[1], events[2]
        assert provisioned.order_id == order.order_id and provisioned.iccid == iccid
        assert provisioned.external_order_id == "tg-1-1"
        assert provisioned.esim is not None
        assert provisioned.esim.activation_code == esim.activation_code
        assert topped_up.topup_id == topup.topup_id and topped_up.iccid == iccid


async def test_failed_order_webhook() -> None:
    async with rig() as r:
        await r.client.set_webhook(HOOK_URL)
        package = cheapest((await r.client.packages(country="US")).packages)
        r.sandbox.fail_orders(1, reason="No stock")
        order = await r.client.create_order(package.package_code, "tg-2-1")
        failed = await completed(r.client, order.order_id)
        assert failed.is_failed and failed.failure_reason == "No stock" and failed.esim is None
        await r.sandbox.wait_idle()
        (body, signature), *_ = r.receiver.received
        assert verify_signature(body, signature, SECRET)
        event = parse_webhook_event(json.loads(body))
        assert event.event == "order.failed" and event.order_id == order.order_id
        assert event.reason == "No stock" and event.refund_cents == package.price_cents


async def test_cancel() -> None:
    async with rig() as r:
        package = cheapest((await r.client.packages(country="FR")).packages)
        first = await r.client.create_order(package.package_code, "tg-3-1")
        second = await r.client.create_order(package.package_code, "tg-3-2")
        unused = await completed(r.client, first.order_id)
        used = await completed(r.client, second.order_id)
        assert unused.esim is not None and used.esim is not None
        balance = r.sandbox.balance_cents
        result = await r.client.cancel(unused.esim.iccid)
        assert result.refund_cents == package.price_cents
        assert result.new_balance_cents == balance + package.price_cents
        r.sandbox.install(used.esim.iccid)
        with pytest.raises(NotCancellable) as refused:
            await r.client.cancel(used.esim.iccid)
        status = refused.value.current_status
        assert status is not None and (status.esim_status, status.smdp_status) == (
            "ENABLED",
            "ENABLED",
        )
        assert refused.value.status == 400 and refused.value.kind == "not_cancellable"
        assert len(r.seen("/cancel")) == 2


async def test_deposits() -> None:
    async with rig() as r:
        stripe = await r.client.deposit_stripe(10_000)
        assert stripe.session_id and stripe.checkout_url.startswith("https://")
        btc = await r.client.deposit_btcpay(2_500)
        assert btc.invoice_id and btc.amount_cents == 2_500 and btc.checkout_url
        assert set(r.sandbox.deposits) == {stripe.session_id, btc.invoice_id}
        with pytest.raises(BadRequest) as caught:
            await r.client.deposit_stripe(5)
        assert caught.value.code == "INVALID_AMOUNT"


async def test_error_mapping() -> None:
    async with rig() as r:
        package = cheapest((await r.client.packages(country="JP")).packages)
        with pytest.raises(BadRequest) as bad:
            await r.client.create_order("NOPE_1D_1GB", "tg-4-1")
        assert bad.value.code == "INVALID_PACKAGE"
        with pytest.raises(PackageRetired):
            await r.client.create_order("JP_5D_1GB", "tg-4-2")
        r.sandbox.set_balance(0)
        with pytest.raises(InsufficientBalance):
            await r.client.create_order(package.package_code, "tg-4-3")
        with pytest.raises(NotFound):
            await r.client.esim("8900000000000000000")
        with pytest.raises(NotFound):
            await r.client.order("ffffffffffffffffffffffff")
        r.sandbox.fail_next(1, 403)
        with pytest.raises(Forbidden):
            await r.client.balance()
        wrong = PikaSimClient(r.client._http, "pk_wrong", r.client.base_url, budget=r.client.budget)
        with pytest.raises(Unauthorized):
            await wrong.account()
        assert r.sandbox.orders == {}


async def test_retry_rules() -> None:
    async with rig() as r:
        r.sandbox.fail_next(2, 500, path_prefix="/account")
        await r.client.account()
        assert [x.status for x in r.seen("/account")] == [500, 500, 200]

        package = cheapest((await r.client.packages(country="DE")).packages)
        before = r.sandbox.balance_cents
        # the order IS created, but the answer is lost: the retry must not buy it twice
        r.sandbox.fail_next(1, 502, path_prefix="/orders", after=True)
        order = await r.client.create_order(package.package_code, "tg-5-1")
        assert order.duplicate is True
        assert [x.status for x in r.seen("/orders", "POST")] == [502, 200]
        assert len(r.sandbox.orders) == 1
        assert r.sandbox.balance_cents == before - package.price_cents

        done = await completed(r.client, order.order_id)
        assert done.esim is not None
        r.sandbox.fail_next(1, 500, path_prefix=f"/esims/{done.esim.iccid}/cancel", after=True)
        with pytest.raises(ServerError):
            await r.client.cancel(done.esim.iccid)
        assert len(r.seen("/cancel")) == 1  # never retried

        r.sandbox.fail_next(10, 503, path_prefix="/balance")
        with pytest.raises(Unavailable) as gave_up:
            await r.client.balance()
        assert gave_up.value.status == 503
        assert len(r.seen("/balance")) == 1 + r.client.max_retries


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best = low = 0
    for high, at in enumerate(times):
        while at - times[low] >= window:
            low += 1
        best = max(best, high - low + 1)
    return best


async def test_429_storm_stays_within_the_budget() -> None:
    limit, window = 8, 1.0
    async with rig(rate_limit=limit, rate_window=window) as r:
        client = r.client
        client.max_retries = 5
        r.sandbox.rate_limit_for(0.4)
        storm_end = time.time() + 0.4
        calls: list[Coroutine[Any, Any, object]] = []
        for i in range(20):
            priority = list(Priority)[i % 3]
            if priority is Priority.ORDER:
                calls.append(client.balance(priority=priority))
            elif priority is Priority.CUSTOMER:
                calls.append(client.account(priority=priority))
            else:
                calls.append(client.packages(country="JP", limit=5, priority=priority))
        results = await asyncio.gather(*calls, return_exceptions=True)
        failures = [x for x in results if isinstance(x, BaseException)]
        assert not failures, failures
        seen = r.sandbox.requests
        statuses = [x.status for x in seen]
        assert statuses.count(429) >= 1
        assert statuses.count(200) == 20
        # every 429 came from the storm; the budget never tripped the sandbox's own limiter
        assert all(x.at < storm_end + 0.05 for x in seen if x.status == 429)
        assert max_in_window([x.at for x in seen], window) <= limit
        assert client.budget.rate_limited == statuses.count(429)
        assert client.budget.sent == len(seen)
        # after the first burst everything waited in the queue: served strictly by priority
        later = [priority for _, priority in client.budget.start_log()[limit:]]
        assert later == sorted(later) and later[0] is Priority.ORDER
