"""The order pipeline: every paid order ends delivered or refunded, exactly once.

Each step commits the order's new status before the external call that follows it, and every
external call is idempotent (``externalOrderId`` = our reference; refunds by charge id), so
whatever line a crash interrupts, re-running the step from the stored status is safe. Three
sources drive orders forward: the customer's payment, reseller webhooks, and the reconciler.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram import Bot
from telegram.error import BadRequest as TelegramBadRequest
from telegram.error import TelegramError

from bot.pikasim import BadRequest as ResellerBadRequest
from bot.pikasim import Forbidden as ResellerForbidden
from bot.pikasim import (
    InsufficientBalance,
    MalformedResponse,
    PikaSimClient,
    PikaSimError,
    Priority,
    parse_webhook_event,
)
from bot.pikasim import NotFound as ResellerNotFound
from bot.pikasim import Unauthorized as ResellerUnauthorized
from bot.pricing import usd
from bot.qr import qr_png
from storage import (
    ConstraintViolation,
    IllegalTransition,
    Order,
    OrderKind,
    OrderStatus,
    Storage,
    now,
)

if TYPE_CHECKING:
    from telegram.ext import Application

    from bot.alerts import Alerts
    from bot.settings import Settings
    from bot.wallet import Wallet
    from handlers.delivery import Notifier

__all__ = ["CRASH_ENV", "Pipeline", "crash_point"]

log = logging.getLogger(__name__)
S = OrderStatus

CRASH_ENV = "ESIM_BOT_CRASH_AT"
_LEDGER_OFFSET = "stars_ledger_offset"
_LEDGER_HORIZON = 48 * 3600  # older unknown payments are reported, not acted on
_POLL_DELAYS = (2, 3, 5, 10, 20, 30, 60)  # seconds between order checks without webhooks
_WEBHOOK_GRACE = 45  # at most this many seconds waiting for a webhook before we ask
_MAX_RETRY_DELAY = 300


def crash_point(name: str) -> None:
    """Fault injection for the crash tests: die here, like a power cut, when asked to."""
    if os.environ.get(CRASH_ENV) == name:
        log.warning("crash point %s reached: exiting abruptly", name)
        os._exit(77)


class Pipeline:
    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        reseller: PikaSimClient,
        alerts: Alerts,
        wallet: Wallet,
    ) -> None:
        self._settings = settings
        self._wallet = wallet
        self._storage = storage
        self._reseller = reseller
        self._alerts = alerts
        self._locks: dict[int | str, asyncio.Lock] = {}
        self._bot: Bot | None = None
        self._notifier: Notifier | None = None
        self._spawn: Callable[[Awaitable[Any]], object] = asyncio.ensure_future
        self._waiters: set[asyncio.Task[None]] = set()
        self._warmed_up = False
        self.webhooks_expected = False

    # -- wiring --------------------------------------------------------------------------

    def attach(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        from handlers.delivery import Notifier

        self._bot = application.bot
        self._notifier = Notifier(application.bot)

        def spawn(coroutine: Awaitable[Any]) -> object:
            # Application tasks are awaited on stop(), so work in flight finishes cleanly.
            return application.create_task(coroutine)

        self._spawn = spawn

    def _wait_then(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run something that mostly sleeps; shutdown cancels it (the reconciler covers it)."""
        task = asyncio.ensure_future(coroutine)
        self._waiters.add(task)
        task.add_done_callback(self._waiters.discard)

    def warm_up(self) -> None:
        """Load the QR renderer (Pillow) in a thread before the first delivery needs it."""
        if not self._warmed_up:
            self._warmed_up = True
            self._wait_then(asyncio.to_thread(qr_png, "warm-up"))  # type: ignore[arg-type]

    async def shutdown(self) -> None:
        for task in list(self._waiters):
            task.cancel()
        await asyncio.gather(*self._waiters, return_exceptions=True)

    @property
    def bot(self) -> Bot:
        if self._bot is None:
            raise RuntimeError("pipeline is not attached to the Telegram application")
        return self._bot

    @property
    def notifier(self) -> Notifier:
        if self._notifier is None:
            raise RuntimeError("pipeline is not attached to the Telegram application")
        return self._notifier

    async def register_webhook(self, embedded_base_url: str) -> None:
        """Tell the reseller where to send webhooks (PUBLIC_URL, or the embedded sandbox)."""
        settings = self._settings
        if settings.public_url is not None:
            base = str(settings.public_url).rstrip("/")
        elif settings.uses_sandbox:
            base = embedded_base_url
        else:
            log.info("no PUBLIC_URL: orders are followed by polling the reseller")
            return
        url = f"{base}/webhooks/pikasim"
        try:
            await self._reseller.set_webhook(url)
        except PikaSimError as error:
            log.warning("could not register the webhook %s: %s", url, error)
            return
        self.webhooks_expected = True
        await self._storage.meta.set("webhook_url", url)
        log.info("reseller webhooks go to %s", url)

    # -- payments ------------------------------------------------------------------------

    async def record_payment(
        self,
        *,
        charge_id: str,
        user_id: int,
        amount: int,
        currency: str,
        payload: str,
        source: str,
    ) -> Order | None:
        """Commit a Stars payment and mark its order paid, once per charge id.

        Returns the paid order, or None when this charge was already recorded. A payment that
        matches no payable order is stored and refunded at once.
        """
        crash_point("before_payment_recorded")
        order = await self._order_for_payload(payload)
        payable = (
            order is not None
            and order.user_id == user_id
            and order.price_stars == amount
            and order.status in (S.AWAITING_PAYMENT, S.EXPIRED)
        )
        payment = _PaymentFacts(charge_id, user_id, amount, currency, payload, source)
        try:
            result = await self._commit_payment(payment, order if payable else None)
        except (IllegalTransition, ConstraintViolation):
            # Another payment for the same order won the race: this one is an orphan.
            result = await self._commit_payment(payment, None)
        if result is _ALREADY_RECORDED:
            log.info("payment %s was already recorded", _short(charge_id))
            return None
        if result is None:
            await self._refund_orphan_payment(charge_id, user_id, amount, payload)
            return None
        assert isinstance(result, Order)
        log.info("order %s paid (%d Stars, via %s)", result.reference, amount, source)
        crash_point("after_paid")
        return result

    async def _commit_payment(self, payment: _PaymentFacts, order: Order | None) -> object:
        """Store the payment and, for a payable order, mark it paid, in one transaction."""
        async with self._storage.db.transaction() as tx:
            recorded = await self._storage.payments.record(
                tx,
                charge_id=payment.charge_id,
                order_id=order.id if order is not None else None,
                user_id=payment.user_id,
                amount_stars=payment.amount,
                currency=payment.currency,
                payload=payment.payload,
                source=payment.source,
            )
            if not recorded:
                return _ALREADY_RECORDED
            if order is None:
                return None
            return await self._storage.orders.transition(order, S.PAID, tx=tx, paid_at=now())

    async def mark_paid_without_stars(self, order: Order) -> Order:
        """PAYMENTS=off: the operator's own wallet pays; the order goes straight to paid."""
        return await self._storage.orders.transition(order, S.PAID, paid_at=now())

    async def _order_for_payload(self, payload: str) -> Order | None:
        reference = payload.removeprefix("order:")
        return await self._storage.orders.by_reference(reference) if reference else None

    async def _refund_orphan_payment(
        self, charge_id: str, user_id: int, amount: int, payload: str
    ) -> None:
        log.warning("payment %s matches no payable order; refunding it", _short(charge_id))
        outcome = await self._refund_stars(user_id, charge_id)
        if outcome == "done":
            await self._storage.payments.mark_refunded(charge_id)
        what = {"done": "was refunded", "retry": "will be refunded (Telegram failed for now)"}
        await self._alerts.send(
            f"orphan-payment-{charge_id}",
            f"A payment of {amount} Stars (payload {payload!r}) matched no payable order and"
            f" {what.get(outcome, 'could NOT be refunded: Telegram refused; refund it by hand')}.",
        )

    async def _retry_orphan_refunds(self) -> None:
        for payment in await self._storage.payments.owed_refunds():
            if await self._refund_stars(payment.user_id, payment.charge_id) == "done":
                await self._storage.payments.mark_refunded(payment.charge_id)

    # -- driving an order ----------------------------------------------------------------

    def start(self, order: Order) -> None:
        """Drive an order forward in the background (the update handler returns at once)."""
        self._spawn(self.advance(order.id))

    async def advance(self, order_id: int) -> Order | None:
        """Take the order as far as it can go now; safe to call from anywhere, any time."""
        async with self._lock(order_id):
            order = await self._storage.orders.get(order_id)
            while order is not None:
                step = self._steps().get(order.status)
                if step is None:
                    break
                try:
                    moved = await step(order)
                except IllegalTransition:
                    moved = await self._storage.orders.get(order_id)  # someone else moved it
                if moved is None or moved.status == order.status:
                    order = moved
                    break
                order = moved
            return order

    def _steps(self) -> dict[OrderStatus, Callable[[Order], Awaitable[Order | None]]]:
        return {
            S.PAID: self._place,
            S.ORDERING: self._place,
            S.PROVISIONED: self._deliver,
            S.FAILED: self._start_refund,
            S.REFUNDING: self._finish_refund,
        }

    def _lock(self, order_id: int | str) -> asyncio.Lock:
        lock = self._locks.get(order_id)
        if lock is None:
            lock = self._locks[order_id] = asyncio.Lock()
        if len(self._locks) > 1000:  # forget idle locks so the map cannot grow forever
            idle = [k for k, v in self._locks.items() if not v.locked() and not _has_waiters(v)]
            for key in [k for k in idle if k != order_id]:
                del self._locks[key]
        return lock

    async def _place(self, order: Order) -> Order | None:
        orders = self._storage.orders
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
            await self._alerts.send(
                "insufficient-balance",
                f"The reseller wallet is too low for order {order.reference}"
                f" ({usd(order.cost_cents)}). The customer is being refunded; top up with"
                " /deposit.",
            )
            return await orders.transition(order, S.FAILED, failure_reason="insufficient_balance")
        except (ResellerBadRequest, ResellerNotFound) as error:
            log.warning("reseller refused order %s: %s", order.reference, error)
            return await orders.transition(order, S.FAILED, failure_reason="invalid")
        except (ResellerUnauthorized, ResellerForbidden) as error:
            return await self._needs_attention(order, f"the reseller refused our key: {error}")
        except PikaSimError as error:
            # Unknown outcome (timeout, 5xx, garbled answer): retrying with the same
            # externalOrderId later can never buy a second eSIM.
            return await self._retry_later(order, error)
        crash_point("after_submit")
        return await self._mark_ordered(order, placed)

    async def _submit(self, order: Order) -> tuple[str, Any]:
        """POST the order (or top-up) with our reference as externalOrderId."""
        reference = order.external_order_id or order.reference
        if order.kind is OrderKind.TOPUP:
            topup = await self._reseller.topup(
                order.target_iccid or "", order.package_code, reference, priority=Priority.ORDER
            )
            return topup.topup_id, None
        placed = await self._reseller.create_order(
            order.package_code, reference, priority=Priority.ORDER
        )
        return placed.order_id, placed.esim

    async def _mark_ordered(self, order: Order, placed: tuple[str, Any]) -> Order:
        reseller_id, esim = placed
        grace = min(_WEBHOOK_GRACE, 2 * self._settings.reconcile_seconds)
        delay = grace if self.webhooks_expected else _POLL_DELAYS[0]
        order = await self._storage.orders.transition(
            order,
            S.ORDERED,
            reseller_order_id=reseller_id,
            next_check_at=now() + delay,
            attempts=0,
        )
        log.info("order %s placed with the reseller as %s", order.reference, reseller_id)
        self._wallet.spent(order.cost_cents)
        crash_point("after_ordered")
        if esim is not None:
            return await self._provision(order, esim)
        if order.kind is OrderKind.ESIM:
            # Most eSIMs arrive within a second: only say "activating" if this one does not.
            self._wait_then(self._progress_if_still(order.id, S.ORDERED, "ordered", delay=2.0))
        if not self.webhooks_expected:
            self._wait_then(self._follow(order.id))
        return order

    async def _retry_later(self, order: Order, error: PikaSimError) -> Order:
        # Back off from one reconcile period, doubling, so an outage costs few requests.
        delay = min(
            _MAX_RETRY_DELAY, self._settings.reconcile_seconds * 2 ** min(order.attempts, 10)
        )
        log.warning("order %s: reseller unavailable (%s); retrying later", order.reference, error)
        order = await self._storage.orders.update(
            order, next_check_at=now() + delay, attempts=order.attempts + 1
        )
        if order.attempts == 3:
            await self._progress(order, "delayed")
            await self._alerts.send(
                "reseller-errors", f"The reseller keeps failing ({error}); orders are waiting."
            )
        return order

    async def _follow(self, order_id: int) -> None:
        """Without webhooks: ask the reseller about a placed order with backoff."""
        for delay in _POLL_DELAYS:
            await asyncio.sleep(delay)
            order = await self._storage.orders.get(order_id)
            if order is None or order.status is not S.ORDERED:
                return
            await self.check_with_reseller(order)

    async def check_with_reseller(self, order: Order) -> Order | None:
        """Ask the reseller how an ordered order is doing, and act on the answer."""
        if order.kind is OrderKind.TOPUP:
            return await self._check_topup(order)
        try:
            remote = await self._reseller.order(
                order.reseller_order_id or "", priority=Priority.BACKGROUND
            )
        except PikaSimError as error:
            log.info("could not check order %s: %s", order.reference, error)
            return order
        async with self._lock(order.id):
            current = await self._storage.orders.get(order.id)
            if current is None or current.status is not S.ORDERED:
                return current
            if remote.status == "completed" and remote.esim is not None:
                current = await self._provision(current, remote.esim)
            elif remote.status == "failed":
                current = await self._storage.orders.transition(
                    current, S.FAILED, failure_reason="failed"
                )
            else:
                current = await self._storage.orders.update(
                    current, next_check_at=now() + _POLL_DELAYS[-1]
                )
        return await self.advance(current.id) if current else None

    async def _check_topup(self, order: Order) -> Order | None:
        """The reseller has no top-up status: a top-up is done once the eSIM lists one more
        package of its code than the top-ups of that code we already delivered."""
        iccid = order.target_iccid or ""
        try:
            esim = await self._reseller.esim(iccid, priority=Priority.BACKGROUND)
        except PikaSimError as error:
            log.info("could not check top-up %s: %s", order.reference, error)
            return order
        applied = sum(1 for item in esim.package_list if item.package_code == order.package_code)
        # One check per eSIM at a time, so two top-ups of one code cannot both claim one entry.
        async with self._lock(f"topup:{iccid}"), self._lock(order.id):
            counted = await self._storage.orders.count_applied_topups(iccid, order.package_code)
            current = await self._storage.orders.get(order.id)
            if current is None or current.status is not S.ORDERED:
                return current
            if applied > counted:
                current = await self._provision(current, _TopupTarget(iccid))
            elif current.updated_at < now() - 3600:
                return await self._needs_attention(current, "no top-up confirmation in 1 h")
            else:
                current = await self._storage.orders.update(
                    current, next_check_at=now() + _POLL_DELAYS[-1]
                )
        return await self.advance(current.id)

    async def _provision(self, order: Order, esim: Any) -> Order:
        if order.kind is OrderKind.ESIM and not getattr(esim, "activation_code", None):
            esim_iccid = getattr(esim, "iccid", None)
            esim = await self._complete_esim(esim)
            if esim is None:
                # Keep the ICCID so an admin can still cancel or look the eSIM up.
                return await self._needs_attention(
                    order, "the reseller sent no activation code", iccid=esim_iccid
                )
        async with self._storage.db.transaction() as tx:
            if order.kind is OrderKind.ESIM:
                await self._storage.esims.add(
                    tx,
                    iccid=esim.iccid,
                    order_id=order.id,
                    user_id=order.user_id,
                    package_code=order.package_code,
                    activation_code=esim.activation_code,
                    qr_code_url=getattr(esim, "qr_code_url", None),
                    short_url=getattr(esim, "short_url", None),
                )
            order = await self._storage.orders.transition(
                order, S.PROVISIONED, tx=tx, iccid=getattr(esim, "iccid", order.target_iccid)
            )
        crash_point("after_provisioned")
        return order

    async def _complete_esim(self, partial: Any) -> Any:
        """An eSIM announced without its activation code: ask for the full record once."""
        try:
            esim = await self._reseller.esim(partial.iccid, priority=Priority.ORDER)
        except PikaSimError as error:
            log.warning("could not fetch eSIM details: %s", error)
            return None
        return esim if esim.activation_code else None

    async def _deliver(self, order: Order) -> Order:
        if order.kind is OrderKind.TOPUP:
            await self.notifier.topup_done(order)
        else:
            esim = await self._storage.esims.for_order(order.id)
            if esim is None:
                return await self._needs_attention(order, "provisioned without eSIM details")
            await self.notifier.deliver(order, esim)
        crash_point("after_delivery_sent")
        order = await self._storage.orders.transition(order, S.DELIVERED, delivered_at=now())
        log.info("order %s delivered", order.reference)
        return order

    # -- refunds -------------------------------------------------------------------------

    async def _start_refund(self, order: Order) -> Order:
        order = await self._open_refund(order, order.failure_reason or "failed")
        crash_point("after_refunding")
        return order

    async def _open_refund(
        self,
        order: Order,
        reason: str,
        requested_by: int | None = None,
        reseller_refund_cents: int | None = None,
    ) -> Order:
        """Record what is owed back and move the order to refunding, in one transaction."""
        payment = await self._storage.payments.for_order(order.id)
        async with self._storage.db.transaction() as tx:
            await self._storage.refunds.open(
                tx,
                order_id=order.id,
                charge_id=payment.charge_id if payment else None,
                amount_stars=payment.amount_stars if payment else 0,
                reason=reason,
                requested_by=requested_by,
                reseller_refund_cents=reseller_refund_cents,
            )
            return await self._storage.orders.transition(order, S.REFUNDING, tx=tx)

    async def _finish_refund(self, order: Order) -> Order:
        refund = await self._storage.refunds.for_order(order.id)
        charge_id = refund.charge_id if refund is not None else None
        if charge_id:
            outcome = await self._refund_stars(order.user_id, charge_id)
            if outcome == "retry":
                return order  # the reconciler tries again
            if outcome == "refused":
                return await self._needs_attention(order, "Telegram refused the Stars refund")
        crash_point("after_refund_sent")
        async with self._storage.db.transaction() as tx:
            await self._storage.refunds.complete(tx, order.id)
            order = await self._storage.orders.transition(order, S.REFUNDED, tx=tx)
        reason = refund.reason if refund is not None else "failed"
        log.info("order %s refunded (%s)", order.reference, reason)
        await self.notifier.refunded(order, reason if reason in _REASONS else "failed")
        return order

    async def refund_by_admin(
        self, order: Order, admin_id: int, reseller_refund_cents: int | None
    ) -> Order:
        """Refund an order's Stars on an admin's word; the caller cancelled the eSIM first
        when it could (``reseller_refund_cents`` is what the wallet got back)."""
        async with self._lock(order.id):
            current = await self._storage.orders.get(order.id)
            if current is None:
                raise IllegalTransition("order vanished")
            current = await self._open_refund(current, "admin", admin_id, reseller_refund_cents)
        result = await self.advance(current.id)
        assert result is not None
        return result

    async def _refund_stars(self, user_id: int, charge_id: str) -> str:
        """Refund a Stars charge: "done" (also when it was refunded before), "retry" or
        "refused"."""
        try:
            await self.bot.refund_star_payment(user_id, charge_id)
        except TelegramBadRequest as error:
            if "ALREADY_REFUNDED" in str(error).upper():
                return "done"
            log.error("Stars refund of %s refused: %s", _short(charge_id), error)
            return "refused"
        except TelegramError as error:
            log.warning("Stars refund of %s failed for now: %s", _short(charge_id), error)
            return "retry"
        return "done"

    # -- webhooks ------------------------------------------------------------------------

    async def handle_webhook(self, event_id: int) -> None:
        stored = await self._storage.webhook_events.get(event_id)
        if stored is None or stored.processed_at is not None:
            return
        try:
            event = parse_webhook_event(json.loads(stored.payload))
        except (MalformedResponse, ValueError) as error:
            log.warning("webhook %d is malformed: %s", event_id, error)
            await self._storage.webhook_events.mark_processed(event_id, "malformed")
            return
        outcome, order_id = await self._apply_event(event)
        # Processed once its state change is committed: what follows (delivery, a refund) is
        # the order's own business, finished by the reconciler if it fails now.
        await self._storage.webhook_events.mark_processed(event_id, outcome)
        log.info("webhook %s processed: %s", event.event, outcome)
        if order_id is not None:
            await self.advance(order_id)

    async def _apply_event(self, event: Any) -> tuple[str, int | None]:
        if event.event == "webhook.test":
            await self._storage.meta.set("webhook_test_received_at", str(now()))
            return "test received", None
        order = await self._order_for_event(event)
        if order is None:
            return "unknown order", None
        async with self._lock(order.id):
            current = await self._storage.orders.get(order.id)
            assert current is not None
            return await self._apply_to_order(event, current), order.id

    async def _order_for_event(self, event: Any) -> Order | None:
        orders = self._storage.orders
        if event.external_order_id:
            order = await orders.by_external_id(event.external_order_id)
            if order is not None:
                return order
        reseller_id = event.topup_id if event.event == "esim.topup.completed" else event.order_id
        return await orders.by_reseller_id(reseller_id) if reseller_id else None

    async def _apply_to_order(self, event: Any, order: Order) -> str:
        waiting = order.status in (S.ORDERING, S.ORDERED)
        if not waiting:
            return f"ignored: order is {order.status}"
        if event.event == "esim.provisioned" and order.kind is OrderKind.ESIM:
            if event.esim is None:
                return "ignored: no eSIM in the event"
            await self._provision(order, event.esim)
            return "provisioned"
        if event.event == "esim.topup.completed" and order.kind is OrderKind.TOPUP:
            await self._provision(order, _TopupTarget(order.target_iccid))
            return "top-up completed"
        if event.event == "order.failed":
            await self._storage.orders.transition(order, S.FAILED, failure_reason="failed")
            return "failed"
        return f"ignored: {event.event} for a {order.kind} order"

    # -- reconciliation ------------------------------------------------------------------

    async def reconcile(self) -> None:
        """Finish whatever a crash or a lost webhook left half-done (run at start, then often)."""
        for stored in await self._storage.webhook_events.unprocessed():
            await self._isolated(f"webhook {stored.id}", self.handle_webhook(stored.id))
        await self._isolated("the Stars ledger", self.reconcile_star_payments())
        await self._isolated("orphan refunds", self._retry_orphan_refunds())
        stuck = await self._storage.orders.with_status(
            S.PAID, S.ORDERING, S.PROVISIONED, S.FAILED, S.REFUNDING
        )
        for order in stuck:
            await self._isolated(f"order {order.reference}", self.advance(order.id))
        for order in await self._storage.orders.with_status(S.ORDERED):
            if order.next_check_at is None or order.next_check_at <= now():
                check = self.check_with_reseller(order)
                await self._isolated(f"order {order.reference}", check)

    async def _isolated(self, what: str, work: Awaitable[Any]) -> None:
        """One broken order or event must not stop the reconciler for all the others."""
        try:
            await work
        except Exception:
            log.exception("reconciling %s failed; will try again next round", what)
            await self._alerts.send(
                f"reconcile-{what}", f"Reconciling {what} keeps failing; see the logs."
            )

    async def reconcile_star_payments(self) -> None:
        """Telegram's Stars ledger is the truth: record and act on payments we never saw.

        Polling confirms an update to Telegram before our handler commits it, so a crash can
        lose a successful_payment update; the ledger still has the transaction.
        """
        # The ledger is chronological; remember how far we have read, and read on from there.
        offset = int(await self._storage.meta.get(_LEDGER_OFFSET) or 0)
        while True:
            try:
                ledger = await self.bot.get_star_transactions(offset=offset, limit=100)
            except TelegramError as error:
                log.info("could not read the Stars ledger: %s", error)
                return
            await self._record_ledger_page(list(ledger.transactions))
            offset += len(ledger.transactions)
            await self._storage.meta.set(_LEDGER_OFFSET, str(offset))
            if len(ledger.transactions) < 100:
                return

    async def _record_ledger_page(self, transactions: list[Any]) -> None:
        refunded = {tx.id for tx in transactions if tx.receiver is not None}
        incoming = [tx for tx in transactions if tx.source is not None]
        known = await self._storage.payments.known_charge_ids([tx.id for tx in incoming])
        too_old = 0
        for tx in incoming:
            user = getattr(tx.source, "user", None)
            payload = getattr(tx.source, "invoice_payload", None)
            if tx.id in known or tx.id in refunded or user is None or payload is None:
                continue
            if tx.date.timestamp() < now() - _LEDGER_HORIZON:
                too_old += 1  # a new or restored database: never refund those blindly
                continue
            log.warning("found an unrecorded payment %s in the Stars ledger", _short(tx.id))
            order = await self.record_payment(
                charge_id=tx.id,
                user_id=user.id,
                amount=tx.amount,
                currency="XTR",
                payload=payload,
                source="ledger",
            )
            if order is not None:
                await self._progress(order, "paid")
                await self.advance(order.id)
        if too_old:
            await self._alerts.send(
                "ledger-old-payments",
                f"{too_old} Stars payments older than 48 h are unknown to this database (new or"
                " restored?). They were neither delivered nor refunded; check them by hand.",
            )

    # -- helpers -------------------------------------------------------------------------

    async def _progress(self, order: Order, stage: str) -> None:
        if order.kind is OrderKind.TOPUP and stage != "delayed":
            return
        try:
            message_id = await self.notifier.progress(order, stage)
        except TelegramError as error:
            log.info("progress message for %s not shown: %s", order.reference, error)
            return
        if message_id is not None and message_id != order.progress_message_id:
            await self._storage.orders.update(order, progress_message_id=message_id)

    async def _progress_if_still(
        self, order_id: int, status: OrderStatus, stage: str, delay: float
    ) -> None:
        await asyncio.sleep(delay)
        async with self._lock(order_id):
            order = await self._storage.orders.get(order_id)
            if order is not None and order.status is status:
                await self._progress(order, stage)

    async def _needs_attention(self, order: Order, why: str, **changes: Any) -> Order:
        order = await self._storage.orders.transition(
            order, S.NEEDS_ATTENTION, failure_reason=why[:200], **changes
        )
        await self._alerts.send(
            f"attention-{order.reference}",
            f"Order {order.reference} needs attention: {why}. See /order {order.reference}.",
        )
        try:
            await self.notifier.needs_attention(order)
        except TelegramError as error:
            log.info("could not tell the customer about %s: %s", order.reference, error)
        return order


_REASONS = frozenset({"insufficient_balance", "failed", "invalid", "admin"})


_ALREADY_RECORDED = object()


@dataclass(frozen=True, slots=True)
class _PaymentFacts:
    charge_id: str
    user_id: int
    amount: int
    currency: str
    payload: str
    source: str


class _TopupTarget:
    """What a completed top-up provisions: the eSIM it was for."""

    def __init__(self, iccid: str | None) -> None:
        self.iccid = iccid


def _has_waiters(lock: asyncio.Lock) -> bool:
    # A lock just released still has its woken waiter queued: dropping it then would let a
    # newcomer take a second lock for the same order.
    return bool(getattr(lock, "_waiters", None))


def _short(charge_id: str) -> str:
    return charge_id[:6] + "…" if len(charge_id) > 8 else charge_id
