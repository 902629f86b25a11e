"""Refunds of customers' Stars: at most one per order.

``status``: ``cancelling`` (the intent is committed; the reseller cancel of ``cancel_iccid``
comes first), ``refused`` (the reseller refused the cancel; nothing was refunded), ``pending``
(the Stars are owed), ``done``.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database, Row, Transaction, now
from storage.rollup import forget_order_day

__all__ = ["Refund", "RefundsRepo"]


@dataclass(frozen=True, slots=True)
class Refund:
    id: int
    order_id: int
    charge_id: str | None
    amount_stars: int
    reason: str
    requested_by: int | None
    status: str
    reseller_refund_cents: int | None
    created_at: int
    completed_at: int | None
    cancel_iccid: str | None = None
    cancel_outcome: str | None = None

    @classmethod
    def from_row(cls, row: Row) -> Refund:
        return cls(**dict(row))


class RefundsRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def open(
        self,
        tx: Transaction,
        *,
        order_id: int,
        charge_id: str | None,
        amount_stars: int,
        reason: str,
        requested_by: int | None = None,
        reseller_refund_cents: int | None = None,
    ) -> None:
        """Record a refund that is owed (at most one per order)."""
        await tx.execute(
            "INSERT INTO refunds (order_id, charge_id, amount_stars, reason, requested_by,"
            " reseller_refund_cents, status, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)"
            " ON CONFLICT DO NOTHING",
            (order_id, charge_id, amount_stars, reason, requested_by, reseller_refund_cents, now()),
        )
        await forget_order_day(tx, order_id)

    async def open_cancel_intent(
        self,
        tx: Transaction,
        *,
        order_id: int,
        charge_id: str | None,
        amount_stars: int,
        reason: str,
        requested_by: int | None,
        iccid: str,
    ) -> bool:
        """Commit "cancel ``iccid``, then refund": a new row, or a refused one asked again.
        False when a refund of this order is already under way or done."""
        changed = await tx.execute(
            "INSERT INTO refunds (order_id, charge_id, amount_stars, reason, requested_by,"
            " status, cancel_iccid, created_at) VALUES (?, ?, ?, ?, ?, 'cancelling', ?, ?)"
            " ON CONFLICT (order_id) DO UPDATE SET status = 'cancelling',"
            " cancel_iccid = excluded.cancel_iccid, requested_by = excluded.requested_by,"
            " reason = excluded.reason WHERE refunds.status = 'refused'",
            (order_id, charge_id, amount_stars, reason, requested_by, iccid, now()),
        )
        await forget_order_day(tx, order_id)
        return changed == 1

    async def cancel_outcome(
        self,
        tx: Transaction,
        order_id: int,
        *,
        status: str,
        outcome: str,
        reseller_refund_cents: int | None = None,
    ) -> None:
        """Record what the reseller said to the cancel: ``pending`` (refund the Stars now) or
        ``refused``."""
        await tx.execute(
            "UPDATE refunds SET status = ?, cancel_outcome = ?,"
            " reseller_refund_cents = COALESCE(?, reseller_refund_cents) WHERE order_id = ?",
            (status, outcome[:200], reseller_refund_cents, order_id),
        )
        await forget_order_day(tx, order_id)

    async def reopen_refused(
        self, tx: Transaction, order_id: int, *, reason: str, requested_by: int | None
    ) -> None:
        """ "Refund the customer only" after a refused cancel: the Stars become owed."""
        await tx.execute(
            "UPDATE refunds SET status = 'pending', reason = ?, requested_by = ?"
            " WHERE order_id = ? AND status = 'refused'",
            (reason, requested_by, order_id),
        )
        await forget_order_day(tx, order_id)

    async def with_status(self, status: str) -> list[Refund]:
        rows = await self._db.fetchall(
            "SELECT * FROM refunds WHERE status = ? ORDER BY id", (status,)
        )
        return [Refund.from_row(row) for row in rows]

    async def complete(self, tx: Transaction, order_id: int) -> None:
        await tx.execute(
            "UPDATE refunds SET status = 'done', completed_at = ? WHERE order_id = ?",
            (now(), order_id),
        )
        await forget_order_day(tx, order_id)

    async def for_order(self, order_id: int) -> Refund | None:
        row = await self._db.fetchone("SELECT * FROM refunds WHERE order_id = ?", (order_id,))
        return None if row is None else Refund.from_row(row)
