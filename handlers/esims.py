"""My eSIMs: the list, one eSIM's card, usage, top-ups and the install guide.

Every button names an ICCID, and a user can send any callback data they like, so each
handler looks the eSIM up with ``owned_by(iccid, user_id)``: someone else's eSIM is simply
"expired". The reseller is asked (usage, top-up options) only when the customer taps a
button, at customer priority, and its errors become a polite sentence. Its answers are cached
per eSIM (usage for a minute, shown with its age), and the asking happens in a task of the
customer's own after the tap is answered, paced per user (see handlers.pacing).
"""

from __future__ import annotations

import asyncio
import html
import logging
import math
import time
from datetime import UTC, datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes

from bot.esim_data import valid_iccid
from bot.i18n import catalog, cldr, t
from bot.pikasim import PikaSimError, Priority, Usage
from handlers.browse import days_text, volume_text
from handlers.callbacks import build, parse
from handlers.common import answer, language_of, services_of, show
from handlers.delivery import esim_keyboard, install_links
from handlers.pacing import pacing_of
from handlers.paging import Page, fit, nav_row
from storage import Esim, now

__all__ = [
    "FINAL",
    "back_to_card",
    "on_card",
    "on_guide",
    "on_usage",
    "owned_esim",
    "paced",
    "register",
    "reseller_error",
    "run_paced",
    "show_mine",
    "status_text",
    "to_bytes",
    "usage_text",
]

log = logging.getLogger(__name__)

GIB = 1024**3
MIB = 1024**2
_LISTED = 10  # eSIMs on a "My eSIMs" page (the shared pager shows the rest)
_BAR_CELLS = 10
_USAGE_CACHE_SECONDS = 60  # the reseller is asked about one eSIM's usage at most this often
_CACHED_AT_MOST = 1000  # eSIMs per cache; the cache starts afresh beyond that
FINAL = frozenset({"EXPIRED", "CANCELLED", "REVOKED"})
# My eSIMs asks the reseller only about eSIMs not checked for this long, and at most this
# many per tap, so that a customer tapping away cannot eat the account's request budget.
_REFRESH_AFTER_SECONDS = 300
_REFRESH_AT_MOST = 5


# -- small helpers ------------------------------------------------------------------------


def _back_to_list(language: str) -> list[InlineKeyboardButton]:
    return [
        InlineKeyboardButton(t(language, "esims.button.list"), callback_data=build("m", "mine"))
    ]


def back_to_card(language: str, iccid: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(t(language, "esims.button.card"), callback_data=build("e", iccid))]]
    )


def status_text(language: str, status: str | None) -> str:
    """The reseller's status code in plain words."""
    key = f"esims.status.{(status or 'UNKNOWN').upper()}"
    text = catalog(language).get(key) or catalog("en").get(key)
    if text is not None:
        return text
    return t(language, "esims.status.other", status=html.escape(status or "?"))


def reseller_error(language: str, error: PikaSimError) -> str:
    key = f"esims.error.{error.kind}"
    if key in catalog("en"):
        return t(language, key)
    return t(language, "esims.error.other")


def _plan_name(context: ContextTypes.DEFAULT_TYPE, esim: Esim, names: dict[int, str]) -> str:
    if esim.order_id in names:
        return names[esim.order_id]
    plan = services_of(context).catalog.index.by_code.get(esim.package_code)
    return plan.name if plan is not None else esim.package_code


async def _order_names(context: ContextTypes.DEFAULT_TYPE, esims: list[Esim]) -> dict[int, str]:
    """The plan names the customer bought these eSIMs as (only these: a page, or one)."""
    return await services_of(context).storage.orders.package_names([e.order_id for e in esims])


def _left_text(language: str, esim: Esim) -> str:
    if esim.total_bytes is None:
        return ""
    left = max(0, esim.total_bytes - (esim.used_bytes or 0))
    return t(
        language,
        "esims.left",
        left=volume_text(language, left),
        total=volume_text(language, esim.total_bytes),
    )


async def owned_esim(
    update: Update, context: ContextTypes.DEFAULT_TYPE, *, answer_now: bool = True
) -> tuple[Esim, str] | None:
    """The tapped eSIM and the rest of the callback, only if this user owns it (the tap is
    then answered, unless ``answer_now`` is False); otherwise the tap is answered as stale and
    None returned."""
    query = update.callback_query
    callback = parse(query.data if query else None)
    user = update.effective_user
    esim = None
    if callback is not None and user is not None:
        esim = await services_of(context).storage.esims.owned_by(callback.arg(0), user.id)
    if esim is None or callback is None:
        await answer(query, t(language_of(update, context), "common.stale"), alert=True)
        return None
    if answer_now:
        await answer(query)
    return esim, callback.arg(1)


# -- My eSIMs -----------------------------------------------------------------------------


