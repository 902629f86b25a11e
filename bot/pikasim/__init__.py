"""Client for the PikaSim reseller API.

::

    budget = RequestBudget(limit=60, window=60.0)  # one per account, shared
    client = PikaSimClient(httpx.AsyncClient(), api_key, base_url, budget=budget)
    order = await client.create_order("JP_7D_1GB", external_order_id="tg-123-1")

Money is integer US cents everywhere (fields ending in ``_cents``). Every error is a
:class:`PikaSimError` with a stable ``kind`` for user-facing text.
"""

from bot.pikasim._budget import Priority, RequestBudget, Slot
from bot.pikasim._client import PikaSimClient
from bot.pikasim._errors import (
    BadRequest,
    CurrentStatus,
    Forbidden,
    InsufficientBalance,
    MalformedResponse,
    NotCancellable,
    NotFound,
    PackageRetired,
    PikaSimError,
    RateLimited,
    ServerError,
    Unauthorized,
    Unavailable,
)
from bot.pikasim._events import (
    EVENT_ESIM_PROVISIONED,
    EVENT_ORDER_FAILED,
    EVENT_TOPUP_COMPLETED,
    EVENT_WEBHOOK_TEST,
    Deposit,
    WebhookEvent,
    WebhookSettings,
    WebhookTestResult,
    parse_webhook_event,
)
from bot.pikasim._models import (
    GIB,
    MIB,
    ORDER_FINAL_STATUSES,
    Account,
    Balance,
    CancelResult,
    CountryNetworks,
    Esim,
    EsimPackage,
    Operator,
    Order,
    OrderPage,
    Package,
    PackagePage,
    Pagination,
    Topup,
    TopupOption,
    Transaction,
    TransactionPage,
    Usage,
)
from bot.pikasim.signing import js_stringify, sign, verify_signature

__all__ = [
    "EVENT_ESIM_PROVISIONED",
    "EVENT_ORDER_FAILED",
    "EVENT_TOPUP_COMPLETED",
    "EVENT_WEBHOOK_TEST",
    "GIB",
    "MIB",
    "ORDER_FINAL_STATUSES",
    "Account",
    "BadRequest",
    "Balance",
    "CancelResult",
    "CountryNetworks",
    "CurrentStatus",
    "Deposit",
    "Esim",
    "EsimPackage",
    "Forbidden",
    "InsufficientBalance",
    "MalformedResponse",
    "NotCancellable",
    "NotFound",
    "Operator",
    "Order",
    "OrderPage",
    "Package",
    "PackagePage",
    "PackageRetired",
    "Pagination",
    "PikaSimClient",
    "PikaSimError",
    "Priority",
    "RateLimited",
    "RequestBudget",
    "ServerError",
    "Slot",
    "Topup",
    "TopupOption",
    "Transaction",
    "TransactionPage",
    "Unauthorized",
    "Unavailable",
    "Usage",
    "WebhookEvent",
    "WebhookSettings",
    "WebhookTestResult",
    "js_stringify",
    "parse_webhook_event",
    "sign",
    "verify_signature",
]
