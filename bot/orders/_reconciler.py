"""The reconciler's round: finish whatever a crash, an outage or a lost webhook left half-done.

``EXITS`` is the order state table's promise: every state an order can rest in that is not final
has a timed exit (driven here every round) or an admin exit (a button on /order).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

from bot.orders._core import Core
from storage import Order, OrderStatus, now

__all__ = ["DRIVEN", "EXITS", "isolated", "tell_late_orders"]

log = logging.getLogger("bot.orders")
S = OrderStatus

# Driven forward by every round (advance() knows a step for each).
DRIVEN = (S.PAID, S.ORDERING, S.PROVISIONED, S.FAILED, S.REFUNDING)

EXITS: dict[OrderStatus, str] = {
    S.AWAITING_PAYMENT: "timed: expires after INVOICE_TTL_SECONDS",
    S.PAID: "timed: placed with the reseller; admin: refund",
    S.ORDERING: "timed: retried with backoff; an unclear answer is looked up, else"
    " needs_attention; admin: refund",
    S.ORDERED: "timed: checked with a growing interval (at most 10 min apart), the customer and"
    " admins told after ORDER_STUCK_SECONDS; admin: refund",
    S.PROVISIONED: "timed: delivered; admin: refund",
    S.FAILED: "timed: refunded",
    S.REFUNDING: "timed: the Stars refund is retried until Telegram confirms",
    S.NEEDS_ATTENTION: "admin: Check again, Cancel eSIM and refund, Refund only",
}


async def isolated(core: Core, what: str, work: Awaitable[Any]) -> None:
    """One broken order or event must not stop the reconciler for all the others."""
    try:
        await work
    except Exception:
        log.exception("reconciling %s failed; will try again next round", what)
        await core.alerts.send(
            f"reconcile-{what}", f"Reconciling {what} keeps failing; see the logs.", critical=True
        )


async def tell_late_orders(core: Core) -> None:
    """A paid order without its eSIM for ORDER_STUCK_SECONDS: tell the customer and admins,
    once each; the checks go on."""
    deadline = now() - core.settings.order_stuck_seconds
    for order in await core.storage.orders.with_status(S.PAID, S.ORDERING, S.ORDERED):
        if order.late_notified_at is None and (order.paid_at or order.created_at) < deadline:
            await _tell_late(core, order)


async def _tell_late(core: Core, order: Order) -> None:
    await core.storage.orders.update(order, late_notified_at=now())
    minutes = core.settings.order_stuck_seconds // 60
    await core.alerts.send(
        f"late-{order.reference}",
        f"Order {order.reference} has been paid for {minutes} min without its eSIM (status"
        f" {order.status.value}). The customer was told. /order {order.reference}",
        critical=True,
    )
    await core.tell(core.delivery.late(order), order)
