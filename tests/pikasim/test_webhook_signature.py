"""Webhook signatures against vectors made by Node (tests/data/make_webhook_vectors.js)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.pikasim.signing import (
    FALLBACK_MAX_BYTES,
    FALLBACK_MAX_SEPARATORS,
    fallback_candidate,
    js_number,
    js_stringify,
    sign,
    verify_signature,
)

VECTORS_FILE = Path(__file__).parent / "data" / "webhook_vectors.json"
VECTORS: list[dict[str, Any]] = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))["vectors"]
IDS = [vector["name"] for vector in VECTORS]


def test_vectors_cover_the_hard_cases() -> None:
    bodies = "".join(vector["body"] for vector in VECTORS)
    for needle in ("é", "日本語", "📶", "\u2028", "\\ud800", "1e+21", "1e-7", "123.456", "0.1"):
        assert needle in bodies, needle
    assert len(VECTORS) >= 8


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_raw_body_as_sent_verifies(vector: dict[str, Any]) -> None:
    body = vector["body"].encode("utf-8")
    assert sign(body, vector["secret"]) == vector["signature"]
    assert verify_signature(body, vector["signature"], vector["secret"])
    assert verify_signature(vector["body"], vector["signature"], vector["secret"])  # str too


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_js_stringify_reproduces_node(vector: dict[str, Any]) -> None:
    assert js_stringify(json.loads(vector["body"])) == vector["body"]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
@pytest.mark.parametrize(
    "reencode",
    [
        lambda p: json.dumps(p),  # spaces, \u escapes for everything non-ASCII
        lambda p: json.dumps(p, indent=2, ensure_ascii=False),
        lambda p: json.dumps(p, separators=(",", ":"), ensure_ascii=True),
    ],
    ids=["json.dumps", "indented-utf8", "compact-ascii"],
)
def test_re_encoded_body_verifies_through_the_fallback(
    vector: dict[str, Any], reencode: Any
) -> None:
    reencoded = reencode(json.loads(vector["body"])).encode("utf-8", "surrogatepass")
    try:
        reencoded.decode("utf-8")
    except UnicodeDecodeError:  # a lone surrogate written raw: not UTF-8, so refused
        assert not verify_signature(reencoded, vector["signature"], vector["secret"])
        return
    assert verify_signature(reencoded, vector["signature"], vector["secret"])


def test_float_spellings_verify_through_the_fallback() -> None:
    vector = next(v for v in VECTORS if v["name"] == "floats")
    respelled = (
        vector["body"]
        .replace('"d":5,', '"d":5.0,')
        .replace('"b":1e+21', '"b":1E21')
        .replace('"c":1e-7', '"c":0.0000001')
    )
    assert respelled != vector["body"]
    assert verify_signature(respelled.encode(), vector["signature"], vector["secret"])


@pytest.mark.parametrize("vector", VECTORS[:3], ids=IDS[:3])
def test_signature_case_and_prefix(vector: dict[str, Any]) -> None:
    body = vector["body"].encode()
    assert verify_signature(body, vector["signature"].upper(), vector["secret"])
    assert verify_signature(body, "sha256=" + vector["signature"], vector["secret"])
    assert verify_signature(body, f"  {vector['signature']}\n", vector["secret"])


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_bad_signatures_fail(vector: dict[str, Any]) -> None:
    body = vector["body"].encode("utf-8")
    signature, secret = vector["signature"], vector["secret"]
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    assert not verify_signature(body, flipped, secret)
    assert not verify_signature(body, signature, secret + "x")
    assert not verify_signature(body, signature, "")
    assert not verify_signature(body, None, secret)
    assert not verify_signature(body, "", secret)
    assert not verify_signature(body, signature[:32], secret)
    assert not verify_signature(body, "é" * 64, secret)  # non-ASCII must not raise


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_tampered_payload_fails(vector: dict[str, Any]) -> None:
    payload = json.loads(vector["body"])
    payload["event"] = "order.failed" if payload["event"] != "order.failed" else "x"
    tampered = json.dumps(payload).encode()
    assert not verify_signature(tampered, vector["signature"], vector["secret"])
    payload = json.loads(vector["body"])
    payload["data"]["extra"] = 1
    assert not verify_signature(
        js_stringify(payload).encode(), vector["signature"], vector["secret"]
    )


@pytest.mark.parametrize(
    "body", [b"", b"not json", b"\xff\xfe\x00garbage", b"[" * 100_000, b'{"a":1e999}', b"null"]
)
def test_garbage_bodies_fail_without_raising(body: bytes) -> None:
    assert not verify_signature(body, "0" * 64, "whsec_test")


def test_valid_signature_over_any_bytes() -> None:
    body = b"\xff\xfe not even text"
    assert verify_signature(body, sign(body, "s"), "s")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1, "0.1"),
        (1e21, "1e+21"),
        (1e-7, "1e-7"),
        (5.0, "5"),
        (123.456, "123.456"),
        (-0.0, "0"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e20, "100000000000000000000"),
        (123456789012345680000.0, "123456789012345680000"),
        (2.0**53 + 2, "9007199254740994"),
        (1.5e-10, "1.5e-10"),
        (0.000001, "0.000001"),
        (-1.23456e-18, "-1.23456e-18"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (float("nan"), "null"),
        (float("inf"), "null"),
    ],
)
def test_js_number(value: float, expected: str) -> None:
    assert js_number(value) == expected


def test_js_stringify_edge_cases() -> None:
    assert js_stringify(12345678901234567890) == "12345678901234567000"
    assert js_stringify(10**400) == "null"
    assert js_stringify({"b": 1, "10": 2, "2": 3, "01": 4}) == '{"2":3,"10":2,"b":1,"01":4}'
    assert js_stringify("\u2028\x7f\x00\ud83d") == '"\u2028\x7f\\u0000\\ud83d"'
    assert js_stringify([True, False, None, [], {}]) == "[true,false,null,[],{}]"
    with pytest.raises(TypeError):
        js_stringify({1: "non-string key"})
    with pytest.raises(TypeError):
        js_stringify(object())


def _event_body() -> tuple[str, str]:
    vector = next(v for v in VECTORS if v["name"] == "non-ascii text")
    return vector["body"], vector["secret"]


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.encode("utf-16"),  # with its BOM
        lambda text: text.encode("utf-16-le"),
        lambda text: text.encode("utf-32"),
        lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"),  # UTF-8 with a BOM
    ],
    ids=["utf-16", "utf-16-le", "utf-32", "utf-8-bom"],
)
def test_a_signed_event_in_another_encoding_is_refused(encode: Any) -> None:
    body, secret = _event_body()
    signature = sign(body, secret)
    assert verify_signature(json.dumps(json.loads(body)).encode(), signature, secret)
    reencoded = encode(body)
    assert json.loads(reencoded) == json.loads(body)  # Python alone would accept it
    assert not verify_signature(reencoded, signature, secret)


def test_the_fallback_only_takes_objects_up_to_16_kb() -> None:
    secret = "whsec_test_0123456789"
    for size, accepted in ((FALLBACK_MAX_BYTES, True), (FALLBACK_MAX_BYTES + 1, False)):
        payload = {"event": "esim.provisioned", "data": {"pad": ""}}
        overhead = len(json.dumps(payload, indent=1))
        payload["data"]["pad"] = "x" * (size - overhead)
        reencoded = json.dumps(payload, indent=1).encode()
        assert len(reencoded) == size
        assert verify_signature(reencoded, sign(js_stringify(payload), secret), secret) is accepted
    for reencoded, not_an_object in ((b"[1, 2]", [1, 2]), (b'"\\u0074ext"', "text"), (b"5.0", 5)):
        assert json.loads(reencoded) == not_an_object
        signature = sign(js_stringify(not_an_object), secret)
        assert not verify_signature(reencoded, signature, secret)
        assert verify_signature(js_stringify(not_an_object), signature, secret)  # raw still works


def test_the_fallback_refuses_bodies_with_too_many_separators() -> None:
    secret = "whsec_test_0123456789"
    for count, accepted in ((100, True), (FALLBACK_MAX_SEPARATORS, False)):
        payload = {"event": "x", "data": [1.5] * count}  # cheap to send, costly to re-serialise
        reencoded = json.dumps(payload).encode()
        assert fallback_candidate(reencoded) is accepted
        assert verify_signature(reencoded, sign(js_stringify(payload), secret), secret) is accepted
