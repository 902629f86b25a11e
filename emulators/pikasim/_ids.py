"""Deterministic identifiers: order ids, ICCIDs, matching ids, checkout sessions."""

from __future__ import annotations

import random
import string

__all__ = ["IdFactory", "luhn_digit"]

_ALNUM = string.ascii_uppercase + string.digits


def luhn_digit(digits: str) -> str:
    """The Luhn check digit that makes ``digits + check`` valid."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:  # these get doubled once the check digit is appended
            value *= 2
            value -= 9 if value > 9 else 0
        total += value
    return str((10 - total % 10) % 10)


class IdFactory:
    def __init__(self, seed: int) -> None:
        self._rng = random.Random(f"pikasim-sandbox-ids-{seed}")

    def hex24(self) -> str:
        """A MongoDB-style 24 hex digit id."""
        return f"{self._rng.getrandbits(96):024x}"

    def digits(self, count: int) -> str:
        return "".join(self._rng.choice(string.digits) for _ in range(count))

    def token(self, count: int, alphabet: str = _ALNUM) -> str:
        return "".join(self._rng.choice(alphabet) for _ in range(count))

    def iccid(self) -> str:
        """20 digits: 8985 2240 8 (issuer) + 10 random digits + Luhn check digit."""
        body = "898522408" + self.digits(10)
        return body + luhn_digit(body)

    def matching_id(self) -> str:
        return "-".join(self.token(5) for _ in range(4))

    def imsi(self) -> str:
        return "454120" + self.digits(9)
