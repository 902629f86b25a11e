"""bot.i18n.cldr: the checked-in CLDR data and the functions that replace Babel at runtime."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import babel
import pytest
from babel import Locale
from babel.dates import format_datetime
from babel.lists import format_list
from babel.numbers import format_decimal

from bot.i18n import LANGUAGES, cldr, make_cldr

ROOT = Path(__file__).resolve().parents[2]
COUNTS = [*range(301), 1000, 1001, 1011, 1021, 1_000_000, 1_000_001, 2_000_000, 10**7, 10**12]
DECIMALS = [0, 0.5, 1, 1.25, 2.5, 10, 999, 1000, 1234.5, 12345, 1000000]


def test_the_installed_babel_is_the_one_that_made_the_data() -> None:
    # Every comparison below is against this Babel; another release renames territories.
    assert babel.__version__ == make_cldr.BABEL_VERSION, (
        f"bot/i18n/cldr.json was made with Babel {make_cldr.BABEL_VERSION}, but"
        f" {babel.__version__} is installed: install from requirements-test.lock"
    )


def test_the_checked_in_data_is_what_the_generator_makes_from_the_installed_babel() -> None:
    expected = make_cldr.render(make_cldr.build())
    assert make_cldr.OUTPUT.read_text(encoding="utf-8") == expected, (
        "bot/i18n/cldr.json is stale: run python -m bot.i18n.make_cldr"
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_territories_match_babel(language: str) -> None:
    names = Locale.parse(language).territories
    assert cldr.all_territories(language) == dict(names.items())
    assert list(cldr.all_territories(language)) == list(names)  # order matters to search
    countries = cldr.territories(language)
    assert countries == {
        code: name
        for code, name in names.items()
        if len(code) == 2 and code.isalpha() and code not in cldr.NOT_COUNTRIES
    }
    assert "JP" in countries and "EU" not in countries and "150" not in countries


@pytest.mark.parametrize("language", LANGUAGES)
def test_plural_form_matches_babel(language: str) -> None:
    rule = Locale.parse(language).plural_form
    for count in COUNTS:
        assert cldr.plural_form(language, count) == rule(count), count
        assert cldr.plural_form(language, -count) == rule(-count), -count


def test_plural_forms_we_rely_on() -> None:
    assert [cldr.plural_form("ru", n) for n in (1, 2, 5, 11, 21, 22, 25)] == [
        "one", "few", "many", "many", "one", "few", "many",
    ]  # fmt: skip
    assert cldr.plural_form("es", 1_000_000) == "many"
    assert cldr.plural_form("es", 0) == cldr.plural_form("en", 0) == "other"


@pytest.mark.parametrize("language", LANGUAGES)
def test_format_decimal_matches_babel(language: str) -> None:
    values = [*DECIMALS, -1234.5, 0.125, 0.1 + 0.2, 1.0, 2.675, 1e20, -0.0, 12345678, -7]
    values += [round(n * 1.37, 2) for n in range(500)]
    for value in values:
        assert cldr.format_decimal(value, language) == format_decimal(value, locale=language), value


def test_format_decimal_symbols() -> None:
    assert cldr.format_decimal(1234.5, "en") == "1,234.5"
    assert cldr.format_decimal(1234.5, "es") == "1.234,5"
    assert cldr.format_decimal(1234.5, "ru") == "1\xa0234,5"


@pytest.mark.parametrize("language", LANGUAGES)
def test_format_list_or_matches_babel(language: str) -> None:
    for items in ([], ["Japan"], ["Japan", "Spain"], ["A", "B", "C"], ["A", "B", "C", "D"]):
        expected = format_list(items, style="or", locale=language)
        assert cldr.format_list_or(items, language) == expected


@pytest.mark.parametrize("language", LANGUAGES)
def test_format_expiry_matches_babel(language: str) -> None:
    moments = [
        datetime(2025, month, month * 2, month, month * 4, 59, tzinfo=UTC) for month in range(1, 13)
    ]
    moments += [
        datetime(2026, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-3))),  # next year in UTC
        datetime(2025, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        datetime(2025, 7, 4, 9, 5),  # naive: UTC
    ]
    for moment in moments:
        expected = format_datetime(moment, "d MMM y, HH:mm", tzinfo=UTC, locale=language)
        assert cldr.format_expiry(moment, language) == expected, moment


def test_unknown_languages_are_refused() -> None:
    with pytest.raises(KeyError):
        cldr.territories("xx")
    with pytest.raises(KeyError):
        cldr.plural_form("xx", 1)
    with pytest.raises(KeyError):
        cldr.format_decimal(1, "xx")


def test_the_bot_does_not_import_babel_at_runtime() -> None:
    code = (
        "import sys, bot.app, handlers\n"
        "from bot.i18n import cldr\n"
        "cldr.territories('ru'); cldr.format_decimal(1.5, 'es')\n"
        "print([m for m in sys.modules if m.startswith('babel')])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
