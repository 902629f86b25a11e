"""Typed views of the reseller API's answers.

Every model ignores fields it does not know, accepts ``null`` or a missing value for anything
optional, and accepts the variants seen in the wild (``esims[0]`` for ``esim``, ``data.package``
for a package, ...). Money is always integer US cents, in fields ending in ``_cents``.

The models are frozen dataclasses, built from parsed JSON by :func:`from_json`. A field is read
from the first of its keys present in the object (``_alias``: the API's camelCase name first,
then variants, always including the field's own name); its type says how the value is converted,
with the lax rules pydantic applied when these were pydantic models: ``"12"`` or ``12.0`` for an
int, 0/1 and ``"true"``/``"no"``/... for a bool, numbers for a string. ``Annotated[T, f]`` runs
``f`` on the raw value first. Wrong types and missing required fields raise
:class:`ConversionError`, naming each bad field by its path (``packages.0.price``).
"""

# ruff: noqa: RUF009  (_alias & co. return dataclasses.field(...), not a shared default value)

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields, is_dataclass, replace
from datetime import UTC, datetime
from functools import partial
from types import NoneType, UnionType
from typing import (
    Annotated,
    Any,
    Final,
    NoReturn,
    TypeVar,
    Union,
    get_args,
    get_origin,
    get_type_hints,
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

ModelT = TypeVar("ModelT")

Location = tuple[str | int, ...]


class ConversionError(ValueError):
    """An answer that does not fit a model: ``(location, message)`` pairs, one a problem, the
    location a path of keys and list indexes (``("packages", 0, "price")``)."""

    def __init__(self, *problems: tuple[Location, str]) -> None:
        self.problems = problems
        super().__init__(describe_validation_error(self, limit=len(problems)))


def _fail(message: str) -> NoReturn:
    raise ConversionError(((), message))


# --- conversions, by field type ------------------------------------------------------------


_INT_TEXT: Final = re.compile(r"[+-]?[0-9]+(?:_[0-9]+)*(?:\.0+)?")
_TRUE: Final = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE: Final = frozenset({"0", "off", "f", "false", "n", "no"})
_INT64: Final = 2**63  # whole floats and flags beyond 64 bits are refused, as pydantic did


def _whole(value: float) -> int | None:
    """``value`` as an int when it is a whole number that fits 64 bits."""
    if math.isfinite(value) and value.is_integer() and abs(value) < _INT64:
        return int(value)
    return None


def _to_int(value: Any) -> int:
    """An int, True/False (1/0), a whole float, or text like ``" 12 "``, ``"1_000"``, ``"12.0"``."""
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            _fail("Input should be a finite number")
        if not value.is_integer():
            _fail("Input should be a valid integer, got a number with a fractional part")
        whole = _whole(value)
        if whole is None:
            _fail("Unable to parse input string as an integer, exceeded maximum size")
        return whole
    if isinstance(value, str):
        text = value.strip()
        if _INT_TEXT.fullmatch(text):
            return int(text.partition(".")[0])
        _fail("Input should be a valid integer, unable to parse string as an integer")
    _fail("Input should be a valid integer")


def _to_float(value: Any) -> float:
    """A number, True/False, or ASCII text Python's ``float`` reads (``"1.5"``, ``"1e3"``)."""
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:
            _fail("Input should be a valid number")
    if isinstance(value, str):
        text = value.strip()
        if text.isascii():
            try:
                return float(text)
            except ValueError:
                pass
        _fail("Input should be a valid number, unable to parse string as a number")
    _fail("Input should be a valid number")


def _to_bool(value: Any) -> bool:
    """A bool, 0/1 (also 0.0/1.0), or text: 1/0, on/off, t/f, true/false, y/n, yes/no."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        whole = _whole(value)
        if whole is None:
            _fail("Input should be a valid boolean")
        value = whole
    if isinstance(value, int):
        if value in (0, 1):
            return value == 1
        if not -_INT64 <= value < _INT64:
            _fail("Input should be a valid boolean")
    elif isinstance(value, str):
        lowered = value.lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
    else:
        _fail("Input should be a valid boolean")
    _fail("Input should be a valid boolean, unable to interpret input")


def _to_str(value: Any) -> str:
    """Text, or a number as text (``5`` → ``"5"``); not a bool."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    _fail("Input should be a valid string")


def _to_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    _fail("Input should be a valid datetime")


def _to_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    _fail("Input should be a valid dictionary")


def _list_of(convert: Callable[[Any], Any]) -> Callable[[Any], list[Any]]:
    def to_list(value: Any) -> list[Any]:
        if not isinstance(value, (list, tuple)):
            _fail("Input should be a valid list")
        items: list[Any] = []
        problems: list[tuple[Location, str]] = []
        for index, item in enumerate(value):
            try:
                items.append(convert(item))
            except ConversionError as exc:
                problems += [((index, *where), message) for where, message in exc.problems]
        if problems:
            raise ConversionError(*problems)
        return items

    return to_list


def _or_none(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else convert(value)


def _then(before: Callable[[Any], Any], convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: convert(before(value))


_SCALARS: Final[dict[Any, Callable[[Any], Any]]] = {
    int: _to_int,
    float: _to_float,
    bool: _to_bool,
    str: _to_str,
    datetime: _to_datetime,
}


def _converter(hint: Any) -> Callable[[Any], Any]:
    """The conversion for a field's type: the scalars above, ``X | None``, ``list[X]``,
    ``dict[str, Any]``, a model, or ``Annotated[X, before]``."""
    origin, args = get_origin(hint), get_args(hint)
    if origin is Annotated:
        return _then(hint.__metadata__[0], _converter(args[0]))
    if origin in (Union, UnionType):
        (inner,) = (arg for arg in args if arg is not NoneType)
        return _or_none(_converter(inner))
    if origin is list:
        return _list_of(_converter(args[0]))
    if origin is dict:
        return _to_dict
    if isinstance(hint, type) and is_dataclass(hint):
        return partial(from_json, hint)
    return _SCALARS[hint]


# --- the field spec and from_json ----------------------------------------------------------

_KEYS: Final = "keys"  # field metadata: the JSON keys the field is read from, in order
_UNKNOWN: Final = "unknown"  # field metadata: this field receives the keys no field reads


@dataclass(frozen=True, slots=True)
class _Spec:
    name: str
    keys: tuple[str, ...]
    convert: Callable[[Any], Any]
    required: bool


_SPECS: dict[type, tuple[tuple[_Spec, ...], str | None]] = {}


def _specs(cls: type) -> tuple[tuple[_Spec, ...], str | None]:
    """How to read each field of model ``cls``, and the field that keeps unknown keys, if any
    (worked out at the first use, when every model the type hints name exists)."""
    if cls in _SPECS:
        return _SPECS[cls]
    hints = get_type_hints(cls, include_extras=True)
    specs: list[_Spec] = []
    unknown = None
    for item in fields(cls):
        if item.metadata.get(_UNKNOWN):
            unknown = item.name
            continue
        required = item.default is MISSING and item.default_factory is MISSING
        keys = item.metadata.get(_KEYS, (item.name,))
        specs.append(_Spec(item.name, keys, _converter(hints[item.name]), required))
    _SPECS[cls] = tuple(specs), unknown
    return _SPECS[cls]


def from_json(cls: type[ModelT], data: Any) -> ModelT:
    """Build model ``cls`` from a parsed JSON object.

    ``null`` is treated like a missing field, so every default applies to it; keys no field reads
    are ignored (or kept, for a model with an ``_unknown_keys()`` field). A model may define
    ``_prepare(data)`` to rewrite the object first. Raises :class:`ConversionError` listing every
    wrong or missing field.
    """
    if isinstance(data, cls):
        return data
    if not isinstance(data, Mapping):
        _fail(f"Input should be a valid dictionary or instance of {cls.__name__}")
    prepare = getattr(cls, "_prepare", None)
    if prepare is not None:
        data = prepare(data)
    data = {key: value for key, value in data.items() if value is not None}
    specs, unknown = _specs(cls)
    values: dict[str, Any] = {}
    problems: list[tuple[Location, str]] = []
    used: set[str] = set()
    for spec in specs:
        for key in spec.keys:
            if key in data:
                used.add(key)
                try:
                    values[spec.name] = spec.convert(data[key])
                except ConversionError as exc:
                    problems += [((key, *where), message) for where, message in exc.problems]
                break
        else:
            if spec.required:
                problems.append(((spec.keys[0],), "Field required"))
    if problems:
        raise ConversionError(*problems)
    if unknown is not None:
        values[unknown] = {key: value for key, value in data.items() if key not in used}
    return cls(**values)


def describe_validation_error(exc: ConversionError, limit: int = 3) -> str:
    """A one-line summary: ``packages.0.price: Input should be a valid integer; ...``."""
    problems = []
    for where, message in exc.problems[:limit]:
        location = ".".join(str(part) for part in where) or "(root)"
        problems.append(f"{location}: {message}")
    more = len(exc.problems) - limit
    if more > 0:
        problems.append(f"and {more} more")
    return "; ".join(problems)


def _alias(*names: str, default: Any = None) -> Any:
    return field(default=default, metadata={_KEYS: names})


def _required(*names: str) -> Any:
    return field(metadata={_KEYS: names})


def _list_alias(*names: str) -> Any:
    return field(default_factory=list, metadata={_KEYS: names})


def _unknown_keys() -> Any:
    return field(default_factory=dict, metadata={_UNKNOWN: True})


# A before-conversion, as in ``Annotated[datetime | None, _lenient_datetime]``: runs on the raw
# value (never ``null``: that is a missing field), the field's type converts what it returns.


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


Timestamp = Annotated[datetime | None, _lenient_datetime]


# --- account -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Pagination:
    page: int = 1
    limit: int = 0
    total: int = 0
    pages: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    company_name: str | None = _alias("companyName", "company_name", "name")
    status: str | None = None
    balance_cents: int = _alias("balance", "balance_cents", default=0)
    balance_formatted: str | None = _alias("balanceFormatted", "balance_formatted")
    total_orders: int | None = _alias("totalOrders", "total_orders")

    @property
    def balance(self) -> int:
        return self.balance_cents


@dataclass(frozen=True, slots=True, kw_only=True)
class Balance:
    balance_cents: int = _required("balance", "balance_cents")
    balance_formatted: str | None = _alias("balanceFormatted", "balance_formatted")
    available_credit_cents: int = _alias(
        "availableCredit", "available_credit_cents", "credit", default=0
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


@dataclass(frozen=True, slots=True, kw_only=True)
class Transaction:
    id: str = _alias("id", "_id", "transactionId", default="")
    type: str | None = None
    amount_cents: int = _alias("amount", "amount_cents", default=0)
    balance_after_cents: int | None = _alias("balanceAfter", "balance_after_cents")
    description: str | None = None
    order_id: str | None = _alias("orderId", "order_id")
    created_at: Timestamp = _alias("createdAt", "created_at")


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionPage:
    transactions: list[Transaction] = _list_alias("transactions", "items")
    pagination: Pagination = field(default_factory=Pagination)


# --- packages ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Operator:
    name: str = _alias("operatorName", "name", default="")
    network_type: str | None = _alias("networkType", "network_type")


@dataclass(frozen=True, slots=True, kw_only=True)
class CountryNetworks:
    """One entry of ``locationNetworkList``: a country and its operators."""

    name: str = _alias("locationName", "name", default="")
    code: str | None = _alias("locationCode", "code")
    operators: list[Operator] = _list_alias("operatorList", "operators")


@dataclass(frozen=True, slots=True, kw_only=True)
class Package:
    package_code: str = _required("packageCode", "package_code", "code")
    name: str = ""
    slug: str | None = None
    location: str | None = None
    location_code: str | None = _alias("locationCode", "location_code")
    region: str | None = None
    is_global: bool = _alias("isGlobalPackage", "isGlobal", "is_global", default=False)
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
    supports_topup: Annotated[bool, _topup_flag] = _alias(
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


@dataclass(frozen=True, slots=True, kw_only=True)
class PackagePage:
    packages: list[Package] = _list_alias("packages", "items")
    pagination: Pagination = field(default_factory=Pagination)


# --- eSIMs ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class EsimPackage:
    """An entry of an eSIM's ``packageList`` (the plan and its top-ups)."""

    package_code: str | None = _alias("packageCode", "package_code", "code")
    package_name: str | None = _alias("packageName", "package_name", "name")
    volume_bytes: int | None = _alias("volume", "volume_bytes")
    volume_gb: float | None = _alias("volumeGB", "volumeGb", "volume_gb")
    duration_days: int | None = _alias("duration", "duration_days")
    created_at: Timestamp = _alias("createTime", "createdAt", "created_at")


@dataclass(frozen=True, slots=True, kw_only=True)
class Esim:
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


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
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


@dataclass(frozen=True, slots=True, kw_only=True)
class TopupOption:
    package_code: str = _required("packageCode", "package_code", "code")
    name: str = _alias("name", "packageName", default="")
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


@dataclass(frozen=True, slots=True, kw_only=True)
class Order:
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
    orders: list[Order] = _list_alias("orders", "items")
    pagination: Pagination = field(default_factory=Pagination)


@dataclass(frozen=True, slots=True, kw_only=True)
class Topup:
    topup_id: str = _required("topupId", "topup_id", "id")
    iccid: str | None = None
    package_code: str | None = _alias("packageCode", "package_code")
    external_order_id: str | None = _alias("externalOrderId", "external_order_id")
    status: str | None = None
    price_cents: int | None = _alias("price", "price_cents")
    price_formatted: str | None = _alias("priceFormatted", "price_formatted")
    message: str | None = None
    duplicate: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelResult:
    iccid: str | None = None
    order_id: str | None = _alias("orderId", "order_id")
    refund_cents: int = _alias("refundAmount", "refund", "refund_cents", default=0)
    refund_formatted: str | None = _alias("refundFormatted", "refund_formatted")
    new_balance_cents: int | None = _alias("newBalance", "new_balance_cents")
    new_balance_formatted: str | None = _alias("newBalanceFormatted", "new_balance_formatted")
    message: str | None = None


# --- deposits and webhook settings ---------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Deposit:
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


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookSettings:
    webhook_url: str | None = _alias("webhookUrl", "webhook_url", "url")
    webhook_events: list[str] = _list_alias("webhookEvents", "webhook_events", "events")


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookTestResult:
    """Answer of ``POST /webhook/test``; unknown fields are kept (``model_extra``) and readable
    with ``result["field"]`` / ``result.get("field")``."""

    delivered: bool | None = None
    status_code: int | None = _alias("statusCode", "status_code")
    message: str | None = None
    model_extra: dict[str, Any] = _unknown_keys()

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
