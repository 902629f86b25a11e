"""The reseller models without pydantic: import cost, and the conversions written by hand.

The rules are the lax ones the models had as pydantic models (numbers as text for an int, 0/1 or
"yes"/"off" for a bool, numbers for a string, ``null`` as a missing field), checked here value by
value so that a change to them is deliberate.
"""

from __future__ import annotations

import math
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.pikasim import (
    Balance,
    MalformedResponse,
    Order,
    Package,
    PackagePage,
    PikaSimClient,
    RequestBudget,
    Transaction,
    Usage,
    WebhookSettings,
    WebhookTestResult,
    parse_webhook_event,
)
from bot.pikasim._parsing import ConversionError, describe_validation_error, from_json

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_client_does_not_load_pydantic() -> None:
    code = (
        "import sys, bot.pikasim\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0].startswith('pydantic'))\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def problems(model: type, data: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(ConversionError) as caught:
        from_json(model, data)
    return list(caught.value.problems)


# --- ints ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (500, 500),
        (-518, -518),
        (True, 1),
        (False, 0),
        (500.0, 500),
        ("500", 500),
        (" 500\n", 500),
        ("+5", 5),
        ("-5", -5),
        ("1_000", 1000),
        ("500.0", 500),
        ("500.00", 500),
        ("007", 7),
        (2**70, 2**70),
    ],
)
def test_int_coercion(value: Any, expected: int) -> None:
    balance = from_json(Balance, {"balance": value})
    assert balance.balance_cents == expected and type(balance.balance_cents) is int


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (5.18, "Input should be a valid integer, got a number with a fractional part"),
        (float("inf"), "Input should be a finite number"),
        (float("nan"), "Input should be a finite number"),
        (1e19, "Unable to parse input string as an integer, exceeded maximum size"),
        ("5.18", "Input should be a valid integer, unable to parse string as an integer"),
        ("lots", "Input should be a valid integer, unable to parse string as an integer"),
        ("", "Input should be a valid integer, unable to parse string as an integer"),
        ("1e3", "Input should be a valid integer, unable to parse string as an integer"),
        ("0x10", "Input should be a valid integer, unable to parse string as an integer"),
        ("1__0", "Input should be a valid integer, unable to parse string as an integer"),
        ("١٢", "Input should be a valid integer, unable to parse string as an integer"),
        ([5], "Input should be a valid integer"),
        ({"cents": 5}, "Input should be a valid integer"),
    ],
)
def test_int_refusals_name_the_field(value: Any, message: str) -> None:
    assert problems(Balance, {"balance": value}) == [(("balance",), message)]


# --- floats --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, 1.0), (0.5, 0.5), ("0.5", 0.5), (" 2 ", 2.0), ("1e3", 1000.0), (True, 1.0)],
)
def test_float_coercion(value: Any, expected: float) -> None:
    usage = from_json(Usage, {"iccid": "1", "usedDataGB": value})
    assert usage.used_data_gb == expected and type(usage.used_data_gb) is float


def test_float_text_may_be_infinite_but_not_other_words() -> None:
    assert from_json(Usage, {"iccid": "1", "usagePercent": "inf"}).usage_percent == math.inf
    assert problems(Usage, {"iccid": "1", "usagePercent": "half", "usedDataGB": []}) == [
        (("usedDataGB",), "Input should be a valid number"),
        (("usagePercent",), "Input should be a valid number, unable to parse string as a number"),
    ]


# --- flags ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        (1.0, True),
        (0.0, False),
        ("true", True),
        ("False", False),
        ("YES", True),
        ("no", False),
        ("on", True),
        ("off", False),
        ("t", True),
        ("f", False),
        ("y", True),
        ("n", False),
        ("1", True),
        ("0", False),
    ],
)
def test_flag_coercion(value: Any, expected: bool) -> None:
    package = from_json(Package, {"packageCode": "X", "price": 1, "hasVoice": value})
    assert package.has_voice is expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (2, "Input should be a valid boolean, unable to interpret input"),
        (-1, "Input should be a valid boolean, unable to interpret input"),
        ("2", "Input should be a valid boolean, unable to interpret input"),
        (" yes ", "Input should be a valid boolean, unable to interpret input"),
        ("maybe", "Input should be a valid boolean, unable to interpret input"),
        (0.5, "Input should be a valid boolean"),
        ([True], "Input should be a valid boolean"),
    ],
)
def test_flag_refusals_name_the_field(value: Any, message: str) -> None:
    assert problems(Package, {"packageCode": "X", "price": 1, "isGlobalPackage": value}) == [
        (("isGlobalPackage",), message)
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (2, True), (1.5, True), (0, False), ("2", True), (" TRUE ", True), ("x", False)],
)
def test_topup_flag_is_more_lenient(value: Any, expected: bool) -> None:
    package = from_json(Package, {"packageCode": "X", "price": 1, "supportTopUpType": value})
    assert package.supports_topup is expected


def test_topup_flag_of_the_wrong_type_is_refused() -> None:
    assert problems(Package, {"packageCode": "X", "price": 1, "supportTopUpType": [1]}) == [
        (("supportTopUpType",), "Input should be a valid boolean")
    ]


