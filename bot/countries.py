"""Country names, flags and the search behind "type a country name at any time".

Everything here is pure and in memory: the name index is built once (names of every
territory in every supported language, plus common aliases) and reused for every message,
so a search costs a dictionary look-up, and a fuzzy match only when that misses.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

from bot.i18n import LANGUAGES, cldr

__all__ = [
    "CountryMatch",
    "country_name",
    "find_country",
    "flag",
    "normalize",
]

# CLDR's long official forms read oddly on a button; these are what people say.
_DISPLAY: dict[str, dict[str, str]] = {
    "en": {"HK": "Hong Kong", "MO": "Macao", "PS": "Palestine"},
    "es": {"HK": "Hong Kong", "MO": "Macao", "PS": "Palestina"},
    "ru": {"HK": "Гонконг", "MO": "Макао", "KR": "Южная Корея", "US": "США"},
}

# What travellers type besides the official names (any language; matched after normalize()).
_ALIASES: dict[str, str] = {
    "usa": "US", "us": "US", "u s a": "US", "america": "US", "united states of america": "US",
    "the states": "US", "states": "US", "hawaii": "US", "eeuu": "US", "ee uu": "US",
    "estados unidos de america": "US", "сша": "US", "америка": "US", "штаты": "US",
    "uk": "GB", "u k": "GB", "britain": "GB", "great britain": "GB", "england": "GB",
    "scotland": "GB", "wales": "GB", "northern ireland": "GB", "inglaterra": "GB",
    "gran bretana": "GB", "escocia": "GB", "англия": "GB", "британия": "GB",
    "соединенное королевство": "GB", "шотландия": "GB",
    "uae": "AE", "emirates": "AE", "dubai": "AE", "abu dhabi": "AE", "eau": "AE",
    "emiratos": "AE", "дубай": "AE", "эмираты": "AE", "оаэ": "AE",
    "korea": "KR", "south korea": "KR", "corea": "KR", "корея": "KR", "южная корея": "KR",
    "holland": "NL", "the netherlands": "NL", "holanda": "NL", "голландия": "NL",
    "czech republic": "CZ", "republica checa": "CZ", "чехия": "CZ",
    "turkey": "TR", "turkiye": "TR", "турция": "TR",
    "macau": "MO", "hong kong": "HK", "vietnam": "VN", "viet nam": "VN",
    "russia": "RU", "россия": "RU", "рф": "RU",
    "bali": "ID", "бали": "ID", "phuket": "TH", "пхукет": "TH",
    "ivory coast": "CI", "swaziland": "SZ", "burma": "MM", "east timor": "TL",
    "vatican": "VA", "cape verde": "CV",
}  # fmt: skip

_PUNCTUATION = re.compile(r"[^\w]+", re.UNICODE)
_MAX_QUERY = 60  # longer than any country name: not worth searching


def flag(iso: str) -> str:
    """🇯🇵 from "JP": two regional indicator symbols."""
    if len(iso) != 2 or not iso.isascii() or not iso.isalpha():
        return "🏳️"
    return "".join(chr(0x1F1E6 + ord(letter) - ord("A")) for letter in iso.upper())


def country_name(iso: str, language: str) -> str:
    """The country's name in ``language`` (English, then the code, when CLDR lacks it)."""
    override = _DISPLAY.get(language, {}).get(iso)
    if override:
        return override
    return cldr.territories(language).get(iso) or cldr.territories("en").get(iso) or iso


def normalize(text: str) -> str:
    """Case, accents, punctuation and spacing ignored: "Türkiye!" -> "turkiye"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    words = _PUNCTUATION.sub(" ", plain).replace("_", " ").split()
    if words and words[0] in ("the", "el", "la", "los", "las"):
        words = words[1:]
    return " ".join(words)


@dataclass(frozen=True, slots=True)
class CountryMatch:
    """``iso`` when the text names one country; otherwise close ``suggestions``."""

    iso: str | None = None
    suggestions: tuple[str, ...] = field(default=())


def find_country(text: str, available: Iterable[str]) -> CountryMatch:
    """Which country ``text`` names. ``iso`` may be a country we have no plans for;
    ``suggestions`` only ever lists countries in ``available``."""
    flagged = _from_flag(text.strip())
    if flagged is not None:
        return CountryMatch(iso=flagged)
    query = normalize(text[: _MAX_QUERY * 2])
    if not query or len(query) > _MAX_QUERY:
        return CountryMatch()
    sellable = frozenset(available)
    index = _name_index()
    exact = index.get(query)
    if exact is None and len(query) == 2 and query.upper() in cldr.territories("en"):
        exact = query.upper()  # an ISO code, as in "JP" or "es"
    if exact is not None:
        return CountryMatch(iso=exact)
    return CountryMatch(suggestions=_suggestions(query, sellable))


def _suggestions(query: str, sellable: frozenset[str], limit: int = 4) -> tuple[str, ...]:
    index = _name_index()
    found: list[str] = []
    if len(query) >= 3:  # "united" -> the United States, Kingdom, Arab Emirates
        found += [iso for name, iso in index.items() if name.startswith(query)]
    # Only names of about the same length can be 75 % similar: a much smaller haystack.
    names = [name for name in index if abs(len(name) - len(query)) <= max(2, len(query) // 3)]
    found += [index[name] for name in difflib.get_close_matches(query, names, n=8, cutoff=0.75)]
    unique = [iso for iso in dict.fromkeys(found) if iso in sellable]
    return tuple(unique[:limit])


def _from_flag(text: str) -> str | None:
    """A flag emoji typed on its own: 🇯🇵 -> "JP"."""
    if len(text) != 2 or not all(0x1F1E6 <= ord(char) <= 0x1F1FF for char in text):
        return None
    code = "".join(chr(ord(char) - 0x1F1E6 + ord("A")) for char in text)
    return code if code in cldr.territories("en") else None


@cache
def _name_index() -> dict[str, str]:
    """Normalized name -> ISO code, across every supported language, plus aliases."""
    index: dict[str, str] = {}
    for language in LANGUAGES:
        for code, name in cldr.territories(language).items():
            index.setdefault(normalize(name), code)
            # "Hong Kong SAR China" is also found as "Hong Kong"
            short = re.split(r"\s*[(,]|\sSAR\b", name)[0]
            index.setdefault(normalize(short), code)
        for code, name in _DISPLAY.get(language, {}).items():
            index.setdefault(normalize(name), code)
    for alias, code in _ALIASES.items():
        index[normalize(alias)] = code
    index.pop("", None)
    return index
