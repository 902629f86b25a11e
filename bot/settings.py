"""Settings read from the environment and an optional ``.env`` file (the environment wins).

A small typed loader rather than pydantic-settings: the bot must stay light in memory, and
this is all it needs. Every problem is reported as one line naming the variable.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot import _setting_values as read
from bot._setting_values import MIN_WEBHOOK_SECRET_LENGTH, Invalid, Secret, SettingsError

__all__ = ["Secret", "Settings", "SettingsError", "is_configured", "load_settings"]

SANDBOX_API_KEY = "pk_sandbox"
# Random per process: the embedded sandbox's webhooks never cross the network (see
# bot.listener), and nobody can sign one by reading this file.
SANDBOX_WEBHOOK_SECRET = "whsec_sandbox_" + secrets.token_urlsafe(32)


_REQUIRED = object()

# Every field of Settings has an entry here (a test checks it).

# variable -> (parser, default as text; _REQUIRED when there is none)
_SPEC: dict[str, tuple[Callable[[str], Any], object]] = {
    "telegram_bot_token": (read.token, _REQUIRED),
    "telegram_api_url": (read.url, "https://api.telegram.org/bot"),
    "pikasim_api_key": (read.optional_secret, ""),
    "pikasim_api_url": (read.url, "https://pikasim.com/api/v1/reseller"),
    "pikasim_webhook_secret": (read.optional_secret, ""),
    "pikasim_rate_limit": (read.integer(1), "60"),
    "public_url": (read.optional_url, ""),
    "http_host": (read.text, "127.0.0.1"),  # private by default; 0.0.0.0 in a container
    "http_port": (read.integer(0, 65535), "8080"),
    "admin_ids": (read.ids, ""),
    "allowed_user_ids": (read.ids, ""),
    "database_path": (read.path, "data/bot.sqlite3"),
    # PostgreSQL instead of the SQLite file (hosts without a disk, a managed database, a standby)
    "database_url": (read.database_url, ""),
    "payments": (read.choice("stars", "off"), "stars"),
    "markup_percent": (read.integer(0, 1000), "25"),
    "stars_per_usd": (read.integer(1, 10_000), "77"),
    "reconcile_seconds": (read.integer(1), "60"),
    "order_stuck_seconds": (read.integer(1), "1800"),
    "invoice_ttl_seconds": (read.integer(1), "3600"),
    "catalog_sync_hours": (read.number(0.01), "6"),
    "low_balance_cents": (read.integer(0), "2000"),
    "sandbox_provisioning_delay": (read.number(0), "3"),
    "sandbox_open": (read.flag, "0"),
    "log_level": (
        read.choice("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", upper=True),
        "INFO",
    ),
    # Operations (issue 13)
    "metrics_token": (read.optional_secret, ""),
    "log_format": (read.choice("text", "json"), "text"),
    "backup_dir": (read.optional_path, ""),
    "backup_keep": (read.integer(1), "7"),
    "telegram_rate_limit": (read.integer(0, 1000), "30"),
    "telegram_webhook_url": (read.optional_url, ""),
    "telegram_webhook_secret": (read.webhook_secret, ""),
    # After the sale (bot/care.py): usage polling's share of the reseller budget, its round.
    "care_budget_percent": (read.integer(0, 50), "20"),
    "care_interval_seconds": (read.integer(1), "900"),
    "refund_days": (read.integer(0, 3650), "30"),  # self-service refunds; 0 turns them off
    # retention (issue 15): processed webhook events kept this long; audit entries kept at most
    "retention_days": (read.integer(1), "90"),
    "audit_log_keep": (read.integer(1000), "100000"),
}


@dataclass(frozen=True)
class Settings:
    telegram_bot_token: Secret
    telegram_api_url: str
    pikasim_api_key: Secret | None
    pikasim_api_url: str
    pikasim_webhook_secret: Secret | None
    pikasim_rate_limit: int
    public_url: str | None
    http_host: str
    http_port: int
    admin_ids: frozenset[int]
    allowed_user_ids: frozenset[int]
    database_path: Path
    payments: str
    markup_percent: int
    stars_per_usd: int
    reconcile_seconds: int
    order_stuck_seconds: int
    invoice_ttl_seconds: int
    catalog_sync_hours: float
    low_balance_cents: int
    sandbox_provisioning_delay: float
    sandbox_open: bool  # embedded sandbox: anyone may buy (Stars refunded), not only admins
    log_level: str
    care_budget_percent: int  # 0: no usage polling (expiry reminders still go out)
    care_interval_seconds: int
    refund_days: int
    metrics_token: Secret | None = None
    log_format: str = "text"
    backup_dir: Path | None = None
    backup_keep: int = 7
    telegram_rate_limit: int = 30
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: Secret | None = None
    # Not a variable: set by the playground, whose Telegram is an emulator and whose Stars are
    # simulated, so its sandbox sales are demonstrations, not rehearsals with real money.
    simulated_stars: bool = False
    retention_days: int = 90
    audit_log_keep: int = 100_000
    database_url: Secret | None = None

    @property
    def database(self) -> Path | str:
        """Where the data lives: the PostgreSQL URL when set, else the SQLite file."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return self.database_path

    @property
    def uses_postgres(self) -> bool:
        return self.database_url is not None

    @property
    def uses_sandbox(self) -> bool:
        return self.pikasim_api_key is None

    @property
    def rehearsal(self) -> bool:
        """Sandbox mode with real Telegram: real Stars for simulated eSIMs, so only admins and
        allowed users buy (unless SANDBOX_OPEN=1) and every Star is refunded after delivery."""
        return self.uses_sandbox and not self.simulated_stars

    @property
    def reseller_api_key(self) -> str:
        if self.pikasim_api_key is None:
            return SANDBOX_API_KEY
        return self.pikasim_api_key.get_secret_value()

    @property
    def webhook_secret(self) -> str:
        if self.uses_sandbox:  # the embedded sandbox signs with the per-process secret
            return SANDBOX_WEBHOOK_SECRET
        if self.pikasim_webhook_secret is not None:
            return self.pikasim_webhook_secret.get_secret_value()
        return SANDBOX_WEBHOOK_SECRET

    def may_buy(self, user_id: int) -> bool:
        """Sandbox mode is a rehearsal: only admins and allowed users buy, unless
        SANDBOX_OPEN=1. With a real reseller everyone may (ALLOWED_USER_IDS gates the rest)."""
        if not self.rehearsal or self.sandbox_open:
            return True
        return user_id in self.admin_ids or user_id in self.allowed_user_ids

    @property
    def secrets(self) -> list[str]:
        """Every secret value, so the log filter can mask them."""
        candidates: tuple[Secret | None, ...] = (
            self.telegram_bot_token,
            self.pikasim_api_key,
            self.pikasim_webhook_secret,
            self.metrics_token,
            self.telegram_webhook_secret,
            self.database_url,
        )
        values = [secret.get_secret_value() for secret in candidates if secret is not None]
        if self.database_url is not None:  # a driver's error may quote the password alone
            password = urlsplit(self.database_url.get_secret_value()).password
            values += [password] if password else []
        return [*values, SANDBOX_WEBHOOK_SECRET] if self.uses_sandbox else values


