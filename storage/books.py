"""The books' sums for /audit: closed UTC days from a roll-up, the rest counted live.

``books_days`` holds one row per closed UTC day: what became of the Stars of the payments
*created* that day (received, delivered, refunded, in flight) and what the orders *placed*
(``ordered_at``) that day cost us. A day's row changes only when one of its payments' orders
changes (OrdersRepo: status, ``ordered_at``, ``cost_cents``), gets a refund written
(RefundsRepo), or an orphan payment's refund is confirmed (PaymentsRepo); each of those writes
drops the day(s) in its own transaction (``storage.rollup``), so a cached day is never stale.
Payments are only ever inserted with ``created_at`` now, so a new payment lands in today, which
is never cached. A period's partial first day and today are counted live.
"""

from __future__ import annotations

from storage.db import Database, Transaction, now
from storage.rollup import DAY, today

__all__ = ["KEYS", "BooksRepo"]

KEYS = ("received", "delivered", "refunded", "in_flight", "cost_cents")


class BooksRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def totals(self, since: int, until: int) -> dict[str, int]:
        """The books of [``since``, ``until``): ``received``, ``delivered``, ``refunded`` (a
        rehearsal stays delivered), ``in_flight`` (paid, neither delivered nor refunded) Stars
        of the period's payments, and ``cost_cents`` of the orders placed in it."""
        first = -(-since // DAY)  # the first whole day in the period
        end = min(until // DAY, today())  # whole closed days: [first, end)
        if first >= end:
            return await live(self._db, since, until)
        rows = await self._db.fetchall(
            "SELECT * FROM books_days WHERE day >= ? AND day < ?", (first, end)
        )
        cached = {int(row["day"]): {key: int(row[key]) for key in KEYS} for row in rows}
        parts = [await live(self._db, since, first * DAY), await live(self._db, end * DAY, until)]
        for day in range(first, end):
            parts.append(cached[day] if day in cached else await self._close_day(day))
        return {key: sum(part[key] for part in parts) for key in KEYS}

    async def live(self, since: int, until: int) -> dict[str, int]:
        """The same, counted over the rows alone (what the roll-up must always equal)."""
        return await live(self._db, since, until)

    async def _close_day(self, day: int) -> dict[str, int]:
        # Counted and stored in one write transaction: a write that would make the day stale
        # waits for it (and then forgets it), so no stale figure can be stored.
        async with self._db.transaction() as tx:
            figures = await live(tx, day * DAY, (day + 1) * DAY)
            await tx.execute(
                "INSERT INTO books_days (day, received, delivered, refunded, in_flight,"
                " cost_cents, computed_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (day) DO NOTHING",
                (day, *(figures[key] for key in KEYS), now()),
            )
        return figures


async def live(db: Database | Transaction, since: int, until: int) -> dict[str, int]:
    """The books of [``since``, ``until``) summed in the database: indexed ranges, no rows to
    Python, so the cost grows with the period, never with the history."""
    if since >= until:
        return dict.fromkeys(KEYS, 0)
    unmatched = "o.status IS NULL"  # a payment that matched no order: refunded, or owed
    done = "r.status = 'done'"  # refunded (a rehearsal stays delivered)
    row = await db.fetchone(
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
    cost = await db.fetchone(
        "SELECT COALESCE(SUM(cost_cents), 0) AS n FROM orders"
        " WHERE ordered_at >= ? AND ordered_at < ?",
        (since, until),
    )
    assert row is not None and cost is not None
    return {**{key: int(row[key]) for key in KEYS[:4]}, "cost_cents": int(cost["n"])}
