"""Plain records the sandbox keeps; all are inspectable from tests."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Deposit",
    "Order",
    "RecordedRequest",
    "Topup",
    "Transaction",
    "WebhookDelivery",
]


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: str
    status: int
    at: float  # wall-clock epoch seconds
    api_key_ok: bool


@dataclass
class WebhookDelivery:
    event: str
    url: str
    body: bytes
    signature: str
    status_code: int | None = None
    at: float = 0.0  # wall-clock epoch seconds of the attempt
    error: str | None = None
    attempt: int = 1

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass
class Order:
    order_id: str
    external_order_id: str | None
    package_code: str
    price: int
    created_at: float
    status: str = "processing"  # pending | processing | completed | failed
    completed_at: float | None = None
    failure_reason: str | None = None
    iccid: str | None = None


@dataclass
class Topup:
    topup_id: str
    iccid: str
    package_code: str
    external_order_id: str | None
    price: int
    created_at: float
    status: str = "processing"  # processing | completed | failed
    completed_at: float | None = None


@dataclass
class Transaction:
    id: str
    type: str  # deposit | order | topup | refund | adjustment
    amount: int  # signed cents
    balance_after: int
    description: str
    order_id: str | None
    created_at: float


@dataclass
class Deposit:
    id: str  # Stripe session id or BTCPay invoice id
    method: str  # stripe | btcpay
    amount: int
    checkout_url: str
    created_at: float
    completed: bool = False