# --- strings -------------------------------------------------------------------------------


def test_numbers_become_text_but_flags_do_not() -> None:
    assert from_json(Transaction, {"id": 2}).id == "2"
    assert from_json(Transaction, {"id": 2.5}).id == "2.5"
    assert problems(Transaction, {"id": True}) == [(("id",), "Input should be a valid string")]
    assert problems(WebhookSettings, {"webhookEvents": ["order.failed", 7, None, False]}) == [
        (("webhookEvents", 2), "Input should be a valid string"),
        (("webhookEvents", 3), "Input should be a valid string"),
    ]


# --- nulls, defaults, aliases --------------------------------------------------------------


def test_null_is_a_missing_field() -> None:
    package = from_json(
        Package,
        {"packageCode": "X", "price": 1, "name": None, "isGlobalPackage": None, "countries": None},
    )
    assert package.name == "" and package.is_global is False and package.countries == []
    balance = from_json(Balance, {"balance": None, "balance_cents": 7, "currency": None})
    assert balance.balance_cents == 7 and balance.currency == "USD"
    assert problems(Package, {"packageCode": "X", "price": None}) == [
        (("price",), "Field required")
    ]


def test_the_first_alias_present_wins_and_unknown_keys_are_ignored() -> None:
    balance = from_json(Balance, {"balance": 1, "balance_cents": 2, "brandNew": {"x": 1}})
    assert balance == Balance(balance_cents=1)
    order = from_json(Order, {"_id": "a", "id": "b"})
    assert order.order_id == "b" and order.esim is None and order.status == "pending"


def test_webhook_test_result_keeps_unknown_keys_but_not_nulls() -> None:
    result = from_json(
        WebhookTestResult, {"delivered": 1, "statusCode": "401", "error": "bad sig", "x": None}
    )
    assert result.delivered is True and result.status_code == 401
    assert result["error"] == "bad sig" and result.get("x", "absent") == "absent"
    assert result.as_dict() == {
        "delivered": True,
        "statusCode": 401,
        "message": None,
        "error": "bad sig",
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-15T10:30:00Z", datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),
        (" 2024-01-15T10:30:00+00:00 ", datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),
        (1705314600, datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),
        (1705314600000, datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),
        ("", None),
        ("yesterday", None),
        (True, None),
        ([2024], None),
    ],
)
def test_timestamps_are_lenient(value: Any, expected: datetime | None) -> None:
    assert from_json(Order, {"orderId": "o", "createdAt": value}).created_at == expected


def test_models_are_frozen_and_compare_by_value() -> None:
    first = from_json(Balance, {"balance": "5"})
    assert first == from_json(Balance, {"balance_cents": 5.0})
    with pytest.raises(AttributeError):
        first.balance_cents = 6  # type: ignore[misc]


# --- nested errors -------------------------------------------------------------------------


def test_nested_problems_have_a_path_and_are_all_listed() -> None:
    page = {
        "packages": [
            {"packageCode": "A", "price": 1},
            "not an object",
            {"price": "x", "locationNetworkList": [{"operatorList": [{"networkType": True}]}]},
            None,
        ]
    }
    with pytest.raises(ConversionError) as caught:
        from_json(PackagePage, page)
    assert list(caught.value.problems) == [
        (("packages", 1), "Input should be a valid dictionary or instance of Package"),
        (("packages", 2, "packageCode"), "Field required"),
        (
            ("packages", 2, "locationNetworkList", 0, "operatorList", 0, "networkType"),
            "Input should be a valid string",
        ),
        (
            ("packages", 2, "price"),
            "Input should be a valid integer, unable to parse string as an integer",
        ),
        (("packages", 3), "Input should be a valid dictionary or instance of Package"),
    ]
    assert describe_validation_error(caught.value) == (
        "packages.1: Input should be a valid dictionary or instance of Package; "
        "packages.2.packageCode: Field required; "
        "packages.2.locationNetworkList.0.operatorList.0.networkType: "
        "Input should be a valid string; and 2 more"
    )


async def test_client_reports_the_bad_field_as_malformed_response() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        body = {"packages": [{"packageCode": "A", "price": 1}, {"packageCode": "B", "price": 1.5}]}
        return httpx.Response(200, json={"success": True, "data": body})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        client = PikaSimClient(
            http, "k", "https://api.pikasim.test/v1", budget=RequestBudget(100, 1.0)
        )
        with pytest.raises(MalformedResponse) as caught:
            await client.packages()
    assert caught.value.message == (
        "GET /packages: unexpected PackagePage: packages.1.price: "
        "Input should be a valid integer, got a number with a fractional part"
    )


def test_webhook_with_a_wrongly_typed_field_names_it() -> None:
    with pytest.raises(MalformedResponse, match=r"order\.failed: refundAmount: .*valid integer"):
        parse_webhook_event({"event": "order.failed", "data": {"orderId": "o", "refundAmount": []}})
    with pytest.raises(MalformedResponse, match=r"esim\.iccid: Field required"):
        parse_webhook_event(
            {"event": "esim.provisioned", "data": {"orderId": "o", "esim": {"qrCodeUrl": "q"}}}
        )
