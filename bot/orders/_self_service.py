"""Self-service refunds: a customer cancels an eSIM they never installed, bought within
``REFUND_DAYS``, and gets their Stars back.

It is the admin's cancel-first refund (``Refunds.by_admin`` with ``cancel=True``), with the
customer as the one who asked: the intent is committed before the reseller is asked, the
reseller's refusal (installed after all, ``PLAN_NON_REFUNDABLE``) is the final word, and the
refunds table allows one refund per order, so it can never happen twice. What we already know
(owner, age, status, a plan marked non-refundable, a refund under way) is checked first, with
no reseller call, so the button is not even shown where it would be refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.orders._core import Core
from bot.orders._refunds import RefundOutcome, Refunds
from storage import Order, OrderKind, OrderStatus, now

__all__ = ["REASON", "SelfRefund", "SelfService"]

REASON = "customer"
DAY = 86_400
_NOT_INSTALLED = frozenset({"", "GOT_RESOURCE"})
_NOT_INSTALLED_SMDP = frozenset({"", "RELEASED"})


@dataclass(frozen=True, slots=True)
class SelfRefund:
    """``result``: refunded; pending (the reseller or Telegram did not answer: finished
    automatically); busy; or a refusal: off, not_yours, not_delivered, already, installed,
    too_old, non_refundable."""

    result: str
    order: Order | None = None
    stars: int = 0
    outcome: RefundOutcome | None = None


class SelfService:
    def __init__(self, core: Core, refunds: Refunds) -> None:
        self._core = core
        self._refunds = refunds

    async def check(self, iccid: str, user_id: int) -> SelfRefund:
        """Would a refund be allowed, from what we know (no reseller call)? ``result`` is
        "allowed" or the refusal."""
        core = self._core
        storage = core.storage
        if core.settings.refund_days <= 0:
            return SelfRefund("off")
        esim = await storage.esims.owned_by(iccid, user_id)
        order = await storage.orders.get(esim.order_id) if esim is not None else None
        if esim is None or order is None or order.user_id != user_id:
            return SelfRefund("not_yours")
        if order.kind is not OrderKind.ESIM or order.iccid != iccid:
            return SelfRefund("not_yours")
        refund = await storage.refunds.for_order(order.id)
        if refund is not None or order.status in (OrderStatus.REFUNDING, OrderStatus.REFUNDED):
            return SelfRefund("already", order)
        if order.status is not OrderStatus.DELIVERED:
            return SelfRefund("not_delivered", order)
        status, smdp = (esim.status or "").upper(), (esim.smdp_status or "").upper()
        if status not in _NOT_INSTALLED or smdp not in _NOT_INSTALLED_SMDP or esim.used_bytes:
            return SelfRefund("installed", order)
        bought = order.paid_at or order.created_at
        if now() - bought > core.settings.refund_days * DAY:
            return SelfRefund("too_old", order)
        plan = await storage.catalog.get(order.package_code)
        if plan is not None and plan.details.get("non_refundable"):
            return SelfRefund("non_refundable", order)
        payment = await storage.payments.for_order(order.id)
        return SelfRefund("allowed", order, payment.amount_stars if payment else 0)

    async def refund(self, iccid: str, user_id: int) -> SelfRefund:
        """Cancel with the reseller first, then refund the Stars; the caller drives any
        top-ups in ``outcome.covered`` on."""
        check = await self.check(iccid, user_id)
        if check.result != "allowed" or check.order is None:
            return check
        outcome = await self._refunds.by_admin(check.order, user_id, cancel=True, reason=REASON)
        if outcome.result == "refunded":
            return SelfRefund("refunded", outcome.order, outcome.stars, outcome)
        if outcome.result == "refused":
            code = outcome.error.code if outcome.error is not None else None
            why = "non_refundable" if code == "PLAN_NON_REFUNDABLE" else "installed"
            return SelfRefund(why, outcome.order, outcome.stars, outcome)
        if outcome.result in ("unclear", "stuck"):
            return SelfRefund("pending", outcome.order, outcome.stars, outcome)
        if outcome.result == "busy":
            return SelfRefund("busy", outcome.order, outcome=outcome)
        return SelfRefund("already", outcome.order, outcome=outcome)
