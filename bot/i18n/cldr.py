"""Locale data at runtime: country names, plural forms, numbers, "or" lists and expiry dates.

Babel would load each language's whole CLDR pickle (~2.3 MB of memory per language) and is
slow per call; the bot needs some 25 KB of it. make_cldr.py copies those from Babel into
cldr.json, read once on first use; the functions here give exactly what the Babel calls they
replace gave (tests/test_cldr.py compares them). Only the languages in ``bot.i18n.LANGUAGES``
are available: any other raises KeyError.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

__all__ = [
    "NOT_COUNTRIES",
    "all_territories",
    "format_decimal",
    "format_expiry",
    "format_list_or",
    "plural_form",
    "territories",
]

_DATA = Path(__file__).with_name("cldr.json")

# CLDR has names for these two-letter codes, but they are not places anyone buys an eSIM for.
NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"})


@cache
def _data() -> dict[str, dict[str, Any]]:
    data: dict[str, dict[str, Any]] = json.loads(_DATA.read_text(encoding="utf-8"))
    return data


def _language(language: str) -> dict[str, Any]:
    try:
        return _data()[language]
    except KeyError:
        raise KeyError(f"no CLDR data for {language!r}: see bot/i18n/make_cldr.py") from None


def all_territories(language: str) -> dict[str, str]:
    """Every CLDR territory code (countries, "EU", regions such as "150") -> its name, in
    CLDR's order (Babel's ``Locale.territories``). Shared: do not modify."""
    names: dict[str, str] = _language(language)["territories"]
    return names


@cache
def territories(language: str) -> dict[str, str]:
    """ISO 3166 alpha-2 country code -> the country's name in ``language``, without the codes
    that are not countries (``NOT_COUNTRIES``). Shared: do not modify."""
    return {
        code: name
        for code, name in all_territories(language).items()
        if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES
    }


def plural_form(language: str, count: int) -> str:
    """The CLDR cardinal plural category of a whole number (Babel's ``Locale.plural_form``).

    Hand-coded from the rules make_cldr.py records in cldr.json. For whole numbers Russian
    never gives "other" (that is for fractions)."""
    n = abs(count)
    if language == "en":  # one: i = 1 and v = 0
        return "one" if n == 1 else "other"
    if language == "es":  # one: n = 1; many: a non-zero multiple of a million
        if n == 1:
            return "one"
        return "many" if n and n % 1_000_000 == 0 else "other"
    if language == "ru":
        last, last_two = n % 10, n % 100
        if last == 1 and last_two != 11:
            return "one"
        if 2 <= last <= 4 and not 12 <= last_two <= 14:
            return "few"
        return "many"
    raise KeyError(f"no plural rules for {language!r}")


@dataclass(frozen=True, slots=True)
class _NumberFormat:
    decimal: str
    group: str
    primary: int
    secondary: int
    quantum: Decimal
    prefix: tuple[str, str]  # positive, negative
    suffix: tuple[str, str]

    def grouped(self, digits: str) -> str:
        size = self.primary
        groups = ""
        while len(digits) > size:
            groups = self.group + digits[-size:] + groups
            digits = digits[:-size]
            size = self.secondary
        return digits + groups


@cache
def _number_format(language: str) -> _NumberFormat:
    number = _language(language)["number"]
    primary, secondary = number["grouping"]
    return _NumberFormat(
        decimal=number["decimal"],
        group=number["group"],
        primary=primary,
        secondary=secondary,
        quantum=Decimal(1).scaleb(-number["max_fraction_digits"]),
        prefix=(number["prefix"][0], number["prefix"][1]),
        suffix=(number["suffix"][0], number["suffix"][1]),
    )


def format_decimal(value: float | int, language: str) -> str:
    """``value`` as ``babel.numbers.format_decimal(value, locale=language)`` writes it: the
    locale's grouping and symbols, at most three decimals (rounded half to even)."""
    number_format = _number_format(language)
    if type(value) is int:  # no fraction, nothing to round
        negative = value < 0
        text = number_format.grouped(str(abs(value)))
    else:
        exact = Decimal(str(value))  # as Babel does: 0.1 is "0.1", not its binary value
        negative = exact.is_signed()
        rounded = abs(exact).normalize().quantize(number_format.quantum)
        whole, _, fraction = f"{rounded:f}".partition(".")
        fraction = fraction.rstrip("0")
        text = number_format.grouped(whole)
        if fraction:
            text += number_format.decimal + fraction
    return number_format.prefix[negative] + text + number_format.suffix[negative]


def format_list_or(items: Sequence[str], language: str) -> str:
    """Items joined as "A, B, or C": ``babel.lists.format_list(items, style="or", ...)``."""
    patterns: dict[str, str] = _language(language)["list_or"]
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    if len(items) == 2 and "2" in patterns:
        return patterns["2"].format(*items)
    result = patterns["start"].format(items[0], items[1])
    for item in items[2:-1]:
        result = patterns["middle"].format(result, item)
    return patterns["end"].format(result, items[-1])


def format_expiry(moment: datetime, language: str) -> str:
    """The time in UTC as "3 May 2025, 07:04": ``babel.dates.format_datetime(moment,
    "d MMM y, HH:mm", tzinfo=UTC, locale=language)``. A naive ``moment`` is already UTC."""
    months: list[str] = _language(language)["months_abbreviated"]
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return f"{utc.day} {months[utc.month - 1]} {utc.year}, {utc.hour:02d}:{utc.minute:02d}"
