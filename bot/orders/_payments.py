"""Stars payments: recording them once, refunding what matches no order, Telegram's ledger."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from telegram.error import BadRequest, TelegramError

from bot.orders._core import Core, crash_point, short
from storage import ConstraintViolation, IllegalTransition, Order, OrderStatus, now

__all__ = ["Payments"]

log = logging.getLogger("bot.orders")
S = OrderStatus

_LEDGER_OFFSET = "stars_ledger_offset"
_LEDGER_HORIZON = 48 * 3600  # older unknown payments are reported, not acted on
_ALREADY_RECORDED = object()


@dataclass(frozen=True, slots=True)
class _PaymentFacts:
    charge_id: str
    user_id: int
    amount: int
    currency: str
    payload: str
    source: str


class Payments:
    def __init__(self, core: Core) -> None:
        self._core = core

    async def record(
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
            result = await self._commit(payment, order if payable else None)
        except (IllegalTransition, ConstraintViolation):
            # Another payment for the same order won the race: this one is an orphan.
            result = await self._commit(payment, None)
        if result is _ALREADY_RECORDED:
            log.info("payment %s was already recorded", short(charge_id))
            return None
        if result is None:
            await self._refund_orphan(charge_id, user_id, amount, payload)
            return None
        assert isinstance(result, Order)
        log.info("order %s paid (%d Stars, via %s)", result.reference, amount, source)
        crash_point("after_paid")
        return result

    async def _commit(self, payment: _PaymentFacts, order: Order | None) -> object:
        """Store the payment and, for a payable order, mark it paid, in one transaction."""
        storage = self._core.storage
        async with storage.db.transaction() as tx:
            recorded = await storage.payments.record(
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
            return await storage.orders.transition(order, S.PAID, tx=tx, paid_at=now())

    async def _order_for_payload(self, payload: str) -> Order | None:
        reference = payload.removeprefix("order:")
        return await self._core.storage.orders.by_reference(reference) if reference else None

    # -- refunds of Stars -------------------------------------------------------------------

    async def refund_stars(self, user_id: int, charge_id: str) -> str:
        """Refund a Stars charge: "done" (also when it was refunded before), "retry" or
        "refused"."""
        try:
            await self._core.bot.refund_star_payment(user_id, charge_id)
        except BadRequest as error:
            if "ALREADY_REFUNDED" in str(error).upper():
                return "done"
            log.error("Stars refund of %s refused: %s", short(charge_id), error)
            return "refused"
        except TelegramError as error:
            log.warning("Stars refund of %s failed for now: %s", short(charge_id), error)
            return "retry"
        return "done"

    async def _refund_orphan(self, charge_id: str, user_id: int, amount: int, payload: str) -> None:
        log.warning("payment %s matches no payable order; refunding it", short(charge_id))
        outcome = await self.refund_stars(user_id, charge_id)
        if outcome == "done":
            await self._core.storage.payments.mark_refunded(charge_id)
        what = {"done": "was refunded", "retry": "will be refunded (Telegram failed for now)"}
        await self._core.alerts.send(
            f"orphan-payment-{charge_id}",
            f"A payment of {amount} Stars (payload {payload!r}) matched no payable order and"
            f" {what.get(outcome, 'could NOT be refunded: Telegram refused; refund it by hand')}.",
            critical=outcome == "refused",
        )

    async def retry_orphan_refunds(self) -> None:
        storage = self._core.storage
        for payment in await storage.payments.owed_refunds():
            if await self.refund_stars(payment.user_id, payment.charge_id) == "done":
                await storage.payments.mark_refunded(payment.charge_id)

    # -- Telegram's ledger ------------------------------------------------------------------

    async def unrecorded_in_ledger(self) -> list[Order]:
        """Telegram's Stars ledger is the truth: record payments we never saw; returns the
        orders they paid for (the caller drives them on).

        Polling confirms an update to Telegram before our handler commits it, so a crash can
        lose a successful_payment update; the ledger still has the transaction.
        """
        meta = self._core.storage.meta
        # The ledger is chronological; remember how far we have read, and read on from there.
        offset = int(await meta.get(_LEDGER_OFFSET) or 0)
        paid: list[Order] = []
        while True:
            try:
                ledger = await self._core.bot.get_star_transactions(offset=offset, limit=100)
            except TelegramError as error:
                log.info("could not read the Stars ledger: %s", error)
                return paid
            paid += await self._record_ledger_page(list(ledger.transactions))
            offset += len(ledger.transactions)
            await meta.set(_LEDGER_OFFSET, str(offset))
            if len(ledger.transactions) < 100:
                return paid

    async def _record_ledger_page(self, transactions: list[Any]) -> list[Order]:
        refunded = {tx.id for tx in transactions if tx.receiver is not None}
        incoming = [tx for tx in transactions if tx.source is not None]
        known = await self._core.storage.payments.known_charge_ids([tx.id for tx in incoming])
        too_old = 0
        paid: list[Order] = []
        for tx in incoming:
            user = getattr(tx.source, "user", None)
            payload = getattr(tx.source, "invoice_payload", None)
            if tx.id in known or tx.id in refunded or user is None or payload is None:
                continue
            if tx.date.timestamp() < now() - _LEDGER_HORIZON:
                too_old += 1  # a new or restored database: never refund those blindly
                continue
            log.warning("found an unrecorded payment %s in the Stars ledger", short(tx.id))
            order = await self.record(
                charge_id=tx.id,
                user_id=user.id,
                amount=tx.amount,
                currency="XTR",
                payload=payload,
                source="ledger",
            )
            if order is not None:
                await self._core.progress(order, "paid")
                paid.append(order)
        if too_old:
            await self._core.alerts.send(
                "ledger-old-payments",
                f"{too_old} Stars payments older than 48 h are unknown to this database (new or"
                " restored?). They were neither delivered nor refunded; check them by hand.",
                critical=True,
            )
        return paid
