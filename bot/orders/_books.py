"""The books: every Star received is delivered, refunded or still in flight, and every reseller
charge is one of our orders.

``/audit`` shows them for a period and a daily job alerts admins when they do not balance.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from bot.orders._core import Core
from bot.pikasim import PikaSimError, Priority
from storage import OrderKind, now
from storage.orders import Placed

__all__ = ["Audit", "Books", "Charge", "ResellerBooks", "StarsBooks"]

log = logging.getLogger("bot.orders")

_CHARGE_TYPES = frozenset({"order", "topup"})
_MAX_PAGES = 20  # 2,000 wallet transactions: far more than a day's orders
_SLACK = 300  # seconds either side: our clock and the reseller's differ a little


@dataclass(frozen=True, slots=True)
class StarsBooks:
    received: int = 0
    delivered: int = 0
    refunded: int = 0
    in_flight: int = 0

    @property
    def difference(self) -> int:
        """Must be 0: what came in, less what went out or is accounted for."""
        return self.received - self.delivered - self.refunded - self.in_flight


@dataclass(frozen=True, slots=True)
class Charge:
    transaction_id: str
    order_id: str | None
    cents: int


@dataclass(frozen=True, slots=True)
class ResellerBooks:
    our_cost_cents: int = 0
    charged_cents: int = 0
    refunded_cents: int = 0
    unknown_charges: tuple[Charge, ...] = ()
    uncharged: tuple[Placed, ...] = ()
    error: str | None = None  # the reseller's ledger could not be read


@dataclass(frozen=True, slots=True)
class Audit:
    since: int
    until: int
    stars: StarsBooks
    reseller: ResellerBooks = field(default_factory=ResellerBooks)

    @property
    def balanced(self) -> bool:
        reseller = self.reseller
        return (
            self.stars.difference == 0
            and reseller.error is None
            and not reseller.unknown_charges
            and not reseller.uncharged
        )


class Books:
    def __init__(self, core: Core) -> None:
        self._core = core

    async def audit(self, days: int = 1) -> Audit:
        until = now() + 1
        since = until - days * 86400
        # summed in the database (closed days from the roll-up): the cost grows with the
        # period, never with the history
        totals = await self._core.storage.books.totals(since, until)
        our_cost = totals.pop("cost_cents")
        return Audit(
            since, until, StarsBooks(**totals), await self._reseller(since, until, our_cost)
        )

    async def check_daily(self) -> Audit:
        """The daily job: alert admins when yesterday's books do not balance."""
        audit = await self.audit(1)
        if not audit.balanced:
            await self._core.alerts.send(
                f"books-{audit.until // 86400}",
                "The books do not balance for the last 24 h: see /audit.",
                critical=True,
            )
        return audit

    async def _reseller(self, since: int, until: int, our_cost: int) -> ResellerBooks:
        orders = self._core.storage.orders
        try:
            charges, refunded, covered = await self._reseller_ledger(since - _SLACK, until + _SLACK)
        except PikaSimError as error:
            return ResellerBooks(our_cost_cents=our_cost, error=error.message)
        # Only orders the ledger we read can speak for are compared with it: a long period's
        # older charges are past the pages we read, and their orders would look uncharged.
        placed = await orders.placed_refs_between(max(since, covered + _SLACK), until)
        ours = {order.reseller_order_id for order in placed if order.reseller_order_id}
        # A top-up may be booked under its own id or its eSIM's order: both are ours.
        ours |= await self._esim_orders_of(placed)
        charged_ids = {charge.order_id for charge in charges}
        return ResellerBooks(
            our_cost_cents=our_cost,
            charged_cents=sum(charge.cents for charge in charges),
            refunded_cents=refunded,
            unknown_charges=tuple(c for c in charges if c.order_id not in ours),
            uncharged=tuple(
                order
                for order in placed
                if order.kind is OrderKind.ESIM and order.reseller_order_id not in charged_ids
            ),
        )

    async def _esim_orders_of(self, placed: list[Placed]) -> set[str]:
        iccids = {o.target_iccid for o in placed if o.kind is OrderKind.TOPUP and o.target_iccid}
        return await self._core.storage.orders.esim_reseller_ids(sorted(iccids))

    async def _reseller_ledger(self, since: int, until: int) -> tuple[list[Charge], int, int]:
        """The reseller's charges (and refunds, in cents) of the period, newest first, and
        from when on they are complete (``since``, unless the pages ran out first)."""
        charges: list[Charge] = []
        refunded = 0
        covered = until
        for page in range(1, _MAX_PAGES + 1):
            answer = await self._core.reseller.transactions(
                page=page, limit=100, priority=Priority.BACKGROUND
            )
            for tx in answer.transactions:
                stamp = _epoch(tx.created_at)
                if stamp is not None and (stamp < since or stamp >= until):
                    continue
                if tx.type in _CHARGE_TYPES:
                    charges.append(Charge(tx.id, tx.order_id, abs(tx.amount_cents)))
                elif tx.type == "refund":
                    refunded += abs(tx.amount_cents)
            oldest = _epoch(answer.transactions[-1].created_at) if answer.transactions else None
            if len(answer.transactions) < 100 or (oldest is not None and oldest < since):
                return charges, refunded, since
            covered = min(covered, oldest) if oldest is not None else covered
        return charges, refunded, covered


def _epoch(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())
