"""A realistic shop history, written straight into the bot's SQLite database.

Users, eSIM orders and top-ups in every final state (delivered, refunded after a failure or by
an admin, expired unpaid invoices), their payments, eSIMs, refunds, processed webhook events and
audit entries, spread over ``days`` up to now. Deterministic for a seed.

Used by the history benchmark (``python bench/history_bench.py``) and by tests that need
thousands of rows in seconds. Run alone to fill a database:

    python bench/history.py data/bot.sqlite3 --users 100000 --orders 1000000

The database must already have the bot's schema (start the bot once, or let the benchmark do
it). The rows bypass the order code on purpose: only their shape matters here.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["History", "generate", "heavy_customer"]

DAY = 86_400
FIRST_USER = 50_000_000  # far from the ids tests use
_PLANS = (  # (code, name, cost in cents, price in Stars)
    ("JP_1GB_7D", "Japan 1 GB · 7 days", 180, 150),
    ("JP_5GB_30D", "Japan 5 GB · 30 days", 650, 520),
    ("US_3GB_15D", "United States 3 GB · 15 days", 420, 340),
    ("EU_10GB_30D", "Europe 10 GB · 30 days", 1200, 950),
    ("GL_1GB_7D", "Global 1 GB · 7 days", 500, 400),
)
_BATCH = 20_000


@dataclass
class History:
    users: int = 0
    orders: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def generate(
    conn: sqlite3.Connection,
    *,
    users: int,
    orders: int,
    days: int = 365,
    until: int | None = None,
    seed: int = 15,
    first_user: int = FIRST_USER,
) -> History:
    """Add ``users`` customers and ``orders`` orders (with everything that follows them)."""
    rng = random.Random(seed)
    until = until or int(time.time())
    since = until - days * DAY
    history = History(users=users)
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO users (id, first_name, username, language_code, language, created_at,"
        " last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            (
                first_user + i,
                f"Customer {i}",
                None,
                code,
                code if rng.random() < 0.3 else None,
                since,
                until,
            )
            for i in range(users)
            for code in [rng.choice(("en", "es", "ru"))]
        ),  # a third chose a language in the menu; the bot keeps those in memory
    )
    first_order = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM orders").fetchone()[0]) + 1
    rows = _orders(rng, first_order, orders, users, first_user, since, until)
    while batch := [row for _, row in zip(range(_BATCH), rows, strict=False)]:
        _write(conn, batch, history)
    conn.execute("COMMIT")
    history.orders = orders
    return history


def heavy_customer(
    conn: sqlite3.Connection, user_id: int, esims: int, *, seed: int = 7, until: int | None = None
) -> None:
    """One customer with ``esims`` delivered eSIMs (and as many orders): the long /user."""
    rng = random.Random(seed)
    until = until or int(time.time())
    conn.execute("BEGIN")
    conn.execute(
        "INSERT INTO users (id, first_name, username, language_code, created_at, last_seen_at)"
        " VALUES (?, 'Heavy', 'heavy_user', 'en', ?, ?) ON CONFLICT (id) DO NOTHING",
        (user_id, until - 365 * DAY, until),
    )
    first = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM orders").fetchone()[0]) + 1
    batch = []
    for n in range(esims):
        row = _order(rng, first + n, user_id, until - 365 * DAY + n * 365 * DAY // esims)
        row.update(status="delivered", kind="esim", target_iccid=None, refund=None, paid=True)
        batch.append(row)
    _write(conn, batch, History())
    conn.execute("COMMIT")


def _orders(
    rng: random.Random, first: int, count: int, users: int, first_user: int, since: int, until: int
) -> Iterator[dict[str, object]]:
    loyal = max(1, users // 100)
    for n in range(count):
        # a third of the orders come from the 1% of loyal customers
        pick = rng.randrange(loyal) if rng.random() < 0.3 else rng.randrange(users)
        created = since + (until - since) * n // max(1, count)  # ids grow with time
        yield _order(rng, first + n, first_user + pick, created)


def _order(rng: random.Random, order_id: int, user: int, created: int) -> dict[str, object]:
    code, name, cost, price = rng.choice(_PLANS)
    roll = rng.random()
    topup = rng.random() < 0.15
    status, refund = "delivered", None
    if roll < 0.04:
        status = "expired"
    elif roll < 0.07:
        status, refund = "refunded", "failed"
    elif roll < 0.09:
        status, refund = "refunded", "admin"
    return {
        "id": order_id,
        "user": user,
        "code": code,
        "name": name,
        "cost": cost,
        "price": price,
        "created": created,
        "status": status,
        "refund": refund,
        "paid": status != "expired",
        "kind": "topup" if topup else "esim",
        "target_iccid": f"89{order_id % 997:018d}" if topup else None,
    }


def _write(conn: sqlite3.Connection, batch: list[dict[str, object]], history: History) -> None:
    orders, payments, esims, refunds, events = [], [], [], [], []
    for o in batch:
        oid, created, status = int(o["id"]), int(str(o["created"])), str(o["status"])
        history.by_status[status] = history.by_status.get(status, 0) + 1
        paid = created + 30 if o["paid"] else None
        placed = o["paid"] and o["refund"] != "failed"
        iccid = f"89{oid:018d}" if placed and o["kind"] == "esim" else None
        delivered = created + 45 if placed else None
        orders.append(
            (oid, f"H{oid:09d}", o["kind"], o["user"], o["user"], o["code"], o["name"],
             o["target_iccid"], o["price"], o["cost"], status,
             f"ext-{oid}" if o["paid"] else None, f"RS{oid}" if placed else None, iccid,
             "No stock" if o["refund"] == "failed" else None, "en", created, delivered or created,
             paid, delivered, created + 35 if placed else None)
        )  # fmt: skip
        if paid is not None:
            payments.append(
                (f"stxH{oid}", oid, o["user"], o["price"], "XTR", f"o:{oid}", "payment", paid)
            )
        if iccid is not None:
            esims.append(
                (iccid, oid, o["user"], o["code"], f"LPA:1$smdp.example$M{oid}", "ENABLED",
                 "RELEASED", 1024**3, (oid * 7919) % 1024**3, created, delivered)
            )  # fmt: skip
        if o["refund"] is not None:
            back = o["cost"] if o["refund"] == "admin" else None
            refunds.append(
                (oid, f"stxH{oid}", o["price"], o["refund"], None, "done", back, created + 600,
                 created + 601)
            )  # fmt: skip
        if placed:
            payload = json.dumps({"event": "order.completed", "data": {"order_id": f"RS{oid}"}})
            events.append(
                (f"evt-{oid}", "order.completed", payload, created + 40, created + 41, "ok")
            )
    conn.executemany(
        "INSERT INTO orders (id, reference, kind, user_id, chat_id, package_code, package_name,"
        " target_iccid, price_stars, cost_cents, status, external_order_id, reseller_order_id,"
        " iccid, failure_reason, language, created_at, updated_at, paid_at, delivered_at,"
        " ordered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        orders,
    )
    conn.executemany(
        "INSERT INTO payments (charge_id, order_id, user_id, amount_stars, currency, payload,"
        " source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        payments,
    )
    conn.executemany(
        "INSERT INTO esims (iccid, order_id, user_id, package_code, activation_code, status,"
        " smdp_status, total_bytes, used_bytes, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        esims,
    )
    conn.executemany(
        "INSERT INTO refunds (order_id, charge_id, amount_stars, reason, requested_by, status,"
        " reseller_refund_cents, created_at, completed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        refunds,
    )
    conn.executemany(
        "INSERT INTO webhook_events (dedup_key, event, payload, received_at, processed_at,"
        " outcome) VALUES (?, ?, ?, ?, ?, ?)",
        events,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    conn = sqlite3.connect(args.database, isolation_level=None)
    started = time.monotonic()
    history = generate(conn, users=args.users, orders=args.orders, days=args.days)
    print(f"{history.users} users, {history.orders} orders {history.by_status}"
          f" in {time.monotonic() - started:.0f} s", file=sys.stderr)  # fmt: skip


if __name__ == "__main__":
    main()
