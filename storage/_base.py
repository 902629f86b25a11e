"""What every database backend offers the repositories: reads, explicit write transactions, and
one error for a broken constraint. The backends are ``storage._sqlite`` and ``storage._postgres``.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from storage.migrations import MIGRATIONS

__all__ = ["ConstraintViolation", "Database", "Row", "Transaction", "now"]

log = logging.getLogger("storage.db")


class Row(Protocol):
    """A result row: by column name or position, and ``dict(row)``."""

    def __getitem__(self, key: Any, /) -> Any: ...

    def keys(self) -> Iterable[str]: ...


class ConstraintViolation(Exception):
    """A write broke a UNIQUE or other constraint (the backend's own error is the cause)."""


class Transaction(ABC):
    """Statements inside one write transaction; parameters are written ``?`` on both backends."""

    @abstractmethod
    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; returns the number of rows it changed."""

    @abstractmethod
    async def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> None: ...

    @abstractmethod
    async def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run an INSERT into a table with an ``id`` key; returns the new row's id."""

    @abstractmethod
    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """Run a query (or a write with RETURNING) and give its first row."""

    @abstractmethod
    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...


class Database(ABC):
    """One database: reads never wait behind a write, and writes are serialised, each in its own
    transaction that is committed (or rolled back) before the block that opened it ends."""

    kind: str  # "sqlite" or "postgresql"

    @abstractmethod
    async def open(self) -> None:
        """Connect and bring the schema up to date."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """A write transaction; only one runs at a time, across every process of the bot."""

    @abstractmethod
    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    @abstractmethod
    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def ping(self) -> bool:
        try:
            return await self.fetchval("SELECT 1") == 1
        except Exception:  # health check: any failure means "not healthy"
            return False

    @abstractmethod
    async def reclaim(self, pages: int = 10_000) -> bool:
        """Give space freed by deleted rows back; True if that took a full rewrite."""

    def ddl(self, statement: str) -> str:
        """A migration statement as this backend spells it (migrations are written for SQLite)."""
        return statement

    async def migrate(self) -> None:
        """Apply the migrations not yet applied, all in one transaction."""
        async with self.transaction() as tx:
            await tx.execute(
                self.ddl(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)"
                )
            )
            rows = await tx.fetchall("SELECT version FROM schema_migrations")
            applied = {int(row["version"]) for row in rows}
            for version, statements in enumerate(MIGRATIONS, start=1):
                if version in applied:
                    continue
                for statement in statements:
                    await tx.execute(self.ddl(statement))
                await tx.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                    (version, now()),
                )
                log.info("database migrated to version %d", version)


def now() -> int:
    """Epoch seconds: every timestamp in the database uses this."""
    return int(time.time())
