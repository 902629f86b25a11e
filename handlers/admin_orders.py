"""/order, /esim, /user and /orders: everything we know, plus the reseller's live view."""

from __future__ import annotations

import html

from telegram import InlineKeyboardMarkup, Update

from bot.i18n import t
from handlers.admin_common import (
    admin_command,
    order_named,
    when,
)
from handlers.admin_views import (
    customer,
    live_esim_text,
    order_buttons,
    order_card,
    order_line,
)
from handlers.callbacks import AdminCheckAgain, AdminOrdersPage
from handlers.common import reply, show
from handlers.context import BotContext
from handlers.paging import fit, nav_row
from storage import OrderStatus

__all__ = [
    "customer",
    "live_esim_text",
    "on_esim",
    "on_order",
    "on_orders",
    "on_orders_page",
    "order_line",
]

ORDERS_PAGE = 10
_STATUSES = frozenset(status.value for status in OrderStatus)


# -- /order ---------------------------------------------------------------------------------


@admin_command("order")
async def on_order(update: Update, context: BotContext) -> None:
    language = context.language
    order = await order_named(update, context, "admin.order.usage")
    if order is None:
        return
    text = fit(await order_card(context, order, language))
    await reply(update, text, await order_buttons(context, order, language))


async def on_check_again(update: Update, context: BotContext, tapped: AdminCheckAgain) -> None:
    """``a:ck:<reference>``: read a needs_attention order from the reseller again."""
    language = context.language
    services = context.services
    order = await services.storage.orders.by_reference(tapped.reference)
    if order is None:
        await show(update, t(language, "admin.not_found", key=html.escape(tapped.reference)))
        return
    outcome = await services.orders.check_again(order)
    text = t(
        language,
        f"admin.check.{outcome.result}",
        reference=order.reference,
        detail=html.escape(outcome.detail),
        status=outcome.order.status.value,
    )
    await show(update, text, await order_buttons(context, outcome.order, language))


# -- /esim ----------------------------------------------------------------------------------


@admin_command("esim")
async def on_esim(update: Update, context: BotContext) -> None:
    language = context.language
    args = context.args or []
    if not args or not args[0].isdigit() or len(args[0]) > 22:
        await reply(update, t(language, "admin.esim.usage"))
        return
    iccid = args[0]
    storage = context.services.storage
    stored = await storage.esims.get(iccid)
    order = await storage.orders.get(stored.order_id) if stored else None
    lines = [t(language, "admin.esim.title", iccid=iccid)]
    if stored is None:
        lines.append(t(language, "admin.esim.unknown"))
    else:
        reference = order.reference if order else "?"
        lines += [
            t(
                language,
                "admin.esim.order",
                reference=reference,
                status=order.status.value if order else "?",
                user_id=stored.user_id,
            ),
            t(language, "admin.esim.plan", code=html.escape(stored.package_code)),
            t(language, "admin.esim.issued", date=when(stored.created_at)),
        ]
    topups = await context.services.storage.stats.topups_for(iccid)
    if topups:
        items = ", ".join(f"<code>{o.reference}</code> ({o.status.value})" for o in topups)
        lines.append(t(language, "admin.esim.topups", items=items))
    lines += ["", await live_esim_text(context, iccid, language, "admin.live.esim_card")]
    await reply(update, fit("\n".join(lines)))


# -- /orders --------------------------------------------------------------------------------


@admin_command("orders")
async def on_orders(update: Update, context: BotContext) -> None:
    language = context.language
    args = context.args or []
    selector = args[0].lower() if args else "all"
    if selector != "all" and selector not in _STATUSES:
        statuses = ", ".join(status.value for status in OrderStatus)
        await reply(update, t(language, "admin.orders.usage", statuses=statuses))
        return
    text, markup = await _orders_page(context, language, selector, 1)
    await reply(update, text, markup)


async def on_orders_page(update: Update, context: BotContext, tapped: AdminOrdersPage) -> None:
    language = context.language
    selector = tapped.status if tapped.status in _STATUSES else "all"
    page = max(1, tapped.page)
    text, markup = await _orders_page(context, language, selector, page)
    await show(update, text, markup)


async def _orders_page(
    context: BotContext, language: str, selector: str, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    status = None if selector == "all" else OrderStatus(selector)
    # one more than a page, to know whether a next page exists
    orders = await context.services.storage.orders.latest(
        status, limit=ORDERS_PAGE + 1, offset=(page - 1) * ORDERS_PAGE
    )
    has_next = len(orders) > ORDERS_PAGE
    lines = [t(language, "admin.orders.title", status=selector, page=page)]
    lines += [order_line(order) for order in orders[:ORDERS_PAGE]] or [t(language, "admin.none")]
    row = nav_row(language, lambda number: AdminOrdersPage(selector, number), page, has_next)
    return fit("\n".join(lines)), InlineKeyboardMarkup([row]) if row else None
