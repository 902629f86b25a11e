"""Webhook signatures: HMAC-SHA256 (hex) over the JSON text the sender produced.

PikaSim signs ``JSON.stringify(payload)``. We verify against the raw body first; when a proxy
re-encoded the body, we fall back to a JavaScript-compatible re-serialisation of the parsed JSON.
That fallback runs before the sender is authenticated and costs pure-Python time, so it is only
tried on what a re-encoding proxy could produce from a real event: a strict UTF-8 JSON object
(no BOM, no UTF-16) of at most ``FALLBACK_MAX_BYTES`` and ``FALLBACK_MAX_SEPARATORS``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from typing import Any

__all__ = [
    "FALLBACK_MAX_BYTES",
    "FALLBACK_MAX_SEPARATORS",
    "fallback_candidate",
    "js_number",
    "js_stringify",
    "sign",
    "verify_raw",
    "verify_reserialised",
    "verify_signature",
]

# Real events are under 2 KB with about 30 separators ({ [ , :). 16 KB of tiny values would
# cost the pure-Python re-serialisation 15-20 ms; 256 separators keep it near 1 ms.
FALLBACK_MAX_BYTES = 16 * 1024
FALLBACK_MAX_SEPARATORS = 256


def js_number(value: float) -> str:
    """Format a float the way JavaScript's ``Number.prototype.toString`` does."""
    if math.isnan(value) or math.isinf(value):
        return "null"  # JSON.stringify turns NaN and Infinity into null
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))  # exact; larger integers print their shortest digits + zeros
    # repr gives the shortest round-trip digits, as JavaScript does; only the layout differs.
    mantissa, exponent = _shortest_digits(value)
    sign = "-" if value < 0 else ""
    point = exponent + 1  # position of the decimal point relative to the digit string
    n_digits = len(mantissa)
    if n_digits <= point <= 21:
        return sign + mantissa + "0" * (point - n_digits)
    if 0 < point <= 21:
        return sign + mantissa[:point] + "." + mantissa[point:]
    if -6 < point <= 0:
        return sign + "0." + "0" * (-point) + mantissa
    exp = point - 1
    exp_text = f"e+{exp}" if exp >= 0 else f"e-{-exp}"
    if n_digits == 1:
        return sign + mantissa + exp_text
    return sign + mantissa[0] + "." + mantissa[1:] + exp_text


def _shortest_digits(value: float) -> tuple[str, int]:
    """Shortest round-trip significant digits of ``abs(value)`` and its decimal exponent."""
    text = repr(abs(value))
    mantissa_text, _, exp_text = text.partition("e")
    exponent = int(exp_text) if exp_text else 0
    int_part, _, frac_part = mantissa_text.partition(".")
    digits = (int_part + frac_part).lstrip("0")
    # exponent of the first significant digit
    if int_part.strip("0"):
        exponent += len(int_part.lstrip("0")) - 1
    else:
        leading_zeros = len(frac_part) - len(frac_part.lstrip("0"))
        exponent -= leading_zeros + 1
    return digits.rstrip("0") or "0", exponent


