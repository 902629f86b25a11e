"""Checks on eSIM data the reseller sends, which the bot never trusts blindly.

A leaf module (standard library only), so the order code, the handlers and the QR builder
can all use it.
"""

from __future__ import annotations

import re

__all__ = ["ICCID_PATTERN", "valid_iccid"]

# ITU-T E.118: an ICCID is 19 or 20 digits in practice; 18 to 22 leaves room for resellers
# that drop the check digit or pad. The same range as the buttons' callback data accepts.
ICCID_PATTERN = re.compile(r"[0-9]{18,22}")


def valid_iccid(value: object) -> bool:
    """Whether ``value`` is an ICCID we can store, show and put on a button: 18 to 22 ASCII
    digits and nothing else (no spaces, signs, letters or non-ASCII digits)."""
    return isinstance(value, str) and ICCID_PATTERN.fullmatch(value) is not None
