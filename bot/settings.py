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

__all__ = ["Secret", "Settings", "SettingsError", "is_configured", "load_settings"]

SANDBOX_API_KEY = "pk_sandbox"
# Random per process: the embedded sandbox's webhooks never cross the network (see
# bot.listener), and nobody can sign one by reading this file.
SANDBOX_WEBHOOK_SECRET = "whsec_sandbox_" + secrets.token_urlsafe(32)


class SettingsError(Exception):
    """A missing or malformed setting; the message is one line naming the variable."""


class Secret:
    """A secret string that never shows itself in a repr, a log line or a traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class _Invalid(ValueError):
    pass


def _text(raw: str) -> str:
    return raw.strip()


def _optional_text(raw: str) -> str | None:
    return raw.strip() or None


def _integer(low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise _Invalid(f"must be a whole number, not {raw.strip()[:20]!r}") from None
        _check_range(value, low, high)
        return value

    return parse


def _number(low: float | None = None) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw.strip())
        except ValueError:
            raise _Invalid(f"must be a number, not {raw.strip()[:20]!r}") from None
        if low is not None and value < low:
            raise _Invalid(f"must be at least {low:g}")
        return value

    return parse


def _check_range(value: int, low: int | None, high: int | None) -> None:
    if low is not None and value < low:
        raise _Invalid(f"must be at least {low}")
    if high is not None and value > high:
        raise _Invalid(f"must be at most {high}")


def _token(raw: str) -> Secret:
    token = raw.strip()
    head, _, tail = token.partition(":")
    if not head.isdigit() or not tail:
        raise _Invalid("must look like 123456:ABC-DEF… (ask @BotFather)")
    return Secret(token)


def _flag(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("", "0", "false", "no", "off"):
        return False
    raise _Invalid("must be 1 or 0")


def _optional_secret(raw: str) -> Secret | None:
    return Secret(raw.strip()) if raw.strip() else None


# Plain http only to this machine (tests, a local reverse proxy): anywhere else it would carry
# the bot token, the reseller key or customers' eSIMs in the clear.
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
MIN_WEBHOOK_SECRET_LENGTH = 16


def _url(raw: str) -> str:
    value = raw.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _Invalid("must be an https:// URL")
    if parts.scheme == "http" and (parts.hostname or "") not in _LOCAL_HOSTS:
        raise _Invalid("must be an https:// URL (http:// only for localhost)")
    return value


def _optional_url(raw: str) -> str | None:
    return _url(raw) if raw.strip() else None


def _ids(raw: str) -> frozenset[int]:
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    if not all(part.lstrip("-").isdigit() for part in parts):
        raise _Invalid("must be comma-separated numeric Telegram user ids")
    return frozenset(int(part) for part in parts)


def _choice(*choices: str, upper: bool = False) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().upper() if upper else raw.strip().lower()
        if value not in choices:
            raise _Invalid("must be one of " + ", ".join(choices))
        return value

    return parse


def _path(raw: str) -> Path:
    if not raw.strip():
        raise _Invalid("must not be empty")
    return Path(raw.strip())


def _webhook_secret(raw: str) -> Secret | None:
    value = raw.strip()
    if value and not (len(value) <= 256 and all(c.isascii() and (c.isalnum() or c in "_-")
                                                 for c in value)):  # fmt: skip
        raise _Invalid("must be 1-256 characters: letters, digits, _ and - (Telegram's rule)")
    return Secret(value) if value else None


def _optional_path(raw: str) -> Path | None:
    return Path(raw.strip()) if raw.strip() else None


_REQUIRED = object()

# Every field of Settings has an entry here (a test checks it).

# variable -> (parser, default as text; _REQUIRED when there is none)
_SPEC: dict[str, tuple[Callable[[str], Any], object]] = {
    "telegram_bot_token": (_token, _REQUIRED),
    "telegram_api_url": (_url, "https://api.telegram.org/bot"),
    "pikasim_api_key": (_optional_secret, ""),
    "pikasim_api_url": (_url, "https://pikasim.com/api/v1/reseller"),
    "pikasim_webhook_secret": (_optional_secret, ""),
    "pikasim_rate_limit": (_integer(1), "60"),
    "public_url": (_optional_url, ""),
    "http_host": (_text, "127.0.0.1"),  # private by default; 0.0.0.0 in a container
    "http_port": (_integer(0, 65535), "8080"),
    "admin_ids": (_ids, ""),
    "allowed_user_ids": (_ids, ""),
    "database_path": (_path, "data/bot.sqlite3"),
    "payments": (_choice("stars", "off"), "stars"),
    "markup_percent": (_integer(0, 1000), "25"),
    "stars_per_usd": (_integer(1, 10_000), "77"),
    "reconcile_seconds": (_integer(1), "60"),
    "order_stuck_seconds": (_integer(1), "1800"),
    "invoice_ttl_seconds": (_integer(1), "3600"),
    "catalog_sync_hours": (_number(0.01), "6"),
    "low_balance_cents": (_integer(0), "2000"),
    "sandbox_provisioning_delay": (_number(0), "3"),
    "sandbox_open": (_flag, "0"),
    "log_level": (_choice("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", upper=True), "INFO"),
    # Operations (issue 13)
    "metrics_token": (_optional_secret, ""),
    "log_format": (_choice("text", "json"), "text"),
    "backup_dir": (_optional_path, ""),
    "backup_keep": (_integer(1), "7"),
    "telegram_rate_limit": (_integer(0, 1000), "30"),
    "telegram_webhook_url": (_optional_url, ""),
    "telegram_webhook_secret": (_webhook_secret, ""),
    # After the sale (bot/care.py): usage polling's share of the reseller budget, its round.
    "care_budget_percent": (_integer(0, 50), "20"),
    "care_interval_seconds": (_integer(1), "900"),
    "refund_days": (_integer(0, 3650), "30"),  # self-service refunds; 0 turns them off
    # retention (issue 15): processed webhook events kept this long; audit entries kept at most
    "retention_days": (_integer(1), "90"),
    "audit_log_keep": (_integer(1000), "100000"),
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
        )
        values = [secret.get_secret_value() for secret in candidates if secret is not None]
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
        except _Invalid as error:
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
