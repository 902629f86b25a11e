"""Logging: one line per event, secrets masked wherever they would appear.

``LOG_FORMAT=text`` (the default) prints readable lines; ``LOG_FORMAT=json`` prints one JSON
object per line for log shippers. Both mask the same secrets.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import quote

__all__ = ["JsonFormatter", "RedactingFormatter", "SecretMasker", "configure_logging"]

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries whose INFO lines print URLs (httpx prints the bot token) or are pure noise.
_QUIET_LOGGERS = ("httpx", "httpcore", "uvicorn.access", "apscheduler", "telegram.ext.Updater")


class SecretMasker:
    """Replaces every secret (and its URL-quoted form) with ***."""

    def __init__(self, secrets: Iterable[str]) -> None:
        masks: set[str] = set()
        for secret in secrets:
            if len(secret) >= 4:
                masks.update({secret, quote(secret, safe="")})
        # Longest first, so a secret containing another is masked whole.
        self._secrets = sorted(masks, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


class RedactingFormatter(logging.Formatter):
    def __init__(self, secrets: Iterable[str], fmt: str = _FORMAT) -> None:
        super().__init__(fmt)
        self._mask = SecretMasker(secrets)

    def format(self, record: logging.LogRecord) -> str:
        text = self._mask(super().format(record))
        # One line per event: tracebacks are folded, so log shippers keep them together.
        return text.replace("\r", "").replace("\n", " | ")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, and the
    traceback as ``exc_info`` when there is one. Masking happens before encoding, so a secret
    is caught however JSON would escape it."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._mask = SecretMasker(secrets)

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self._mask(record.getMessage()),
        }
        if record.exc_info:
            entry["exc_info"] = self._mask(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack_info"] = self._mask(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str, secrets: Iterable[str], log_format: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    secrets = list(secrets)
    formatter = JsonFormatter(secrets) if log_format == "json" else RedactingFormatter(secrets)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
