"""How each setting's text is read and checked: one parser per kind of value.

A parser raises ``Invalid`` with a short reason; ``bot.settings`` names the variable.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["MIN_WEBHOOK_SECRET_LENGTH", "Invalid", "Secret", "SettingsError"]


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


class Invalid(ValueError):
    pass


def text(raw: str) -> str:
    return raw.strip()


def optional_text(raw: str) -> str | None:
    return raw.strip() or None


def integer(low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise Invalid(f"must be a whole number, not {raw.strip()[:20]!r}") from None
        check_range(value, low, high)
        return value

    return parse


def number(low: float | None = None) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw.strip())
        except ValueError:
            raise Invalid(f"must be a number, not {raw.strip()[:20]!r}") from None
        if low is not None and value < low:
            raise Invalid(f"must be at least {low:g}")
        return value

    return parse


def check_range(value: int, low: int | None, high: int | None) -> None:
    if low is not None and value < low:
        raise Invalid(f"must be at least {low}")
    if high is not None and value > high:
        raise Invalid(f"must be at most {high}")


def token(raw: str) -> Secret:
    token = raw.strip()
    head, _, tail = token.partition(":")
    if not head.isdigit() or not tail:
        raise Invalid("must look like 123456:ABC-DEF… (ask @BotFather)")
    return Secret(token)


def flag(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("", "0", "false", "no", "off"):
        return False
    raise Invalid("must be 1 or 0")


def optional_secret(raw: str) -> Secret | None:
    return Secret(raw.strip()) if raw.strip() else None


# Plain http only to this machine (tests, a local reverse proxy): anywhere else it would carry
# the bot token, the reseller key or customers' eSIMs in the clear.
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
MIN_WEBHOOK_SECRET_LENGTH = 16


def url(raw: str) -> str:
    value = raw.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Invalid("must be an https:// URL")
    if parts.scheme == "http" and (parts.hostname or "") not in _LOCAL_HOSTS:
        raise Invalid("must be an https:// URL (http:// only for localhost)")
    return value


def optional_url(raw: str) -> str | None:
    return url(raw) if raw.strip() else None


def ids(raw: str) -> frozenset[int]:
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    if not all(part.lstrip("-").isdigit() for part in parts):
        raise Invalid("must be comma-separated numeric Telegram user ids")
    return frozenset(int(part) for part in parts)


def choice(*choices: str, upper: bool = False) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().upper() if upper else raw.strip().lower()
        if value not in choices:
            raise Invalid("must be one of " + ", ".join(choices))
        return value

    return parse


def path(raw: str) -> Path:
    if not raw.strip():
        raise Invalid("must not be empty")
    return Path(raw.strip())


def webhook_secret(raw: str) -> Secret | None:
    value = raw.strip()
    if value and not (len(value) <= 256 and all(c.isascii() and (c.isalnum() or c in "_-")
                                                 for c in value)):  # fmt: skip
        raise Invalid("must be 1-256 characters: letters, digits, _ and - (Telegram's rule)")
    return Secret(value) if value else None


def optional_path(raw: str) -> Path | None:
    return Path(raw.strip()) if raw.strip() else None


def database_url(raw: str) -> Secret | None:
    """A PostgreSQL URL (it may hold a password, so it is kept like a secret)."""
    value = raw.strip()
    if not value:
        return None
    if not value.startswith(("postgresql://", "postgres://")):
        raise Invalid("must be a postgresql:// URL (leave it empty for SQLite at DATABASE_PATH)")
    return Secret(value)