def load_settings(
    environ: Mapping[str, str] | None = None,
    env_file: Path | str | None = ".env",
    **overrides: object,
) -> Settings:
    """Settings from ``overrides``, then the environment, then ``env_file``, then defaults.

    Overrides may be typed values or text; text goes through the same checks as the
    environment's.
    """
    sources = [_read_env_file(Path(env_file)) if env_file else {}]
    environment = os.environ if environ is None else environ
    sources.append({key.lower(): value for key, value in environment.items()})
    merged: dict[str, object] = {}
    for source in sources:
        merged.update(source)
    merged.update({key.lower(): value for key, value in overrides.items()})
    values: dict[str, object] = {}
    problems: list[str] = []
    for name, (parse, default) in _SPEC.items():
        raw = merged.get(name, default)
        if raw is _REQUIRED or (default is _REQUIRED and raw == ""):
            problems.append(f"{name.upper()}: is required but not set")
            continue
        try:
            values[name] = parse(raw) if isinstance(raw, str) else _typed(name, raw)
        except Invalid as error:
            problems.append(f"{name.upper()}: {error}")
    if not problems and values["pikasim_api_key"] and values["pikasim_webhook_secret"] is None:
        problems.append("PIKASIM_WEBHOOK_SECRET: required when PIKASIM_API_KEY is set")
    secret = values.get("pikasim_webhook_secret")
    if isinstance(secret, Secret) and len(secret.get_secret_value()) < MIN_WEBHOOK_SECRET_LENGTH:
        problems.append(
            f"PIKASIM_WEBHOOK_SECRET: must be at least {MIN_WEBHOOK_SECRET_LENGTH} characters"
        )
    if not problems and values["payments"] == "off" and not values["allowed_user_ids"]:
        # Without Stars the operator's wallet pays for every order: never for strangers.
        problems.append("ALLOWED_USER_IDS: required when PAYMENTS=off")
    if problems:
        raise SettingsError("; ".join(problems))
    return Settings(**values)  # type: ignore[arg-type]


def is_configured(
    variable: str, environ: Mapping[str, str] | None = None, env_file: Path | str | None = ".env"
) -> bool:
    """Whether ``variable`` has a non-empty value in the environment or ``env_file``.

    Without TELEGRAM_BOT_TOKEN, ``python -m bot`` starts the playground instead of failing.
    """
    environment = os.environ if environ is None else environ
    if environment.get(variable.upper(), "").strip():
        return True
    from_file = _read_env_file(Path(env_file)) if env_file else {}
    return bool(from_file.get(variable.lower(), "").strip())


def _typed(name: str, value: object) -> object:
    """An override given as a Python value: wrap secrets and sets like parsed text would be."""
    if value is None:
        return None
    if name in (
        "telegram_bot_token",
        "pikasim_api_key",
        "pikasim_webhook_secret",
        "metrics_token",
        "telegram_webhook_secret",
        "database_url",
    ):
        return value if isinstance(value, Secret) else Secret(str(value))
    if name in ("admin_ids", "allowed_user_ids"):
        return frozenset(value)  # type: ignore[call-overload]
    if name in ("database_path", "backup_dir"):
        return Path(str(value))
    return value


def _read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines, comments and ``export`` are allowed; quotes stripped."""
    if not path.is_file():
        return {}
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key.strip().lower()] = value
    return values