async def show_mine(update: Update, context: ContextTypes.DEFAULT_TYPE, number: int = 1) -> None:
    user = update.effective_user
    if user is None:
        return
    page = await _mine_page(context, user.id, number)
    due = _due(context, page.items)
    pacing = pacing_of(context)
    if due and not pacing.busy(user.id, "mine"):  # otherwise: what we knew, at once
        pacing.tapped(user.id, "mine")
        pacing.run(context, update, user.id, _refresh_then_list(update, context, due, number))
        return
    await _show_list(update, context, page)


async def _mine_page(context: ContextTypes.DEFAULT_TYPE, user_id: int, number: int) -> Page[Esim]:
    esims = await services_of(context).storage.esims.for_user(
        user_id, limit=_LISTED + 1, offset=Page.offset(number, _LISTED)
    )
    return Page.of(esims, number, _LISTED)


async def _refresh_then_list(
    update: Update, context: ContextTypes.DEFAULT_TYPE, due: list[Esim], number: int
) -> None:
    await _refresh_usage(context, due)
    user_id = update.effective_user.id if update.effective_user else 0
    await _show_list(update, context, await _mine_page(context, user_id, number))


async def _show_list(update: Update, context: ContextTypes.DEFAULT_TYPE, page: Page[Esim]) -> None:
    language = language_of(update, context)
    esims = page.items
    if not esims:
        buy = InlineKeyboardButton(t(language, "menu.buy"), callback_data=build("m", "buy"))
        await show(update, t(language, "esims.none"), InlineKeyboardMarkup([[buy]]))
        return
    names = await _order_names(context, esims)
    lines = [t(language, "esims.title")]
    rows = []
    for esim in esims:
        name = html.escape(_plan_name(context, esim, names))
        lines.append(
            t(
                language,
                "esims.line",
                plan=name,
                iccid=html.escape(esim.iccid),
                status=status_text(language, esim.status),
                left=_left_text(language, esim),
            )
        )
        if not valid_iccid(esim.iccid):  # a reseller's bad ICCID cannot go on a button
            continue
        label = t(language, "esims.button.open", plan=_plan_name(context, esim, names),
                  tail=esim.iccid[-4:])  # fmt: skip
        rows.append([InlineKeyboardButton(label, callback_data=build("e", esim.iccid))])
    if nav := nav_row(language, "m", ("mine",), page.number, page.has_next):
        rows.append(nav)
    rows.append(
        [InlineKeyboardButton(t(language, "browse.button.menu"), callback_data=build("m", "home"))]
    )
    await show(update, fit("\n\n".join(lines)), InlineKeyboardMarkup(rows))


def _due(context: ContextTypes.DEFAULT_TYPE, esims: list[Esim]) -> list[Esim]:
    """The eSIMs of the list whose remaining data is worth asking the reseller about."""
    return [
        esim
        for esim in esims
        if (esim.status or "").upper() not in FINAL
        and valid_iccid(esim.iccid)
        and (esim.total_bytes is None or now() - esim.updated_at > _REFRESH_AFTER_SECONDS)
        and _fresh_usage(context, esim.iccid) is None
    ][:_REFRESH_AT_MOST]


async def _refresh_usage(context: ContextTypes.DEFAULT_TYPE, due: list[Esim]) -> None:
    """Fresh remaining data for these eSIMs (errors leave what we knew)."""
    reseller = services_of(context).reseller
    answers = await asyncio.gather(
        *(reseller.usage(esim.iccid, priority=Priority.CUSTOMER) for esim in due),
        return_exceptions=True,
    )
    for esim, usage in zip(due, answers, strict=True):
        if isinstance(usage, Usage):
            _usage_cache(context)[esim.iccid] = (time.monotonic(), usage)
            await _remember_usage(context, esim, usage)
        elif isinstance(usage, PikaSimError):  # the list still shows what we knew
            log.info("usage of %s not refreshed: %s", esim.iccid, usage)
        else:
            raise usage


