"""How an eSIM reads: status, remaining data, a usage bar and expiry, in the customer's language."""

from __future__ import annotations

import html
import math
import time
from datetime import UTC, datetime

from bot.i18n import catalog, cldr, t
from bot.pikasim import Usage
from handlers.units import days_text, volume_text
from storage import Esim

_BAR_CELLS = 10


def status_text(language: str, status: str | None) -> str:
    """The reseller's status code in plain words."""
    key = f"esims.status.{(status or 'UNKNOWN').upper()}"
    text = catalog(language).get(key) or catalog("en").get(key)
    if text is not None:
        return text
    return t(language, "esims.status.other", status=html.escape(status or "?"))


def left_text(language: str, esim: Esim) -> str:
    if esim.total_bytes is None:
        return ""
    left = max(0, esim.total_bytes - (esim.used_bytes or 0))
    return t(
        language,
        "esims.left",
        left=volume_text(language, left),
        total=volume_text(language, esim.total_bytes),
    )


def _bar(fraction: float) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * _BAR_CELLS)
    return "▰" * filled + "▱" * (_BAR_CELLS - filled)


def _expiry_line(language: str, expires: datetime | None, status: str | None) -> str:
    if expires is None:
        return t(language, "esims.usage.not_started")
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    date = cldr.format_expiry(expires, language) + " UTC"
    seconds_left = expires.timestamp() - time.time()
    if seconds_left <= 0 or (status or "").upper() == "EXPIRED":
        return t(language, "esims.usage.expired", date=date)
    days = math.ceil(seconds_left / 86_400)
    return t(language, "esims.usage.expires", date=date, days=days_text(language, days))


def usage_text(language: str, plan: str, esim: Esim, usage: Usage) -> str:
    total = usage.total if usage.total is not None else esim.total_bytes or 0
    used = usage.used or 0
    left = usage.remaining if usage.remaining is not None else max(0, total - used)
    fraction = used / total if total else 0.0
    return t(
        language,
        "esims.usage",
        plan=html.escape(plan),
        iccid=html.escape(esim.iccid),
        bar=_bar(fraction),
        percent=round(fraction * 100),
        used=volume_text(language, used),
        total=volume_text(language, total),
        left=volume_text(language, left),
        expiry=_expiry_line(language, usage.expire_time, usage.status),
        status=status_text(language, usage.status or esim.status),
    )
