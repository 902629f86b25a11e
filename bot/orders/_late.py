"""eSIMs that arrive too late: for an order already refunded or failed, or watched for after a
refund while the order was still waiting. Cancelled with the reseller when unused; admins told."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.orders._cancel import cancel_esim, refusal
from bot.orders._core import Core, crash_point
from bot.pikasim import Order as RemoteOrder
from bot.pikasim import PikaSimError, Priority
from bot.pricing import usd
from storage import Order, now

__all__ = ["LateEsims"]

log = logging.getLogger("bot.orders")

_WATCH_HOURS = 48  # how long an order refunded while waiting is watched for a late eSIM
FindRemote = Callable[[str], Awaitable[RemoteOrder | None]]


class LateEsims:
    def __init__(self, core: Core, find_remote: FindRemote) -> None:
        self._core = core
        self._find_remote = find_remote

    async def cancel(self, order: Order, iccid: str) -> str:
        """An eSIM arrived for an order that is no longer waiting: cancel it when unused."""
        core = self._core
        cancel = await cancel_esim(core, iccid)
        crash_point("after_late_cancel")
        state = {"cancelled": "cancelled", "refused": "refused", "unclear": "watch"}[cancel.result]
        await core.storage.orders.update(
            order, after_refund=state, iccid=order.iccid or iccid, next_check_at=now() + 600
        )
        if cancel.result == "cancelled":
            what = f"it was cancelled with the reseller (wallet +{usd(cancel.cents or 0)})"
        elif cancel.result == "refused":
            what = f"it could NOT be cancelled ({refusal(cancel.error)[0]}); check it by hand"
        else:
            what = "cancelling it failed for now; it will be tried again"
        await core.alerts.send(
            f"late-esim-{order.reference}",
            f"An eSIM ({iccid}) arrived for order {order.reference} after it was"
            f" {order.status.value}: {what}.",
            critical=cancel.result != "unclear",
        )
        return f"late eSIM {state}"

    async def watch(self, order: Order) -> None:
        """An order refunded while waiting: ask the reseller whether its eSIM came after all."""
        core = self._core
        if order.next_check_at is not None and order.next_check_at > now():
            return
        remote: RemoteOrder | None
        try:
            if order.reseller_order_id:
                remote = await core.reseller.order(
                    order.reseller_order_id, priority=Priority.BACKGROUND, retry=False
                )
            else:
                remote = await self._find_remote(order.external_order_id or order.reference)
        except PikaSimError as error:
            log.info("could not check refunded order %s: %s", order.reference, error)
            remote = None
        if remote is not None and remote.is_completed and remote.esim is not None:
            await self.cancel(order, remote.esim.iccid)
            return
        gave_up = order.updated_at < now() - _WATCH_HOURS * 3600
        if (remote is not None and remote.is_failed) or gave_up:
            await core.storage.orders.update(order, after_refund="none")
            return
        delay = min(3600, 60 * 2 ** min(order.attempts, 6))
        await core.storage.orders.update(
            order, next_check_at=now() + delay, attempts=order.attempts + 1
        )
