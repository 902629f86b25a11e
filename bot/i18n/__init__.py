"""Message catalogs: every user-facing string comes from here.

Catalogs are JSON files under ``locales/<language>/``, one file per area of the bot, merged
at import. English is complete; another language falls back to English key by key.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "catalog", "pick_language", "t"]

DEFAULT_LANGUAGE = "en"
LANGUAGES: dict[str, str] = {"en": "English", "es": "Español", "ru": "Русский"}
_LOCALES = Path(__file__).with_name("locales")


@cache
def catalog(language: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    folder = _LOCALES / language
    for path in sorted(folder.glob("*.json")):
        merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def pick_language(chosen: str | None, telegram_code: str | None) -> str:
    """The user's explicit choice, else their Telegram language, else English."""
    for candidate in (chosen, (telegram_code or "").split("-")[0].lower()):
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT_LANGUAGE


def t(language: str, key: str, /, **values: object) -> str:
    text = catalog(language).get(key) or catalog(DEFAULT_LANGUAGE).get(key)
    if text is None:
        raise KeyError(f"no message {key!r}")
    return text.format(**values) if values else text
