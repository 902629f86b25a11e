"""Checkout: an invoice in Telegram Stars (or a Confirm button with PAYMENTS=off), the
pre-checkout answer, and the successful payment that hands the order to ``bot.orders``."""

from __future__ import annotations

import html
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LabeledPrice, Update
from telegram.constants import ChatType

from bot.i18n import t
from handlers.callbacks import CancelUnpaid, ConfirmOrder
from handlers.common import answer, remember_user, reply, show, stale
from handlers.context import BotContext
from handlers.topup_cache import cached_topup_option
from handlers.units import plan_price, price_text, volume_text
from storage import IllegalTransition, Order, OrderKind, OrderStatus, now

__all__ = [
    "PAYLOAD_PREFIX",
    "offer",
    "on_cancel_unpaid",
    "on_confirm",
    "on_pre_checkout",
    "on_successful_payment",
]

log = logging.getLogger(__name__)

PAYLOAD_PREFIX = "order:"
_DEAD_ESIM = frozenset({"CANCELLED", "REVOKED", "EXPIRED", "USED_UP", "SUSPENDED"})


async def offer(
    update: Update,
    context: BotContext,
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
    if user is None or chat is None or chat.type != ChatType.PRIVATE:
        return None  # invoices and eSIMs go to private chats only (see handlers.guards)
    services = context.services
    language = context.language
    if not services.settings.may_buy(user.id):  # sandbox mode: a rehearsal, not a shop
        await reply(update, t(language, "sandbox.buy_closed"))
        return None
    await remember_user(update, context)
    paying = services.settings.payments == "stars"
    if not await services.wallet.can_cover_now(cost_cents):
        await show(update, t(language, "checkout.declined.unavailable"))
        return None
    services.orders.warm_up()
    order = await services.orders.open_order(
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
        volume=volume_text(language, volume_bytes),
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
        )
    else:
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        t(language, "checkout.button.confirm"),
                        callback_data=ConfirmOrder(order.reference).pack(),
                    ),
                    InlineKeyboardButton(
                        t(language, "checkout.button.cancel"),
                        callback_data=CancelUnpaid(order.reference).pack(),
                    ),
                ]
            ]
        )
        text = t(language, "checkout.confirm", plan=html.escape(package_name), summary=summary)
        await show(update, text, markup)
    return order


async def on_pre_checkout(update: Update, context: BotContext) -> None:
    """Answer within Telegram's 10 seconds, from local facts only (no reseller call)."""
    query = update.pre_checkout_query
    if query is None:
        return
    language = context.language
    problem = await _pre_checkout_problem(
        context, query.from_user.id, query.invoice_payload, query.currency, query.total_amount
    )
    if problem is None:
        await query.answer(ok=True)
        return
    log.info("pre-checkout declined: %s", problem)
    await query.answer(ok=False, error_message=t(language, f"checkout.declined.{problem}"))


async def _pre_checkout_problem(
    context: BotContext, user_id: int, payload: str, currency: str, amount: int
) -> str | None:
    services = context.services
    if not services.settings.may_buy(user_id):
        return "sandbox"
    order = await services.storage.orders.by_reference(payload.removeprefix(PAYLOAD_PREFIX))
    if order is None or order.user_id != user_id or not payload.startswith(PAYLOAD_PREFIX):
        return "unknown"
    if order.chat_id != order.user_id:  # a private chat's id is its user's id
        return "private_only"  # never deliver an eSIM into a group
    if order.status is not OrderStatus.AWAITING_PAYMENT:
        return "already_paid" if order.paid_at else "expired"
    if order.updated_at < now() - services.settings.invoice_ttl_seconds:  # the last invoice
        return "expired"
    if currency != "XTR" or amount != order.price_stars:
        return "price_changed"
    problem = (
        await _topup_problem(context, order)
        if order.kind is OrderKind.TOPUP
        else _plan_problem(context, order)
    )
    if problem is not None:
        return problem
    if not services.wallet.can_cover(order.cost_cents):
        return "unavailable"
    return None


def _plan_problem(context: BotContext, order: Order) -> str | None:
    plan = context.services.catalog.index.by_code.get(order.package_code)
    if plan is None:
        return "not_sold"
    if plan.price_cents != order.cost_cents:
        return "price_changed"
    return None


async def _topup_problem(context: BotContext, order: Order) -> str | None:
    """The eSIM is still the payer's and alive, and the option is still offered at that price
    (from what was fetched when it was offered: no reseller call here)."""
    iccid = order.target_iccid or ""
    esim = await context.services.storage.esims.owned_by(iccid, order.user_id)
    if esim is None or (esim.status or "").upper() in _DEAD_ESIM:
        return "esim_gone"
    fresh, option = cached_topup_option(context, iccid, order.package_code)
    if fresh and option is None:
        return "not_sold"
    if option is not None and option.price_cents != order.cost_cents:
        return "price_changed"
    return None


async def on_successful_payment(update: Update, context: BotContext) -> None:
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or message.successful_payment is None:
        return
    payment = message.successful_payment
    services = context.services
    order = await services.orders.record_payment(
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


async def _show_progress_and_start(update: Update, context: BotContext, order: Order) -> None:
    services = context.services
    # The order starts first: the customer's eSIM should not wait for our "thank you".
    services.orders.start(order)
    language = order.language or context.language
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
        await services.orders.progress_message(order, sent.message_id)


async def _own_unpaid_order(update: Update, context: BotContext, reference: str) -> Order | None:
    user = update.effective_user
    order = await context.services.storage.orders.by_reference(reference)
    if order is None or user is None or order.user_id != user.id:
        return None
    if order.status is not OrderStatus.AWAITING_PAYMENT:
        return None
    return order


async def on_confirm(update: Update, context: BotContext, confirm: ConfirmOrder) -> None:
    """PAYMENTS=off: the customer confirmed; the operator's wallet pays."""
    query = update.callback_query
    language = context.language
    services = context.services
    order = None
    if services.settings.payments == "off":
        order = await _own_unpaid_order(update, context, confirm.reference)
    if order is None:
        await stale(update, context)
        return
    try:
        order = await services.orders.mark_paid_without_stars(order)
    except IllegalTransition:  # a double tap: the first one won
        await stale(update, context)
        return
    await answer(query)
    await show(update, t(language, "checkout.confirmed", reference=order.reference))
    await _show_progress_and_start(update, context, order)


async def on_cancel_unpaid(update: Update, context: BotContext, cancel: CancelUnpaid) -> None:
    query = update.callback_query
    language = context.language
    order = await _own_unpaid_order(update, context, cancel.reference)
    if order is None:
        await stale(update, context)
        return
    try:
        await context.services.orders.cancel_unpaid(order)
    except IllegalTransition:  # confirmed or cancelled by a tap a moment earlier
        await stale(update, context)
        return
    await answer(query)
    await show(update, t(language, "checkout.cancelled"))
