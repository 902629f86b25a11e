"""What the operator's console shows of an order and an eSIM: the card, its buttons, a list line,
and the reseller's live view."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import t
from bot.pikasim import Esim as LiveEsim
from bot.pikasim import PikaSimError, Priority
from bot.pricing import usd
from handlers.admin_common import (
    reseller_problem,
    when,
    when_dt,
)
from handlers.admin_refund import refundable
from handlers.callbacks import AdminCheckAgain, AdminRefund, CallbackData
from handlers.context import BotContext
from handlers.units import volume_text
from storage import Order, OrderStatus, User


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


def order_line(order: Order) -> str:
    return (
        f"<code>{order.reference}</code> · {order.status.value} · "
        f"{html.escape(order.package_name)} · ⭐ {order.price_stars} · {when(order.created_at)}"
    )
