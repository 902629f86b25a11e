"""Checkout: an invoice in Telegram Stars (or a Confirm button with PAYMENTS=off), the
pre-checkout answer, and the successful payment that hands the order to the pipeline."""

from __future__ import annotations

import html
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LabeledPrice, Update
from telegram.ext import ContextTypes

from bot.i18n import t
from bot.pricing import stars_price
from handlers.callbacks import Callback, build, parse
from handlers.common import answer, language_of, remember_user, reply, services_of, show
from handlers.delivery import price_text
from storage import IllegalTransition, Order, OrderKind, OrderStatus

__all__ = [
    "PAYLOAD_PREFIX",
    "offer",
    "on_cancel_unpaid",
    "on_confirm",
    "on_pre_checkout",
    "on_successful_payment",
    "plan_price",
]

log = logging.getLogger(__name__)

PAYLOAD_PREFIX = "order:"


def plan_price(context: ContextTypes.DEFAULT_TYPE, cost_cents: int) -> int:
    settings = services_of(context).settings
    return stars_price(cost_cents, settings.markup_percent, settings.stars_per_usd)


def _gb(volume_bytes: int) -> str:
    gigabytes = volume_bytes / 1024**3
    return f"{gigabytes:g} GB" if gigabytes >= 1 else f"{round(volume_bytes / 1024**2)} MB"


async def offer(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    *,
    package_code: str,
    package_name: str,
    cost_cents: int,
    volume_bytes: int,
    duration_days: int,
    kind: OrderKind = OrderKind.ESIM,
    target_iccid: str | None = None,
) -> Order | None:
    """Open an order for a plan or top-up and ask the customer to pay (or confirm)."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        return None
    services = services_of(context)
    language = language_of(update, context)
    await remember_user(update, context)
    paying = services.settings.payments == "stars"
    services.pipeline.warm_up()
    order = await services.storage.orders.create(
        kind=kind,
        user_id=user.id,
        chat_id=chat.id,
        package_code=package_code,
        package_name=package_name,
        price_stars=plan_price(context, cost_cents) if paying else 0,
        cost_cents=cost_cents,
        language=language,
        target_iccid=target_iccid,
    )
    summary = t(
        language,
        "checkout.description",
        volume=_gb(volume_bytes),
        days=duration_days,
        reference=order.reference,
    )
    if paying:
        await context.bot.send_invoice(
            chat_id=chat.id,
            title=package_name[:32],
            description=summary[:255],
            payload=PAYLOAD_PREFIX + order.reference,
            currency="XTR",
            prices=[LabeledPrice(package_name[:32], order.price_stars)],
            provider_token="",
        )
    else:
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        t(language, "checkout.button.confirm"),
                        callback_data=build("k", order.reference),
                    ),
                    InlineKeyboardButton(
                        t(language, "checkout.button.cancel"),
                        callback_data=build("x", order.reference),
                    ),
                ]
            ]
        )
        text = t(language, "checkout.confirm", plan=html.escape(package_name), summary=summary)
        await show(update, text, markup)
    return order


async def on_pre_checkout(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer within Telegram's 10 seconds, from local facts only (no reseller call)."""
    query = update.pre_checkout_query
    if query is None:
        return
    language = language_of(update, context)
    problem = await _pre_checkout_problem(
        context, query.from_user.id, query.invoice_payload, query.currency, query.total_amount
    )
    if problem is None:
        await query.answer(ok=True)
        return
    log.info("pre-checkout declined: %s", problem)
    await query.answer(ok=False, error_message=t(language, f"checkout.declined.{problem}"))


async def _pre_checkout_problem(
    context: ContextTypes.DEFAULT_TYPE, user_id: int, payload: str, currency: str, amount: int
) -> str | None:
    services = services_of(context)
    order = await services.storage.orders.by_reference(payload.removeprefix(PAYLOAD_PREFIX))
    if order is None or order.user_id != user_id or not payload.startswith(PAYLOAD_PREFIX):
        return "unknown"
    if order.status is not OrderStatus.AWAITING_PAYMENT:
        return "already_paid" if order.paid_at else "expired"
    if currency != "XTR" or amount != order.price_stars:
        return "price_changed"
    if order.kind is OrderKind.ESIM:
        plan = services.catalog.index.by_code.get(order.package_code)
        if plan is None:
            return "not_sold"
        if plan.price_cents != order.cost_cents:
            return "price_changed"
    if not services.wallet.can_cover(order.cost_cents):
        return "unavailable"
    return None


async def on_successful_payment(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or message.successful_payment is None:
        return
    payment = message.successful_payment
    services = services_of(context)
    order = await services.pipeline.record_payment(
        charge_id=payment.telegram_payment_charge_id,
        user_id=user.id,
        amount=payment.total_amount,
        currency=payment.currency,
        payload=payment.invoice_payload,
        source="update",
    )
    if order is None:
        return
    await _show_progress_and_start(update, context, order)


async def _show_progress_and_start(
    update: Update, context: ContextTypes.DEFAULT_TYPE, order: Order
) -> None:
    services = services_of(context)
    # The pipeline starts first: the customer's eSIM should not wait for our "thank you".
    services.pipeline.start(order)
    language = order.language or language_of(update, context)
    stage = "topup_paid" if order.kind is OrderKind.TOPUP else "paid"
    sent = await reply(
        update,
        t(
            language,
            f"progress.{stage}",
            reference=order.reference,
            price=price_text(language, order.price_stars),
        ),
    )
    if sent is not None:
        services.pipeline.notifier.progress_sent(order.id, sent.message_id)
        await services.storage.orders.update(order, progress_message_id=sent.message_id)


async def _own_unpaid_order(
    update: Update, context: ContextTypes.DEFAULT_TYPE, callback: Callback
) -> Order | None:
    user = update.effective_user
    order = await services_of(context).storage.orders.by_reference(callback.arg(0))
    if order is None or user is None or order.user_id != user.id:
        return None
    if order.status is not OrderStatus.AWAITING_PAYMENT:
        return None
    return order


async def on_confirm(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """PAYMENTS=off: the customer confirmed; the operator's wallet pays."""
    query = update.callback_query
    language = language_of(update, context)
    callback = parse(query.data if query else None)
    services = services_of(context)
    order = None
    if callback is not None and services.settings.payments == "off":
        order = await _own_unpaid_order(update, context, callback)
    if order is None:
        await answer(query, t(language, "common.stale"), alert=True)
        return
    try:
        order = await services.pipeline.mark_paid_without_stars(order)
    except IllegalTransition:  # a double tap: the first one won
        await answer(query, t(language, "common.stale"), alert=True)
        return
    await answer(query)
    await show(update, t(language, "checkout.confirmed", reference=order.reference))
    await _show_progress_and_start(update, context, order)


async def on_cancel_unpaid(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    language = language_of(update, context)
    callback = parse(query.data if query else None)
    order = await _own_unpaid_order(update, context, callback) if callback else None
    if order is None:
        await answer(query, t(language, "common.stale"), alert=True)
        return
    try:
        await services_of(context).storage.orders.transition(order, OrderStatus.EXPIRED)
    except IllegalTransition:  # confirmed or cancelled by a tap a moment earlier
        await answer(query, t(language, "common.stale"), alert=True)
        return
    await answer(query)
    await show(update, t(language, "checkout.cancelled"))
