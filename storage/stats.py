"""Aggregates for the operator's console (/stats, /user, /esim, /webhook, /refund).

Every figure is derived from the rows the pipeline writes, so the console can never disagree
with what actually happened. The only writes are the roll-up of closed days (storage.rollup),
a cache of those same figures that the order code drops whenever a day changes.
"""

from __future__ import annotations

import json
from dataclasses import astuple, dataclass

from storage.db import Database, Row, Transaction, now
from storage.orders import Order, OrderKind
from storage.rollup import DAY, today
from storage.webhook_events import WebhookEvent

__all__ = ["LocationCount", "PeriodStats", "StatsRepo", "UserTotals"]

# Refunds the pipeline opens by itself follow a failure; the reseller charged nothing or gave
# the money back automatically. Only admin refunds can leave a reseller cost behind.
_AUTOMATIC_REFUND = "r.id IS NOT NULL AND r.reason <> 'admin'"
_ALL = 1_000_000  # every location of a day: the roll-up ranks them over the whole period


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

    async def period(self, since: int, top: int = 5, until: int | None = None) -> PeriodStats:
        """Figures for everything paid (or refunded) in [``since``, ``until``) (epoch seconds),
        counted live: indexed range queries, so the cost grows with the window, not the
        history. ``days`` serves longer periods from the roll-up."""
        return await self._window(self._db, since, until, top)

    async def days(self, first_day: int, top: int = 5) -> PeriodStats:
        """Figures from the start of UTC day ``first_day`` until now: closed days from the
        roll-up (computed once, then kept), today live."""
        (figures,) = await self.overview([today() - first_day + 1], top)
        return figures

    async def overview(self, spans: list[int], top: int = 5) -> list[PeriodStats]:
        """Figures for the last ``span`` UTC days (today included) for each span: today is
        counted once, live, and each closed day read once from the roll-up."""
        current = today()
        first_day = current - max(spans) + 1
        rows = await self._db.fetchall(
            "SELECT * FROM stats_days WHERE day >= ? AND day < ?", (first_day, current)
        )
        closed = {int(row["day"]): _from_day_row(row) for row in rows}
        for day in range(first_day, current):
            if day not in closed:
                closed[day] = await self._close_day(day)
        live = await self.period(current * DAY, top=_ALL)
        return [
            _sum([*(closed[day] for day in range(current - span + 1, current)), live], top)
            for span in spans
        ]

    async def _close_day(self, day: int) -> PeriodStats:
        # Counted and stored in one write transaction: a write that would make the day stale
        # waits for it (and then forgets it), so no stale figure can be stored.
        async with self._db.transaction() as tx:
            figures = await self._window(tx, day * DAY, (day + 1) * DAY, _ALL)
            await tx.execute(
                "INSERT INTO stats_days (day, orders, stars_received, stars_refunded, refunds,"
                " admin_refunds, cost_cents, failures, locations, computed_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (day) DO NOTHING",
                (day, figures.orders, figures.stars_received, figures.stars_refunded,
                 figures.refunds, figures.admin_refunds, figures.cost_cents, figures.failures,
                 json.dumps([astuple(item) for item in figures.top_locations]), now()),
            )  # fmt: skip
        return figures

    async def _window(
        self, db: Database | Transaction, since: int, until: int | None, top: int
    ) -> PeriodStats:
        until = until if until is not None else now() + 1
        received = await db.fetchone(
            "SELECT COALESCE(SUM(amount_stars), 0) AS n FROM payments"
            " WHERE created_at >= ? AND created_at < ? AND order_id IS NOT NULL",
            (since, until),
        )
        refunds = await db.fetchone(
            "SELECT COUNT(*) AS n, COALESCE(SUM(amount_stars), 0) AS stars,"
            " COALESCE(SUM(CASE WHEN reason = 'admin' THEN 1 ELSE 0 END), 0) AS admin"
            " FROM refunds WHERE created_at >= ? AND created_at < ?",
            (since, until),
        )
        orders = await db.fetchone(
            "SELECT COUNT(*) AS n,"
            " COALESCE(SUM(CASE WHEN o.reseller_order_id IS NOT NULL AND o.status <> 'failed'"
            f" AND NOT ({_AUTOMATIC_REFUND})"
            " THEN o.cost_cents - COALESCE(r.reseller_refund_cents, 0) ELSE 0 END), 0) AS cost,"
            " COALESCE(SUM(CASE WHEN o.status IN ('failed', 'needs_attention')"
            f" OR ({_AUTOMATIC_REFUND}) THEN 1 ELSE 0 END), 0) AS failures"
            " FROM orders o LEFT JOIN refunds r ON r.order_id = o.id"
            " WHERE o.paid_at >= ? AND o.paid_at < ?",
            (since, until),
        )
        assert received is not None and refunds is not None and orders is not None
        return PeriodStats(
            orders=int(orders["n"]),
            stars_received=int(received["n"]),
            stars_refunded=int(refunds["stars"]),
            refunds=int(refunds["n"]),
            admin_refunds=int(refunds["admin"]),
            cost_cents=int(orders["cost"]),
            failures=int(orders["failures"]),
            top_locations=await self._locations(db, since, until, top),
        )

    async def top_locations(self, since: int, limit: int = 5) -> list[LocationCount]:
        """Where paid eSIM orders were for: a plan's country, region, or global."""
        return await self._locations(self._db, since, now() + 1, limit)

    async def _locations(
        self, db: Database | Transaction, since: int, until: int, limit: int
    ) -> list[LocationCount]:
        rows = await db.fetchall(
            "SELECT COALESCE(p.location, o.package_code) AS location, p.scope AS scope,"
            " p.region AS region, COUNT(*) AS n"
            " FROM orders o LEFT JOIN packages p ON p.code = o.package_code"
            " WHERE o.paid_at >= ? AND o.paid_at < ? AND o.kind = ?"
            " GROUP BY COALESCE(p.location, o.package_code), p.scope, p.region"
            " ORDER BY n DESC, location LIMIT ?",
            (since, until, OrderKind.ESIM.value, limit),
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


def _from_day_row(row: Row) -> PeriodStats:
    return PeriodStats(
        orders=int(row["orders"]),
        stars_received=int(row["stars_received"]),
        stars_refunded=int(row["stars_refunded"]),
        refunds=int(row["refunds"]),
        admin_refunds=int(row["admin_refunds"]),
        cost_cents=int(row["cost_cents"]),
        failures=int(row["failures"]),
        top_locations=[LocationCount(*item) for item in json.loads(row["locations"])],
    )


def _sum(parts: list[PeriodStats], top: int) -> PeriodStats:
    counts: dict[tuple[str, str | None, str | None], int] = {}
    for part in parts:
        for item in part.top_locations:
            key = (item.location, item.scope, item.region)
            counts[key] = counts.get(key, 0) + item.orders
    ranked = sorted(counts.items(), key=lambda entry: (-entry[1], entry[0][0]))[:top]
    return PeriodStats(
        orders=sum(part.orders for part in parts),
        stars_received=sum(part.stars_received for part in parts),
        stars_refunded=sum(part.stars_refunded for part in parts),
        refunds=sum(part.refunds for part in parts),
        admin_refunds=sum(part.admin_refunds for part in parts),
        cost_cents=sum(part.cost_cents for part in parts),
        failures=sum(part.failures for part in parts),
        top_locations=[LocationCount(*key, orders) for key, orders in ranked],
    )
