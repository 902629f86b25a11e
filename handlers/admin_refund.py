"""/refund: preview, confirmation, cancellation with the reseller, and the Stars refund.

An unused delivered eSIM is cancelled with the reseller first (the wallet gets its money back),
then the customer's Stars are refunded. When the reseller refuses (installed, used, or a
non-refundable plan) the admin sees its reason and may refund the customer only. Orders that
were never delivered, and top-ups (which cannot be cancelled), are refunded in Stars only.
The pipeline's refund is one-per-order, and the order's state is checked again on every tap.
"""

from __future__ import annotations

import html
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.i18n import t
from bot.pikasim import NotCancellable, PikaSimError, Priority
from bot.pricing import usd
from handlers.admin_common import (
    admin_command,
    audit,
    find_order,
    reseller_problem,
    stats_of,
    when,
)
from handlers.callbacks import Callback, build
from handlers.common import language_of, reply, services_of, show
from storage import IllegalTransition, Order, OrderKind, OrderStatus

__all__ = ["on_refund", "on_refund_button", "refundable"]

log = logging.getLogger(__name__)

_ALREADY_CANCELLED = frozenset({"CANCELLED", "REVOKED"})

S = OrderStatus
_UNPAID = (S.AWAITING_PAYMENT, S.EXPIRED)
_IN_PROGRESS = (S.PAID, S.ORDERING, S.ORDERED, S.PROVISIONED)
_CANCELLABLE_STATUS = ("GOT_RESOURCE", "RELEASED")
_running: set[int] = set()  # order ids whose refund is being carried out right now


def _cancels_with_reseller(order: Order) -> bool:
    return order.status is S.DELIVERED and order.kind is OrderKind.ESIM and bool(order.iccid)


async def refundable(context: ContextTypes.DEFAULT_TYPE, order: Order) -> bool:
    return await _problem(context, order, "en") is None


async def _problem(context: ContextTypes.DEFAULT_TYPE, order: Order, language: str) -> str | None:
    """Why this order cannot be refunded now (the text to show), or None."""
    refund = await services_of(context).storage.refunds.for_order(order.id)
    if order.status in (S.REFUNDED, S.REFUNDING) or (refund and refund.status == "done"):
        return t(
            language,
            "admin.refund.already",
            reference=order.reference,
            status=order.status.value,
            stars=refund.amount_stars if refund else 0,
            date=when(refund.completed_at or refund.created_at) if refund else "—",
            reason=html.escape(refund.reason) if refund else "—",
        )
    if order.status in _UNPAID:
        return t(language, "admin.refund.unpaid", reference=order.reference, status=order.status)
    if order.status in _IN_PROGRESS:
        return t(
            language, "admin.refund.in_progress", reference=order.reference, status=order.status
        )
    return None


async def _stars(context: ContextTypes.DEFAULT_TYPE, order: Order) -> int:
    """What the customer paid, from the stored payment (0 with PAYMENTS=off)."""
    payment = await services_of(context).storage.payments.for_order(order.id)
    return payment.amount_stars if payment else 0


def _buttons(language: str, order: Order, *, cancel: bool) -> InlineKeyboardMarkup:
    action, label = (
        ("rf", "admin.button.confirm_refund") if cancel else ("ro", "admin.button.refund_only")
    )
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(language, label), callback_data=build("a", action, order.reference)
                )
            ],
            [
                InlineKeyboardButton(
                    t(language, "admin.button.dismiss"),
                    callback_data=build("a", "rx", order.reference),
                )
            ],
        ]
    )


# -- the command and its preview -----------------------------------------------------------


