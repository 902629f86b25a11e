"""``/_sandbox/...``: the fault knobs and the simulated customer over HTTP (no API key).

GET    /_sandbox/state                       everything (balance, orders, eSIMs, deliveries...)
GET    /_sandbox/requests | /_sandbox/webhooks
POST   /_sandbox/faults      {"fail_next": {"count": 2, "status": 503, "path_prefix": "/orders"},
                              "fail_for": {"seconds": 5}, "rate_limit_for": 3,
                              "drop_webhooks": 1, "duplicate_webhooks": 1, "delay_webhooks": 10,
                              "fail_orders": {"count": 1, "reason": "No stock"},
                              "set_balance": 500,
                              "hostile_esims": {"count": 1, "iccid": "12ab", "matching_id": "<b>"},
                              "rename_package": {"code": "JP-1GB-7D", "name": "<i>x</i>"}}
                                             (camelCase keys work too)
DELETE /_sandbox/faults                      clear every knob
POST   /_sandbox/advance     {"seconds": 3600}
POST   /_sandbox/balance     {"cents": 500}
POST   /_sandbox/esims/{iccid}/install
POST   /_sandbox/esims/{iccid}/consume       {"bytes": N} or {"mb": N}
POST   /_sandbox/deposits/{id}/complete      credit a Stripe session / BTCPay invoice
POST   /_sandbox/wait-idle   {"timeout": 5}
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ._errors import ApiError
from ._esims import EsimStateError
from ._http import json_body, ok, sandbox_of
from ._models import WebhookDelivery
from ._sandbox import Sandbox
from ._util import iso, money
from ._views import esim_json, order_json, topup_json, transaction_json

__all__ = ["PREFIX", "routes", "snapshot"]

PREFIX = "/_sandbox"
KNOBS = (
    "fail_next",
    "fail_for",
    "rate_limit_for",
    "drop_webhooks",
    "duplicate_webhooks",
    "delay_webhooks",
    "fail_orders",
    "set_balance",
    "hostile_esims",
    "rename_package",
)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _number(body: dict[str, Any], name: str) -> float:
    value = body.get(name)
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise ApiError(400, f"{name} must be a non-negative number", code="VALIDATION_ERROR")
    return float(value)


def _call_knob(knob: Callable[..., Any], value: Any) -> None:
    if isinstance(value, dict):
        knob(**{_snake(k): v for k, v in value.items()})
    elif isinstance(value, list):
        knob(*value)
    else:
        knob(value)


async def set_faults(request: Request) -> JSONResponse:
    """Body e.g. ``{"fail_next": {"count": 2, "status": 503, "path_prefix": "/orders"},
    "drop_webhooks": 1, "failOrders": {"reason": "No stock"}}`` (snake or camel case)."""
    sandbox = sandbox_of(request)
    for name, value in (await json_body(request)).items():
        if _snake(name) not in KNOBS:
            raise ApiError(400, f"unknown knob {name!r}; known: {', '.join(KNOBS)}")
        try:
            _call_knob(getattr(sandbox, _snake(name)), value)
        except (TypeError, KeyError) as exc:  # KeyError: rename_package of an unknown code
            raise ApiError(400, f"bad arguments for {name}: {exc}") from None
    return ok(_faults(sandbox))


async def clear_faults(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    sandbox.clear_faults()
    return ok(_faults(sandbox))


async def advance(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    sandbox.advance(_number(await json_body(request), "seconds"))
    return ok({"now": iso(sandbox.now()), "clockOffset": sandbox.clock.offset})


async def set_balance(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    sandbox.set_balance(int(_number(await json_body(request), "cents")))
    return ok({"balance": sandbox.balance_cents})


async def install(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    return ok(esim_json(_esim_action(lambda i: sandbox.install(i), request)))


async def consume(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    body = await json_body(request)
    count = int(_number(body, "bytes")) if "bytes" in body else int(_number(body, "mb") * 2**20)
    return ok(esim_json(_esim_action(lambda i: sandbox.consume(i, count), request)))


def _esim_action(action: Callable[[str], Any], request: Request) -> Any:
    try:
        return action(request.path_params["iccid"])
    except KeyError:
        raise ApiError(404, "eSIM not found") from None
    except EsimStateError as exc:
        raise ApiError(409, str(exc)) from None


async def complete_deposit(request: Request) -> JSONResponse:
    try:
        txn = sandbox_of(request).complete_deposit(request.path_params["deposit_id"])
    except KeyError:
        raise ApiError(404, "Deposit not found") from None
    except ValueError as exc:
        raise ApiError(409, str(exc)) from None
    return ok(transaction_json(txn))


async def wait_idle(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    body = await json_body(request)
    timeout = _number(body, "timeout") if "timeout" in body else 5.0
    try:
        await sandbox.wait_idle(timeout)
    except TimeoutError as exc:
        raise ApiError(504, str(exc)) from None
    return ok({"pendingTasks": sandbox.pending_tasks})


async def state(request: Request) -> JSONResponse:
    return ok(snapshot(sandbox_of(request)))


async def webhooks(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    return ok(
        {
            "deliveries": [_delivery(d) for d in sandbox.webhook_deliveries],
            "dropped": [_delivery(d) for d in sandbox.dropped_webhooks],
        }
    )


async def requests(request: Request) -> JSONResponse:
    return ok([vars(r) for r in sandbox_of(request).requests])


def _delivery(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "event": delivery.event,
        "url": delivery.url,
        "body": delivery.body.decode(),
        "signature": delivery.signature,
        "statusCode": delivery.status_code,
        "error": delivery.error,
        "attempt": delivery.attempt,
        "at": delivery.at,
    }


def _faults(sandbox: Sandbox) -> dict[str, Any]:
    faults, hooks = sandbox.faults, sandbox.webhooks
    return {
        "failNext": [
            {
                "remaining": r.remaining,
                "status": r.status,
                "pathPrefix": r.path_prefix,
                "after": r.after,
            }
            for r in faults.rules
        ],
        "failUntil": faults.outage_until or None,
        "failStatus": faults.outage_status,
        "rateLimitedUntil": faults.storm_until or None,
        "dropWebhooks": hooks.drop_count,
        "duplicateWebhooks": hooks.duplicate_count,
        "delayWebhooks": hooks.delay,
        "failOrders": list(sandbox.shop.order_failures),
    }


def snapshot(sandbox: Sandbox) -> dict[str, Any]:
    """Everything the sandbox knows, for demos and out-of-process tests."""
    shop = sandbox.shop
    esims = [shop.esim(iccid) for iccid in shop.esims]  # refreshed to the current time
    return {
        "now": iso(sandbox.now()),
        "clockOffset": sandbox.clock.offset,
        "balance": sandbox.balance_cents,
        "balanceFormatted": money(sandbox.balance_cents),
        "webhook": {"url": sandbox.webhook_url, "events": sandbox.webhooks.events},
        "faults": _faults(sandbox),
        "pendingTasks": sandbox.pending_tasks,
        "catalog": {
            "packages": len(sandbox.catalog.packages),
            "topupPackages": len(sandbox.catalog.topups),
            "countries": len(sandbox.catalog.countries),
        },
        "orders": [order_json(o, shop.order_esim(o)) for o in shop.orders.values()],
        "esims": [esim_json(e) for e in esims],
        "topups": [topup_json(t) for t in shop.topups.values()],
        "transactions": [transaction_json(t) for t in sandbox.transactions],
        "deposits": [vars(d) for d in shop.deposits.values()],
        "requestCount": len(sandbox.requests),
        "webhookDeliveries": [_delivery(d) for d in sandbox.webhook_deliveries],
        "droppedWebhooks": [_delivery(d) for d in sandbox.dropped_webhooks],
    }


routes = [
    Route("/state", state, methods=["GET"]),
    Route("/requests", requests, methods=["GET"]),
    Route("/webhooks", webhooks, methods=["GET"]),
    Route("/faults", set_faults, methods=["POST"]),
    Route("/faults", clear_faults, methods=["DELETE"]),
    Route("/advance", advance, methods=["POST"]),
    Route("/balance", set_balance, methods=["POST"]),
    Route("/esims/{iccid:str}/install", install, methods=["POST"]),
    Route("/esims/{iccid:str}/consume", consume, methods=["POST"]),
    Route("/deposits/{deposit_id:str}/complete", complete_deposit, methods=["POST"]),
    Route("/wait-idle", wait_idle, methods=["POST"]),
]
