"""/order, /esim, /user and /orders: everything we know, plus the reseller's live view."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.i18n import t
from bot.pikasim import Esim as LiveEsim
from bot.pikasim import PikaSimError, Priority
from bot.pricing import usd
from handlers.admin_common import (
    admin_command,
    order_named,
    reseller_problem,
    when,
    when_dt,
)
from handlers.admin_refund import refundable
from handlers.callbacks import AdminCheckAgain, AdminOrdersPage, AdminRefund, CallbackData
from handlers.common import reply, show
from handlers.context import BotContext
from handlers.paging import fit, nav_row
from handlers.units import volume_text
from storage import Order, OrderStatus, User

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


async def order_buttons(
    context: BotContext, order: Order, language: str
) -> InlineKeyboardMarkup | None:
    """needs_attention gets its three exits; any other refundable order a Refund button."""
    reference = order.reference
    if order.status is OrderStatus.NEEDS_ATTENTION:
        exits: list[tuple[str, CallbackData]] = [
            ("admin.order.button.check", AdminCheckAgain(reference)),
            ("admin.order.button.refund_only", AdminRefund("only", reference)),
        ]
        if order.iccid and not order.is_topup:
            exits.insert(1, ("admin.order.button.cancel_refund", AdminRefund("preview", reference)))
        rows = [
            [InlineKeyboardButton(t(language, key), callback_data=d.pack())] for key, d in exits
        ]
        return InlineKeyboardMarkup(rows)
    if not await refundable(context, order):
        return None
    button = InlineKeyboardButton(
        t(language, "admin.button.refund"), callback_data=AdminRefund("preview", reference).pack()
    )
    return InlineKeyboardMarkup([[button]])


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


async def order_card(context: BotContext, order: Order, language: str) -> str:
    storage = context.services.storage
    user = await storage.users.get(order.user_id)
    payment = await storage.payments.for_order(order.id)
    refund = await storage.refunds.for_order(order.id)
    lines = [
        t(language, "admin.order.title", reference=order.reference, kind=order.kind.value),
        t(
            language,
            "admin.order.status",
            status=order.status.value,
            updated=when(order.updated_at),
        ),
    ]
    if order.failure_reason:
        lines.append(t(language, "admin.order.failure", reason=html.escape(order.failure_reason)))
    lines += [
        t(language, "admin.order.customer", customer=customer(order.user_id, user)),
        t(
            language,
            "admin.order.plan",
            plan=html.escape(order.package_name),
            code=html.escape(order.package_code),
        ),
        t(language, "admin.order.price", stars=order.price_stars, cost=usd(order.cost_cents)),
        t(
            language,
            "admin.order.dates",
            created=when(order.created_at),
            paid=when(order.paid_at),
            delivered=when(order.delivered_at),
        ),
    ]
    if payment is not None:
        lines.append(
            t(
                language,
                "admin.order.payment",
                stars=payment.amount_stars,
                charge=html.escape(payment.charge_id),
                source=html.escape(payment.source),
            )
        )
    if order.reseller_order_id:
        lines.append(
            t(language, "admin.order.reseller_id", id=html.escape(order.reseller_order_id))
        )
    iccid = order.iccid or order.target_iccid
    if iccid:
        lines.append(t(language, "admin.order.iccid", iccid=html.escape(iccid)))
    if refund is not None:
        wallet = (
            usd(refund.reseller_refund_cents) if refund.reseller_refund_cents is not None else "—"
        )
        lines.append(
            t(
                language,
                "admin.order.refund",
                stars=refund.amount_stars,
                reason=html.escape(refund.reason),
                status=html.escape(refund.status),
                wallet=wallet,
                date=when(refund.created_at),
            )
        )
    lines.append("")
    lines.append(await _live_order(context, order, language))
    if iccid:
        lines.append(await live_esim_text(context, iccid, language))
    return "\n".join(lines)


def customer(user_id: int, user: User | None) -> str:
    name = user.first_name if user else ""
    username = user.username if user else None
    handle = f" @{username}" if username else ""
    return f"{html.escape(name)}{html.escape(handle)} <code>{user_id}</code>".strip()


async def _live_order(context: BotContext, order: Order, language: str) -> str:
    if not order.reseller_order_id or order.is_topup:
        return t(language, "admin.live.no_order")
    reseller = context.services.reseller
    try:
        remote = await reseller.order(order.reseller_order_id, priority=Priority.CUSTOMER)
    except PikaSimError as error:
        return t(language, "admin.live.order", status=reseller_problem(language, error))
    return t(language, "admin.live.order", status=html.escape(remote.status))


async def _live_esim(
    context: BotContext, iccid: str
) -> tuple[LiveEsim | None, PikaSimError | None]:
    try:
        esim = await context.services.reseller.esim(iccid, priority=Priority.CUSTOMER)
    except PikaSimError as error:
        return None, error
    return esim, None


async def live_esim_text(
    context: BotContext, iccid: str, language: str, key: str = "admin.live.esim"
) -> str:
    """The reseller's live view of an eSIM, as one line or (``admin.live.esim_card``) a card."""
    esim, error = await _live_esim(context, iccid)
    if esim is None:
        assert error is not None
        return t(language, "admin.live.esim_error", error=reseller_problem(language, error))
    return t(
        language,
        key,
        status=html.escape(esim.status or "?"),
        smdp=html.escape(esim.smdp_status or "?"),
        used=volume_text(language, esim.used_data_bytes),
        total=volume_text(language, esim.total_data_bytes),
        remaining=volume_text(language, esim.remaining_data_bytes),
        expires=when_dt(esim.expire_time),
        package=html.escape(esim.package_name or esim.package_code or "?"),
        packages=len(esim.package_list),
    )


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


def order_line(order: Order) -> str:
    return (
        f"<code>{order.reference}</code> · {order.status.value} · "
        f"{html.escape(order.package_name)} · ⭐ {order.price_stars} · {when(order.created_at)}"
    )


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
