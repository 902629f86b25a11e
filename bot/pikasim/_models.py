"""Typed views of the reseller API's answers.

Every model ignores fields it does not know, accepts ``null`` or a missing value for anything
optional, and accepts the variants seen in the wild (``esims[0]`` for ``esim``, ``data.package``
for a package, ...). Money is always integer US cents, in fields ending in ``_cents``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from bot.pikasim._errors import MalformedResponse

__all__ = [
    "EVENT_ESIM_PROVISIONED",
    "EVENT_ORDER_FAILED",
    "EVENT_TOPUP_COMPLETED",
    "EVENT_WEBHOOK_TEST",
    "ORDER_FINAL_STATUSES",
    "Account",
    "Balance",
    "CancelResult",
    "CountryNetworks",
    "Deposit",
    "Esim",
    "EsimPackage",
    "Operator",
    "Order",
    "OrderPage",
    "Package",
    "PackagePage",
    "Pagination",
    "Topup",
    "TopupOption",
    "Transaction",
    "TransactionPage",
    "Usage",
    "WebhookEvent",
    "WebhookSettings",
    "WebhookTestResult",
    "parse_webhook_event",
]

EVENT_ESIM_PROVISIONED: Final = "esim.provisioned"
EVENT_TOPUP_COMPLETED: Final = "esim.topup.completed"
EVENT_ORDER_FAILED: Final = "order.failed"
EVENT_WEBHOOK_TEST: Final = "webhook.test"

ORDER_FINAL_STATUSES: Final = frozenset({"completed", "failed"})


# --- lenient field types -------------------------------------------------------------------


def _none_to_empty_str(value: Any) -> Any:
    return "" if value is None else value


def _none_to_false(value: Any) -> Any:
    return False if value is None else value


def _lenient_datetime(value: Any) -> Any:
    """ISO text or epoch numbers become datetimes; empty or unparseable text becomes None."""
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = value / 1000 if value > 1e11 else value  # milliseconds, as JavaScript sends
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def _topup_flag(value: Any) -> Any:
    """``supportTopUpType``: documented as a boolean; some feeds send 0/1/2 (0 = none)."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value > 0
    if isinstance(value, str):
        return value.strip().lower() in {"true", "yes", "1", "2"}
    return value


NullableStr = Annotated[str, BeforeValidator(_none_to_empty_str)]
Flag = Annotated[bool, BeforeValidator(_none_to_false)]
Timestamp = Annotated[datetime | None, BeforeValidator(_lenient_datetime)]


def _alias(*names: str, default: Any = None) -> Any:
    return Field(default, validation_alias=AliasChoices(*names))


def _required(*names: str) -> Any:
    return Field(validation_alias=AliasChoices(*names))


def _list_alias(*names: str) -> Any:
    return Field(default_factory=list, validation_alias=AliasChoices(*names))


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
        coerce_numbers_to_str=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _null_means_missing(cls, data: Any) -> Any:
        """``null`` is treated like a missing field, so every default applies to it."""
        if isinstance(data, Mapping):
            return {key: value for key, value in data.items() if value is not None}
        return data


# --- account -------------------------------------------------------------------------------


class Pagination(_Model):
    page: int = 1
    limit: int = 0
    total: int = 0
    pages: int = 0


class Account(_Model):
    company_name: str | None = _alias("companyName", "company_name", "name")
    status: str | None = None
    balance_cents: int = _alias("balance", "balance_cents", default=0)
    balance_formatted: str | None = _alias("balanceFormatted", "balance_formatted")
    total_orders: int | None = _alias("totalOrders", "total_orders")

    @property
    def balance(self) -> int:
        return self.balance_cents


class Balance(_Model):
    balance_cents: int = _required("balance", "balance_cents")
    balance_formatted: str | None = _alias("balanceFormatted", "balance_formatted")
    available_credit_cents: int = Field(
        0,
        validation_alias=AliasChoices("availableCredit", "available_credit_cents", "credit"),
    )
    available_credit_formatted: str | None = _alias(
        "availableCreditFormatted", "available_credit_formatted"
    )
    currency: str = "USD"

    @property
    def balance(self) -> int:
        return self.balance_cents

    @property
    def available_credit(self) -> int:
        return self.available_credit_cents


class Transaction(_Model):
    id: str = _alias("id", "_id", "transactionId", default="")
    type: str | None = None
    amount_cents: int = _alias("amount", "amount_cents", default=0)
    balance_after_cents: int | None = _alias("balanceAfter", "balance_after_cents")
    description: str | None = None
    order_id: str | None = _alias("orderId", "order_id")
    created_at: Timestamp = _alias("createdAt", "created_at")


