"""/user: one customer's card, and their orders and eSIMs page by page.

The card stays the same size for any history: totals from one indexed query, the latest few
orders and eSIMs (live from the reseller for a few only, to stay well inside its rate limit),
and buttons to page through the rest with the shared pager.
"""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.i18n import t
from handlers.admin_common import admin_command, when
from handlers.admin_views import customer, live_esim_text, order_line
from handlers.callbacks import AdminUserPage
from handlers.common import reply, show
from handlers.context import BotContext
from handlers.paging import Page, fit, nav_row
from storage import Esim, Order, User

__all__ = ["on_user", "on_user_page"]

CARD_ROWS = 5  # orders and eSIMs on the card; the rest are a tap away
PAGE_ROWS = 10
USER_LIVE_ESIMS = 5  # live look-ups per card


@admin_command("user")
async def on_user(update: Update, context: BotContext) -> None:
    language = context.language
    args = context.args or []
    if not args or not _user_id(args[0]):
        await reply(update, t(language, "admin.user.usage"))
        return
    user_id = int(args[0])
    storage = context.services.storage
    user = await storage.users.get(user_id)
    orders = await storage.orders.for_user(user_id, limit=CARD_ROWS + 1)
    if user is None and not orders:
        await reply(update, t(language, "admin.user.unknown", user_id=user_id))
        return
    text, markup = await _card(context, user_id, user, orders, language)
    await reply(update, text, markup)


def _user_id(raw: str) -> bool:
    return raw.lstrip("-").isdigit() and len(raw) <= 20


async def _card(
    context: BotContext,
    user_id: int,
    user: User | None,
    orders: list[Order],
    language: str,
) -> tuple[str, InlineKeyboardMarkup | None]:
    storage = context.services.storage
    totals = await context.services.storage.stats.user_totals(user_id)
    esim_count = await storage.esims.count_for_user(user_id)
    lines = [
        t(language, "admin.user.title", customer=customer(user_id, user)),
        t(
            language,
            "admin.user.seen",
            language_code=html.escape(
                (user.language or user.language_code or "—") if user else "—"
            ),
            first=when(user.created_at if user else None),
            last=when(user.last_seen_at if user else None),
        ),
        t(
            language,
            "admin.user.totals",
            orders=totals.orders,
            stars=totals.stars_paid,
            refunds=totals.refunds,
            refunded=totals.stars_refunded,
        ),
        "",
        t(language, "admin.user.orders"),
    ]
    lines += [order_line(order) for order in orders[:CARD_ROWS]] or [t(language, "admin.none")]
    esims = await storage.esims.for_user(user_id, limit=CARD_ROWS)
    lines += ["", t(language, "admin.user.esims_count", count=esim_count)]
    for index, esim in enumerate(esims):
        live = (
            await live_esim_text(context, esim.iccid, language)
            if index < USER_LIVE_ESIMS
            else t(language, "admin.live.skipped")
        )
        lines.append(f"{_esim_line(esim)}\n  {live}")
    if not esims:
        lines.append(t(language, "admin.none"))
    buttons = []
    if len(orders) > CARD_ROWS:
        buttons.append(_open(language, "admin.user.button.orders", "orders", user_id))
    if esim_count > CARD_ROWS:
        buttons.append(_open(language, "admin.user.button.esims", "esims", user_id))
    return fit("\n".join(lines)), InlineKeyboardMarkup([buttons]) if buttons else None


def _open(language: str, key: str, kind: str, user_id: int) -> InlineKeyboardButton:
    data = AdminUserPage(kind, user_id).pack()
    return InlineKeyboardButton(t(language, key), callback_data=data)


def _esim_line(esim: Esim) -> str:
    status = html.escape(f"{esim.status or '?'} / {esim.smdp_status or '?'}")
    return f"<code>{html.escape(esim.iccid)}</code> · {html.escape(esim.package_code)} · {status}"


async def on_user_page(update: Update, context: BotContext, tapped: AdminUserPage) -> None:
    """A page of the customer's orders or eSIMs."""
    language = context.language
    user_id, number = tapped.user_id, max(1, tapped.page)
    if tapped.list == "orders":
        text, has_next = await _orders_page(context, language, user_id, number)
    else:
        text, has_next = await _esims_page(context, language, user_id, number)
    row = nav_row(language, lambda n: AdminUserPage(tapped.list, user_id, n), number, has_next)
    await show(update, fit(text), InlineKeyboardMarkup([row]) if row else None)


async def _orders_page(
    context: BotContext, language: str, user_id: int, number: int
) -> tuple[str, bool]:
    orders = await context.services.storage.orders.for_user(
        user_id, limit=PAGE_ROWS + 1, offset=Page.offset(number, PAGE_ROWS)
    )
    page = Page.of(orders, number, PAGE_ROWS)
    lines = [order_line(order) for order in page.items] or [t(language, "admin.none")]
    title = t(language, "admin.user.orders_page", user_id=user_id, page=number)
    return "\n".join([title, *lines]), page.has_next


async def _esims_page(
    context: BotContext, language: str, user_id: int, number: int
) -> tuple[str, bool]:
    esims = await context.services.storage.esims.for_user(
        user_id, limit=PAGE_ROWS + 1, offset=Page.offset(number, PAGE_ROWS)
    )
    page = Page.of(esims, number, PAGE_ROWS)
    lines = [_esim_line(esim) for esim in page.items] or [t(language, "admin.none")]
    title = t(language, "admin.user.esims_page", user_id=user_id, page=number)
    return "\n".join([title, *lines]), page.has_next
