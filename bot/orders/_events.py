"""Reseller webhooks: stored under a unique key by the listener, applied here once each."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.esim_data import valid_iccid
from bot.orders._core import Core
from bot.orders._late import LateEsims
from bot.orders._placing import Placing, TopupTarget
from bot.pikasim import MalformedResponse, parse_webhook_event
from storage import Order, OrderKind, OrderStatus, now

__all__ = ["Events"]

log = logging.getLogger("bot.orders")
S = OrderStatus

# Orders that no longer wait for an eSIM: one arriving now is cancelled when unused.
_NO_LONGER_WAITING = (S.FAILED, S.REFUNDING, S.REFUNDED)


class Events:
    def __init__(self, core: Core, placing: Placing, late: LateEsims) -> None:
        self._core = core
        self._placing = placing
        self._late = late

    async def handle(self, event_id: int, advance: Callable[[int], Awaitable[Any]]) -> None:
        storage = self._core.storage
        stored = await storage.webhook_events.get(event_id)
        if stored is None or stored.processed_at is not None:
            return
        try:
            event = parse_webhook_event(json.loads(stored.payload))
        except (MalformedResponse, ValueError) as error:
            log.warning("webhook %d is malformed: %s", event_id, error)
            await storage.webhook_events.mark_processed(event_id, "malformed")
            return
        outcome, order_id = await self._apply(event)
        # Processed once its state change is committed: what follows (delivery, a refund) is
        # the order's own business, finished by the reconciler if it fails now.
        await storage.webhook_events.mark_processed(event_id, outcome, order_id)
        log.info("webhook %s processed: %s", event.event, outcome)
        if order_id is not None:
            await advance(order_id)

    async def _apply(self, event: Any) -> tuple[str, int | None]:
        if event.event == "webhook.test":
            await self._core.storage.meta.set("webhook_test_received_at", str(now()))
            return "test received", None
        order = await self._order_for(event)
        if order is None:
            return "unknown order", None
        async with self._core.lock(order.id):
            current = await self._core.storage.orders.get(order.id)
            assert current is not None
            return await self._apply_to_order(event, current), order.id

    async def _order_for(self, event: Any) -> Order | None:
        orders = self._core.storage.orders
        if event.external_order_id:
            order = await orders.by_external_id(event.external_order_id)
            if order is not None:
                return order
        reseller_id = event.topup_id if event.event == "esim.topup.completed" else event.order_id
        return await orders.by_reseller_id(reseller_id) if reseller_id else None

    async def _apply_to_order(self, event: Any, order: Order) -> str:
        if order.status in _NO_LONGER_WAITING:
            return await self._too_late(event, order)
        if order.status is S.NEEDS_ATTENTION and _usable_esim(event) and not order.iccid:
            # The eSIM an unclear answer left us waiting for: deliver it after all.
            await self._placing.provision(order, event.esim)
            return "provisioned after needing attention"
        if order.status not in (S.ORDERING, S.ORDERED):
            return f"ignored: order is {order.status}"
        if event.event == "esim.provisioned" and order.kind is OrderKind.ESIM:
            if event.esim is None:
                return "ignored: no eSIM in the event"
            await self._placing.provision(order, event.esim)
            return "provisioned"
        if event.event == "esim.topup.completed" and order.kind is OrderKind.TOPUP:
            await self._placing.provision(order, TopupTarget(order.target_iccid))
            return "top-up completed"
        if event.event == "order.failed":
            await self._core.storage.orders.transition(order, S.FAILED, failure_reason="failed")
            return "failed"
        return f"ignored: {event.event} for a {order.kind} order"

    async def _too_late(self, event: Any, order: Order) -> str:
        """An eSIM (or top-up) for an order that was refunded or failed meanwhile."""
        if event.event == "esim.provisioned" and event.esim is not None:
            if order.after_refund in ("cancelled", "refused"):
                return f"ignored: late eSIM already {order.after_refund}"
            return await self._late.cancel(order, event.esim.iccid)
        if event.event == "esim.topup.completed":
            await self._core.alerts.send(
                f"late-topup-{order.reference}",
                f"Top-up {order.reference} was applied by the reseller after the order was"
                f" {order.status.value}; top-ups cannot be cancelled. Check the wallet.",
                critical=True,
            )
            return "late top-up reported"
        return f"ignored: order is {order.status}"


def _usable_esim(event: Any) -> bool:
    esim = getattr(event, "esim", None)
    return (
        event.event == "esim.provisioned"
        and esim is not None
        and bool(esim.activation_code)
        and valid_iccid(esim.iccid)
    )
