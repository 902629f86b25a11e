"""Does this phone support eSIM? Answered from a curated list shipped with the bot.

``esim_phones.json`` (next to this file) holds the brand words that make a text a phone model
rather than a destination, a few spelling aliases, and ordered rules: the first whose pattern
matches the normalised model answers "yes", "no" or "unsure", with caveat keys (iPhones sold in
mainland China, Pixel 3 from some countries…). No network, no guessing beyond the list.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = ["PhoneAnswer", "check_phone", "looks_like_phone", "normalize_model"]

_DATA = Path(__file__).with_name("esim_phones.json")
_MAX_TEXT = 60


@dataclass(frozen=True, slots=True)
class PhoneAnswer:
    answer: str  # yes, no, unsure
    caveats: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Rule:
    pattern: re.Pattern[str]
    answer: str
    caveats: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Data:
    brands: tuple[str, ...]
    aliases: dict[str, str]
    rules: tuple[_Rule, ...]


@cache
def _data() -> _Data:
    raw = json.loads(_DATA.read_text(encoding="utf-8"))
    rules = tuple(
        _Rule(re.compile(rule["pattern"]), rule["answer"], tuple(rule.get("caveats", ())))
        for rule in raw["rules"]
    )
    return _Data(tuple(raw["brands"]), dict(raw.get("aliases", {})), rules)


def normalize_model(text: str) -> str:
    """Lower case, '+' as ' plus', a space between letters and digits, no punctuation:
    "iPhone13 Pro+" -> "iphone 13 pro plus"."""
    value = text.strip().lower()[:_MAX_TEXT].replace("+", " plus ")
    value = re.sub(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])", " ", value)
    value = re.sub(r"[^\w\s]|_", " ", value)
    words = [_data().aliases.get(word, word) for word in value.split()]
    return " ".join(words)


def looks_like_phone(text: str) -> bool:
    """Whether a typed text names a phone (it starts with a brand word) rather than a place."""
    if len(text) > _MAX_TEXT:
        return False
    model = normalize_model(text)
    return any(model == brand or model.startswith(brand + " ") for brand in _data().brands)


def check_phone(text: str) -> PhoneAnswer:
    model = normalize_model(text)
    for rule in _data().rules:
        if rule.pattern.search(model):
            return PhoneAnswer(rule.answer, rule.caveats)
    return PhoneAnswer("unsure")
