"""Typed views of the reseller API's answers: account, packages, eSIMs, orders.

Every model ignores fields it does not know, accepts ``null`` or a missing value for anything
optional, and accepts the variants seen in the wild (``esims[0]`` for ``esim``, ``data.package``
for a package, ...). Money is always integer US cents, in fields ending in ``_cents``. The models
are frozen dataclasses, built from parsed JSON by :func:`bot.pikasim._parsing.from_json`.
"""

# ruff: noqa: RUF009  (alias & co. return dataclasses.field(...), not a shared default value)

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import (
    Annotated,
    Any,
    Final,
)

from bot.pikasim._parsing import (
    Timestamp,
    alias,
    list_alias,
    required,
    topup_flag,
)

__all__ = [
    "GIB",
    "MIB",
    "ORDER_FINAL_STATUSES",
    "Account",
    "Balance",
    "CancelResult",
    "CountryNetworks",
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
    "in_bytes",
]

ORDER_FINAL_STATUSES: Final = frozenset({"completed", "failed"})

GIB: Final = 1024**3
MIB: Final = 1024**2


def in_bytes(exact: int | None, gb: float | None, mb: float | None = None) -> int | None:
    """One data figure in bytes, from whichever unit the reseller sent (bytes first)."""
    if exact is not None:
        return exact
    if gb is not None:
        return int(gb * GIB)
    if mb is not None:
        return int(mb * MIB)
    return None


# --- account -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Pagination:
    page: int = 1
    limit: int = 0
    total: int = 0
    pages: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    company_name: str | None = alias("companyName", "company_name", "name")
    status: str | None = None
    balance_cents: int = alias("balance", "balance_cents", default=0)
    balance_formatted: str | None = alias("balanceFormatted", "balance_formatted")
    total_orders: int | None = alias("totalOrders", "total_orders")

    @property
    def balance(self) -> int:
        return self.balance_cents


@dataclass(frozen=True, slots=True, kw_only=True)
class Balance:
    balance_cents: int = required("balance", "balance_cents")
    balance_formatted: str | None = alias("balanceFormatted", "balance_formatted")
    available_credit_cents: int = alias(
        "availableCredit", "available_credit_cents", "credit", default=0
    )
    available_credit_formatted: str | None = alias(
        "availableCreditFormatted", "available_credit_formatted"
    )
    currency: str = "USD"

    @property
    def balance(self) -> int:
        return self.balance_cents

    @property
    def available_credit(self) -> int:
        return self.available_credit_cents


@dataclass(frozen=True, slots=True, kw_only=True)
class Transaction:
    id: str = alias("id", "_id", "transactionId", default="")
    type: str | None = None
    amount_cents: int = alias("amount", "amount_cents", default=0)
    balance_after_cents: int | None = alias("balanceAfter", "balance_after_cents")
    description: str | None = None
    order_id: str | None = alias("orderId", "order_id")
    created_at: Timestamp = alias("createdAt", "created_at")


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionPage:
    transactions: list[Transaction] = list_alias("transactions", "items")
    pagination: Pagination = field(default_factory=Pagination)


# --- packages ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Operator:
    name: str = alias("operatorName", "name", default="")
    network_type: str | None = alias("networkType", "network_type")


@dataclass(frozen=True, slots=True, kw_only=True)
class CountryNetworks:
    """One entry of ``locationNetworkList``: a country and its operators."""

    name: str = alias("locationName", "name", default="")
    code: str | None = alias("locationCode", "code")
    operators: list[Operator] = list_alias("operatorList", "operators")