class TransactionPage(_Model):
    transactions: list[Transaction] = _list_alias("transactions", "items")
    pagination: Pagination = Field(default_factory=Pagination)


# --- packages ------------------------------------------------------------------------------


class Operator(_Model):
    name: NullableStr = _alias("operatorName", "name", default="")
    network_type: str | None = _alias("networkType", "network_type")


class CountryNetworks(_Model):
    """One entry of ``locationNetworkList``: a country and its operators."""

    name: NullableStr = _alias("locationName", "name", default="")
    code: str | None = _alias("locationCode", "code")
    operators: list[Operator] = _list_alias("operatorList", "operators")


class Package(_Model):
    package_code: str = _required("packageCode", "package_code", "code")
    name: NullableStr = ""
    slug: str | None = None
    location: str | None = None
    location_code: str | None = _alias("locationCode", "location_code")
    region: str | None = None
    is_global: Flag = _alias("isGlobalPackage", "isGlobal", "is_global", default=False)
    countries: list[CountryNetworks] = _list_alias("locationNetworkList", "countries")
    volume_bytes: int | None = _alias("volume", "volume_bytes")
    volume_gb: float | None = _alias("volumeGB", "volumeGb", "volume_gb")
    data_type: int | None = _alias("dataType", "data_type")
    duration_days: int | None = _alias("duration", "durationDays", "duration_days")
    duration_unit: str | None = _alias("durationUnit", "duration_unit")
    speed: str | None = None
    price_cents: int = _required("price", "price_cents")
    price_formatted: str | None = _alias("priceFormatted", "price_formatted")
    suggested_retail_price_cents: int | None = _alias(
        "suggestedRetailPrice", "suggested_retail_price_cents"
    )
    ip_export: str | None = _alias("ipExport", "ip_export")
    max_privacy: bool | None = _alias("maxPrivacy", "max_privacy")
    sms_status: int | None = _alias("smsStatus", "sms_status")
    supports_topup: Annotated[bool, BeforeValidator(_topup_flag)] = _alias(
        "supportTopUpType", "supportsTopup", "supports_topup", default=False
    )
    active_type: int | None = _alias("activeType", "active_type")
    description: str | None = None
    plan_type: str | None = _alias("planType", "plan_type")
    has_voice: bool | None = _alias("hasVoice", "has_voice")
    has_sms: bool | None = _alias("hasSms", "has_sms")
    voice_minutes: int | None = _alias("voiceMinutes", "voice_minutes")
    sms_count: int | None = _alias("smsCount", "sms_count")
    phone_number_included: bool | None = _alias("phoneNumberIncluded", "phone_number_included")
    non_refundable: bool | None = _alias("nonRefundable", "non_refundable")
    requires_activation_date: bool | None = _alias(
        "requiresActivationDate", "requires_activation_date"
    )

    @property
    def is_unlimited(self) -> bool:
        """Daily-reset plan (``dataType`` 2); the reseller API normally sells none."""
        return self.data_type == 2

    @property
    def country_names(self) -> list[str]:
        return [country.name for country in self.countries if country.name]


class PackagePage(_Model):
    packages: list[Package] = _list_alias("packages", "items")
    pagination: Pagination = Field(default_factory=Pagination)


# --- eSIMs ---------------------------------------------------------------------------------


class EsimPackage(_Model):
    """An entry of an eSIM's ``packageList`` (the plan and its top-ups)."""

    package_code: str | None = _alias("packageCode", "package_code", "code")
    package_name: str | None = _alias("packageName", "package_name", "name")
    volume_bytes: int | None = _alias("volume", "volume_bytes")
    volume_gb: float | None = _alias("volumeGB", "volumeGb", "volume_gb")
    duration_days: int | None = _alias("duration", "duration_days")
    created_at: Timestamp = _alias("createTime", "createdAt", "created_at")


