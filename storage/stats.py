"""Read-only aggregates for the operator's console (/stats, /user, /esim, /webhook, /refund).

Only SELECTs: every figure is derived from the rows the pipeline writes, so the console can
never disagree with what actually happened.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database
from storage.orders import Order, OrderKind
from storage.webhook_events import WebhookEvent

__all__ = ["LocationCount", "PeriodStats", "StatsRepo", "UserTotals"]

# Refunds the pipeline opens by itself follow a failure; the reseller charged nothing or gave
# the money back automatically. Only admin refunds can leave a reseller cost behind.
_AUTOMATIC_REFUND = "r.id IS NOT NULL AND r.reason <> 'admin'"


@dataclass(frozen=True, slots=True)
class LocationCount:
    location: str  # ISO country code, region code, or "GL"
    scope: str | None  # "country", "region", "global"; None when the plan is not cached
    region: str | None
    orders: int


@dataclass(frozen=True, slots=True)
class PeriodStats:
    orders: int  # paid orders (eSIMs and top-ups)
    stars_received: int  # Stars paid for orders (orphan payments are refunded at once)
    stars_refunded: int
    refunds: int
    admin_refunds: int
    cost_cents: int  # what the reseller kept: charged minus its refunds
    failures: int
    top_locations: list[LocationCount]


@dataclass(frozen=True, slots=True)
class UserTotals:
    orders: int
    stars_paid: int
    refunds: int
    stars_refunded: int


class StatsRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def period(self, since: int, top: int = 5) -> PeriodStats:
        """Figures for everything paid (or refunded) at or after ``since`` (epoch seconds)."""
        received = await self._db.fetchval(
            "SELECT COALESCE(SUM(amount_stars), 0) FROM payments"
            " WHERE created_at >= ? AND order_id IS NOT NULL",
            (since,),
        )
        refunds = await self._db.fetchone(
            "SELECT COUNT(*) AS n, COALESCE(SUM(amount_stars), 0) AS stars,"
            " COALESCE(SUM(CASE WHEN reason = 'admin' THEN 1 ELSE 0 END), 0) AS admin"
            " FROM refunds WHERE created_at >= ?",
            (since,),
        )
        orders = await self._db.fetchone(
            "SELECT COUNT(*) AS n,"
            " COALESCE(SUM(CASE WHEN o.reseller_order_id IS NOT NULL AND o.status <> 'failed'"
            f" AND NOT ({_AUTOMATIC_REFUND})"
            " THEN o.cost_cents - COALESCE(r.reseller_refund_cents, 0) ELSE 0 END), 0) AS cost,"
            " COALESCE(SUM(CASE WHEN o.status IN ('failed', 'needs_attention')"
            f" OR ({_AUTOMATIC_REFUND}) THEN 1 ELSE 0 END), 0) AS failures"
            " FROM orders o LEFT JOIN refunds r ON r.order_id = o.id WHERE o.paid_at >= ?",
            (since,),
        )
        assert refunds is not None and orders is not None
        return PeriodStats(
            orders=int(orders["n"]),
            stars_received=int(received or 0),
            stars_refunded=int(refunds["stars"]),
            refunds=int(refunds["n"]),
            admin_refunds=int(refunds["admin"]),
            cost_cents=int(orders["cost"]),
            failures=int(orders["failures"]),
            top_locations=await self.top_locations(since, top),
        )

    async def top_locations(self, since: int, limit: int = 5) -> list[LocationCount]:
        """Where paid eSIM orders were for: a plan's country, region, or global."""
        rows = await self._db.fetchall(
            "SELECT COALESCE(p.location, o.package_code) AS location, p.scope AS scope,"
            " p.region AS region, COUNT(*) AS n"
            " FROM orders o LEFT JOIN packages p ON p.code = o.package_code"
            " WHERE o.paid_at >= ? AND o.kind = ?"
            " GROUP BY COALESCE(p.location, o.package_code), p.scope, p.region"
            " ORDER BY n DESC, location LIMIT ?",
            (since, OrderKind.ESIM.value, limit),
        )
        return [
            LocationCount(row["location"], row["scope"], row["region"], int(row["n"]))
            for row in rows
        ]

    async def user_totals(self, user_id: int) -> UserTotals:
        row = await self._db.fetchone(
            "SELECT COUNT(o.id) AS orders, COALESCE(SUM(p.amount_stars), 0) AS paid,"
            " COUNT(r.id) AS refunds, COALESCE(SUM(r.amount_stars), 0) AS refunded"
            " FROM orders o LEFT JOIN payments p ON p.order_id = o.id"
            " LEFT JOIN refunds r ON r.order_id = o.id"
            " WHERE o.user_id = ? AND o.paid_at IS NOT NULL",
            (user_id,),
        )
        assert row is not None
        return UserTotals(
            int(row["orders"]), int(row["paid"]), int(row["refunds"]), int(row["refunded"])
        )

    async def topups_for(self, iccid: str, limit: int = 10) -> list[Order]:
        rows = await self._db.fetchall(
            "SELECT * FROM orders WHERE target_iccid = ? AND kind = ? AND paid_at IS NOT NULL"
            " ORDER BY id DESC LIMIT ?",
            (iccid, OrderKind.TOPUP.value, limit),
        )
        return [Order.from_row(row) for row in rows]

    async def last_audit_details(self, action: str, target: str) -> str | None:
        """What an admin wrote with their latest ``action`` on ``target`` (e.g. a reason)."""
        value = await self._db.fetchval(
            "SELECT details FROM audit_log WHERE action = ? AND target = ?"
            " ORDER BY id DESC LIMIT 1",
            (action, target),
        )
        return None if value is None else str(value)

    async def last_webhook_id(self) -> int:
        return int(await self._db.fetchval("SELECT COALESCE(MAX(id), 0) FROM webhook_events"))

    async def webhook_after(self, event: str, after_id: int) -> WebhookEvent | None:
        """The first stored (so signature-verified) ``event`` newer than ``after_id``."""
        row = await self._db.fetchone(
            "SELECT * FROM webhook_events WHERE event = ? AND id > ? ORDER BY id LIMIT 1",
            (event, after_id),
        )
        return None if row is None else WebhookEvent.from_row(row)
