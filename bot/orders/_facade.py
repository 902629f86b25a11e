"""``Orders``: the one way in. It alone advances an order; the parts behind it do one job each."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.esim_data import valid_iccid
from bot.orders._books import Books
from bot.orders._core import Core
from bot.orders._delivery import Delivery
from bot.orders._events import Events
from bot.orders._late import LateEsims
from bot.orders._payments import Payments
from bot.orders._placing import Placing
from bot.orders._reconciler import DRIVEN, isolated, tell_late_orders
from bot.orders._refunds import RefundOutcome, RefundPreview, Refunds
from bot.orders._rehearsal import Rehearsal
from bot.orders._self_service import SelfRefund, SelfService
from bot.pikasim import Order as RemoteOrder
from bot.pikasim import PikaSimError, Priority
from bot.qr import qr_png
from storage import IllegalTransition, Order, OrderKind, OrderStatus, Storage, now

if TYPE_CHECKING:
    from telegram import Bot

    from bot.alerts import Alerts
    from bot.pikasim import PikaSimClient
    from bot.settings import Settings
    from bot.wallet import Wallet

__all__ = ["CheckOutcome", "Orders"]

log = logging.getLogger("bot.orders")
S = OrderStatus


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """What "Check again" found: delivered, waiting, failed, unchanged; ``detail`` says why."""

    result: str
    order: Order
    detail: str = ""


class Orders:
    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        reseller: PikaSimClient,
        alerts: Alerts,
        wallet: Wallet,
        *,
        bot: Bot,
        delivery: Delivery,
        spawn: Callable[[Awaitable[Any]], object],
    ) -> None:
        """``delivery`` tells customers; ``spawn`` runs the work that the Telegram application
        awaits when it stops."""
        core = self._core = Core(
            settings, storage, reseller, alerts, wallet, bot=bot, delivery=delivery, spawn=spawn
        )
        core.advance = self.advance
        self._payments = Payments(core)
        self._placing = Placing(core)
        self._refunds = Refunds(core, self._payments)
        self._late = LateEsims(core, self._placing.find_remote)
        self._events = Events(core, self._placing, self._late)
        self._rehearsal = Rehearsal(core, self._payments)
        self._self_service = SelfService(core, self._refunds)
        self.books = Books(core)
        self._warmed_up = False

    # -- wiring -------------------------------------------------------------------------------

    @property
    def webhooks_expected(self) -> bool:
        return self._core.webhooks_expected

    def warm_up(self) -> None:
        """Load the QR renderer (Pillow) in a thread before the first delivery needs it."""
        if not self._warmed_up:
            self._warmed_up = True
            self._core.wait_then(asyncio.to_thread(qr_png, "warm-up"))

    async def shutdown(self) -> None:
        await self._core.cancel_waits()

    async def register_webhook(self, embedded_base_url: str) -> None:
        """Tell the reseller where to send webhooks (PUBLIC_URL, or the embedded sandbox)."""
        core = self._core
        settings = core.settings
        if settings.public_url is not None:
            base = str(settings.public_url).rstrip("/")
        elif settings.uses_sandbox:
            base = embedded_base_url
        else:
            log.info("no PUBLIC_URL: orders are followed by polling the reseller")
            return
        url = f"{base}/webhooks/pikasim"
        try:
            await core.reseller.set_webhook(url)
        except PikaSimError as error:
            log.warning("could not register the webhook %s: %s", url, error)
            return
        core.webhooks_expected = True
        await core.storage.meta.set("webhook_url", url)
        log.info("reseller webhooks go to %s", url)

    # -- payments -----------------------------------------------------------------------------

    async def record_payment(self, **payment: Any) -> Order | None:
        """See ``Payments.record``: the paid order, or None (repeated, or refunded at once)."""
        return await self._payments.record(**payment)

    async def open_order(
        self,
        *,
        kind: OrderKind,
        user_id: int,
        chat_id: int,
        package_code: str,
        package_name: str,
        price_stars: int,
        cost_cents: int,
        language: str | None,
        target_iccid: str | None = None,
    ) -> Order:
        """An unpaid order for an invoice. Buying the same plan again within the invoice TTL
        (same price) reuses the open one: one row per purchase, not one per tap."""
        orders = self._core.storage.orders
        since = now() - self._core.settings.invoice_ttl_seconds
        order = await orders.open_unpaid(user_id, kind, package_code, target_iccid, since)
        if order is not None and (order.price_stars, order.cost_cents) == (price_stars, cost_cents):
            return await orders.update(order, updated_at=now())  # a new invoice: a new TTL
        return await orders.create(
            kind=kind,
            user_id=user_id,
            chat_id=chat_id,
            package_code=package_code,
            package_name=package_name,
            price_stars=price_stars,
            cost_cents=cost_cents,
            language=language,
            target_iccid=target_iccid,
        )

    async def cancel_unpaid(self, order: Order) -> Order:
        """The customer dismissed an unpaid order (raises IllegalTransition if it moved)."""
        return await self._core.storage.orders.transition(order, S.EXPIRED)

    async def progress_message(self, order: Order, message_id: int) -> None:
        """Remember the message that shows the order's progress (edited as it moves)."""
        self._core.delivery.progress_sent(order.id, message_id)
        await self._core.storage.orders.update(order, progress_message_id=message_id)

    async def mark_paid_without_stars(self, order: Order) -> Order:
        """PAYMENTS=off: the operator's own wallet pays; the order goes straight to paid."""
        return await self._core.storage.orders.transition(order, S.PAID, paid_at=now())

    async def expire_unpaid(self) -> int:
        """Unpaid orders past INVOICE_TTL_SECONDS become expired, in one statement."""
        return await self._core.storage.orders.expire_unpaid(
            now() - self._core.settings.invoice_ttl_seconds
        )

    # -- driving an order ---------------------------------------------------------------------

    def start(self, order: Order) -> None:
        """Drive an order forward in the background (the update handler returns at once)."""
        self._core.spawn(self.advance(order.id))

    async def advance(self, order_id: int) -> Order | None:
        """Take the order as far as it can go now; safe to call from anywhere, any time."""
        async with self._core.lock(order_id):
            order = await self._core.storage.orders.get(order_id)
            while order is not None:
                step = self._steps().get(order.status)
                if step is None:
                    break
                try:
                    moved = await step(order)
                except IllegalTransition:
                    moved = await self._core.storage.orders.get(order_id)  # moved elsewhere
                if moved is None or moved.status == order.status:
                    order = moved
                    break
                order = moved
            return order

    def _steps(self) -> dict[OrderStatus, Callable[[Order], Awaitable[Order | None]]]:
        return {
            S.PAID: self._placing.place,
            S.ORDERING: self._placing.place,
            S.PROVISIONED: self._deliver,
            S.FAILED: self._refunds.open_for_failure,
            S.REFUNDING: self._refunds.finish,
        }

    async def _deliver(self, order: Order) -> Order:
        delivered = await self._placing.deliver(order)
        if delivered.status is S.DELIVERED and self._core.settings.rehearsal:
            await self._rehearsal.refund(delivered)  # a rehearsal, not a sale
        return delivered

    async def handle_webhook(self, event_id: int) -> None:
        await self._events.handle(event_id, self.advance)

    # -- admin exits --------------------------------------------------------------------------

    async def refund_preview(self, order: Order) -> RefundPreview:
        return await self._refunds.preview(order)

    async def live_esim(self, iccid: str) -> Any:
        return await self._refunds.live_esim(iccid)

    async def refund(
        self, order: Order, admin_id: int, *, cancel: bool, reason: str = ""
    ) -> RefundOutcome:
        """An admin's refund: cancel first when asked, then the Stars; top-ups follow."""
        outcome = await self._refunds.by_admin(order, admin_id, cancel=cancel, reason=reason)
        for topup in outcome.covered:
            await self.advance(topup.id)
        return outcome

    # -- the customer's own refund ------------------------------------------------------------

    async def customer_refund_check(self, iccid: str, user_id: int) -> SelfRefund:
        """Whether the owner may cancel this eSIM for a refund, from what we know (no reseller
        call): ``result`` "allowed", or why not."""
        return await self._self_service.check(iccid, user_id)

    async def refund_by_customer(self, iccid: str, user_id: int) -> SelfRefund:
        """The owner cancels an eSIM they never installed: the same cancel-first refund as
        /refund, once; the reseller's refusal is the final word."""
        refund = await self._self_service.refund(iccid, user_id)
        for topup in refund.outcome.covered if refund.outcome is not None else ():
            await self.advance(topup.id)
        return refund

    async def check_again(self, order: Order) -> CheckOutcome:
        """needs_attention: read the order from the reseller again and deliver if it is fine."""
        async with self._core.lock(order.id):
            current = await self._core.storage.orders.get(order.id) or order
            if current.status is not S.NEEDS_ATTENTION:
                return CheckOutcome("unchanged", current, f"the order is {current.status.value}")
            try:
                outcome = await self._recheck(current)
            except PikaSimError as error:
                return CheckOutcome("unchanged", current, error.message)
            except IllegalTransition:
                moved = await self._core.storage.orders.get(order.id) or current
                return CheckOutcome("unchanged", moved, f"the order is {moved.status.value}")
        moved = await self.advance(order.id) or outcome.order
        result = "delivered" if moved.status is S.DELIVERED else outcome.result
        return CheckOutcome(result, moved, outcome.detail)

    async def _recheck(self, order: Order) -> CheckOutcome:
        core = self._core
        orders = core.storage.orders
        if await core.storage.esims.for_order(order.id) is not None:
            return CheckOutcome("delivered", await orders.transition(order, S.PROVISIONED))
        if order.kind is OrderKind.TOPUP:
            return CheckOutcome("waiting", await orders.transition(order, S.ORDERED, attempts=0))
        if order.iccid and valid_iccid(order.iccid):
            esim = await core.reseller.esim(order.iccid, priority=Priority.CUSTOMER)
            if _usable(esim):
                return CheckOutcome("delivered", await self._placing.provision(order, esim))
            return CheckOutcome("unchanged", order, "the eSIM still has no usable details")
        remote: RemoteOrder | None
        if order.reseller_order_id:
            remote = await core.reseller.order(order.reseller_order_id, priority=Priority.CUSTOMER)
        else:
            remote = await self._placing.find_remote(order.external_order_id or order.reference)
        if remote is None:
            return CheckOutcome("unchanged", order, "the reseller does not list this order")
        if remote.is_completed and remote.esim is not None:
            if not _usable(remote.esim):
                return CheckOutcome("unchanged", order, "the eSIM still has no usable details")
            if order.reseller_order_id is None:
                order = await orders.update(order, reseller_order_id=remote.order_id)
            return CheckOutcome("delivered", await self._placing.provision(order, remote.esim))
        if remote.is_failed:
            return CheckOutcome("failed", order, "the reseller says the order failed")
        waiting = await orders.transition(
            order, S.ORDERED, reseller_order_id=remote.order_id, attempts=0, next_check_at=now()
        )
        return CheckOutcome("waiting", waiting, f"the reseller says {remote.status}")

    # -- reconciliation -----------------------------------------------------------------------

    async def reconcile(self) -> None:
        """Finish whatever a crash or a lost webhook left half-done (run at start, then often)."""
        core = self._core
        for stored in await core.storage.webhook_events.unprocessed():
            await isolated(core, f"webhook {stored.id}", self.handle_webhook(stored.id))
        await isolated(core, "the Stars ledger", self._reconcile_ledger())
        await isolated(core, "orphan refunds", self._payments.retry_orphan_refunds())
        await isolated(core, "cancels", self._resume_cancels())
        for order in await core.storage.orders.with_status(*DRIVEN):
            await isolated(core, f"order {order.reference}", self.advance(order.id))
        for order in await core.storage.orders.with_status(S.ORDERED):
            if order.next_check_at is None or order.next_check_at <= now():
                await isolated(core, f"order {order.reference}", self._check(order))
        for order in await core.storage.orders.watching_after_refund():
            await isolated(core, f"refunded order {order.reference}", self._late.watch(order))
        await isolated(core, "late orders", tell_late_orders(core))
        if core.settings.rehearsal:
            await isolated(core, "rehearsal refunds", self._rehearsal.retry_owed())
        await isolated(core, "unpaid orders", self.expire_unpaid())

    async def _reconcile_ledger(self) -> None:
        for order in await self._payments.unrecorded_in_ledger():
            await self.advance(order.id)

    async def _resume_cancels(self) -> None:
        for topup in await self._refunds.resume_cancels():
            await self.advance(topup.id)

    async def _check(self, order: Order) -> None:
        checked = await self._placing.check(order)
        if checked is not None:
            await self.advance(checked.id)


def _usable(esim: Any) -> bool:
    """An eSIM we can deliver: an activation code and a valid ICCID."""
    return bool(esim.activation_code) and valid_iccid(esim.iccid)