def js_stringify(value: Any) -> str:
    """Serialise like JavaScript's ``JSON.stringify``: compact, non-ASCII kept, JS numbers."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        if abs(value) <= 2**53:
            return str(value)
        # JavaScript numbers are doubles: JSON.parse rounds big integers, stringify prints that.
        try:
            return js_number(float(value))
        except OverflowError:
            return "null"  # beyond the double range: Infinity, which JSON.stringify writes as null
    if isinstance(value, float):
        return js_number(value)
    if isinstance(value, str):
        return _js_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(js_stringify(item) for item in value) + "]"
    if isinstance(value, dict):
        return (
            "{"
            + ",".join(
                _js_string(key) + ":" + js_stringify(value[key]) for key in _js_key_order(value)
            )
            + "}"
        )
    raise TypeError(f"cannot serialise {type(value).__name__}")


_MAX_ARRAY_INDEX = 2**32 - 2


def _js_key_order(obj: dict[Any, Any]) -> list[str]:
    """JavaScript's own-property order: array-index keys ("0" .. "4294967294", canonical
    form) ascending first, then the other keys in insertion order."""
    indices: list[tuple[int, str]] = []
    others: list[str] = []
    for key in obj:
        if not isinstance(key, str):
            raise TypeError(f"cannot serialise a {type(key).__name__} key")
        if key.isdecimal() and key.isascii() and (key == "0" or not key.startswith("0")):
            number = int(key)
            if number <= _MAX_ARRAY_INDEX:
                indices.append((number, key))
                continue
        others.append(key)
    indices.sort()
    return [key for _, key in indices] + others


def _is_surrogate(char: str) -> bool:
    return "\ud800" <= char <= "\udfff"


def _js_string(text: str) -> str:
    # json.dumps escapes the same characters JSON.stringify does (quote, backslash, controls
    # below U+0020 with the same short forms and lowercase \u00xx), and with
    # ensure_ascii=False leaves everything else, U+2028/U+2029 and U+007F included, as is.
    # It does not escape lone surrogates (json.loads makes them from "\ud800"), which
    # JavaScript writes as a lowercase \udxxx escape; a str cannot hold a surrogate pair.
    encoded = json.dumps(text, ensure_ascii=False)
    if any(_is_surrogate(char) for char in encoded):
        encoded = "".join(f"\\u{ord(c):04x}" if _is_surrogate(c) else c for c in encoded)
    return encoded


def _utf8(text: str) -> bytes:
    """UTF-8 as Node encodes a string: a lone surrogate becomes U+FFFD."""
    if any(_is_surrogate(char) for char in text):
        text = "".join("\ufffd" if _is_surrogate(char) else char for char in text)
    return text.encode("utf-8")


def sign(body: bytes | str, secret: str) -> str:
    """Hex HMAC-SHA256 of ``body`` (text is signed as UTF-8, as Node's ``update`` does)."""
    if isinstance(body, str):
        body = _utf8(body)
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_signature(raw_body: bytes | str, signature: str | None, secret: str) -> bool:
    """True when ``signature`` matches the raw body or its JavaScript re-serialisation.

    The comparison is constant-time. A signature may carry a ``sha256=`` prefix and any case.
    The fallback (parse the body, serialise it as ``JSON.stringify`` would) accepts a body
    that a proxy re-encoded (spaces, ``\\u`` escapes, ``5.0`` for ``5``); it cannot weaken the
    check, since the signature must still be an HMAC made with the secret.
    """
    return verify_raw(raw_body, signature, secret) or verify_reserialised(
        raw_body, signature, secret
    )


def verify_raw(raw_body: bytes | str, signature: str | None, secret: str) -> bool:
    """True when ``signature`` is the HMAC of the body exactly as received (one cheap hash)."""
    given = _given(signature)
    if given is None or not secret:
        return False
    if isinstance(raw_body, str):
        raw_body = _utf8(raw_body)
    return hmac.compare_digest(sign(raw_body, secret).encode("ascii"), given)


def verify_reserialised(raw_body: bytes | str, signature: str | None, secret: str) -> bool:
    """True when ``signature`` is the HMAC of the body's ``JSON.stringify`` re-serialisation.

    Only strict UTF-8 JSON objects up to ``FALLBACK_MAX_BYTES`` and ``FALLBACK_MAX_SEPARATORS``
    qualify. Pure-Python work of about a millisecond at most: callers on an event loop run it
    in a worker thread.
    """
    given = _given(signature)
    if given is None or not secret:
        return False
    if isinstance(raw_body, str):
        raw_body = _utf8(raw_body)
    parsed = _strict_json_object(raw_body)
    if parsed is None:
        return False
    try:
        reserialised = js_stringify(parsed).encode("utf-8")
    except (TypeError, RecursionError):
        return False
    return hmac.compare_digest(sign(reserialised, secret).encode("ascii"), given)


def _given(signature: str | None) -> bytes | None:
    """The signature as lowercase hex bytes, or None when it cannot be one."""
    if not signature:
        return None
    text = signature.strip()
    if text[:7].lower() == "sha256=":
        text = text[7:]
    try:
        return text.lower().encode("ascii")
    except UnicodeEncodeError:
        return None


def fallback_candidate(raw_body: bytes) -> bool:
    """Cheap checks (microseconds, no parsing) that the fallback could apply to this body.

    json.loads on bytes would guess UTF-16/32 and skip a BOM; PikaSim sends UTF-8 only, so a
    body that does not start as a UTF-8 object is not a re-encoded event. Separators are counted
    in C; those inside strings count too, which only makes the bound stricter.
    """
    if len(raw_body) > FALLBACK_MAX_BYTES or not raw_body.lstrip().startswith(b"{"):
        return False
    separators = sum(raw_body.count(char) for char in (b"{", b"[", b",", b":"))
    return separators <= FALLBACK_MAX_SEPARATORS


def _strict_json_object(raw_body: bytes) -> dict[str, Any] | None:
    if not fallback_candidate(raw_body):
        return None
    try:
        parsed = json.loads(raw_body.decode("utf-8"))  # str: a BOM or NUL is a JSON error
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return parsed if isinstance(parsed, dict) else None
