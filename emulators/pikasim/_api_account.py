"""Account, wallet, deposit and webhook-settings endpoints."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ._errors import ApiError
from ._http import choice_param, json_body, ok, page_params, sandbox_of
from ._util import money, paginate
from ._views import transaction_json
from ._wallet import TRANSACTION_TYPES
from ._webhooks import EVENTS

__all__ = ["routes"]


async def account(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    return ok(
        {
            "companyName": "PikaSim Sandbox Reseller",
            "status": "approved",
            "balance": sandbox.balance_cents,
            "balanceFormatted": money(sandbox.balance_cents),
            "totalOrders": len(sandbox.orders),
            "currency": "USD",
            "sandbox": True,
        }
    )


async def balance(request: Request) -> JSONResponse:
    cents = sandbox_of(request).balance_cents
    return ok(
        {
            "balance": cents,
            "balanceFormatted": money(cents),
            "availableCredit": cents,
            "availableCreditFormatted": money(cents),
            "creditLimit": 0,
            "currency": "USD",
        }
    )


async def transactions(request: Request) -> JSONResponse:
    page, limit = page_params(request, 20, 100)
    kind = choice_param(request, "type", ("", *TRANSACTION_TYPES), "")
    items = [t for t in reversed(sandbox_of(request).transactions) if kind in ("", t.type)]
    chunk, pagination = paginate(items, page, limit)
    return ok({"transactions": [transaction_json(t) for t in chunk], "pagination": pagination})


async def deposit(request: Request) -> JSONResponse:
    method = request.path_params["method"]
    if method not in ("stripe", "btcpay"):
        raise ApiError(404, "Not found")
    body = await json_body(request)
    record = sandbox_of(request).shop.create_deposit(method, body.get("amount"))
    if method == "stripe":
        return JSONResponse(
            {"success": True, "sessionId": record.id, "checkoutUrl": record.checkout_url}
        )
    return JSONResponse(
        {
            "success": True,
            "invoiceId": record.id,
            "checkoutUrl": record.checkout_url,
            "amount": record.amount,
        }
    )


def _settings(request: Request) -> dict[str, Any]:
    webhooks = sandbox_of(request).webhooks
    return {"webhookUrl": webhooks.url, "webhookEvents": list(webhooks.events)}


async def get_webhook(request: Request) -> JSONResponse:
    return ok(_settings(request))


async def put_webhook(request: Request) -> JSONResponse:
    body = await json_body(request)
    url = body.get("webhookUrl")
    if url is not None and not _is_http_url(url):
        raise ApiError(400, "webhookUrl must be an http(s) URL", code="VALIDATION_ERROR")
    events = body.get("webhookEvents", list(EVENTS))
    if not isinstance(events, list) or any(e not in EVENTS for e in events):
        allowed = ", ".join(EVENTS)
        raise ApiError(400, f"webhookEvents may only contain: {allowed}", code="VALIDATION_ERROR")
    webhooks = sandbox_of(request).webhooks
    webhooks.url = url or None
    webhooks.events = list(dict.fromkeys(events))
    return ok(_settings(request))


def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


async def test_webhook(request: Request) -> JSONResponse:
    webhooks = sandbox_of(request).webhooks
    data = {"message": "This is a test webhook from PikaSim (sandbox)"}
    job = webhooks.job("webhook.test", data, faults=False)
    if job is None:
        raise ApiError(400, "No webhook URL configured", code="WEBHOOK_NOT_CONFIGURED")
    delivery = await webhooks.send_once(job)
    return ok(
        {
            "delivered": delivery.ok,
            "statusCode": delivery.status_code,
            "error": delivery.error,
            "webhookUrl": job.url,
        }
    )


routes = [
    Route("/account", account, methods=["GET"]),
    Route("/balance", balance, methods=["GET"]),
    Route("/transactions", transactions, methods=["GET"]),
    Route("/deposit/{method:str}", deposit, methods=["POST"]),
    Route("/webhook", get_webhook, methods=["GET"]),
    Route("/webhook", put_webhook, methods=["PUT", "POST"]),
    Route("/webhook/test", test_webhook, methods=["POST"]),
]
