"""The top-up options each eSIM was last offered, kept in memory: the Top up menu shows them and
pre-checkout checks a top-up invoice against them without asking the reseller."""

from __future__ import annotations

import time
from typing import Any

from telegram.ext import ContextTypes

from bot.pikasim import TopupOption

__all__ = ["TOPUP_CACHE_SECONDS", "cached_topup_option", "topup_cache"]

TOPUP_CACHE_SECONDS = 900  # the options shown are the ones sold, if bought soon enough


def topup_cache(context: ContextTypes.DEFAULT_TYPE) -> dict[str, tuple[float, list[Any]]]:
    # Per application (not per module), so two bots in one process never share it.
    cache: dict[str, tuple[float, list[Any]]] = context.bot_data.setdefault("topup_options", {})
    if len(cache) > 1000:
        cache.clear()
    return cache


def cached_topup_option(
    context: ContextTypes.DEFAULT_TYPE, iccid: str, package_code: str
) -> tuple[bool, TopupOption | None]:
    """What the customer was offered, from memory only: (whether the eSIM's options are
    cached and fresh, the option with that code among them)."""
    cached = topup_cache(context).get(iccid)
    if cached is None or time.monotonic() - cached[0] >= TOPUP_CACHE_SECONDS:
        return False, None
    return True, next((o for o in cached[1] if o.package_code == package_code), None)
