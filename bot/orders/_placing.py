"""Placing orders with the reseller, following them until the eSIM arrives, and delivery.

``externalOrderId`` is the order's reference, written before ``POST /orders``, so a retry or a
restart can never buy a second eSIM. An answer we cannot read is never retried blindly: the
order is first looked up with the reseller.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.esim_data import valid_iccid
from bot.orders._core import Core, crash_point
from bot.pikasim import BadRequest as ResellerBadRequest
from bot.pikasim import Forbidden as ResellerForbidden
from bot.pikasim import InsufficientBalance, MalformedResponse, PikaSimError, Priority
from bot.pikasim import NotFound as ResellerNotFound
from bot.pikasim import Order as RemoteOrder
from bot.pikasim import Unauthorized as ResellerUnauthorized
from bot.pricing import usd
from storage import Order, OrderKind, OrderStatus, now

__all__ = ["Placing", "TopupTarget", "check_delay"]

log = logging.getLogger("bot.orders")
S = OrderStatus

_POLL_DELAYS = (2, 3, 5, 10, 20, 30, 60)  # seconds between order checks without webhooks
_WEBHOOK_GRACE = 45  # at most this many seconds waiting for a webhook before we ask
_MAX_RETRY_DELAY = 300
_MAX_CHECK_DELAY = 600  # a waiting order is checked at least every 10 minutes
_LOOKUP_PAGES = 3  # recent reseller orders searched for our reference (100 a page)


def check_delay(base: float, attempts: int, cap: float = _MAX_CHECK_DELAY) -> float:
    """Seconds until the next try: ``base``, doubling with every attempt, capped."""
    return min(cap, base * 2 ** min(attempts, 12))


class TopupTarget:
    """What a completed top-up provisions: the eSIM it was for."""

    def __init__(self, iccid: str | None) -> None:
        self.iccid = iccid


class Placing:
    def __init__(self, core: Core) -> None:
        self._core = core

    # -- placing ------------------------------------------------------------------------------

    async def place(self, order: Order) -> Order | None:
        orders = self._core.storage.orders
        if order.status is S.PAID:
            order = await orders.transition(
                order, S.ORDERING, external_order_id=order.reference, attempts=order.attempts + 1
            )
            crash_point("after_ordering")
        elif order.next_check_at is not None and order.next_check_at > now():
            return order  # a retry is scheduled; the reconciler will come back
        try:
            placed = await self._submit(order)
        except InsufficientBalance:
            await self._core.alerts.send(
                f"insufficient-balance-{order.reference}",
                f"The reseller wallet is too low for order {order.reference}"
                f" ({usd(order.cost_cents)}). The customer is being refunded; top up with"
                " /deposit.",
                critical=True,
            )
            return await orders.transition(order, S.FAILED, failure_reason="insufficient_balance")
        except (ResellerBadRequest, ResellerNotFound) as error:
            if order.attempts > 1:  # e.g. "duplicate externalOrderId": the first try went in
                return await self._resolve_unclear(order, error)
            log.warning("reseller refused order %s: %s", order.reference, error)
            return await orders.transition(order, S.FAILED, failure_reason="invalid")
        except (ResellerUnauthorized, ResellerForbidden) as error:
            return await self._core.needs_attention(order, f"the reseller refused our key: {error}")
        except MalformedResponse as error:
            # success:false on a 2xx, an unexpected status or body: ask before anything else.
            return await self._resolve_unclear(order, error)
        except PikaSimError as error:
            # Unknown outcome (timeout, 5xx): retrying with the same externalOrderId later
            # can never buy a second eSIM.
            return await self._retry_later(order, error)
        crash_point("after_submit")
        return await self.mark_ordered(order, placed)

    async def _submit(self, order: Order) -> tuple[str, Any]:
        """POST the order (or top-up) with our reference as externalOrderId."""
        reseller = self._core.reseller
        reference = order.external_order_id or order.reference
        if order.kind is OrderKind.TOPUP:
            topup = await reseller.topup(
                order.target_iccid or "", order.package_code, reference, priority=Priority.ORDER
            )
            return topup.topup_id, None
        placed = await reseller.create_order(order.package_code, reference, priority=Priority.ORDER)
        return placed.order_id, placed.esim

    async def _resolve_unclear(self, order: Order, error: PikaSimError) -> Order | None:
        """The reseller's answer to our POST was unclear: look the order up before deciding."""
        log.warning("order %s: unclear answer from the reseller: %s", order.reference, error)
        if order.kind is OrderKind.TOPUP:  # the reseller lists no top-ups to look up
            return await self._core.needs_attention(
                order, f"unclear answer to the top-up ({error.message})"
            )
        try:
            remote = await self.find_remote(order.external_order_id or order.reference)
        except PikaSimError as lookup_error:
            return await self._retry_later(order, lookup_error)
        if remote is None:
            return await self._core.needs_attention(
                order,
                f"unclear answer to the order ({error.message}); the reseller does not list it",
            )
        if remote.is_failed:
            return await self._core.storage.orders.transition(
                order, S.FAILED, failure_reason="failed"
            )
        esim = remote.esim if remote.is_completed else None
        return await self.mark_ordered(order, (remote.order_id, esim))

    async def find_remote(self, external_order_id: str) -> RemoteOrder | None:
        """Our order in the reseller's recent orders (it has no look-up by externalOrderId)."""
        for page in range(1, _LOOKUP_PAGES + 1):
            answer = await self._core.reseller.orders(
                page=page, limit=100, priority=Priority.ORDER, retry=False
            )
            for remote in answer.orders:
                if remote.external_order_id == external_order_id:
                    return remote
            if len(answer.orders) < 100:
                return None
        return None

    async def mark_ordered(self, order: Order, placed: tuple[str, Any]) -> Order:
        core = self._core
        reseller_id, esim = placed
        grace = min(_WEBHOOK_GRACE, 2 * core.settings.reconcile_seconds)
        delay = grace if core.webhooks_expected else _POLL_DELAYS[0]
        order = await core.storage.orders.transition(
            order,
            S.ORDERED,
            reseller_order_id=reseller_id,
            next_check_at=now() + delay,
            attempts=0,
            ordered_at=now(),
        )
        log.info("order %s placed with the reseller as %s", order.reference, reseller_id)
        core.wallet.spent(order.cost_cents)
        crash_point("after_ordered")
        if esim is not None:
            return await self.provision(order, esim)
        if order.kind is OrderKind.ESIM:
            # Most eSIMs arrive within a second: only say "activating" if this one does not.
            core.wait_then(self._progress_if_still(order.id, S.ORDERED, "ordered", delay=2.0))
        if not core.webhooks_expected:
            core.wait_then(self._follow(order.id))
        return order

    async def _retry_later(self, order: Order, error: PikaSimError) -> Order:
        # Back off from one reconcile period, doubling, so an outage costs few requests.
        delay = check_delay(self._core.settings.reconcile_seconds, order.attempts, _MAX_RETRY_DELAY)
        log.warning("order %s: reseller unavailable (%s); retrying later", order.reference, error)
        order = await self._core.storage.orders.update(
            order, next_check_at=now() + delay, attempts=order.attempts + 1
        )
        if order.attempts == 3:
            await self._core.progress(order, "delayed")
            await self._core.alerts.send(
                "reseller-errors", f"The reseller keeps failing ({error}); orders are waiting."
            )
        return order

    # -- following a placed order -------------------------------------------------------------

    async def _follow(self, order_id: int) -> None:
        """Without webhooks: ask the reseller about a placed order, soon and then less often."""
        for delay in _POLL_DELAYS:
            await asyncio.sleep(delay)
            order = await self._core.storage.orders.get(order_id)
            if order is None or order.status is not S.ORDERED:
                return
            if await self.check(order) is not None:
                await self._core.advance(order_id)

    async def check(self, order: Order) -> Order | None:
        """Ask the reseller how an ordered order is doing, once, and act on the answer."""
        if order.kind is OrderKind.TOPUP:
            return await self._check_topup(order)
        try:
            remote = await self._core.reseller.order(
                order.reseller_order_id or "", priority=Priority.BACKGROUND, retry=False
            )
        except PikaSimError as error:
            log.info("could not check order %s: %s", order.reference, error)
            return await self._check_later(order)
        async with self._core.lock(order.id):
            current = await self._core.storage.orders.get(order.id)
            if current is None or current.status is not S.ORDERED:
                return current
            if remote.status == "completed" and remote.esim is not None:
                return await self.provision(current, remote.esim)
            if remote.status == "failed":
                return await self._core.storage.orders.transition(
                    current, S.FAILED, failure_reason="failed"
                )
            return await self._check_later(current)

    async def _check_later(self, order: Order) -> Order:
        delay = check_delay(_POLL_DELAYS[-1], order.attempts)
        return await self._core.storage.orders.update(
            order, next_check_at=now() + delay, attempts=order.attempts + 1
        )

    async def _check_topup(self, order: Order) -> Order | None:
        """The reseller has no top-up status: a top-up is done once the eSIM lists one more
        package of its code than the top-ups of that code we already delivered."""
        core = self._core
        iccid = order.target_iccid or ""
        try:
            esim = await core.reseller.esim(iccid, priority=Priority.BACKGROUND, retry=False)
        except PikaSimError as error:
            log.info("could not check top-up %s: %s", order.reference, error)
            return await self._check_later(order)
        applied = sum(1 for item in esim.package_list if item.package_code == order.package_code)
        # One check per eSIM at a time, so two top-ups of one code cannot both claim one entry.
        async with core.lock(f"topup:{iccid}"), core.lock(order.id):
            counted = await core.storage.orders.count_applied_topups(iccid, order.package_code)
            current = await core.storage.orders.get(order.id)
            if current is None or current.status is not S.ORDERED:
                return current
            if applied > counted:
                return await self.provision(current, TopupTarget(iccid))
            if current.updated_at < now() - 3600:
                return await core.needs_attention(current, "no top-up confirmation in 1 h")
            return await self._check_later(current)

    # -- the eSIM arrives ---------------------------------------------------------------------

    async def provision(self, order: Order, esim: Any) -> Order:
        """Store the eSIM and mark the order provisioned (the caller holds the order's lock)."""
        core = self._core
        if order.kind is OrderKind.ESIM:
            esim_iccid = getattr(esim, "iccid", None)
            if not getattr(esim, "activation_code", None):
                esim = await self._complete_esim(esim)
                if esim is None:
                    # Keep the ICCID so an admin can still cancel or look the eSIM up.
                    return await core.needs_attention(
                        order, "the reseller sent no activation code", iccid=esim_iccid
                    )
            if not valid_iccid(esim.iccid):
                return await core.needs_attention(
                    order, f"the reseller sent an invalid ICCID {str(esim.iccid)[:30]!r}"
                )
        async with core.storage.db.transaction() as tx:
            if order.kind is OrderKind.ESIM:
                await core.storage.esims.add(
                    tx,
                    iccid=esim.iccid,
                    order_id=order.id,
                    user_id=order.user_id,
                    package_code=order.package_code,
                    activation_code=esim.activation_code,
                    qr_code_url=getattr(esim, "qr_code_url", None),
                    short_url=getattr(esim, "short_url", None),
                )
            order = await core.storage.orders.transition(
                order, S.PROVISIONED, tx=tx, iccid=getattr(esim, "iccid", order.target_iccid)
            )
        crash_point("after_provisioned")
        return order

    async def _complete_esim(self, partial: Any) -> Any:
        """An eSIM announced without its activation code: ask for the full record once."""
        try:
            esim = await self._core.reseller.esim(partial.iccid, priority=Priority.ORDER)
        except PikaSimError as error:
            log.warning("could not fetch eSIM details: %s", error)
            return None
        return esim if esim.activation_code else None

    async def deliver(self, order: Order) -> Order:
        core = self._core
        if order.kind is OrderKind.TOPUP:
            await core.delivery.topup_done(order)
        else:
            esim = await core.storage.esims.for_order(order.id)
            if esim is None:
                return await core.needs_attention(order, "provisioned without eSIM details")
            await core.delivery.deliver(order, esim)
        crash_point("after_delivery_sent")
        order = await core.storage.orders.transition(order, S.DELIVERED, delivered_at=now())
        log.info("order %s delivered", order.reference)
        return order

    async def _progress_if_still(
        self, order_id: int, status: OrderStatus, stage: str, delay: float
    ) -> None:
        await asyncio.sleep(delay)
        async with self._core.lock(order_id):
            order = await self._core.storage.orders.get(order_id)
            if order is not None and order.status is status:
                await self._core.progress(order, stage)
