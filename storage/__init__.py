"""The storage layer: migrations and one repository per entity, over SQLite or PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from storage.audit import AuditRepo
from storage.books import BooksRepo
from storage.broadcasts import Broadcast, BroadcastsRepo
from storage.care import CareRepo, Watched
from storage.catalog import CatalogRepo, Plan
from storage.db import (
    ConstraintViolation,
    Database,
    Transaction,
    is_postgres_url,
    now,
    open_database,
)
from storage.esims import Esim, EsimsRepo
from storage.meta import MetaRepo
from storage.orders import (
    IN_PROGRESS,
    IllegalTransition,
    Order,
    OrderKind,
    OrdersRepo,
    OrderStatus,
)
from storage.payments import Payment, PaymentsRepo
from storage.refunds import Refund, RefundsRepo
from storage.stats import StatsRepo
from storage.users import User, UsersRepo
from storage.webhook_events import WebhookEvent, WebhookEventsRepo

__all__ = [
    "IN_PROGRESS",
    "Broadcast",
    "ConstraintViolation",
    "Database",
    "Esim",
    "IllegalTransition",
    "Order",
    "OrderKind",
    "OrderStatus",
    "Payment",
    "Plan",
    "Refund",
    "Storage",
    "Transaction",
    "User",
    "Watched",
    "WebhookEvent",
    "is_postgres_url",
    "now",
    "open_database",
]


class Storage:
    """The database and its repositories, opened and migrated together."""

    def __init__(self, target: Path | str) -> None:
        """``target``: an SQLite file, or a ``postgresql://`` URL."""
        self.db = open_database(target)
        self.users = UsersRepo(self.db)
        self.catalog = CatalogRepo(self.db)
        self.orders = OrdersRepo(self.db)
        self.payments = PaymentsRepo(self.db)
        self.esims = EsimsRepo(self.db)
        self.refunds = RefundsRepo(self.db)
        self.webhook_events = WebhookEventsRepo(self.db)
        self.audit = AuditRepo(self.db)
        self.meta = MetaRepo(self.db)
        self.stats = StatsRepo(self.db)  # read-only figures for the operator's console
        self.books = BooksRepo(self.db)  # the sums behind /audit
        self.care = CareRepo(self.db)
        self.broadcasts = BroadcastsRepo(self.db)

    async def open(self) -> None:
        await self.db.open()

    async def close(self) -> None:
        await self.db.close()
