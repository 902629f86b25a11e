"""Refunds: every paid order can be refunded, once, and the eSIM is cancelled first.

The intent is committed before the reseller is asked to cancel (``refunds.status`` =
``cancelling``), so a crash between the cancel and the Stars refund still ends in the refund. An
eSIM that arrives after its order was refunded (or failed) is cancelled with the reseller, and
admins are told. A base eSIM's refund covers its top-ups.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from bot.orders._cancel import cancel_esim, refusal
from bot.orders._core import Core, crash_point
from bot.orders._payments import Payments
from bot.pikasim import PikaSimError, Priority
from storage import IllegalTransition, Order, OrderKind, OrderStatus, Refund, Transaction, now

__all__ = ["RefundOutcome", "RefundPreview", "Refunds"]

log = logging.getLogger("bot.orders")
S = OrderStatus

REASONS = frozenset({"insufficient_balance", "failed", "invalid", "admin"})
_UNPAID = (S.AWAITING_PAYMENT, S.EXPIRED)
_HAS_ESIM = (S.PROVISIONED, S.DELIVERED, S.NEEDS_ATTENTION)
_UNDER_WAY = frozenset({"cancelling", "pending", "done"})


@dataclass(frozen=True, slots=True)
class RefundPreview:
    """What a refund of ``order`` would do, for the admin to confirm."""

    order: Order
    problem: str | None  # "already" (refunded or under way), "unpaid", or None
    refund: Refund | None
    stars: int  # what the customer paid for this order
    cancel_iccid: str | None  # the eSIM cancelled with the reseller first
    waiting: bool  # paid, eSIM not here yet: refunded now, cancelled when it arrives
    topups: tuple[Order, ...] = ()  # paid top-ups of the eSIM, refunded with it
    topup_stars: int = 0


@dataclass(frozen=True, slots=True)
class RefundOutcome:
    """``result``: refunded, refused (the reseller would not cancel), unclear (the cancel's
    outcome is unknown; retried automatically), busy, problem (see ``preview``), stuck."""

    result: str
    order: Order
    stars: int = 0
    wallet_cents: int | None = None
    reason: str | None = None
    status: str | None = None
    error: PikaSimError | None = None
    preview: RefundPreview | None = None
    covered: tuple[Order, ...] = field(default=())
    cancelled: bool = False  # the eSIM is cancelled with the reseller (now or before)


class Refunds:
    def __init__(self, core: Core, payments: Payments) -> None:
        self._core = core
        self._payments = payments

    # -- what a refund would do ---------------------------------------------------------------

    async def preview(self, order: Order) -> RefundPreview:
        storage = self._core.storage
        refund = await storage.refunds.for_order(order.id)
        payment = await storage.payments.for_order(order.id)
        stars = payment.amount_stars if payment else 0
        problem = None
        # Telegram refused the Stars refund earlier (the order needs attention with the refund
        # still owed): the admin may try it again, after refunding by hand if need be.
        retry = (
            order.status is S.NEEDS_ATTENTION and refund is not None and refund.status == "pending"
        )
        if order.status in (S.REFUNDED, S.REFUNDING) or (
            refund and refund.status in _UNDER_WAY and not retry
        ):
            problem = "already"
        elif order.status in _UNPAID:
            problem = "unpaid"
        has_esim = (
            order.kind is OrderKind.ESIM
            and order.status in _HAS_ESIM
            and bool(order.iccid)
            and not retry  # whatever could be cancelled was, before the refund was owed
        )
        topups: tuple[Order, ...] = ()
        if has_esim:
            topups = tuple(t for t in await storage.orders.topups_of(order.iccid or "") if _owes(t))
        topup_stars = 0
        for topup in topups:
            topup_payment = await storage.payments.for_order(topup.id)
            topup_stars += topup_payment.amount_stars if topup_payment else 0
        return RefundPreview(
            order=order,
            problem=problem,
            refund=refund,
            stars=stars,
            cancel_iccid=order.iccid if has_esim else None,
            waiting=order.status in (S.PAID, S.ORDERING, S.ORDERED),
            topups=topups,
            topup_stars=topup_stars,
        )

    async def live_esim(self, iccid: str) -> Any:
        """The eSIM as the reseller sees it now, or the error that prevented the look-up."""
        try:
            return await self._core.reseller.esim(iccid, priority=Priority.CUSTOMER)
        except PikaSimError as error:
            return error

    # -- an admin's refund --------------------------------------------------------------------

    async def by_admin(
        self, order: Order, admin_id: int, *, cancel: bool, reason: str
    ) -> RefundOutcome:
        """Cancel the eSIM first when asked (and it has one), then refund the Stars. The caller
        holds no lock; top-ups in ``covered`` still have to be driven on."""
        core = self._core
        if core.busy(order.id):
            return RefundOutcome("busy", order)
        async with core.lock(order.id):
            current = await core.storage.orders.get(order.id) or order
            preview = await self.preview(current)
            if preview.problem is not None:
                return RefundOutcome("problem", current, preview.stars, preview=preview)
            try:
                if cancel and preview.cancel_iccid:
                    opened = await self._open_cancel_intent(current, preview, admin_id, reason)
                    if not opened:
                        return RefundOutcome("problem", current, preview.stars, preview=preview)
                    crash_point("after_refund_intent")
                    return await self._carry_out_cancel(current, preview.cancel_iccid)
                return await self._refund_now(current, preview.stars, admin_id, reason or "admin")
            except IllegalTransition:  # moved by something outside the order's lock
                moved = await core.storage.orders.get(order.id) or current
                return RefundOutcome("stuck", moved, preview.stars)

    async def _open_cancel_intent(
        self, order: Order, preview: RefundPreview, admin_id: int, reason: str
    ) -> bool:
        storage = self._core.storage
        payment = await storage.payments.for_order(order.id)
        async with storage.db.transaction() as tx:
            return await storage.refunds.open_cancel_intent(
                tx,
                order_id=order.id,
                charge_id=payment.charge_id if payment else None,
                amount_stars=preview.stars,
                reason=reason or "admin",
                requested_by=admin_id,
                iccid=preview.cancel_iccid or "",
            )

    async def _carry_out_cancel(self, order: Order, iccid: str) -> RefundOutcome:
        """Ask the reseller to cancel, record its answer, then refund (the lock is held)."""
        core = self._core
        cancel = await cancel_esim(self._core, iccid)
        if cancel.result == "unclear":
            # The refund stays "cancelling": the reconciler asks again, never refunding an eSIM
            # that may still work.
            return RefundOutcome("unclear", order, error=cancel.error)
        if cancel.result == "refused":
            error = cancel.error
            reason, status = refusal(error)
            async with core.storage.db.transaction() as tx:
                await core.storage.refunds.cancel_outcome(
                    tx, order.id, status="refused", outcome=f"refused: {reason} ({status})"
                )
            refund = await core.storage.refunds.for_order(order.id)
            stars = refund.amount_stars if refund else 0
            return RefundOutcome("refused", order, stars, reason=reason, status=status, error=error)
        async with core.storage.db.transaction() as tx:
            await core.storage.refunds.cancel_outcome(
                tx,
                order.id,
                status="pending",
                outcome="cancelled",
                reseller_refund_cents=cancel.cents,
            )
            order = await core.storage.orders.transition(order, S.REFUNDING, tx=tx)
            covered = await self._cover_topups(tx, order)
        crash_point("after_cancel")
        return await self._finish_admin(order, cancel.cents, covered, cancelled=True)

    async def _refund_now(
        self, order: Order, stars: int, admin_id: int | None, reason: str
    ) -> RefundOutcome:
        """Refund the Stars without a cancel: refund-only, or an order still waiting."""
        core = self._core
        payment = await core.storage.payments.for_order(order.id)
        # The reseller may have (or get) this order: watch for an eSIM arriving after all.
        watch = (
            order.kind is OrderKind.ESIM
            and order.status in (S.ORDERING, S.ORDERED, S.NEEDS_ATTENTION)
            and order.external_order_id is not None
            and not order.iccid
        )
        async with core.storage.db.transaction() as tx:
            await core.storage.refunds.open(
                tx,
                order_id=order.id,
                charge_id=payment.charge_id if payment else None,
                amount_stars=stars,
                reason=reason,
                requested_by=admin_id,
            )
            await core.storage.refunds.reopen_refused(
                tx, order.id, reason=reason, requested_by=admin_id
            )
            changes: dict[str, Any] = (
                {"after_refund": "watch", "next_check_at": now()} if watch else {}
            )
            order = await core.storage.orders.transition(order, S.REFUNDING, tx=tx, **changes)
            covered = await self._cover_topups(tx, order)
        crash_point("after_refunding")
        return await self._finish_admin(order, None, covered)

    async def _finish_admin(
        self,
        order: Order,
        wallet_cents: int | None,
        covered: tuple[Order, ...],
        *,
        cancelled: bool = False,
    ) -> RefundOutcome:
        refund = await self._core.storage.refunds.for_order(order.id)
        done = await self.finish(order)
        result = "refunded" if done.status is S.REFUNDED else "stuck"
        stars = refund.amount_stars if refund else 0
        return RefundOutcome(
            result, done, stars, wallet_cents=wallet_cents, covered=covered, cancelled=cancelled
        )

    async def _cover_topups(self, tx: Transaction, base: Order) -> tuple[Order, ...]:
        """Open refunds for the eSIM's paid top-ups, inside the base refund's transaction."""
        if base.kind is not OrderKind.ESIM or not base.iccid:
            return ()
        storage = self._core.storage
        covered: list[Order] = []
        for topup in await storage.orders.topups_of(base.iccid):
            if not _owes(topup):
                continue
            payment = await storage.payments.for_order(topup.id)
            await storage.refunds.open(
                tx,
                order_id=topup.id,
                charge_id=payment.charge_id if payment else None,
                amount_stars=payment.amount_stars if payment else 0,
                reason="admin",
                requested_by=None,
            )
            try:
                covered.append(await storage.orders.transition(topup, S.REFUNDING, tx=tx))
            except IllegalTransition:  # it moved on meanwhile; the admin sees it on /order
                log.warning("top-up %s changed while its eSIM was refunded", topup.reference)
        return tuple(covered)

    # -- the pipeline's own refunds -----------------------------------------------------------

    async def open_for_failure(self, order: Order) -> Order:
        """A failed order: record what is owed back and move it to refunding, in one go."""
        core = self._core
        payment = await core.storage.payments.for_order(order.id)
        async with core.storage.db.transaction() as tx:
            await core.storage.refunds.open(
                tx,
                order_id=order.id,
                charge_id=payment.charge_id if payment else None,
                amount_stars=payment.amount_stars if payment else 0,
                reason=order.failure_reason or "failed",
            )
            order = await core.storage.orders.transition(order, S.REFUNDING, tx=tx)
        crash_point("after_refunding")
        return order

    async def finish(self, order: Order) -> Order:
        """Give the Stars back and mark the order refunded (retried until Telegram agrees)."""
        core = self._core
        refund = await core.storage.refunds.for_order(order.id)
        charge_id = refund.charge_id if refund is not None else None
        if charge_id:
            outcome = await self._payments.refund_stars(order.user_id, charge_id)
            if outcome == "retry":
                return order  # the reconciler tries again
            if outcome == "refused":
                return await core.needs_attention(
                    order, "Telegram refused the Stars refund; refund it by hand"
                )
        crash_point("after_refund_sent")
        async with core.storage.db.transaction() as tx:
            await core.storage.refunds.complete(tx, order.id)
            order = await core.storage.orders.transition(order, S.REFUNDED, tx=tx)
        reason = refund.reason if refund is not None else "failed"
        log.info("order %s refunded (%s)", order.reference, reason)
        await core.tell(
            core.delivery.refunded(order, reason if reason in REASONS else "admin"), order
        )
        return order

    async def resume_cancels(self) -> list[Order]:
        """Cancels whose outcome a crash or an outage left open: ask the reseller again."""
        done: list[Order] = []
        for refund in await self._core.storage.refunds.with_status("cancelling"):
            async with self._core.lock(refund.order_id):
                order = await self._core.storage.orders.get(refund.order_id)
                if order is None or order.status not in _HAS_ESIM:
                    continue
                outcome = await self._carry_out_cancel(order, refund.cancel_iccid or "")
                if outcome.result == "refused":
                    await self._core.alerts.send(
                        f"refund-refused-{order.reference}",
                        f"The eSIM of order {order.reference} could not be cancelled"
                        f" ({outcome.reason}); nothing was refunded. /refund {order.reference}"
                        " offers to refund the customer only.",
                        critical=True,
                    )
                done.extend(outcome.covered)
        return done


def _owes(order: Order) -> bool:
    """A paid order whose Stars have not been given back (nor are being)."""
    return order.status not in (*_UNPAID, S.REFUNDING, S.REFUNDED)
