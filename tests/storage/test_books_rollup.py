"""The roll-up behind /audit equals the live sums and follows every late change to an old day."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage import Order, OrderKind, OrderStatus, Storage, now
from storage.rollup import DAY, today
from tests.databases import storage_with_history

S = OrderStatus
HEAVY = 777


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[Storage]:
    async with storage_with_history(tmp_path, heavy=HEAVY, heavy_esims=20) as store:
        yield store


async def _in_flight(storage: Storage, paid: int, placed: int, *, cost: int = 420) -> Order:
    """An order paid (its payment stamped ``paid``) and placed at ``placed``, not delivered."""
    order = await storage.orders.create(
        kind=OrderKind.ESIM,
        user_id=HEAVY,
        chat_id=HEAVY,
        package_code="US_3GB_15D",
        package_name="United States",
        price_stars=340,
        cost_cents=cost,
        language="en",
    )
    async with storage.db.transaction() as tx:
        await storage.payments.record(
            tx,
            charge_id=f"stx-flight-{order.id}",
            order_id=order.id,
            user_id=HEAVY,
            amount_stars=340,
            currency="XTR",
            payload=f"o:{order.id}",
            source="payment",
        )
        order = await storage.orders.transition(order, S.PAID, tx=tx, paid_at=paid + 1)
        order = await storage.orders.transition(order, S.ORDERING, tx=tx)
        order = await storage.orders.transition(
            order, S.ORDERED, tx=tx, ordered_at=placed, reseller_order_id=f"RSF{order.id}"
        )
        await tx.execute("UPDATE payments SET created_at = ? WHERE order_id = ?", (paid, order.id))
    return order


async def _orphan(storage: Storage, stamp: int) -> str:
    charge_id = f"stx-orphan-{stamp}"
    async with storage.db.transaction() as tx:
        await storage.payments.record(
            tx,
            charge_id=charge_id,
            order_id=None,
            user_id=HEAVY,
            amount_stars=150,
            currency="XTR",
            payload="o:gone",
            source="payment",
        )
        await tx.execute(
            "UPDATE payments SET created_at = ? WHERE charge_id = ?", (stamp, charge_id)
        )
    return charge_id


async def _check(storage: Storage, since: int, until: int) -> dict[str, int]:
    live = await storage.books.live(since, until)
    assert await storage.books.totals(since, until) == live  # missing days computed, stored
    assert await storage.books.totals(since, until) == live  # from the roll-up
    return live


async def test_the_books_rollup_equals_the_live_sums_and_follows_late_changes(
    storage: Storage,
) -> None:
    # Late changes prepared on old days before anything is cached: an order paid a second
    # before midnight (paid_at the next day) and placed two days later, still in flight; an
    # orphan payment owed for a week.
    midnight = (today() - 12) * DAY
    flight = await _in_flight(storage, midnight - 1, midnight + 2 * DAY + 5)
    orphan = await _orphan(storage, (today() - 7) * DAY + 3600)
    stuck = await _in_flight(storage, midnight - 7 * DAY, midnight - 6 * DAY, cost=1000)
    until = now() + 3600  # past anything the test records now
    since = until - 30 * DAY
    before = await _check(storage, since, until)
    assert before["received"] > 100_000 and before["in_flight"] >= 340 + 150
    assert await storage.db.fetchval("SELECT COUNT(*) FROM books_days") == 29
    # The in-flight order is delivered: its payment's day (not its paid_at's) is counted again.
    order = await storage.orders.transition(flight, S.PROVISIONED, iccid="8900FLIGHT")
    order = await storage.orders.transition(order, S.DELIVERED, delivered_at=now())
    after = await _check(storage, since, until)
    assert after["delivered"] == before["delivered"] + 340
    assert after["in_flight"] == before["in_flight"] - 340
    # Its cost is corrected, then it is found to have been placed a day later.
    order = await storage.orders.update(order, cost_cents=500)
    assert (await _check(storage, since, until))["cost_cents"] == before["cost_cents"] + 80
    await storage.orders.update(order, ordered_at=midnight + 3 * DAY)
    assert (await _check(storage, since, until))["cost_cents"] == before["cost_cents"] + 80
    # "Check again" finds an order stuck since an old day placed on another old day.
    stuck = await storage.orders.transition(stuck, S.NEEDS_ATTENTION)
    await _check(storage, since, until)
    await storage.orders.transition(stuck, S.ORDERED, ordered_at=midnight - 3 * DAY)
    assert (await _check(storage, since, until))["cost_cents"] == before["cost_cents"] + 80
    # The orphan payment's refund is confirmed.
    await storage.payments.mark_refunded(orphan)
    after = await _check(storage, since, until)
    assert after["refunded"] == before["refunded"] + 150
    assert after["in_flight"] == before["in_flight"] - 340 - 150


async def test_an_old_order_refunded_and_a_late_payment_are_counted_again(
    storage: Storage,
) -> None:
    until = now() + 3600  # past anything the test records now
    since = until - 30 * DAY
    before = await _check(storage, since, until)
    old = await storage.db.fetchone(
        "SELECT o.id FROM orders o JOIN payments p ON p.order_id = o.id"
        " WHERE o.status = 'delivered' AND p.created_at >= ? AND p.created_at < ?"
        " ORDER BY o.id LIMIT 1",
        ((today() - 10) * DAY, (today() - 9) * DAY),
    )
    assert old is not None
    order = await storage.orders.get(int(old["id"]))
    assert order is not None
    async with storage.db.transaction() as tx:  # an admin refunds it today
        order = await storage.orders.transition(order, S.REFUNDING, tx=tx)
        await storage.refunds.open(
            tx, order_id=order.id, charge_id=None, amount_stars=order.price_stars, reason="admin"
        )
    pending = await _check(storage, since, until)
    assert pending["delivered"] == before["delivered"] - order.price_stars
    assert pending["in_flight"] == before["in_flight"] + order.price_stars
    async with storage.db.transaction() as tx:
        await storage.refunds.complete(tx, order.id)
        await storage.orders.transition(order, S.REFUNDED, tx=tx)
    done = await _check(storage, since, until)
    assert done["refunded"] == before["refunded"] + order.price_stars
    assert done["in_flight"] == before["in_flight"]
    # A payment recorded late (the reconciler) for an order of an old day lands in today.
    expired = await storage.db.fetchone(
        "SELECT id FROM orders WHERE status = 'expired' AND created_at < ? ORDER BY id LIMIT 1",
        ((today() - 5) * DAY,),
    )
    assert expired is not None
    late = await storage.orders.get(int(expired["id"]))
    assert late is not None
    async with storage.db.transaction() as tx:
        await storage.payments.record(
            tx,
            charge_id="stx-late",
            order_id=late.id,
            user_id=late.user_id,
            amount_stars=late.price_stars,
            currency="XTR",
            payload=f"o:{late.id}",
            source="reconciled",
        )
        await storage.orders.transition(late, S.PAID, tx=tx, paid_at=now())
    paid = await _check(storage, since, until)
    assert paid["received"] == before["received"] + late.price_stars
    assert paid["in_flight"] == before["in_flight"] + late.price_stars


async def test_periods_of_any_shape_equal_the_live_sums(storage: Storage) -> None:
    start = (today() - 20) * DAY
    for since, until in [
        (start, start + 5 * DAY),  # whole days only
        (start + 77, start + 3 * DAY - 5),  # partial at both ends
        (start + 10, start + 100),  # inside one day
        (start + 3 * DAY, now() + 1),  # to today
        (start, start),  # empty
    ]:
        await _check(storage, since, until)