@admin_command("refund")
async def on_refund(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    language = language_of(update, context)
    args = context.args or []
    if not args:
        await reply(update, t(language, "admin.refund.usage"))
        return
    order = await find_order(services_of(context), args[0])
    if order is None:
        await reply(update, t(language, "admin.not_found", key=html.escape(args[0][:40])))
        return
    reason = " ".join(args[1:])[:200]
    await audit(update, context, "refund.requested", order.reference, reason)
    await _preview(update, context, order, language, reason)


async def _preview(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    order: Order,
    language: str,
    reason: str | None,
) -> None:
    """Say exactly what a confirmation would do, and ask for it."""
    problem = await _problem(context, order, language)
    if problem is not None:
        await show(update, problem)
        return
    values = {
        "reference": order.reference,
        "stars": await _stars(context, order),
        "user_id": order.user_id,
        "reason": html.escape(reason) if reason else "—",
        "status": order.status.value,
    }
    if _cancels_with_reseller(order):
        live = await _live_status(context, order.iccid or "", language)
        text = t(
            language,
            "admin.refund.preview_cancel",
            iccid=html.escape(order.iccid or ""),
            cost=usd(order.cost_cents),
            live=live,
            **values,
        )
        await show(update, text, _buttons(language, order, cancel=True))
        return
    why = "topup" if order.kind is OrderKind.TOPUP else "not_delivered"
    text = t(
        language, "admin.refund.preview_stars", why=t(language, f"admin.refund.why.{why}"), **values
    )
    await show(update, text, _buttons(language, order, cancel=False))


async def _live_status(context: ContextTypes.DEFAULT_TYPE, iccid: str, language: str) -> str:
    try:
        esim = await services_of(context).reseller.esim(iccid, priority=Priority.CUSTOMER)
    except PikaSimError as error:
        return t(language, "admin.refund.live_unknown", error=html.escape(error.message))
    status, smdp = esim.status or "?", esim.smdp_status or "?"
    key = "live_unused" if (status, smdp) == _CANCELLABLE_STATUS else "live_used"
    return t(language, f"admin.refund.{key}", status=html.escape(status), smdp=html.escape(smdp))


# -- buttons ------------------------------------------------------------------------------


async def on_refund_button(
    update: Update, context: ContextTypes.DEFAULT_TYPE, callback: Callback
) -> None:
    """``a:rp`` preview, ``a:rf`` cancel and refund, ``a:ro`` Stars only, ``a:rx`` keep."""
    language = language_of(update, context)
    services = services_of(context)
    order = await services.storage.orders.by_reference(callback.arg(1))
    if order is None:
        await show(update, t(language, "admin.not_found", key=html.escape(callback.arg(1))))
        return
    action = callback.arg(0)
    reason = await stats_of(context).last_audit_details("refund.requested", order.reference)
    if action == "rx":
        await show(update, t(language, "admin.refund.dismissed", reference=order.reference))
        return
    if action == "rp" or (action == "rf" and not _cancels_with_reseller(order)):
        await _preview(update, context, order, language, reason)
        return
    if order.id in _running:
        await show(update, t(language, "admin.refund.busy", reference=order.reference))
        return
    _running.add(order.id)
    try:
        await _carry_out(update, context, order, language, cancel=action == "rf")
    finally:
        _running.discard(order.id)


async def _carry_out(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    order: Order,
    language: str,
    *,
    cancel: bool,
) -> None:
    # Checked again here: a refund may have happened since the preview was shown.
    order = await services_of(context).storage.orders.get(order.id) or order
    problem = await _problem(context, order, language)
    if problem is not None:
        await show(update, problem)
        return
    if cancel:
        await _cancel_then_refund(update, context, order, language)
    else:
        await _refund(update, context, order, language, wallet_cents=None)


async def _cancel_then_refund(
    update: Update, context: ContextTypes.DEFAULT_TYPE, order: Order, language: str
) -> None:
    services = services_of(context)
    iccid = order.iccid or ""
    try:
        result = await services.reseller.cancel(iccid, priority=Priority.CUSTOMER)
    except NotCancellable as error:
        status = error.current_status.esim_status if error.current_status else None
        if status not in _ALREADY_CANCELLED:
            await _refused(update, context, order, language, error)
            return
        # Cancelled by an earlier /refund that stopped before the Stars went back.
        await audit(update, context, "refund.already_cancelled", order.reference, iccid)
        await services.storage.esims.set_status(iccid, "CANCELLED", "REVOKED")
        await _refund(update, context, order, language, wallet_cents=None)
        return
    except PikaSimError as error:
        # Unknown outcome (timeout, 5xx): refunding now could pay the customer for an eSIM
        # that still works, so nothing is refunded; the admin checks and tries again.
        await audit(update, context, "refund.cancel_failed", order.reference, str(error))
        text = t(
            language,
            "admin.refund.cancel_failed",
            iccid=html.escape(iccid),
            error=reseller_problem(language, error),
        )
        await show(update, text)
        return
    if result.new_balance_cents is not None:
        services.wallet.seen(result.new_balance_cents)
    await services.storage.esims.set_status(iccid, "CANCELLED", "REVOKED")
    details = f"cancelled {iccid}: wallet +{usd(result.refund_cents)}"
    await audit(update, context, "refund.cancelled", order.reference, details)
    await _refund(update, context, order, language, wallet_cents=result.refund_cents)


async def _refused(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    order: Order,
    language: str,
    error: NotCancellable,
) -> None:
    reason = error.error or error.message
    if error.error and error.message and error.message != error.error:
        reason = f"{error.error}. {error.message}"
    current = error.current_status
    status = (
        f"{current.esim_status or '?'} / {current.smdp_status or '?'}"
        if current is not None
        else error.code or "?"
    )
    await audit(update, context, "refund.cancel_refused", order.reference, f"{reason} ({status})")
    text = t(
        language,
        "admin.refund.refused",
        iccid=html.escape(order.iccid or ""),
        reason=html.escape(reason),
        status=html.escape(status),
        stars=await _stars(context, order),
    )
    await show(update, text, _buttons(language, order, cancel=False))


async def _refund(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    order: Order,
    language: str,
    *,
    wallet_cents: int | None,
) -> None:
    """Refund the Stars through the pipeline (which also tells the customer)."""
    services = services_of(context)
    admin_id = update.effective_user.id if update.effective_user else 0
    stars = await _stars(context, order)
    try:
        done = await services.pipeline.refund_by_admin(order, admin_id, wallet_cents)
    except IllegalTransition:  # the order moved meanwhile: say where it is now
        current = await services.storage.orders.get(order.id) or order
        problem = await _problem(context, current, language)
        stuck = t(
            language, "admin.refund.stuck", reference=order.reference, status=current.status.value
        )
        await show(update, problem or stuck)
        return
    action = "refund.done" if wallet_cents is not None else "refund.stars_only"
    await audit(update, context, action, order.reference, f"{stars} Stars; {done.status}")
    values = {"reference": order.reference, "stars": stars, "user_id": order.user_id}
    if done.status is not S.REFUNDED:
        await show(update, t(language, "admin.refund.stuck", status=done.status.value, **values))
    elif wallet_cents is not None:
        balance = services.wallet.cents
        text = t(
            language,
            "admin.refund.done_cancelled",
            iccid=html.escape(order.iccid or ""),
            wallet=usd(wallet_cents),
            balance=usd(balance) if balance is not None else "?",
            **values,
        )
        await show(update, text)
    else:
        await show(update, t(language, "admin.refund.done_stars", **values))
