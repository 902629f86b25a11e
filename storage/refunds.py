"""Refunds of customers' Stars: at most one per order."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database, Row, Transaction, now

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

    async def complete(self, tx: Transaction, order_id: int) -> None:
        await tx.execute(
            "UPDATE refunds SET status = 'done', completed_at = ? WHERE order_id = ?",
            (now(), order_id),
        )

    async def for_order(self, order_id: int) -> Refund | None:
        row = await self._db.fetchone("SELECT * FROM refunds WHERE order_id = ?", (order_id,))
        return None if row is None else Refund.from_row(row)
