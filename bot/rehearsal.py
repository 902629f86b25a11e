"""Sandbox mode is a rehearsal, not a shop: every Star paid is given back after delivery.

The order code calls :func:`refund_rehearsal` right after an order is delivered while the
embedded sandbox is the reseller, and :func:`retry_rehearsal_refunds` from the reconciler.
The order itself stays ``delivered`` (the customer has the simulated eSIM); the refund is a
row in ``refunds`` with reason ``sandbox``, committed before Telegram is asked, so a crash or
a Telegram failure is retried and never refunds twice (Telegram answers ALREADY_REFUNDED).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Literal

from telegram import Bot
from telegram.error import BadRequest, TelegramError

from storage import Order, OrderStatus, Storage

__all__ = ["REASON", "Outcome", "refund_rehearsal", "retry_rehearsal_refunds"]

log = logging.getLogger(__name__)

REASON = "sandbox"

Outcome = Literal["done", "retry", "refused", "nothing"]
Notify = Callable[[Order], Awaitable[None]]


async def refund_rehearsal(storage: Storage, bot: Bot, order: Order, notify: Notify) -> Outcome:
    """Refund a delivered sandbox order's Stars and tell the customer (``notify``, e.g.
    ``Notifier.rehearsal_refunded``). Safe to call again: a finished refund is left alone.

    "done": refunded (now or before); "retry": Telegram failed for now, the refund stays
    owed; "refused": Telegram refused it, an admin must look; "nothing": nothing was paid.
    """
    if order.status is not OrderStatus.DELIVERED:
        raise ValueError(f"order {order.reference} is {order.status.value}, not delivered")
    refund = await storage.refunds.for_order(order.id)
    if refund is not None and refund.status == "done":
        return "done"
    if refund is None:
        payment = await storage.payments.for_order(order.id)
        if payment is None or payment.amount_stars == 0:
            return "nothing"
        async with storage.db.transaction() as tx:  # owed, on disk, before Telegram is asked
            await storage.refunds.open(
                tx,
                order_id=order.id,
                charge_id=payment.charge_id,
                amount_stars=payment.amount_stars,
                reason=REASON,
            )
        refund = await storage.refunds.for_order(order.id)
    if refund is None or refund.charge_id is None:
        return "nothing"
    outcome = await _refund_stars(bot, order.user_id, refund.charge_id)
    if outcome != "done":
        return outcome
    async with storage.db.transaction() as tx:
        await storage.refunds.complete(tx, order.id)
    log.info("rehearsal order %s: %d Stars refunded", order.reference, refund.amount_stars)
    await notify(order)
    return "done"


async def retry_rehearsal_refunds(storage: Storage, bot: Bot, notify: Notify) -> int:
    """Finish every rehearsal refund still owed (for the reconciler); how many were done."""
    rows = await storage.db.fetchall(
        "SELECT order_id FROM refunds WHERE reason = ? AND status = 'pending' ORDER BY id",
        (REASON,),
    )
    done = 0
    for row in rows:
        order = await storage.orders.get(row["order_id"])
        if order is not None and order.status is OrderStatus.DELIVERED:
            done += await refund_rehearsal(storage, bot, order, notify) == "done"
    return done


async def _refund_stars(bot: Bot, user_id: int, charge_id: str) -> Outcome:
    try:
        await bot.refund_star_payment(user_id, charge_id)
    except BadRequest as error:
        if "ALREADY_REFUNDED" in str(error).upper():  # a retry after a crash: it went through
            return "done"
        log.error("rehearsal refund of %s… refused: %s", charge_id[:8], error)
        return "refused"
    except TelegramError as error:
        log.warning("rehearsal refund of %s… failed for now: %s", charge_id[:8], error)
        return "retry"
    return "done"
