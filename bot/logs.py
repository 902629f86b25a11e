"""Logging: one line per event, secrets masked wherever they would appear."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from urllib.parse import quote

__all__ = ["RedactingFormatter", "configure_logging"]

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries whose INFO lines print URLs (httpx prints the bot token) or are pure noise.
_QUIET_LOGGERS = ("httpx", "httpcore", "uvicorn.access", "apscheduler", "telegram.ext.Updater")


class RedactingFormatter(logging.Formatter):
    def __init__(self, secrets: Iterable[str], fmt: str = _FORMAT) -> None:
        super().__init__(fmt)
        masks: set[str] = set()
        for secret in secrets:
            if len(secret) >= 4:
                masks.update({secret, quote(secret, safe="")})
        # Longest first, so a secret containing another is masked whole.
        self._secrets = sorted(masks, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        # One line per event: tracebacks are folded, so log shippers keep them together.
        return text.replace("\r", "").replace("\n", " | ")


def configure_logging(level: str, secrets: Iterable[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(secrets))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
