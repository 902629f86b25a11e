"""Package, order and eSIM endpoints."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ._catalog import PackageQuery
from ._errors import ApiError
from ._http import (
    choice_param,
    float_param,
    int_param,
    json_body,
    ok,
    optional_str,
    page_params,
    sandbox_of,
)
from ._util import money, paginate
from ._views import esim_json, order_json, topup_json, usage_json

__all__ = ["routes"]

ORDER_STATUSES = ("pending", "processing", "completed", "failed")


async def list_packages(request: Request) -> JSONResponse:
    page, limit = page_params(request, 50, 200)
    query = PackageQuery(
        country=request.query_params.get("country") or None,
        region=request.query_params.get("region") or None,
        duration=int_param(request, "duration", None),
        min_data=float_param(request, "minData"),
        max_data=float_param(request, "maxData"),
        privacy=choice_param(request, "privacy", ("max", "standard", "all"), "all"),
        type=choice_param(request, "type", ("data", "phone", "topup", "all"), "data"),
    )
    found = sandbox_of(request).catalog.search(query)
    chunk, pagination = paginate(found, page, limit)
    return ok({"packages": [p.to_json() for p in chunk], "pagination": pagination})


async def get_package(request: Request) -> JSONResponse:
    code = request.path_params["code"]
    catalog = sandbox_of(request).catalog
    package = catalog.get(code)
    if package is None:
        replacement = catalog.retired.get(code)
        if replacement is not None:
            raise ApiError(
                404, "Package has been retired", code="PACKAGE_RETIRED", replacement=replacement
            )
        raise ApiError(404, "Package not found", code="PACKAGE_NOT_FOUND")
    return ok(package.to_json())


async def create_order(request: Request) -> JSONResponse:
    body = await json_body(request)
    code = optional_str(body, "packageCode", required=True) or ""
    external_id = optional_str(body, "externalOrderId")
    shop = sandbox_of(request).shop
    order, duplicate = shop.create_order(code, external_id)
    if duplicate:
        data = order_json(order, shop.order_esim(order))
        message = "Duplicate externalOrderId: returning the original order."
        return ok({**data, "duplicate": True, "message": message}, duplicate=True)
    return ok(
        {
            "orderId": order.order_id,
            "externalOrderId": order.external_order_id,
            "status": order.status,
            "packageCode": order.package_code,
            "price": order.price,
            "priceFormatted": money(order.price),
            "message": "Order created. eSIM details will be sent via webhook.",
        },
        status=201,
    )


async def list_orders(request: Request) -> JSONResponse:
    page, limit = page_params(request, 20, 100)
    status = choice_param(request, "status", ("", *ORDER_STATUSES), "")
    shop = sandbox_of(request).shop
    found = [o for o in reversed(shop.orders.values()) if status in ("", o.status)]
    chunk, pagination = paginate(found, page, limit)
    orders = [order_json(o, shop.order_esim(o)) for o in chunk]
    return ok({"orders": orders, "pagination": pagination})


async def get_order(request: Request) -> JSONResponse:
    shop = sandbox_of(request).shop
    order = shop.orders.get(request.path_params["order_id"])
    if order is None:
        raise ApiError(404, "Order not found")
    return ok(order_json(order, shop.order_esim(order)))


async def get_esim(request: Request) -> JSONResponse:
    return ok(esim_json(sandbox_of(request).shop.esim(request.path_params["iccid"])))


async def get_usage(request: Request) -> JSONResponse:
    return ok(usage_json(sandbox_of(request).shop.esim(request.path_params["iccid"])))


async def topup_options(request: Request) -> JSONResponse:
    iccid = request.path_params["iccid"]
    options = sandbox_of(request).shop.topup_options(iccid)
    packages = [
        {
            "packageCode": p.code,
            "name": p.name,
            "volumeGB": p.to_json()["volumeGB"],
            "volume": p.volume,
            "duration": p.duration,
            "price": p.price,
            "priceFormatted": money(p.price),
        }
        for p in options
    ]
    return ok({"iccid": iccid, "topupPackages": packages})


async def create_topup(request: Request) -> JSONResponse:
    body = await json_body(request)
    code = optional_str(body, "packageCode", required=True) or ""
    external_id = optional_str(body, "externalOrderId")
    iccid = request.path_params["iccid"]
    topup, duplicate = sandbox_of(request).shop.create_topup(iccid, code, external_id)
    if duplicate:
        return ok({**topup_json(topup), "duplicate": True}, duplicate=True)
    return ok(topup_json(topup), status=201)


async def cancel_esim(request: Request) -> JSONResponse:
    return ok(sandbox_of(request).shop.cancel(request.path_params["iccid"]))


routes = [
    Route("/packages", list_packages, methods=["GET"]),
    Route("/packages/{code:str}", get_package, methods=["GET"]),
    Route("/orders", create_order, methods=["POST"]),
    Route("/orders", list_orders, methods=["GET"]),
    Route("/orders/{order_id:str}", get_order, methods=["GET"]),
    Route("/esims/{iccid:str}", get_esim, methods=["GET"]),
    Route("/esims/{iccid:str}/usage", get_usage, methods=["GET"]),
    Route("/esims/{iccid:str}/topup-options", topup_options, methods=["GET"]),
    Route("/esims/{iccid:str}/topup", create_topup, methods=["POST"]),
    Route("/esims/{iccid:str}/cancel", cancel_esim, methods=["POST"]),
]
