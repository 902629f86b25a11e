"""The settings loader: defaults, the .env file, the environment, and one-line errors."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from bot.settings import _SPEC, Secret, Settings, SettingsError, load_settings

TOKEN = "123456:ABC-def"


def test_every_setting_has_a_parser_and_a_default() -> None:
    assert {field.name for field in fields(Settings)} == set(_SPEC)


def test_defaults_are_the_documented_ones(tmp_path: Path) -> None:
    settings = load_settings(environ={"TELEGRAM_BOT_TOKEN": TOKEN}, env_file=None)
    assert settings.telegram_api_url == "https://api.telegram.org/bot"
    assert settings.pikasim_api_url == "https://pikasim.com/api/v1/reseller"
    assert settings.uses_sandbox and settings.public_url is None
    assert (settings.http_host, settings.http_port) == ("0.0.0.0", 8080)
    assert settings.database_path == Path("data/bot.sqlite3")
    assert settings.payments == "stars" and settings.reconcile_seconds == 60
    assert settings.log_level == "INFO" and settings.admin_ids == frozenset()


def test_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# comment\nexport TELEGRAM_BOT_TOKEN='1:from-file'\nADMIN_IDS=1, 2\nALLOWED_USER_IDS=3\n"
        'PAYMENTS="OFF"\nLOG_LEVEL=debug # inline comment\n'
    )
    from_file = load_settings(environ={}, env_file=env_file)
    assert from_file.telegram_bot_token.get_secret_value() == "1:from-file"
    assert from_file.admin_ids == frozenset({1, 2})
    assert (from_file.payments, from_file.log_level) == ("off", "DEBUG")
    env = load_settings(environ={"TELEGRAM_BOT_TOKEN": TOKEN}, env_file=env_file)
    assert env.telegram_bot_token.get_secret_value() == TOKEN


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "TELEGRAM_BOT_TOKEN: is required but not set"),
        ({"TELEGRAM_BOT_TOKEN": "nope"}, "TELEGRAM_BOT_TOKEN: must look like"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "HTTP_PORT": "80a"}, "HTTP_PORT: must be a whole number"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "HTTP_PORT": "70000"}, "HTTP_PORT: must be at most 65535"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "ADMIN_IDS": "1,x"}, "ADMIN_IDS: must be comma-separated"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "PAYMENTS": "card"}, "PAYMENTS: must be one of stars, off"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "PUBLIC_URL": "bot.example"}, "PUBLIC_URL: must be an"),
        (
            {"TELEGRAM_BOT_TOKEN": TOKEN, "PIKASIM_API_KEY": "pk_live_x"},
            "PIKASIM_WEBHOOK_SECRET: required when PIKASIM_API_KEY is set",
        ),
        (
            {"TELEGRAM_BOT_TOKEN": TOKEN, "PAYMENTS": "off"},
            "ALLOWED_USER_IDS: required when PAYMENTS=off",
        ),
    ],
)
def test_problems_are_one_line_naming_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(environ=environ, env_file=None)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_secrets_never_show_in_a_repr() -> None:
    settings = load_settings(
        environ={
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "PIKASIM_API_KEY": "pk_live_secret",
            "PIKASIM_WEBHOOK_SECRET": "whsec_secret",
        },
        env_file=None,
    )
    shown = repr(settings)
    assert "ABC-def" not in shown and "pk_live_secret" not in shown and "whsec_secret" not in shown
    assert sorted(settings.secrets) == sorted([TOKEN, "pk_live_secret", "whsec_secret"])
    assert settings.reseller_api_key == "pk_live_secret"
    assert Secret("x") == Secret("x") and str(Secret("x")) == "Secret('**********')"