async def on_card(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    owned = await owned_esim(update, context)
    if owned is None:
        return
    esim, _ = owned
    language = language_of(update, context)
    name = _plan_name(context, esim, await _order_names(context, [esim]))
    text = t(
        language,
        "esims.card",
        plan=html.escape(name),
        iccid=html.escape(esim.iccid),
        status=status_text(language, esim.status),
        left=_left_text(language, esim),
    )
    rows = [*esim_keyboard(language, esim.iccid).inline_keyboard, _back_to_list(language)]
    await show(update, text, InlineKeyboardMarkup(rows))


# -- usage --------------------------------------------------------------------------------


def to_bytes(exact: int | None, gb: float | None, mb: float | None) -> int | None:
    if exact is not None:
        return exact
    if gb is not None:
        return int(gb * GIB)
    if mb is not None:
        return int(mb * MIB)
    return None


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
    total = to_bytes(usage.total_data_bytes, usage.total_data_gb, usage.total_data_mb)
    total = total if total is not None else esim.total_bytes or 0
    used = to_bytes(usage.used_data_bytes, usage.used_data_gb, usage.used_data_mb) or 0
    left = to_bytes(usage.remaining_data_bytes, usage.remaining_data_gb, usage.remaining_data_mb)
    left = left if left is not None else max(0, total - used)
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


async def _remember_usage(context: ContextTypes.DEFAULT_TYPE, esim: Esim, usage: Usage) -> None:
    """Keep the last answer so My eSIMs can show remaining data without asking again."""
    total = to_bytes(usage.total_data_bytes, usage.total_data_gb, usage.total_data_mb)
    used = to_bytes(usage.used_data_bytes, usage.used_data_gb, usage.used_data_mb)
    await services_of(context).storage.esims.update_usage(
        esim.iccid,
        status=usage.status or esim.status,
        smdp_status=usage.smdp_status or esim.smdp_status,
        total_bytes=total if total is not None else esim.total_bytes,
        used_bytes=used if used is not None else esim.used_bytes,
        expires_at=usage.expire_time.isoformat() if usage.expire_time else esim.expires_at,
    )


def _usage_cache(context: ContextTypes.DEFAULT_TYPE) -> dict[str, tuple[float, Usage]]:
    # Per application (not per module), so two bots in one process never share it.
    cache: dict[str, tuple[float, Usage]] = context.bot_data.setdefault("usage", {})
    if len(cache) > _CACHED_AT_MOST:
        cache.clear()
    return cache


def _fresh_usage(context: ContextTypes.DEFAULT_TYPE, iccid: str) -> tuple[float, Usage] | None:
    cached = _usage_cache(context).get(iccid)
    if cached is None or time.monotonic() - cached[0] >= _USAGE_CACHE_SECONDS:
        return None
    return cached


async def paced(update: Update, context: ContextTypes.DEFAULT_TYPE, kind: str) -> bool:
    """Answer a reseller-backed tap at once: "one moment" (False) if this user tapped one a
    moment ago or still waits for the last; otherwise start their cooldown (True)."""
    pacing = pacing_of(context)
    user_id = update.effective_user.id if update.effective_user else 0
    if pacing.busy(user_id, kind):
        await answer(update.callback_query, t(language_of(update, context), "pacing.wait"))
        return False
    pacing.tapped(user_id, kind)
    await answer(update.callback_query)
    return True


def run_paced(update: Update, context: ContextTypes.DEFAULT_TYPE, work: Any) -> None:
    user_id = update.effective_user.id if update.effective_user else 0
    pacing_of(context).run(context, update, user_id, work)


async def on_usage(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    owned = await owned_esim(update, context, answer_now=False)
    if owned is None or not await paced(update, context, "usage"):
        return
    esim, _ = owned
    cached = _fresh_usage(context, esim.iccid)
    if cached is not None:
        await _show_usage(update, context, esim, *cached)
    else:
        run_paced(update, context, _fetch_usage(update, context, esim))


async def _fetch_usage(update: Update, context: ContextTypes.DEFAULT_TYPE, esim: Esim) -> None:
    try:
        usage = await services_of(context).reseller.usage(esim.iccid, priority=Priority.CUSTOMER)
    except PikaSimError as error:
        log.info("usage of %s not available: %s", esim.iccid, error)
        language = language_of(update, context)
        await show(update, reseller_error(language, error), back_to_card(language, esim.iccid))
        return
    fetched_at = time.monotonic()
    _usage_cache(context)[esim.iccid] = (fetched_at, usage)
    await _remember_usage(context, esim, usage)
    await _show_usage(update, context, esim, fetched_at, usage)


async def _show_usage(
    update: Update, context: ContextTypes.DEFAULT_TYPE, esim: Esim, fetched_at: float, usage: Usage
) -> None:
    language = language_of(update, context)
    name = _plan_name(context, esim, await _order_names(context, [esim]))
    age = int(time.monotonic() - fetched_at)
    updated = (
        t(language, "esims.usage.updated", seconds=age)
        if age
        else t(language, "esims.usage.updated_now")
    )
    refresh = InlineKeyboardButton(t(language, "esims.button.refresh"),
                                   callback_data=build("u", esim.iccid))  # fmt: skip
    back = back_to_card(language, esim.iccid)
    markup = InlineKeyboardMarkup([[refresh], *back.inline_keyboard])
    await show(update, f"{usage_text(language, name, esim, usage)}\n{updated}", markup)


# -- install guide ------------------------------------------------------------------------


async def on_guide(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    owned = await owned_esim(update, context)
    if owned is None:
        return
    esim, _ = owned
    language = language_of(update, context)
    ios_link, android_link = install_links(esim.activation_code)
    text = t(
        language,
        "esims.guide",
        iccid=html.escape(esim.iccid),
        smdp=html.escape(esim.smdp_address),
        matching_id=html.escape(esim.matching_id),
        ios_link=html.escape(ios_link),
        android_link=html.escape(android_link),
    )
    await show(update, text, back_to_card(language, esim.iccid))


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(CallbackQueryHandler(on_card, pattern=r"^e:"))
    application.add_handler(CallbackQueryHandler(on_usage, pattern=r"^u:"))
    application.add_handler(CallbackQueryHandler(on_guide, pattern=r"^i:"))
