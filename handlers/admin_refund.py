"""/refund: the preview, the confirmation, and what happened. The money logic (cancel with the
reseller first, the Stars refund, top-ups, one refund at a time) lives in ``bot.orders``; this
module asks it and renders the outcome.
"""

from __future__ import annotations

import html
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.i18n import t
from bot.orders import RefundOutcome, RefundPreview
from bot.pikasim import PikaSimError
from bot.pricing import usd
from handlers.admin_common import admin_command, audit, order_named, reseller_problem, when
from handlers.callbacks import AdminRefund
from handlers.common import show
from handlers.context import BotContext
from storage import Order

__all__ = ["on_refund", "on_refund_button", "refundable"]

log = logging.getLogger(__name__)

_CANCELLABLE_STATUS = ("GOT_RESOURCE", "RELEASED")


async def refundable(context: BotContext, order: Order) -> bool:
    preview = await context.services.orders.refund_preview(order)
    return preview.problem is None


def _buttons(language: str, order: Order, *, cancel: bool) -> InlineKeyboardMarkup:
    action, label = (
        ("cancel", "admin.button.confirm_refund")
        if cancel
        else ("only", "admin.button.refund_only")
    )
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(language, label), callback_data=AdminRefund(action, order.reference).pack()
                )
            ],
            [
                InlineKeyboardButton(
                    t(language, "admin.button.dismiss"),
                    callback_data=AdminRefund("keep", order.reference).pack(),
                )
            ],
        ]
    )


# -- the command and its preview -----------------------------------------------------------


@admin_command("refund")
async def on_refund(update: Update, context: BotContext) -> None:
    language = context.language
    order = await order_named(update, context, "admin.refund.usage")
    if order is None:
        return
    reason = " ".join((context.args or [])[1:])[:200]
    await audit(update, context, "refund.requested", order.reference, reason)
    await _preview(update, context, order, language, reason, cancel=True)


async def _preview(
    update: Update,
    context: BotContext,
    order: Order,
    language: str,
    reason: str | None,
    *,
    cancel: bool,
) -> None:
    """Say exactly what a confirmation would do, and ask for it."""
    orders = context.services.orders
    preview = await orders.refund_preview(order)
    if preview.problem is not None:
        await show(update, _problem_text(language, preview))
        return
    values = {
        "reference": order.reference,
        "stars": preview.stars,
        "user_id": order.user_id,
        "reason": html.escape(reason) if reason else "—",
        "status": order.status.value,
    }
    topups = _topups_text(language, preview)
    if cancel and preview.cancel_iccid:
        live = _live_text(language, await orders.live_esim(preview.cancel_iccid))
        iccid = html.escape(preview.cancel_iccid)
        text = t(
            language,
            "admin.refund.preview_cancel",
            iccid=iccid,
            cost=usd(order.cost_cents),
            live=live,
            **values,
        )
        await show(update, text + topups, _buttons(language, order, cancel=True))
        return
    if preview.waiting:
        text = t(language, "admin.refund.preview_waiting", **values)
    else:
        why = (
            "topup"
            if order.is_topup
            else ("refund_only" if preview.cancel_iccid else "not_delivered")
        )
        text = t(
            language,
            "admin.refund.preview_stars",
            why=t(language, f"admin.refund.why.{why}"),
            **values,
        )
    await show(update, text + topups, _buttons(language, order, cancel=False))


def _problem_text(language: str, preview: RefundPreview) -> str:
    order, refund = preview.order, preview.refund
    if preview.problem == "unpaid":
        return t(language, "admin.refund.unpaid", reference=order.reference, status=order.status)
    return t(
        language,
        "admin.refund.already",
        reference=order.reference,
        status=order.status.value,
        stars=refund.amount_stars if refund else 0,
        date=when(refund.completed_at or refund.created_at) if refund else "—",
        reason=html.escape(refund.reason) if refund else "—",
    )


def _topups_text(language: str, preview: RefundPreview) -> str:
    if not preview.topups:
        return ""
    listed = ", ".join(
        f"<code>{topup.reference}</code> ({topup.status.value})" for topup in preview.topups
    )
    return t(language, "admin.refund.topups", list=listed, stars=preview.topup_stars)


