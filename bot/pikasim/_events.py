"""Typed views of deposits, webhook settings and the webhook events the reseller sends."""

# ruff: noqa: RUF009  (alias & co. return dataclasses.field(...), not a shared default value)

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import (
    Any,
    Final,
)

from bot.pikasim._errors import MalformedResponse
from bot.pikasim._models import Esim
from bot.pikasim._parsing import (
    ConversionError,
    Timestamp,
    alias,
    describe_validation_error,
    from_json,
    list_alias,
    required,
    unknown_keys,
)

__all__ = [
    "EVENT_ESIM_PROVISIONED",
    "EVENT_ORDER_FAILED",
    "EVENT_TOPUP_COMPLETED",
    "EVENT_WEBHOOK_TEST",
    "Deposit",
    "WebhookEvent",
    "WebhookSettings",
    "WebhookTestResult",
    "parse_webhook_event",
]

EVENT_ESIM_PROVISIONED: Final = "esim.provisioned"
EVENT_TOPUP_COMPLETED: Final = "esim.topup.completed"
EVENT_ORDER_FAILED: Final = "order.failed"
EVENT_WEBHOOK_TEST: Final = "webhook.test"


# --- deposits and webhook settings ---------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Deposit:
    """A checkout to add funds: Stripe session (``session_id``) or BTCPay invoice
    (``invoice_id``)."""

    provider: str = ""
    checkout_url: str = required("checkoutUrl", "checkout_url", "url")
    session_id: str | None = alias("sessionId", "session_id")
    invoice_id: str | None = alias("invoiceId", "invoice_id")
    amount_cents: int | None = alias("amount", "amount_cents")

    @property
    def id(self) -> str | None:
        return self.session_id or self.invoice_id


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookSettings:
    webhook_url: str | None = alias("webhookUrl", "webhook_url", "url")
    webhook_events: list[str] = list_alias("webhookEvents", "webhook_events", "events")


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookTestResult:
    """Answer of ``POST /webhook/test``; unknown fields are kept (``model_extra``) and readable
    with ``result["field"]`` / ``result.get("field")``."""

    delivered: bool | None = None
    status_code: int | None = alias("statusCode", "status_code")
    message: str | None = None
    model_extra: dict[str, Any] = unknown_keys()

    def get(self, key: str, default: Any = None) -> Any:
        return self.as_dict().get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self.as_dict()[key]

    def as_dict(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "delivered": self.delivered,
            "statusCode": self.status_code,
            "message": self.message,
        }
        values.update(self.model_extra)
        return values


# --- webhook events ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookEvent:
    """A reseller webhook, flattened: the fields of ``data`` that matter, typed; ``data`` raw."""

    event: str
    timestamp: Timestamp = None
    data: dict[str, Any] = field(default_factory=dict)
    order_id: str | None = alias("orderId", "order_id")
    external_order_id: str | None = alias("externalOrderId", "external_order_id")
    package_code: str | None = alias("packageCode", "package_code")
    esim: Esim | None = None
    iccid: str | None = None
    topup_id: str | None = alias("topupId", "topup_id")
    reason: str | None = alias("reason", "failureReason")
    refund_cents: int | None = alias("refundAmount", "refund_cents")
    message: str | None = None

    @property
    def is_test(self) -> bool:
        return self.event == EVENT_WEBHOOK_TEST


_REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    EVENT_ESIM_PROVISIONED: ("order_id", "esim"),
    EVENT_TOPUP_COMPLETED: ("iccid",),
    EVENT_ORDER_FAILED: ("order_id",),
}


def parse_webhook_event(payload: Mapping[str, Any]) -> WebhookEvent:
    """Validate and flatten a webhook payload (the parsed JSON body).

    Raises :class:`MalformedResponse` when the payload is not an object, has no ``event``
    name, a ``data`` that is not an object, wrongly typed fields, or lacks what its event needs
    (``esim.provisioned``: orderId and esim.iccid; ``esim.topup.completed``: iccid;
    ``order.failed``: orderId). Unknown event names are accepted for forward compatibility.
    """
    if not isinstance(payload, Mapping):
        raise MalformedResponse(f"webhook payload is not a JSON object: {type(payload).__name__}")
    event = payload.get("event")
    if not isinstance(event, str) or not event.strip():
        raise MalformedResponse("webhook payload has no event name")
    data = payload.get("data")
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise MalformedResponse(f"webhook {event}: data is not an object")
    flat: dict[str, Any] = {
        key: value for key, value in data.items() if key not in ("event", "timestamp", "data")
    }
    flat.update(event=event, timestamp=payload.get("timestamp"), data=dict(data))
    try:
        parsed = from_json(WebhookEvent, flat)
    except ConversionError as exc:
        raise MalformedResponse(f"webhook {event}: {describe_validation_error(exc)}") from exc
    if parsed.iccid is None and parsed.esim is not None:
        parsed = replace(parsed, iccid=parsed.esim.iccid)
    missing = [name for name in _REQUIRED.get(event, ()) if not getattr(parsed, name)]
    if missing:
        raise MalformedResponse(f"webhook {event}: missing {', '.join(missing)}")
    return parsed
