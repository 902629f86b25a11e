"""Telegram Stars payments, unique by ``telegram_payment_charge_id``."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database, Row, Transaction, now

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
                now(),
                refund_status,
            ),
        )
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

    async def by_charge_id(self, charge_id: str) -> Payment | None:
        row = await self._db.fetchone("SELECT * FROM payments WHERE charge_id = ?", (charge_id,))
        return None if row is None else Payment.from_row(row)

    async def for_order(self, order_id: int) -> Payment | None:
        row = await self._db.fetchone("SELECT * FROM payments WHERE order_id = ?", (order_id,))
        return None if row is None else Payment.from_row(row)

    async def books_totals(self, since: int, until: int) -> dict[str, int]:
        """What became of the period's payments, summed in the database (one indexed range, no
        rows to Python): ``received``, and the Stars ``delivered``, ``refunded`` (a rehearsal
        stays delivered) or ``in_flight`` (paid, neither delivered nor refunded)."""
        unmatched = "o.status IS NULL"  # a payment that matched no order: refunded, or owed
        done = "r.status = 'done'"  # refunded (a rehearsal stays delivered)
        row = await self._db.fetchone(
            "SELECT COALESCE(SUM(p.amount_stars), 0) AS received,"
            f" COALESCE(SUM(CASE WHEN {unmatched} OR {done} THEN 0"
            " WHEN o.status = 'delivered' THEN p.amount_stars ELSE 0 END), 0) AS delivered,"
            f" COALESCE(SUM(CASE WHEN {unmatched} THEN"
            " (CASE WHEN p.refund_status = 'done' THEN p.amount_stars ELSE 0 END)"
            f" WHEN {done} THEN r.amount_stars ELSE 0 END), 0) AS refunded,"
            f" COALESCE(SUM(CASE WHEN {unmatched} THEN"
            " (CASE WHEN p.refund_status = 'done' THEN 0 ELSE p.amount_stars END)"
            f" WHEN {done} THEN 0"
            # a payment on an unpaid order is in no column: the difference shows it
            " WHEN o.status IN ('delivered', 'awaiting_payment', 'expired') THEN 0"
            " ELSE p.amount_stars END), 0) AS in_flight"
            " FROM payments p LEFT JOIN orders o ON o.id = p.order_id"
            " LEFT JOIN refunds r ON r.order_id = p.order_id"
            " WHERE p.created_at >= ? AND p.created_at < ?",
            (since, until),
        )
        assert row is not None
        return {key: int(row[key]) for key in ("received", "delivered", "refunded", "in_flight")}

    async def known_charge_ids(self, charge_ids: list[str]) -> set[str]:
        if not charge_ids:
            return set()
        marks = ", ".join("?" for _ in charge_ids)
        rows = await self._db.fetchall(
            f"SELECT charge_id FROM payments WHERE charge_id IN ({marks})", charge_ids
        )
        return {row["charge_id"] for row in rows}