def _live_text(language: str, live: object) -> str:
    if isinstance(live, PikaSimError):
        return t(language, "admin.refund.live_unknown", error=html.escape(live.message))
    status = getattr(live, "status", None) or "?"
    smdp = getattr(live, "smdp_status", None) or "?"
    key = "live_unused" if (status, smdp) == _CANCELLABLE_STATUS else "live_used"
    return t(language, f"admin.refund.{key}", status=html.escape(status), smdp=html.escape(smdp))


# -- buttons ------------------------------------------------------------------------------


async def on_refund_button(update: Update, context: BotContext, tapped: AdminRefund) -> None:
    """Preview, cancel the eSIM and refund, refund the Stars only, or keep things as they are."""
    language = context.language
    services = context.services
    order = await services.storage.orders.by_reference(tapped.reference)
    if order is None:
        await show(update, t(language, "admin.not_found", key=html.escape(tapped.reference)))
        return
    action = tapped.action
    reason = await context.services.storage.stats.last_audit_details(
        "refund.requested", order.reference
    )
    if action == "keep":
        await show(update, t(language, "admin.refund.dismissed", reference=order.reference))
        return
    if action == "preview":
        await _preview(update, context, order, language, reason, cancel=True)
        return
    admin_id = update.effective_user.id if update.effective_user else 0
    outcome = await services.orders.refund(
        order, admin_id, cancel=action == "cancel", reason=reason or "admin"
    )
    await _audit_outcome(update, context, outcome)
    await show(update, *_outcome_view(language, outcome, services.wallet.cents))


async def _audit_outcome(update: Update, context: BotContext, outcome: RefundOutcome) -> None:
    reference = outcome.order.reference
    entries: list[tuple[str, str]] = []
    if outcome.result == "refunded":
        if outcome.cancelled and outcome.wallet_cents is not None:
            entries.append(("refund.cancelled", f"wallet +{usd(outcome.wallet_cents)}"))
            entries.append(("refund.done", f"{outcome.stars} Stars"))
        elif outcome.cancelled:
            entries.append(("refund.already_cancelled", outcome.order.iccid or ""))
            entries.append(("refund.done", f"{outcome.stars} Stars"))
        else:
            entries.append(("refund.stars_only", f"{outcome.stars} Stars"))
    elif outcome.result == "refused":
        entries.append(("refund.cancel_refused", f"{outcome.reason} ({outcome.status})"))
    elif outcome.result == "unclear":
        entries.append(("refund.cancel_failed", str(outcome.error)))
    else:
        entries.append((f"refund.{outcome.result}", outcome.order.status.value))
    for action, details in entries:
        await audit(update, context, action, reference, details)


def _outcome_view(
    language: str, outcome: RefundOutcome, balance: int | None
) -> tuple[str, InlineKeyboardMarkup | None]:
    order = outcome.order
    values = {"reference": order.reference, "stars": outcome.stars, "user_id": order.user_id}
    iccid = html.escape(order.iccid or "")
    if outcome.result == "busy":
        return t(language, "admin.refund.busy", reference=order.reference), None
    if outcome.result == "problem" and outcome.preview is not None:
        return _problem_text(language, outcome.preview), None
    if outcome.result == "refused":
        text = t(
            language,
            "admin.refund.refused",
            iccid=iccid,
            reason=html.escape(outcome.reason or ""),
            status=html.escape(outcome.status or ""),
            stars=outcome.stars,
        )
        return text, _buttons(language, order, cancel=False)
    if outcome.result == "unclear":
        error = outcome.error
        problem = reseller_problem(language, error) if error else ""
        return t(language, "admin.refund.unclear", iccid=iccid, error=problem), None
    if outcome.result != "refunded":
        return t(language, "admin.refund.stuck", status=order.status.value, **values), None
    if outcome.wallet_cents is not None:
        text = t(
            language,
            "admin.refund.done_cancelled",
            iccid=iccid,
            wallet=usd(outcome.wallet_cents),
            balance=usd(balance) if balance is not None else "?",
            **values,
        )
    else:
        text = t(language, "admin.refund.done_stars", **values)
    if outcome.covered:
        listed = ", ".join(f"<code>{topup.reference}</code>" for topup in outcome.covered)
        text += t(language, "admin.refund.topups_done", list=listed)
    return text, None
