"""The settings loader: defaults, the .env file, the environment, and one-line errors."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from bot.settings import _SPEC, Secret, Settings, SettingsError, load_settings

TOKEN = "123456:ABC-def"


def test_every_setting_has_a_parser_and_a_default() -> None:
    not_variables = {"simulated_stars"}  # set by the playground, not read from the environment
    assert {field.name for field in fields(Settings)} - not_variables == set(_SPEC)


def test_defaults_are_the_documented_ones(tmp_path: Path) -> None:
    settings = load_settings(environ={"TELEGRAM_BOT_TOKEN": TOKEN}, env_file=None)
    assert settings.telegram_api_url == "https://api.telegram.org/bot"
    assert settings.pikasim_api_url == "https://pikasim.com/api/v1/reseller"
    assert settings.uses_sandbox and settings.public_url is None
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8080)
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
            "PIKASIM_WEBHOOK_SECRET": "whsec_secret_0123456789",
        },
        env_file=None,
    )
    shown = repr(settings)
    assert "ABC-def" not in shown and "pk_live_secret" not in shown and "whsec_secret" not in shown
    assert sorted(settings.secrets) == sorted([TOKEN, "pk_live_secret", "whsec_secret_0123456789"])
    assert settings.reseller_api_key == "pk_live_secret"
    assert Secret("x") == Secret("x") and str(Secret("x")) == "Secret('**********')"


@pytest.mark.parametrize("variable", ["PUBLIC_URL", "PIKASIM_API_URL", "TELEGRAM_API_URL"])
@pytest.mark.parametrize(
    "url",
    [
        "http://bot.example.com",
        "http://10.0.0.5:8080/api",
        "http://localhost.example.com",
        "http://127.0.0.1.nip.io",
        "ftp://localhost/x",
    ],
)
def test_urls_must_be_https_except_to_this_machine(variable: str, url: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(environ={"TELEGRAM_BOT_TOKEN": TOKEN, variable: url}, env_file=None)
    assert str(raised.value).startswith(f"{variable}: must be an https:// URL")
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("variable", ["PUBLIC_URL", "PIKASIM_API_URL", "TELEGRAM_API_URL"])
@pytest.mark.parametrize(
    "url",
    [
        "https://bot.example.com",
        "http://localhost:8080",
        "http://127.0.0.1:9000/api/v1/reseller",
        "http://[::1]:8080/bot",
    ],
)
def test_https_and_local_http_urls_are_accepted(variable: str, url: str) -> None:
    settings = load_settings(environ={"TELEGRAM_BOT_TOKEN": TOKEN, variable: url}, env_file=None)
    assert getattr(settings, variable.lower()) == url


@pytest.mark.parametrize("secret", ["short", "whsec_123456789"])  # 15 characters at most
def test_a_short_webhook_secret_is_refused(secret: str) -> None:
    environ = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "PIKASIM_API_KEY": "pk_live_x",
        "PIKASIM_WEBHOOK_SECRET": secret,
    }
    with pytest.raises(SettingsError) as raised:
        load_settings(environ=environ, env_file=None)
    assert str(raised.value) == "PIKASIM_WEBHOOK_SECRET: must be at least 16 characters"
    # the same check for a value handed over in code
    with pytest.raises(SettingsError):
        load_settings(
            environ={"TELEGRAM_BOT_TOKEN": TOKEN},
            env_file=None,
            pikasim_webhook_secret=Secret(secret),
        )
    environ["PIKASIM_WEBHOOK_SECRET"] = "whsec_1234567890"  # 16
    assert load_settings(environ=environ, env_file=None).webhook_secret == "whsec_1234567890"
