"""The top-up options each eSIM was last offered, kept in memory: the Top up menu shows them and
pre-checkout checks a top-up invoice against them without asking the reseller."""

from __future__ import annotations

import time
from typing import Any

from bot.pikasim import TopupOption
from handlers.context import BotContext

__all__ = ["cached_topup_option", "known_options", "remember_options"]

_CACHE_SECONDS = 900  # the options shown are the ones sold, if bought soon enough
_CACHED_AT_MOST = 1000  # eSIMs in the cache; it starts afresh beyond that


def _cache(context: BotContext) -> dict[str, tuple[float, list[Any]]]:
    # Per application (not per module), so two bots in one process never share it.
    cache: dict[str, tuple[float, list[Any]]] = context.bot_data.setdefault("topup_options", {})
    if len(cache) > _CACHED_AT_MOST:
        cache.clear()
    return cache


def remember_options(context: BotContext, iccid: str, options: list[TopupOption]) -> None:
    _cache(context)[iccid] = (time.monotonic(), options)


def known_options(context: BotContext, iccid: str) -> list[TopupOption] | None:
    """The options offered for this eSIM lately, or None when nothing fresh is kept."""
    cached = _cache(context).get(iccid)
    if cached is None or time.monotonic() - cached[0] >= _CACHE_SECONDS:
        return None
    return cached[1]


def cached_topup_option(
    context: BotContext, iccid: str, package_code: str
) -> tuple[bool, TopupOption | None]:
    """What the customer was offered, from memory only: (whether the eSIM's options are
    cached and fresh, the option with that code among them)."""
    options = known_options(context, iccid)
    if options is None:
        return False, None
    return True, next((o for o in options if o.package_code == package_code), None)
