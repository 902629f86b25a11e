"""Sandbox mode is a rehearsal, not a shop: every Star paid is given back after delivery.

The order stays ``delivered`` (the customer has the simulated eSIM); the refund is a row in
``refunds`` with reason ``sandbox``, committed before Telegram is asked, so a crash or a
Telegram failure is retried by the reconciler and never refunds twice.
"""

from __future__ import annotations

import logging

from bot.orders._core import Core
from bot.orders._payments import Payments
from storage import Order, OrderStatus

__all__ = ["REASON", "Rehearsal"]

log = logging.getLogger("bot.orders")

REASON = "sandbox"


class Rehearsal:
    def __init__(self, core: Core, payments: Payments) -> None:
        self._core = core
        self._payments = payments

    async def refund(self, order: Order) -> str:
        """Refund a delivered sandbox order's Stars and tell the customer; safe to repeat.

        "done": refunded (now or before); "retry": Telegram failed for now, the refund stays
        owed; "refused": Telegram refused it (admins are alerted); "nothing": nothing was paid.
        """
        storage = self._core.storage
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
        outcome = await self._payments.refund_stars(order.user_id, refund.charge_id)
        if outcome == "refused":
            await self._core.alerts.send(
                f"rehearsal-refund-{order.reference}",
                f"Telegram refused the rehearsal refund of order {order.reference}; refund it"
                " by hand.",
                critical=True,
            )
        if outcome != "done":
            return outcome
        async with storage.db.transaction() as tx:
            await storage.refunds.complete(tx, order.id)
        log.info("rehearsal order %s: %d Stars refunded", order.reference, refund.amount_stars)
        await self._core.tell(self._core.delivery.rehearsal_refunded(order), order)
        return "done"

    async def retry_owed(self) -> int:
        """Finish every rehearsal refund still owed (for the reconciler); how many were done."""
        done = 0
        for refund in await self._core.storage.refunds.with_status("pending"):
            if refund.reason != REASON:
                continue
            order = await self._core.storage.orders.get(refund.order_id)
            if order is not None and order.status is OrderStatus.DELIVERED:
                done += await self.refund(order) == "done"
        return done
