"""Orders: one row per purchase (a new eSIM or a top-up), driven by one state machine."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from storage.db import Database, Row, Transaction, now
from storage.rollup import forget_books, forget_books_day, forget_day

__all__ = [
    "FINAL",
    "WAITING_FOR_ESIM",
    "IllegalTransition",
    "Order",
    "OrderKind",
    "OrderStatus",
    "OrdersRepo",
    "Placed",
    "new_reference",
]


class OrderKind(StrEnum):
    ESIM = "esim"
    TOPUP = "topup"


class OrderStatus(StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    ORDERING = "ordering"
    ORDERED = "ordered"
    PROVISIONED = "provisioned"
    DELIVERED = "delivered"
    FAILED = "failed"
    REFUNDING = "refunding"
    REFUNDED = "refunded"
    NEEDS_ATTENTION = "needs_attention"
    EXPIRED = "expired"


S = OrderStatus
# Forward-only: a status never returns to an earlier one. needs_attention may be resolved
# by an admin into delivery or a refund.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.AWAITING_PAYMENT: frozenset({S.PAID, S.EXPIRED}),
    # An admin may refund a paid order in any state; an eSIM arriving later is cancelled.
    S.PAID: frozenset({S.ORDERING, S.FAILED, S.NEEDS_ATTENTION, S.REFUNDING}),
    S.ORDERING: frozenset({S.ORDERED, S.PROVISIONED, S.FAILED, S.NEEDS_ATTENTION, S.REFUNDING}),
    S.ORDERED: frozenset({S.PROVISIONED, S.FAILED, S.NEEDS_ATTENTION, S.REFUNDING}),
    S.PROVISIONED: frozenset({S.DELIVERED, S.NEEDS_ATTENTION, S.REFUNDING}),
    S.DELIVERED: frozenset({S.REFUNDING}),
    S.FAILED: frozenset({S.REFUNDING}),
    S.REFUNDING: frozenset({S.REFUNDED, S.NEEDS_ATTENTION}),
    # "Check again" may find the order still pending with the reseller: back to waiting.
    S.NEEDS_ATTENTION: frozenset({S.REFUNDING, S.ORDERED, S.PROVISIONED, S.DELIVERED}),
    S.REFUNDED: frozenset(),
    S.EXPIRED: frozenset({S.PAID}),  # a late payment for an expired invoice is still honoured
}
IN_PROGRESS = (S.PAID, S.ORDERING, S.ORDERED, S.PROVISIONED, S.REFUNDING)
# Where an order may rest for good (a delivered one can still be refunded by an admin).
FINAL = frozenset({S.DELIVERED, S.REFUNDED, S.EXPIRED})
WAITING_FOR_ESIM = (S.PAID, S.ORDERING, S.ORDERED)
_IN_CHUNK = 500  # values per IN (...) list, well under every backend's parameter limit
_AVERAGE_OF = 2000  # the latest orders whose delivered ones give the average cost
_REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud safely


def new_reference() -> str:
    """A short, unguessable order reference (~49 bits), shown to customers and admins."""
    return "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(10))


class IllegalTransition(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Order:
    id: int
    reference: str
    kind: OrderKind
    user_id: int
    chat_id: int
    package_code: str
    package_name: str
    target_iccid: str | None
    price_stars: int
    cost_cents: int
    status: OrderStatus
    external_order_id: str | None
    reseller_order_id: str | None
    iccid: str | None
    progress_message_id: int | None
    failure_reason: str | None
    attempts: int
    next_check_at: int | None
    language: str | None
    created_at: int
    updated_at: int
    paid_at: int | None
    delivered_at: int | None
    ordered_at: int | None = None
    late_notified_at: int | None = None
    after_refund: str | None = None  # an eSIM arriving after the refund: watch / cancelled / ...

    @classmethod
    def from_row(cls, row: Row) -> Order:
        values = dict(row)
        values["kind"] = OrderKind(values["kind"])
        values["status"] = OrderStatus(values["status"])
        return cls(**values)

    @property
    def is_topup(self) -> bool:
        return self.kind is OrderKind.TOPUP


@dataclass(frozen=True, slots=True)
class Placed:
    """What the books compare with the reseller's ledger: four columns, not a whole order."""

    reference: str
    kind: OrderKind
    reseller_order_id: str | None
    target_iccid: str | None


class OrdersRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        *,
        kind: OrderKind,
        user_id: int,
        chat_id: int,
        package_code: str,
        package_name: str,
        price_stars: int,
        cost_cents: int,
        language: str | None,
        target_iccid: str | None = None,
    ) -> Order:
        reference = new_reference()
        stamp = now()
        async with self._db.transaction() as tx:
            order_id = await tx.insert(
                "INSERT INTO orders (reference, kind, user_id, chat_id, package_code, package_name,"
                " target_iccid, price_stars, cost_cents, status, language, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    reference,
                    kind.value,
                    user_id,
                    chat_id,
                    package_code,
                    package_name,
                    target_iccid,
                    price_stars,
                    cost_cents,
                    S.AWAITING_PAYMENT.value,
                    language,
                    stamp,
                    stamp,
                ),
            )
            row = await tx.fetchone("SELECT * FROM orders WHERE id = ?", (order_id,))
        assert row is not None
        return Order.from_row(row)

    async def get(self, order_id: int) -> Order | None:
        return _order(await self._db.fetchone("SELECT * FROM orders WHERE id = ?", (order_id,)))

    async def by_reference(self, reference: str) -> Order | None:
        row = await self._db.fetchone(
            "SELECT * FROM orders WHERE reference = ?", (reference.strip().upper(),)
        )
        return _order(row)

    async def by_reseller_id(self, reseller_order_id: str) -> Order | None:
        row = await self._db.fetchone(
            "SELECT * FROM orders WHERE reseller_order_id = ?", (reseller_order_id,)
        )
        return _order(row)

    async def by_external_id(self, external_order_id: str) -> Order | None:
        row = await self._db.fetchone(
            "SELECT * FROM orders WHERE external_order_id = ?", (external_order_id,)
        )
        return _order(row)

    async def by_iccid(self, iccid: str) -> Order | None:
        row = await self._db.fetchone(
            "SELECT * FROM orders WHERE iccid = ? AND kind = ?", (iccid, OrderKind.ESIM.value)
        )
        return _order(row)

    async def for_user(self, user_id: int, limit: int = 20, offset: int = 0) -> list[Order]:
        rows = await self._db.fetchall(
            "SELECT * FROM orders WHERE user_id = ? AND status <> ? ORDER BY id DESC"
            " LIMIT ? OFFSET ?",
            (user_id, S.AWAITING_PAYMENT.value, limit, offset),
        )
        return [Order.from_row(row) for row in rows]

    async def package_names(self, order_ids: list[int]) -> dict[int, str]:
        """Plan names by order id, for the orders a page shows (never a whole history)."""
        if not order_ids:
            return {}
        marks = ", ".join("?" for _ in order_ids)
        rows = await self._db.fetchall(
            f"SELECT id, package_name FROM orders WHERE id IN ({marks})", order_ids
        )
        return {int(row["id"]): str(row["package_name"]) for row in rows}

    async def latest(
        self, status: OrderStatus | None = None, limit: int = 10, offset: int = 0
    ) -> list[Order]:
        if status is None:
            sql, params = "SELECT * FROM orders WHERE status <> ?", [S.AWAITING_PAYMENT.value]
        else:
            sql, params = "SELECT * FROM orders WHERE status = ?", [status.value]
        rows = await self._db.fetchall(
            sql + " ORDER BY id DESC LIMIT ? OFFSET ?", (*params, limit, offset)
        )
        return [Order.from_row(row) for row in rows]

    async def with_status(self, *statuses: OrderStatus) -> list[Order]:
        marks = ", ".join("?" for _ in statuses)
        rows = await self._db.fetchall(
            f"SELECT * FROM orders WHERE status IN ({marks}) ORDER BY id",
            [status.value for status in statuses],
        )
        return [Order.from_row(row) for row in rows]

    async def topups_of(self, iccid: str) -> list[Order]:
        """Every paid top-up of an eSIM (what a refund of the eSIM covers)."""
        rows = await self._db.fetchall(
            "SELECT * FROM orders WHERE kind = ? AND target_iccid = ? AND status NOT IN (?, ?)"
            " ORDER BY id",
            (OrderKind.TOPUP.value, iccid, S.AWAITING_PAYMENT.value, S.EXPIRED.value),
        )
        return [Order.from_row(row) for row in rows]

    async def open_unpaid(
        self, user_id: int, kind: OrderKind, package_code: str, target_iccid: str | None, since: int
    ) -> Order | None:
        """The customer's newest unpaid order for the same plan, still within its invoice TTL."""
        row = await self._db.fetchone(
            "SELECT * FROM orders WHERE user_id = ? AND status = ? AND kind = ?"
            " AND package_code = ? AND COALESCE(target_iccid, '') = ? AND updated_at >= ?"
            " ORDER BY id DESC LIMIT 1",
            (
                user_id,
                S.AWAITING_PAYMENT.value,
                kind.value,
                package_code,
                target_iccid or "",
                since,
            ),
        )
        return _order(row)

    async def expire_unpaid(self, before: int) -> int:
        """Expire unpaid orders whose last invoice went out before ``before``, in one go."""
        async with self._db.transaction() as tx:
            return await tx.execute(
                "UPDATE orders SET status = ?, updated_at = ? WHERE status = ? AND updated_at < ?",
                (S.EXPIRED.value, now(), S.AWAITING_PAYMENT.value, before),
            )

    async def watching_after_refund(self) -> list[Order]:
        rows = await self._db.fetchall(
            "SELECT * FROM orders WHERE after_refund = 'watch' ORDER BY id"
        )
        return [Order.from_row(row) for row in rows]

    async def placed_between(self, since: int, until: int) -> list[Order]:
        rows = await self._db.fetchall(
            "SELECT * FROM orders WHERE ordered_at >= ? AND ordered_at < ? ORDER BY id",
            (since, until),
        )
        return [Order.from_row(row) for row in rows]

    async def placed_refs_between(self, since: int, until: int) -> list[Placed]:
        rows = await self._db.fetchall(
            "SELECT reference, kind, reseller_order_id, target_iccid FROM orders"
            " WHERE ordered_at >= ? AND ordered_at < ? ORDER BY id",
            (since, until),
        )
        return [Placed(row[0], OrderKind(row[1]), row[2], row[3]) for row in rows]

    async def esim_reseller_ids(self, iccids: list[str]) -> set[str]:
        """The reseller order ids of the eSIM orders that issued these ICCIDs."""
        found: set[str] = set()
        for start in range(0, len(iccids), _IN_CHUNK):
            chunk = iccids[start : start + _IN_CHUNK]
            marks = ", ".join("?" for _ in chunk)
            rows = await self._db.fetchall(
                "SELECT reseller_order_id FROM orders"
                f" WHERE iccid IN ({marks}) AND kind = ? AND reseller_order_id IS NOT NULL",
                (*chunk, OrderKind.ESIM.value),
            )
            found |= {str(row[0]) for row in rows}
        return found

    async def count_applied_topups(self, iccid: str, package_code: str) -> int:
        """Top-ups of this code we already counted as applied to the eSIM."""
        value = await self._db.fetchval(
            "SELECT COUNT(*) FROM orders WHERE kind = ? AND target_iccid = ? AND package_code = ?"
            " AND status IN (?, ?)",
            (OrderKind.TOPUP.value, iccid, package_code, S.PROVISIONED.value, S.DELIVERED.value),
        )
        return int(value or 0)

    async def count_in_progress(self) -> int:
        marks = ", ".join("?" for _ in IN_PROGRESS)
        value = await self._db.fetchval(
            f"SELECT COUNT(*) FROM orders WHERE status IN ({marks})",
            [status.value for status in IN_PROGRESS],
        )
        return int(value or 0)

    async def transition(
        self,
        order: Order,
        to: OrderStatus,
        *,
        tx: Transaction | None = None,
        **changes: Any,
    ) -> Order:
        """Move ``order`` to ``to`` (compare-and-set on its current status) and commit.

        Raises IllegalTransition when the move is not allowed or another worker moved the
        order first; callers then reload and decide again.
        """
        if to not in TRANSITIONS[order.status]:
            raise IllegalTransition(f"order {order.reference}: {order.status} -> {to}")
        if tx is not None:
            return await self._transition(tx, order, to, changes)
        async with self._db.transaction() as own_tx:
            return await self._transition(own_tx, order, to, changes)

    async def _transition(
        self, tx: Transaction, order: Order, to: OrderStatus, changes: dict[str, Any]
    ) -> Order:
        changes = {**changes, "status": to.value, "updated_at": now()}
        assignments = ", ".join(f"{column} = ?" for column in changes)
        await forget_books(tx, order.id)  # the old ordered_at's day too
        row = await tx.fetchone(
            f"UPDATE orders SET {assignments} WHERE id = ? AND status = ? RETURNING *",
            (*changes.values(), order.id, order.status.value),
        )
        if row is None:
            raise IllegalTransition(f"order {order.reference} is no longer {order.status}")
        await forget_day(tx, row["paid_at"])
        if "ordered_at" in changes:  # the old day went above; its new day too
            await forget_books_day(tx, row["ordered_at"])
        return Order.from_row(row)

    async def update(self, order: Order, **changes: Any) -> Order:
        """Change bookkeeping columns (never the status) of an order."""
        if "status" in changes:
            raise ValueError("use transition() to change the status")
        assignments = ", ".join(f"{column} = ?" for column in changes)
        async with self._db.transaction() as tx:
            await forget_books(tx, order.id)  # the old ordered_at's day too
            row = await tx.fetchone(
                f"UPDATE orders SET {assignments} WHERE id = ? RETURNING *",
                (*changes.values(), order.id),
            )
            assert row is not None
            await forget_day(tx, row["paid_at"])
            if "ordered_at" in changes:  # the old day went above; its new day too
                await forget_books_day(tx, row["ordered_at"])
        return Order.from_row(row)

    async def average_cost_cents(self) -> int | None:
        # the delivered ones among the latest orders: as meaningful for "how long the wallet
        # lasts", and bounded whatever the history (a walk down the primary key)
        value = await self._db.fetchval(
            "SELECT AVG(cost_cents) FROM (SELECT cost_cents, status FROM orders"
            " ORDER BY id DESC LIMIT ?) latest WHERE status = ?",
            (_AVERAGE_OF, S.DELIVERED.value),
        )
        return None if value is None else int(value)


def _order(row: Row | None) -> Order | None:
    return None if row is None else Order.from_row(row)
