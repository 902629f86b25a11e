"""Telegram Stars payments, unique by ``telegram_payment_charge_id``."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database, Row, Transaction, now
from storage.rollup import forget_books_day, forget_payment_books

__all__ = ["Payment", "PaymentsRepo"]


@dataclass(frozen=True, slots=True)
class Payment:
    id: int
    charge_id: str
    order_id: int | None
    user_id: int
    amount_stars: int
    currency: str
    payload: str
    source: str
    created_at: int
    refund_status: str | None

    @classmethod
    def from_row(cls, row: Row) -> Payment:
        return cls(**dict(row))


class PaymentsRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(
        self,
        tx: Transaction,
        *,
        charge_id: str,
        order_id: int | None,
        user_id: int,
        amount_stars: int,
        currency: str,
        payload: str,
        source: str,
    ) -> bool:
        """Store a payment inside ``tx``; False when this charge id was already stored.

        A payment for no order (``order_id`` None) is stored as owing a refund.
        """
        refund_status = "owed" if order_id is None else None
        stamp = now()
        changed = await tx.execute(
            "INSERT INTO payments (charge_id, order_id, user_id, amount_stars, currency, payload,"
            " source, created_at, refund_status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            # Only a repeated charge is ignored: a second payment for one order must fail.
            " ON CONFLICT (charge_id) DO NOTHING",
            (
                charge_id,
                order_id,
                user_id,
                amount_stars,
                currency,
                payload,
                source,
                stamp,
                refund_status,
            ),
        )
        # Today's, so never cached; unless the stamp was taken a moment before midnight.
        await forget_books_day(tx, stamp)
        return changed == 1

    async def owed_refunds(self) -> list[Payment]:
        rows = await self._db.fetchall(
            "SELECT * FROM payments WHERE refund_status = 'owed' ORDER BY id"
        )
        return [Payment.from_row(row) for row in rows]

    async def mark_refunded(self, charge_id: str) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE payments SET refund_status = 'done' WHERE charge_id = ?", (charge_id,)
            )
            await forget_payment_books(tx, charge_id)

    async def by_charge_id(self, charge_id: str) -> Payment | None:
        row = await self._db.fetchone("SELECT * FROM payments WHERE charge_id = ?", (charge_id,))
        return None if row is None else Payment.from_row(row)

    async def for_order(self, order_id: int) -> Payment | None:
        row = await self._db.fetchone("SELECT * FROM payments WHERE order_id = ?", (order_id,))
        return None if row is None else Payment.from_row(row)

    async def known_charge_ids(self, charge_ids: list[str]) -> set[str]:
        if not charge_ids:
            return set()
        marks = ", ".join("?" for _ in charge_ids)
        rows = await self._db.fetchall(
            f"SELECT charge_id FROM payments WHERE charge_id IN ({marks})", charge_ids
        )
        return {row["charge_id"] for row in rows}
