"""Country search: names in any supported language, aliases, ISO codes, flags and typos."""

from __future__ import annotations

import pytest

from bot.countries import country_name, find_country, flag, normalize

SOLD = ["JP", "US", "GB", "AE", "FR", "ES", "DE", "KR", "TH", "TR", "HK", "CZ", "NL"]


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("Japan", "JP"),
        ("JAPAN", "JP"),
        ("  japan  ", "JP"),
        ("jp", "JP"),
        ("Japón", "JP"),
        ("Япония", "JP"),
        ("🇯🇵", "JP"),
        ("USA", "US"),
        ("u.s.a.", "US"),
        ("United States", "US"),
        ("EE. UU.", "US"),
        ("США", "US"),
        ("UK", "GB"),
        ("England", "GB"),
        ("Великобритания", "GB"),
        ("UAE", "AE"),
        ("Dubai", "AE"),
        ("ОАЭ", "AE"),
        ("Korea", "KR"),
        ("Türkiye", "TR"),
        ("Turkey", "TR"),
        ("Czech Republic", "CZ"),
        ("Hong Kong", "HK"),
        ("the Netherlands", "NL"),
        ("Alemania", "DE"),
        ("españa", "ES"),
        ("Antarctica", "AQ"),  # a real place we sell nothing for: still recognised
    ],
)
def test_names_aliases_and_codes(text: str, iso: str) -> None:
    assert find_country(text, SOLD).iso == iso


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Japn", "JP"), ("Germny", "DE"), ("Tailand", "TH"), ("Испании", "ES"), ("Frnace", "FR")],
)
def test_typos_get_suggestions(text: str, expected: str) -> None:
    match = find_country(text, SOLD)
    assert match.iso is None
    assert expected in match.suggestions


def test_a_prefix_suggests_every_country_it_starts() -> None:
    assert set(find_country("united", SOLD).suggestions) == {"US", "GB", "AE"}


def test_suggestions_only_name_countries_we_sell() -> None:
    assert find_country("Jordn", ["JP"]).suggestions == ()


@pytest.mark.parametrize("text", ["", "   ", "😀😀😀", "!!!", "x" * 5000, "qwertyuiop"])
def test_nonsense_matches_nothing(text: str) -> None:
    match = find_country(text, SOLD)
    assert match.iso is None
    assert match.suggestions == ()


def test_flags_come_from_the_iso_code() -> None:
    assert flag("JP") == "🇯🇵"
    assert flag("gb") == "🇬🇧"
    assert flag("GLOBAL") == "🏳️"


def test_country_names_are_localized() -> None:
    assert country_name("DE", "en") == "Germany"
    assert country_name("DE", "es") == "Alemania"
    assert country_name("DE", "ru") == "Германия"
    assert country_name("HK", "en") == "Hong Kong"


def test_normalize_ignores_case_accents_and_punctuation() -> None:
    assert normalize("  Côte d’Ivoire! ") == "cote d ivoire"
    assert normalize("ЁЛКА") == normalize("елка")
