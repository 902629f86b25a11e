"""``create_app``: the simulated reseller API and its ``/_sandbox`` control endpoints."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount

from . import _admin, _api_account, _api_shop
from ._config import SandboxConfig
from ._errors import ApiError, error_body
from ._faults import API_PREFIX
from ._gate import ApiGate
from ._sandbox import Sandbox

__all__ = ["create_app"]

HTTP_MESSAGES = {404: "Not found", 405: "Method not allowed"}


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = HTTP_MESSAGES.get(exc.status_code, exc.detail)
    return JSONResponse(error_body(message), status_code=exc.status_code, headers=exc.headers)


def create_app(config: SandboxConfig | None = None) -> Starlette:
    """A Starlette app serving a fresh ``Sandbox``; ``app.state.sandbox`` is that sandbox.

    Needs no lifespan events: provisioning and webhook tasks start lazily on the running loop.
    """
    sandbox = Sandbox(config)
    app = Starlette(
        routes=[
            Mount(API_PREFIX, routes=[*_api_account.routes, *_api_shop.routes]),
            Mount(_admin.PREFIX, routes=_admin.routes),
        ],
        middleware=[Middleware(ApiGate, sandbox=sandbox)],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
    )
    app.state.sandbox = sandbox
    return app
