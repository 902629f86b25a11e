"""Aggregates that do not grow, indexes under the hot queries, and retention."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.upkeep import Upkeep
from storage import OrderStatus, Storage, now
from storage.rollup import DAY, today
from storage.stats import PeriodStats, StatsRepo
from tests.databases import ON_POSTGRES, sqlite_only, storage_with_history

S = OrderStatus
HEAVY = 777
# Tables that grow with the history: a query may only reach them through an index.
_GROWING = ("orders", "payments", "refunds", "esims", "webhook_events", "audit_log", "users")


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[Storage]:
    async with storage_with_history(tmp_path, heavy=HEAVY, heavy_esims=120) as store:
        yield store


def _same(a: PeriodStats, b: PeriodStats) -> None:
    assert (a.orders, a.stars_received, a.stars_refunded, a.refunds, a.admin_refunds) == (
        b.orders,
        b.stars_received,
        b.stars_refunded,
        b.refunds,
        b.admin_refunds,
    )
    assert (a.cost_cents, a.failures) == (b.cost_cents, b.failures)
    assert [(x.location, x.orders) for x in a.top_locations] == [
        (x.location, x.orders) for x in b.top_locations
    ]


async def test_the_rollup_equals_the_live_count_and_follows_late_changes(
    storage: Storage,
) -> None:
    stats = StatsRepo(storage.db)
    first = today() - 29
    live = await stats.period(first * DAY)
    assert live.orders > 1000
    _same(await stats.days(first), live)  # computed and stored
    assert await storage.db.fetchval("SELECT COUNT(*) FROM stats_days") == 29
    _same(await stats.days(first), live)  # from the roll-up

    # An order paid ten days ago is refunded today by an admin: its day is counted again.
    old = await storage.db.fetchone(
        "SELECT id FROM orders WHERE status = 'delivered' AND kind = 'esim' AND paid_at < ?"
        " AND paid_at >= ? ORDER BY id LIMIT 1",
        ((today() - 9) * DAY, (today() - 10) * DAY),
    )
    assert old is not None
    order = await storage.orders.get(int(old["id"]))
    assert order is not None and order.paid_at is not None
    async with storage.db.transaction() as tx:
        order = await storage.orders.transition(order, S.REFUNDING, tx=tx)
        await storage.refunds.open(
            tx,
            order_id=order.id,
            charge_id=None,
            amount_stars=order.price_stars,
            reason="admin",
            reseller_refund_cents=order.cost_cents,
        )
    day = order.paid_at // DAY
    assert await storage.db.fetchval("SELECT COUNT(*) FROM stats_days WHERE day = ?", (day,)) == 0
    after = await stats.days(first)
    _same(after, await stats.period(first * DAY))
    assert after.refunds == live.refunds + 1 and after.cost_cents == live.cost_cents - (
        order.cost_cents
    )


async def test_a_refund_changed_later_is_counted_again_on_the_day_it_was_opened(
    storage: Storage,
) -> None:
    stats = StatsRepo(storage.db)
    first = today() - 29
    refund = await storage.db.fetchone(
        "SELECT r.order_id FROM refunds r JOIN orders o ON o.id = r.order_id"
        " WHERE r.reason = 'failed' AND o.paid_at < ? AND o.paid_at >= ? ORDER BY r.id LIMIT 1",
        ((today() - 5) * DAY, first * DAY),
    )
    assert refund is not None
    async with storage.db.transaction() as tx:  # opened two days after the payment, refused
        await tx.execute(
            "UPDATE refunds SET status = 'refused', created_at = created_at + ? WHERE order_id = ?",
            (2 * DAY, refund["order_id"]),
        )
    before = await stats.days(first)  # the roll-up now holds every closed day
    async with storage.db.transaction() as tx:  # the admin refunds the customer only
        await storage.refunds.reopen_refused(tx, refund["order_id"], reason="admin", requested_by=1)
    after = await stats.days(first)
    _same(after, await stats.period(first * DAY))
    assert after.admin_refunds == before.admin_refunds + 1


@sqlite_only  # its query planner; on PostgreSQL tiny test tables are scanned whatever the index
async def test_every_hot_query_uses_an_index(storage: Storage) -> None:
    """The queries behind /stats, /audit, /user, /orders, My eSIMs, payments and the
    reconciler, captured as the repositories run them, each explained by SQLite."""
    statements: list[str] = []
    for conn in (storage.db._reader, storage.db._writer):
        assert conn is not None
        await conn.set_trace_callback(statements.append)
    stats = StatsRepo(storage.db)
    since = now() - 7 * DAY
    order = await storage.orders.by_reference("H000000010")
    assert order is not None and order.iccid is not None
    await stats.days(today() - 29)
    await stats.user_totals(HEAVY)
    await stats.topups_for(order.iccid)
    await stats.last_audit_details("refund", order.reference)
    await stats.webhook_after("webhook.test", 0)
    await storage.books.live(since, now())
    await storage.books.totals(since, now())
    await storage.orders.placed_between(now() - DAY, now())
    await storage.orders.for_user(HEAVY, limit=11, offset=10)
    await storage.orders.package_names([1, 2, 3])
    await storage.orders.by_iccid(order.iccid)
    await storage.orders.by_reseller_id(f"RS{order.id}")
    await storage.orders.by_external_id(f"ext-{order.id}")
    await storage.orders.with_status(S.PAID, S.ORDERING, S.ORDERED)
    await storage.orders.topups_of(order.iccid)
    await storage.orders.average_cost_cents()
    await storage.orders.latest(S.REFUNDED, limit=11)
    await storage.esims.for_user(HEAVY, limit=11, offset=20)
    await storage.esims.count_for_user(HEAVY)
    await storage.esims.owned_by(order.iccid, order.user_id)
    await storage.payments.for_order(order.id)
    await storage.payments.by_charge_id(f"stxH{order.id}")
    await storage.webhook_events.prune(now() - 90 * DAY)
    await storage.audit.prune(100_000)
    for conn in (storage.db._reader, storage.db._writer):
        assert conn is not None
        await conn.set_trace_callback(None)
    queries = {sql for sql in statements if re.match(r"\s*(SELECT|DELETE|UPDATE)", sql)}
    assert len(queries) >= 25
    for sql in sorted(queries):
        plan = await storage.db.fetchall("EXPLAIN QUERY PLAN " + sql)
        for row in plan:
            detail = str(row["detail"])
            table = re.match(r"SCAN (\w+)", detail)
            if table is None or table.group(1) not in _GROWING or "INDEX" in detail:
                continue
            # A walk down the primary key that stops at a LIMIT is bounded too.
            assert re.search(r"ORDER BY id DESC\s+LIMIT", sql), f"{detail}\n  in {sql}"


async def test_retention_prunes_old_events_and_audit_entries_and_frees_pages(
    storage: Storage,
) -> None:
    old = now() - 91 * DAY
    final = await storage.db.fetchval("SELECT id FROM orders WHERE status = 'delivered' LIMIT 1")
    async with storage.db.transaction() as tx:
        waiting = await tx.insert(
            "INSERT INTO orders (reference, kind, user_id, chat_id, package_code, package_name,"
            " price_stars, cost_cents, status, created_at, updated_at, paid_at)"
            " VALUES ('WAITING001', 'esim', ?, ?, 'JP_1GB_7D', 'Japan', 150, 180, 'ordered',"
            " ?, ?, ?)",
            (HEAVY, HEAVY, old, old, old),
        )
        await tx.execute("UPDATE webhook_events SET received_at = ?, processed_at = ?", (old, old))
        rows = [
            ("keep-waiting", old, old, waiting),  # its order is not final yet
            ("keep-unprocessed", old, None, None),
            ("keep-recent", now(), now(), final),
            ("prune-final", old, old, final),
        ]
        for key, received, processed, order_id in rows:
            await tx.execute(
                "INSERT INTO webhook_events (dedup_key, event, payload, received_at,"
                " processed_at, outcome, order_id) VALUES (?, 'order.completed', '{}', ?, ?,"
                " 'ok', ?)",
                (key, received, processed, order_id),
            )
        await tx.executemany(
            "INSERT INTO audit_log (admin_id, action, target, details, created_at)"
            " VALUES (1, 'command.stats', NULL, ?, ?)",
            [("x" * 400, old) for _ in range(1500)],
        )
    events_before = await storage.db.fetchval("SELECT COUNT(*) FROM webhook_events")
    assert events_before > 3000

    report = await Upkeep(storage, retention_days=90, audit_log_keep=1000).run()
    kept = await storage.db.fetchall("SELECT dedup_key FROM webhook_events ORDER BY dedup_key")
    assert [row["dedup_key"] for row in kept] == ["keep-recent", "keep-unprocessed", "keep-waiting"]
    assert report.webhook_events == events_before - 3
    assert report.audit_entries == 500
    assert await storage.db.fetchval("SELECT COUNT(*) FROM audit_log") == 1000
    assert not report.vacuum_switched  # a new database is incremental from the start
    if not ON_POSTGRES:  # where PostgreSQL's autovacuum does it by itself
        assert await storage.db.fetchval("PRAGMA auto_vacuum") == 2
        assert await storage.db.fetchval("PRAGMA freelist_count") == 0  # the pages went back
    assert await storage.db.fetchval("SELECT COUNT(*) FROM stats_days") == 29  # roll-up filled
    again = await Upkeep(storage, retention_days=90, audit_log_keep=1000).run()
    assert (again.webhook_events, again.audit_entries) == (0, 0)


@sqlite_only
async def test_an_older_database_switches_to_incremental_vacuum_once(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    made = sqlite3.connect(path)  # as releases before incremental vacuuming made it
    made.execute("CREATE TABLE leftover (x)")
    made.close()
    path.chmod(0o600)
    store = Storage(path)
    await store.open()
    try:
        assert await store.db.fetchval("PRAGMA auto_vacuum") == 0  # as the old file was made
        assert await store.db.reclaim() is True
        fresh = sqlite3.connect(path)  # what the file now says (a connection's header is cached)
        assert fresh.execute("PRAGMA auto_vacuum").fetchone() == (2,)
        fresh.close()
        assert await store.db.reclaim() is False
    finally:
        await store.close()