@dataclass(frozen=True, slots=True, kw_only=True)
class Package:
    package_code: str = required("packageCode", "package_code", "code")
    name: str = ""
    slug: str | None = None
    location: str | None = None
    location_code: str | None = alias("locationCode", "location_code")
    region: str | None = None
    is_global: bool = alias("isGlobalPackage", "isGlobal", "is_global", default=False)
    countries: list[CountryNetworks] = list_alias("locationNetworkList", "countries")
    volume_bytes: int | None = alias("volume", "volume_bytes")
    volume_gb: float | None = alias("volumeGB", "volumeGb", "volume_gb")
    data_type: int | None = alias("dataType", "data_type")
    duration_days: int | None = alias("duration", "durationDays", "duration_days")
    duration_unit: str | None = alias("durationUnit", "duration_unit")
    speed: str | None = None
    price_cents: int = required("price", "price_cents")
    price_formatted: str | None = alias("priceFormatted", "price_formatted")

    @property
    def volume(self) -> int:
        """The plan's data in bytes, whichever unit the reseller sent."""
        return in_bytes(self.volume_bytes, self.volume_gb) or 0

    suggested_retail_price_cents: int | None = alias(
        "suggestedRetailPrice", "suggested_retail_price_cents"
    )
    ip_export: str | None = alias("ipExport", "ip_export")
    max_privacy: bool | None = alias("maxPrivacy", "max_privacy")
    sms_status: int | None = alias("smsStatus", "sms_status")
    supports_topup: Annotated[bool, topup_flag] = alias(
        "supportTopUpType", "supportsTopup", "supports_topup", default=False
    )
    active_type: int | None = alias("activeType", "active_type")
    description: str | None = None
    plan_type: str | None = alias("planType", "plan_type")
    has_voice: bool | None = alias("hasVoice", "has_voice")
    has_sms: bool | None = alias("hasSms", "has_sms")
    voice_minutes: int | None = alias("voiceMinutes", "voice_minutes")
    sms_count: int | None = alias("smsCount", "sms_count")
    phone_number_included: bool | None = alias("phoneNumberIncluded", "phone_number_included")
    non_refundable: bool | None = alias("nonRefundable", "non_refundable")
    requires_activation_date: bool | None = alias(
        "requiresActivationDate", "requires_activation_date"
    )

    @property
    def is_unlimited(self) -> bool:
        """Daily-reset plan (``dataType`` 2); the reseller API normally sells none."""
        return self.data_type == 2

    @property
    def country_names(self) -> list[str]:
        return [country.name for country in self.countries if country.name]


@dataclass(frozen=True, slots=True, kw_only=True)
class PackagePage:
    packages: list[Package] = list_alias("packages", "items")
    pagination: Pagination = field(default_factory=Pagination)


# --- eSIMs ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class EsimPackage:
    """An entry of an eSIM's ``packageList`` (the plan and its top-ups)."""

    package_code: str | None = alias("packageCode", "package_code", "code")
    package_name: str | None = alias("packageName", "package_name", "name")
    volume_bytes: int | None = alias("volume", "volume_bytes")
    volume_gb: float | None = alias("volumeGB", "volumeGb", "volume_gb")
    duration_days: int | None = alias("duration", "duration_days")
    created_at: Timestamp = alias("createTime", "createdAt", "created_at")


@dataclass(frozen=True, slots=True, kw_only=True)
class Esim:
    iccid: str
    order_id: str | None = alias("orderId", "order_id")
    external_order_id: str | None = alias("externalOrderId", "external_order_id")
    package_code: str | None = alias("packageCode", "package_code")
    package_name: str | None = alias("packageName", "package_name")
    qr_code_url: str | None = alias("qrCodeUrl", "qr_code_url", "qrCode")
    activation_code: str | None = alias("activationCode", "activation_code", "ac")
    lpa_url: str | None = alias("lpaUrl", "lpa_url")
    short_url: str | None = alias("shortUrl", "short_url")
    status: str | None = alias("status", "esimStatus")
    smdp_status: str | None = alias("smdpStatus", "smdp_status")
    total_data_bytes: int | None = alias("totalData", "totalVolume", "total_data_bytes")
    used_data_bytes: int | None = alias("usedData", "orderUsage", "used_data_bytes")
    remaining_data_bytes: int | None = alias("remainingData", "remaining_data_bytes")
    expire_time: Timestamp = alias("expireTime", "expiredTime", "expire_time")
    apn: str | None = None
    imsi: str | None = None
    msisdn: str | None = None
    package_list: list[EsimPackage] = list_alias("packageList", "package_list")
    purchased_at: Timestamp = alias("purchasedAt", "purchased_at")
    created_at: Timestamp = alias("createdAt", "created_at")

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


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
    iccid: str
    status: str | None = None
    smdp_status: str | None = alias("smdpStatus", "smdp_status")
    status_description: str | None = alias("statusDescription", "status_description")
    total_data_bytes: int | None = alias("totalData", "total_data_bytes")
    used_data_bytes: int | None = alias("usedData", "used_data_bytes")
    remaining_data_bytes: int | None = alias("remainingData", "remaining_data_bytes")
    total_data_gb: float | None = alias("totalDataGB", "total_data_gb")
    used_data_gb: float | None = alias("usedDataGB", "used_data_gb")
    remaining_data_gb: float | None = alias("remainingDataGB", "remaining_data_gb")
    total_data_mb: float | None = alias("totalDataMB", "total_data_mb")
    used_data_mb: float | None = alias("usedDataMB", "used_data_mb")
    remaining_data_mb: float | None = alias("remainingDataMB", "remaining_data_mb")
    usage_percent: float | None = alias("usagePercent", "usage_percent")
    expire_time: Timestamp = alias("expireTime", "expire_time")
    create_time: Timestamp = alias("createTime", "createdAt", "create_time")
    package_list: list[EsimPackage] = list_alias("packageList", "package_list")

    @property
    def total(self) -> int | None:
        """Bytes, whichever unit the reseller sent (None when it sent none)."""
        return in_bytes(self.total_data_bytes, self.total_data_gb, self.total_data_mb)

    @property
    def used(self) -> int | None:
        return in_bytes(self.used_data_bytes, self.used_data_gb, self.used_data_mb)

    @property
    def remaining(self) -> int | None:
        return in_bytes(self.remaining_data_bytes, self.remaining_data_gb, self.remaining_data_mb)