class Esim(_Model):
    iccid: str
    order_id: str | None = _alias("orderId", "order_id")
    external_order_id: str | None = _alias("externalOrderId", "external_order_id")
    package_code: str | None = _alias("packageCode", "package_code")
    package_name: str | None = _alias("packageName", "package_name")
    qr_code_url: str | None = _alias("qrCodeUrl", "qr_code_url", "qrCode")
    activation_code: str | None = _alias("activationCode", "activation_code", "ac")
    lpa_url: str | None = _alias("lpaUrl", "lpa_url")
    short_url: str | None = _alias("shortUrl", "short_url")
    status: str | None = _alias("status", "esimStatus")
    smdp_status: str | None = _alias("smdpStatus", "smdp_status")
    total_data_bytes: int | None = _alias("totalData", "totalVolume", "total_data_bytes")
    used_data_bytes: int | None = _alias("usedData", "orderUsage", "used_data_bytes")
    remaining_data_bytes: int | None = _alias("remainingData", "remaining_data_bytes")
    expire_time: Timestamp = _alias("expireTime", "expiredTime", "expire_time")
    apn: str | None = None
    imsi: str | None = None
    msisdn: str | None = None
    package_list: list[EsimPackage] = _list_alias("packageList", "package_list")
    purchased_at: Timestamp = _alias("purchasedAt", "purchased_at")
    created_at: Timestamp = _alias("createdAt", "created_at")

    @property
    def smdp_address(self) -> str | None:
        """The SM-DP+ address inside ``LPA:1$<address>$<matching id>``."""
        parts = _lpa_parts(self.activation_code)
        return parts[0] if parts else None

    @property
    def matching_id(self) -> str | None:
        parts = _lpa_parts(self.activation_code)
        return parts[1] if parts else None


def _lpa_parts(code: str | None) -> tuple[str, str] | None:
    if not code:
        return None
    pieces = code.strip().split("$")
    if len(pieces) < 3 or not pieces[0].upper().startswith("LPA:"):
        return None
    return pieces[1], pieces[2]


class Usage(_Model):
    iccid: str
    status: str | None = None
    smdp_status: str | None = _alias("smdpStatus", "smdp_status")
    status_description: str | None = _alias("statusDescription", "status_description")
    total_data_bytes: int | None = _alias("totalData", "total_data_bytes")
    used_data_bytes: int | None = _alias("usedData", "used_data_bytes")
    remaining_data_bytes: int | None = _alias("remainingData", "remaining_data_bytes")
    total_data_gb: float | None = _alias("totalDataGB", "total_data_gb")
    used_data_gb: float | None = _alias("usedDataGB", "used_data_gb")
    remaining_data_gb: float | None = _alias("remainingDataGB", "remaining_data_gb")
    total_data_mb: float | None = _alias("totalDataMB", "total_data_mb")
    used_data_mb: float | None = _alias("usedDataMB", "used_data_mb")
    remaining_data_mb: float | None = _alias("remainingDataMB", "remaining_data_mb")
    usage_percent: float | None = _alias("usagePercent", "usage_percent")
    expire_time: Timestamp = _alias("expireTime", "expire_time")
    create_time: Timestamp = _alias("createTime", "createdAt", "create_time")
    package_list: list[EsimPackage] = _list_alias("packageList", "package_list")


class TopupOption(_Model):
    package_code: str = _required("packageCode", "package_code", "code")
    name: NullableStr = _alias("name", "packageName", default="")
    volume_bytes: int | None = _alias("volume", "volume_bytes")
    volume_gb: float | None = _alias("volumeGB", "volumeGb", "volume_gb")
    duration_days: int | None = _alias("duration", "duration_days")
    price_cents: int = _required("price", "price_cents")
    price_formatted: str | None = _alias("priceFormatted", "price_formatted")
    description: str | None = None


# --- orders --------------------------------------------------------------------------------


def _first_esim(data: Any) -> Any:
    """Accept ``esims: [...]`` for ``esim`` (and an empty list for "not yet")."""
    if isinstance(data, Mapping) and data.get("esim") is None:
        esims = data.get("esims")
        if isinstance(esims, list):
            data = dict(data)
            data["esim"] = esims[0] if esims else None
    return data


class Order(_Model):
    order_id: str = _required("orderId", "order_id", "id", "_id")
    external_order_id: str | None = _alias("externalOrderId", "external_order_id")
    status: str = "pending"
    package_code: str | None = _alias("packageCode", "package_code")
    price_cents: int | None = _alias("price", "price_cents")
    price_formatted: str | None = _alias("priceFormatted", "price_formatted")
    created_at: Timestamp = _alias("createdAt", "created_at")
    completed_at: Timestamp = _alias("completedAt", "completed_at")
    failure_reason: str | None = _alias("failureReason", "failure_reason", "reason")
    message: str | None = None
    esim: Esim | None = None
    duplicate: Flag = False

    @model_validator(mode="before")
    @classmethod
    def _variants(cls, data: Any) -> Any:
        return _first_esim(data)

    @property
    def is_completed(self) -> bool:
        return self.status == "completed"

    @property
    def is_failed(self) -> bool:
        return self.status == "failed"

    @property
    def is_final(self) -> bool:
        return self.status in ORDER_FINAL_STATUSES


