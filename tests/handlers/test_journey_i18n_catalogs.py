"""Message catalogs: every language has every key, with the same placeholders."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest

from bot.i18n import LANGUAGES, catalog

LOCALES = Path(__file__).resolve().parents[2] / "bot" / "i18n" / "locales"
SOURCES = Path(__file__).resolve().parents[2] / "handlers"


def _placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def _area_files(language: str) -> dict[str, dict[str, str]]:
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((LOCALES / language).glob("*.json"))
    }


def test_every_language_has_the_same_files() -> None:
    english = set(_area_files("en"))
    for language in LANGUAGES:
        assert set(_area_files(language)) == english, language


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != "en"])
def test_every_key_is_translated_with_the_same_placeholders(language: str) -> None:
    english, other = _area_files("en"), _area_files(language)
    for name, messages in english.items():
        translated = other.get(name, {})
        assert set(translated) == set(messages), f"{language}/{name}"
        for key, text in messages.items():
            assert _placeholders(translated[key]) == _placeholders(text), f"{language} {key}"


def test_no_key_is_defined_in_two_files() -> None:
    for language in LANGUAGES:
        seen: dict[str, str] = {}
        for name, messages in _area_files(language).items():
            for key in messages:
                assert key not in seen, f"{language}: {key} in {name} and {seen[key]}"
                seen[key] = name


def test_every_literal_key_the_handlers_use_exists() -> None:
    used = set()
    for path in SOURCES.glob("*.py"):
        used |= set(re.findall(r"\bt\(\s*\w+,\s*\"([a-z_]+\.[A-Za-z0-9_.]+)\"", path.read_text()))
    assert used, "the pattern no longer finds any key"
    missing = sorted(key for key in used if key not in catalog("en"))
    assert not missing
