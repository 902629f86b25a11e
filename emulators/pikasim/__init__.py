"""A simulated PikaSim reseller API (Starlette), for tests, demos and key-less local runs.

``create_app(SandboxConfig(...))`` returns the app; ``app.state.sandbox`` is the ``Sandbox``
with its inspectable state (orders, eSIMs, wallet, recorded requests and webhook deliveries)
and fault knobs. The same knobs are served under ``/_sandbox/...``. ``python -m emulators.pikasim``
serves it standalone.
"""

from __future__ import annotations

from ._app import create_app
from ._config import SandboxConfig
from ._errors import ApiError
from ._esims import Esim, EsimStateError
from ._faults import API_PREFIX
from ._models import (
    Deposit,
    Order,
    RecordedRequest,
    Topup,
    Transaction,
    WebhookDelivery,
)
from ._packages import Package
from ._sandbox import Sandbox
from ._webhooks import EVENTS as WEBHOOK_EVENTS

__all__ = [
    "API_PREFIX",
    "WEBHOOK_EVENTS",
    "ApiError",
    "Deposit",
    "Esim",
    "EsimStateError",
    "Order",
    "Package",
    "RecordedRequest",
    "Sandbox",
    "SandboxConfig",
    "Topup",
    "Transaction",
    "WebhookDelivery",
    "create_app",
]
