"""Webhook signatures: HMAC-SHA256 (hex) over the JSON text the sender produced.

PikaSim signs ``JSON.stringify(payload)``. We verify against the raw body first; when a proxy
re-encoded the body, we fall back to a JavaScript-compatible re-serialisation of the parsed JSON.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from typing import Any

__all__ = ["js_number", "js_stringify", "sign", "verify_signature"]


def js_number(value: float) -> str:
    """Format a float the way JavaScript's ``Number.prototype.toString`` does."""
    if math.isnan(value) or math.isinf(value):
        return "null"  # JSON.stringify turns NaN and Infinity into null
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
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
        return str(value)
    if isinstance(value, float):
        return js_number(value)
    if isinstance(value, str):
        return _js_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(js_stringify(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(
            _js_string(str(key)) + ":" + js_stringify(item) for key, item in value.items()
        ) + "}"
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _js_string(text: str) -> str:
    # json.dumps escapes the same control characters JSON.stringify does, and with
    # ensure_ascii=False leaves everything else (including U+2028) as UTF-8. JavaScript
    # escapes lone surrogates as \udXXX, which json.dumps also does for ensure_ascii=False.
    return json.dumps(text, ensure_ascii=False)


def sign(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(raw_body: bytes, signature: str | None, secret: str) -> bool:
    """True when ``signature`` matches the raw body or its JavaScript re-serialisation."""
    if not signature or not secret:
        return False
    signature = signature.strip().lower()
    if hmac.compare_digest(sign(raw_body, secret), signature):
        return True
    try:
        parsed = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError):
        return False
    reserialised = js_stringify(parsed).encode()
    return hmac.compare_digest(sign(reserialised, secret), signature)