class OrderPage(_Model):
    orders: list[Order] = _list_alias("orders", "items")
    pagination: Pagination = Field(default_factory=Pagination)


class Topup(_Model):
    topup_id: str = _required("topupId", "topup_id", "id")
    iccid: str | None = None
    package_code: str | None = _alias("packageCode", "package_code")
    external_order_id: str | None = _alias("externalOrderId", "external_order_id")
    status: str | None = None
    price_cents: int | None = _alias("price", "price_cents")
    price_formatted: str | None = _alias("priceFormatted", "price_formatted")
    message: str | None = None
    duplicate: Flag = False


class CancelResult(_Model):
    iccid: str | None = None
    order_id: str | None = _alias("orderId", "order_id")
    refund_cents: int = _alias("refundAmount", "refund", "refund_cents", default=0)
    refund_formatted: str | None = _alias("refundFormatted", "refund_formatted")
    new_balance_cents: int | None = _alias("newBalance", "new_balance_cents")
    new_balance_formatted: str | None = _alias("newBalanceFormatted", "new_balance_formatted")
    message: str | None = None


# --- deposits and webhook settings ---------------------------------------------------------


class Deposit(_Model):
    """A checkout to add funds: Stripe session (``session_id``) or BTCPay invoice
    (``invoice_id``)."""

    provider: str = ""
    checkout_url: str = _required("checkoutUrl", "checkout_url", "url")
    session_id: str | None = _alias("sessionId", "session_id")
    invoice_id: str | None = _alias("invoiceId", "invoice_id")
    amount_cents: int | None = _alias("amount", "amount_cents")

    @property
    def id(self) -> str | None:
        return self.session_id or self.invoice_id


class WebhookSettings(_Model):
    webhook_url: str | None = _alias("webhookUrl", "webhook_url", "url")
    webhook_events: list[str] = _list_alias("webhookEvents", "webhook_events", "events")


class WebhookTestResult(_Model):
    """Answer of ``POST /webhook/test``; unknown fields are kept (``model_extra``) and readable
    with ``result["field"]`` / ``result.get("field")``."""

    model_config = ConfigDict(extra="allow")

    delivered: bool | None = None
    status_code: int | None = _alias("statusCode", "status_code")
    message: str | None = None

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
        values.update(self.model_extra or {})
        return values


# --- webhook events ------------------------------------------------------------------------


class WebhookEvent(_Model):
    """A reseller webhook, flattened: the fields of ``data`` that matter, typed; ``data`` raw."""

    event: str
    timestamp: Timestamp = None
    data: dict[str, Any] = Field(default_factory=dict)
    order_id: str | None = _alias("orderId", "order_id")
    external_order_id: str | None = _alias("externalOrderId", "external_order_id")
    package_code: str | None = _alias("packageCode", "package_code")
    esim: Esim | None = None
    iccid: str | None = None
    topup_id: str | None = _alias("topupId", "topup_id")
    reason: str | None = _alias("reason", "failureReason")
    refund_cents: int | None = _alias("refundAmount", "refund_cents")
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
    fields: dict[str, Any] = {
        key: value for key, value in data.items() if key not in ("event", "timestamp", "data")
    }
    fields.update(event=event, timestamp=payload.get("timestamp"), data=dict(data))
    try:
        parsed = WebhookEvent.model_validate(fields)
    except ValidationError as exc:
        raise MalformedResponse(f"webhook {event}: {describe_validation_error(exc)}") from exc
    if parsed.iccid is None and parsed.esim is not None:
        parsed = parsed.model_copy(update={"iccid": parsed.esim.iccid})
    missing = [name for name in _REQUIRED.get(event, ()) if not getattr(parsed, name)]
    if missing:
        raise MalformedResponse(f"webhook {event}: missing {', '.join(missing)}")
    return parsed


def describe_validation_error(exc: ValidationError, limit: int = 3) -> str:
    """A one-line summary: ``data.packages.0.price: Input should be a valid integer; ...``."""
    problems = []
    for item in exc.errors()[:limit]:
        location = ".".join(str(part) for part in item.get("loc", ())) or "(root)"
        problems.append(f"{location}: {item.get('msg', 'invalid')}")
    more = exc.error_count() - limit
    if more > 0:
        problems.append(f"and {more} more")
    return "; ".join(problems)
