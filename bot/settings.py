"""Settings read from the environment and an optional ``.env`` file (the environment wins)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AnyHttpUrl,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["Settings", "SettingsError", "load_settings"]

SANDBOX_API_KEY = "pk_sandbox"
SANDBOX_WEBHOOK_SECRET = "whsec_sandbox"

IdList = Annotated[frozenset[int], NoDecode]


class SettingsError(Exception):
    """A missing or malformed setting; the message is one line naming the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    telegram_bot_token: SecretStr
    telegram_api_url: str = "https://api.telegram.org/bot"
    pikasim_api_key: SecretStr | None = None
    pikasim_api_url: str = "https://pikasim.com/api/v1/reseller"
    pikasim_webhook_secret: SecretStr | None = None
    pikasim_rate_limit: int = Field(default=60, ge=1)
    public_url: AnyHttpUrl | None = None
    http_host: str = "0.0.0.0"
    http_port: int = Field(default=8080, ge=0, le=65535)
    admin_ids: IdList = frozenset()
    allowed_user_ids: IdList = frozenset()
    database_path: Path = Path("data/bot.sqlite3")
    payments: Literal["stars", "off"] = "stars"
    markup_percent: int = Field(default=25, ge=0, le=1000)
    stars_per_usd: int = Field(default=77, ge=1, le=10_000)
    reconcile_seconds: int = Field(default=60, ge=1)
    catalog_sync_hours: float = Field(default=6.0, gt=0)
    low_balance_cents: int = Field(default=2_000, ge=0)
    sandbox_provisioning_delay: float = Field(default=3.0, ge=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value().strip()
        head, _, tail = token.partition(":")
        if not head.isdigit() or not tail:
            raise ValueError("must look like 123456:ABC-DEF… (ask @BotFather)")
        return SecretStr(token)

    @field_validator("admin_ids", "allowed_user_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",") if part.strip()]
            if not all(part.lstrip("-").isdigit() for part in parts):
                raise ValueError("must be comma-separated numeric Telegram user ids")
            return frozenset(int(part) for part in parts)
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("payments", mode="before")
    @classmethod
    def _lower_case(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _secret_with_real_key(self) -> Settings:
        if self.pikasim_api_key is not None and not self.pikasim_api_key.get_secret_value():
            self.pikasim_api_key = None
        if self.pikasim_api_key is not None and self.pikasim_webhook_secret is None:
            raise ValueError("PIKASIM_WEBHOOK_SECRET: required when PIKASIM_API_KEY is set")
        return self

    @property
    def uses_sandbox(self) -> bool:
        return self.pikasim_api_key is None

    @property
    def reseller_api_key(self) -> str:
        if self.pikasim_api_key is None:
            return SANDBOX_API_KEY
        return self.pikasim_api_key.get_secret_value()

    @property
    def webhook_secret(self) -> str:
        if self.pikasim_webhook_secret is not None:
            return self.pikasim_webhook_secret.get_secret_value()
        return SANDBOX_WEBHOOK_SECRET

    @property
    def secrets(self) -> list[str]:
        """Every secret value, so the log filter can mask them."""
        values = [self.telegram_bot_token.get_secret_value()]
        if self.pikasim_api_key is not None:
            values.append(self.pikasim_api_key.get_secret_value())
        if self.pikasim_webhook_secret is not None:
            values.append(self.pikasim_webhook_secret.get_secret_value())
        return [value for value in values if value]


def load_settings(**overrides: object) -> Settings:
    """Build the settings, turning validation errors into one readable line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        name = "_".join(str(part) for part in item["loc"]).upper()
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "missing":
            message = "is required but not set"
        if ":" in message and message.split(":", 1)[0].isupper():
            problems.append(message)  # the message names its variable already
        elif name:
            problems.append(f"{name}: {message}")
        else:
            problems.append(message)
    return "; ".join(problems)
