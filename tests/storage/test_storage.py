"""The SQLite layer: connection settings, migrations, and the forward-only order machine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage import IllegalTransition, Order, OrderKind, OrderStatus, Storage
from storage.migrations import MIGRATIONS
from storage.orders import TRANSITIONS

S = OrderStatus


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[Storage]:
    store = Storage(tmp_path / "nested" / "bot.sqlite3")
    await store.open()
    yield store
    await store.close()


async def test_connection_is_durable_and_strict(storage: Storage) -> None:
    assert await storage.db.fetchval("PRAGMA journal_mode") == "wal"
    assert await storage.db.fetchval("PRAGMA synchronous") == 2  # FULL
    assert await storage.db.fetchval("PRAGMA foreign_keys") == 1
    assert await storage.db.fetchval("PRAGMA busy_timeout") == 5000


async def test_migrations_run_once(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    for _ in range(2):
        store = Storage(path)
        await store.open()
        versions = await store.db.fetchall("SELECT version FROM schema_migrations")
        await store.close()
        assert [row["version"] for row in versions] == list(range(1, len(MIGRATIONS) + 1))


async def new_order(storage: Storage) -> Order:
    await storage.users.upsert(7, "Ann", None, "en")
    return await storage.orders.create(
        kind=OrderKind.ESIM,
        user_id=7,
        chat_id=7,
        package_code="JP_7D_1GB",
        package_name="Japan 7 Days 1GB",
        price_stars=434,
        cost_cents=450,
        language="en",
    )


async def test_orders_move_forward_only(storage: Storage) -> None:
    order = await new_order(storage)
    paid = await storage.orders.transition(order, S.PAID)
    with pytest.raises(IllegalTransition):
        await storage.orders.transition(paid, S.AWAITING_PAYMENT)
    with pytest.raises(IllegalTransition):
        await storage.orders.transition(paid, S.DELIVERED)
    # A stale copy cannot move an order someone else already moved (compare-and-set).
    ordering = await storage.orders.transition(paid, S.ORDERING)
    with pytest.raises(IllegalTransition):
        await storage.orders.transition(paid, S.ORDERING)
    assert ordering.status is S.ORDERING
    for status, targets in TRANSITIONS.items():
        assert status not in targets


async def test_references_are_short_unique_and_unguessable(storage: Storage) -> None:
    orders = [await new_order(storage) for _ in range(50)]
    references = {order.reference for order in orders}
    assert len(references) == 50
    assert all(len(ref) == 10 and ref.isalnum() and ref.isupper() for ref in references)
    found = await storage.orders.by_reference(next(iter(references)).lower())
    assert found is not None


async def test_a_failed_transaction_changes_nothing(storage: Storage) -> None:
    order = await new_order(storage)
    with pytest.raises(RuntimeError):
        async with storage.db.transaction() as tx:
            await storage.orders.transition(order, S.PAID, tx=tx)
            raise RuntimeError("crash before commit")
    reloaded = await storage.orders.get(order.id)
    assert reloaded is not None and reloaded.status is S.AWAITING_PAYMENT


async def test_webhook_events_are_stored_once(storage: Storage) -> None:
    first = await storage.webhook_events.store(
        "esim.provisioned:orderId:1", "esim.provisioned", "{}"
    )
    again = await storage.webhook_events.store(
        "esim.provisioned:orderId:1", "esim.provisioned", "{}"
    )
    assert first is not None and again is None
    assert [e.id for e in await storage.webhook_events.unprocessed()] == [first]
