"""Request parsing and response helpers for the sandbox routes."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from ._errors import ApiError
from ._sandbox import Sandbox

__all__ = [
    "choice_param",
    "float_param",
    "int_param",
    "json_body",
    "ok",
    "optional_str",
    "page_params",
    "sandbox_of",
]


def sandbox_of(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


def ok(data: Any = None, status: int = 200, **top: Any) -> JSONResponse:
    body: dict[str, Any] = {"success": True}
    if data is not None:
        body["data"] = data
    body.update(top)
    return JSONResponse(body, status_code=status)


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "Invalid JSON body", code="INVALID_JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "JSON body must be an object", code="INVALID_JSON")
    return body


def optional_str(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise ApiError(400, f"{name} is required", code="VALIDATION_ERROR")
        return None
    if not isinstance(value, str) or len(value) > 200:
        raise ApiError(400, f"{name} must be a string", code="VALIDATION_ERROR")
    return value


def int_param(
    request: Request, name: str, default: int | None, low: int = 1, high: int | None = None
) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer", code="VALIDATION_ERROR") from None
    if value < low or (high is not None and value > high):
        limit = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ApiError(400, f"{name} must be {limit}", code="VALIDATION_ERROR")
    return value


def page_params(request: Request, default_limit: int, max_limit: int) -> tuple[int, int]:
    page = int_param(request, "page", 1) or 1
    limit = int_param(request, "limit", default_limit, 1, max_limit) or default_limit
    return page, limit


def float_param(request: Request, name: str) -> float | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be a number", code="VALIDATION_ERROR") from None
    if value < 0 or value != value:
        raise ApiError(400, f"{name} must be a positive number", code="VALIDATION_ERROR")
    return value


def choice_param(request: Request, name: str, choices: tuple[str, ...], default: str) -> str:
    value = (request.query_params.get(name) or default).lower()
    if value not in choices:
        allowed = ", ".join(choices)
        raise ApiError(400, f"{name} must be one of: {allowed}", code="VALIDATION_ERROR")
    return value
