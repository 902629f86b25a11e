"""Typed callback data with short prefixes, parsed strictly.

Telegram lets a button carry at most 64 bytes, and a user can send any bytes they like, so
every callback is parsed against an exact pattern; anything else is treated as stale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Callback", "build", "fits", "parse"]

_ISO = r"[A-Z]{2}"
_CODE = r"[A-Za-z0-9_\-\.]{1,40}"
_ICCID = r"\d{18,22}"
_REF = r"[A-Z0-9]{10}"
_SORT = r"[pdv]"  # by price, by days, by volume

# prefix -> regular expression of the arguments (joined by ":")
_PATTERNS: dict[str, re.Pattern[str]] = {
    "m": re.compile(r"(home|buy|mine|help|regions|global|lang)(?::(\d{1,3}))?"),  # menu, page
    "c": re.compile(rf"({_ISO})(?::(\d{{1,3}}):({_SORT}))?"),  # country plans, page, sort
    "r": re.compile(rf"([A-Z]{{2,8}})(?::(\d{{1,3}}):({_SORT}))?"),  # region plans
    "g": re.compile(rf"(\d{{1,3}}):({_SORT})"),  # global plans
    "v": re.compile(rf"({_ISO}):(\d{{1,3}}):({_SORT})"),  # regional/global plans covering
    "p": re.compile(rf"({_CODE})"),  # plan details
    "b": re.compile(rf"({_CODE})"),  # buy a plan
    "k": re.compile(rf"({_REF})"),  # confirm an order without Stars (PAYMENTS=off)
    "x": re.compile(rf"({_REF})"),  # cancel an unpaid order
    "e": re.compile(rf"({_ICCID})"),  # an eSIM's card
    "u": re.compile(rf"({_ICCID})"),  # usage
    "t": re.compile(rf"({_ICCID})"),  # top-up options
    "tb": re.compile(rf"({_ICCID}):({_CODE})"),  # buy a top-up
    "i": re.compile(rf"({_ICCID})"),  # install guide
    "l": re.compile(r"(en|es|ru)"),  # language
    "a": re.compile(r"([a-z]{1,12})(?::([A-Za-z0-9_\-]{1,40}))?(?::([A-Za-z0-9_\-]{1,40}))?"),
}


@dataclass(frozen=True, slots=True)
class Callback:
    prefix: str
    args: tuple[str, ...]

    def arg(self, index: int, default: str = "") -> str:
        value = self.args[index] if index < len(self.args) else None
        return default if value is None else value


def build(prefix: str, *args: object) -> str:
    data = ":".join([prefix, *(str(arg) for arg in args)])
    if parse(data) is None or len(data.encode()) > 64:
        raise ValueError(f"invalid callback data {data!r}")
    return data


def fits(prefix: str, *args: object) -> bool:
    """Whether these arguments make valid callback data (a reseller code may not)."""
    data = ":".join([prefix, *(str(arg) for arg in args)])
    return len(data.encode()) <= 64 and parse(data) is not None


def parse(data: str | None) -> Callback | None:
    if not data or len(data.encode()) > 64:
        return None
    prefix, _, rest = data.partition(":")
    pattern = _PATTERNS.get(prefix)
    if pattern is None:
        return None
    match = pattern.fullmatch(rest)
    if match is None:
        return None
    return Callback(prefix, tuple(group for group in match.groups() if group is not None))