@dataclass(frozen=True, slots=True, kw_only=True)
class TopupOption:
    package_code: str = required("packageCode", "package_code", "code")
    name: str = alias("name", "packageName", default="")
    volume_bytes: int | None = alias("volume", "volume_bytes")
    volume_gb: float | None = alias("volumeGB", "volumeGb", "volume_gb")
    duration_days: int | None = alias("duration", "duration_days")
    price_cents: int = required("price", "price_cents")
    price_formatted: str | None = alias("priceFormatted", "price_formatted")
    description: str | None = None

    @property
    def volume(self) -> int:
        return in_bytes(self.volume_bytes, self.volume_gb) or 0


# --- orders --------------------------------------------------------------------------------


def _first_esim(data: Any) -> Any:
    """Accept ``esims: [...]`` for ``esim`` (and an empty list for "not yet")."""
    if isinstance(data, Mapping) and data.get("esim") is None:
        esims = data.get("esims")
        if isinstance(esims, list):
            data = dict(data)
            data["esim"] = esims[0] if esims else None
    return data


@dataclass(frozen=True, slots=True, kw_only=True)
class Order:
    order_id: str = required("orderId", "order_id", "id", "_id")
    external_order_id: str | None = alias("externalOrderId", "external_order_id")
    status: str = "pending"
    package_code: str | None = alias("packageCode", "package_code")
    price_cents: int | None = alias("price", "price_cents")
    price_formatted: str | None = alias("priceFormatted", "price_formatted")
    created_at: Timestamp = alias("createdAt", "created_at")
    completed_at: Timestamp = alias("completedAt", "completed_at")
    failure_reason: str | None = alias("failureReason", "failure_reason", "reason")
    message: str | None = None
    esim: Esim | None = None
    duplicate: bool = False

    _prepare = staticmethod(_first_esim)  # see from_json

    @property
    def is_completed(self) -> bool:
        return self.status == "completed"

    @property
    def is_failed(self) -> bool:
        return self.status == "failed"

    @property
    def is_final(self) -> bool:
        return self.status in ORDER_FINAL_STATUSES


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPage:
    orders: list[Order] = list_alias("orders", "items")
    pagination: Pagination = field(default_factory=Pagination)


@dataclass(frozen=True, slots=True, kw_only=True)
class Topup:
    topup_id: str = required("topupId", "topup_id", "id")
    iccid: str | None = None
    package_code: str | None = alias("packageCode", "package_code")
    external_order_id: str | None = alias("externalOrderId", "external_order_id")
    status: str | None = None
    price_cents: int | None = alias("price", "price_cents")
    price_formatted: str | None = alias("priceFormatted", "price_formatted")
    message: str | None = None
    duplicate: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelResult:
    iccid: str | None = None
    order_id: str | None = alias("orderId", "order_id")
    refund_cents: int = alias("refundAmount", "refund", "refund_cents", default=0)
    refund_formatted: str | None = alias("refundFormatted", "refund_formatted")
    new_balance_cents: int | None = alias("newBalance", "new_balance_cents")
    new_balance_formatted: str | None = alias("newBalanceFormatted", "new_balance_formatted")
    message: str | None = None
