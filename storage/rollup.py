"""The daily roll-ups behind /stats (``stats_days``) and /audit (``books_days``, see
storage.books): one row per closed UTC day, dropped when that day changes.

A closed day's figures only change when an order paid that day changes (a late failure, a
needs_attention, a reseller id) or gets a refund; every such write goes through OrdersRepo or
RefundsRepo, which call ``forget_day`` / ``forget_order_day`` in the same transaction, so a
cached day is never stale. Today is never cached: it is counted live over today's rows.
"""

from __future__ import annotations

from storage.db import Transaction, now

__all__ = [
    "DAY",
    "forget_books",
    "forget_books_day",
    "forget_day",
    "forget_order_day",
    "forget_payment_books",
    "today",
]

DAY = 86_400


def today() -> int:
    """The current UTC day number (epoch seconds // 86400)."""
    return now() // DAY


async def forget_day(tx: Transaction, paid_at: int | None) -> None:
    """Drop the cached figures of the day an order was paid (a no-op for today's orders)."""
    if paid_at is not None and paid_at // DAY < today():
        await tx.execute("DELETE FROM stats_days WHERE day = ?", (paid_at // DAY,))


async def forget_order_day(tx: Transaction, order_id: int) -> None:
    """The same for a refund write, which knows only the order's id: the day the order was
    paid (its cost, its failures) and the day the refund was opened (the refunds counted)."""
    await tx.execute(
        "DELETE FROM stats_days WHERE day IN ((SELECT paid_at / ? FROM orders WHERE id = ?),"
        " (SELECT created_at / ? FROM refunds WHERE order_id = ?))",
        (DAY, order_id, DAY, order_id),
    )
    await forget_books(tx, order_id)  # a refund moves the Stars of the order's payment


async def forget_books(tx: Transaction, order_id: int) -> None:
    """Drop the cached books of the days an order figures in: its payment's day (what became
    of the Stars) and the day it was placed (its cost). An order's write calls it before its
    UPDATE (the old ``ordered_at``) and ``forget_books_day`` for a new ``ordered_at``. Today is
    dropped too (never cached, so a no-op): a stamp taken before midnight may commit after."""
    await tx.execute(
        "DELETE FROM books_days WHERE day IN ((SELECT created_at / ? FROM payments"
        " WHERE order_id = ?), (SELECT ordered_at / ? FROM orders WHERE id = ?))",
        (DAY, order_id, DAY, order_id),
    )


async def forget_payment_books(tx: Transaction, charge_id: str) -> None:
    """Drop the cached books of a payment's day (an orphan payment's refund confirmed)."""
    await tx.execute(
        "DELETE FROM books_days WHERE day = (SELECT created_at / ? FROM payments"
        " WHERE charge_id = ?)",
        (DAY, charge_id),
    )


async def forget_books_day(tx: Transaction, when: int | None) -> None:
    """Drop the cached books of the day of ``when`` (a new payment, a new ``ordered_at``)."""
    if when is not None:
        await tx.execute("DELETE FROM books_days WHERE day = ?", (when // DAY,))
