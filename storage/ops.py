"""Read-only figures for operations: /metrics (straight from the rows at scrape time) and the
database checks of ``python -m bot doctor``."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage.db import Database, is_postgres_url

__all__ = ["OpsFigures", "OpsRepo", "database_state", "last_webhook_test_id", "postgres_state"]


@dataclass(frozen=True, slots=True)
class OpsFigures:
    orders_by_status: dict[str, int]
    payments: int
    stars_received: int
    refunds: int  # Stars refunds Telegram confirmed, for orders and for unmatched payments
    stars_refunded: int
    catalog_synced_at: float | None


class OpsRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def figures(self) -> OpsFigures:
        rows = await self._db.fetchall("SELECT status, COUNT(*) FROM orders GROUP BY status")
        payments = await self._db.fetchone(
            "SELECT COUNT(*), COALESCE(SUM(amount_stars), 0) FROM payments WHERE currency = 'XTR'"
        )
        order_refunds = await self._db.fetchone(
            "SELECT COUNT(*), COALESCE(SUM(amount_stars), 0) FROM refunds WHERE status = 'done'"
        )
        orphan_refunds = await self._db.fetchone(
            "SELECT COUNT(*), COALESCE(SUM(amount_stars), 0) FROM payments"
            " WHERE refund_status = 'done' AND currency = 'XTR'"
        )
        synced = await self._db.fetchval("SELECT value FROM meta WHERE key = 'catalog_synced_at'")
        assert payments is not None and order_refunds is not None and orphan_refunds is not None
        return OpsFigures(
            orders_by_status={str(row[0]): int(row[1]) for row in rows},
            payments=int(payments[0]),
            stars_received=int(payments[1]),
            refunds=int(order_refunds[0]) + int(orphan_refunds[0]),
            stars_refunded=int(order_refunds[1]) + int(orphan_refunds[1]),
            catalog_synced_at=float(synced) if synced is not None else None,
        )

    async def schema_version(self) -> int:
        return int(await self._db.fetchval("SELECT MAX(version) FROM schema_migrations") or 0)


# Read-only views for ``python -m bot doctor`` (which must never migrate or write), over the
# SQLite file or the PostgreSQL database the bot really uses.


def database_state(path: Path) -> tuple[list[str], int]:
    """(integrity_check lines, schema version) of the SQLite database file at ``path``."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as conn:
        problems = [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
        version = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
    return problems, int(version or 0)


async def postgres_state(url: str) -> tuple[str, int | None]:
    """(server version, schema version or None when the bot has not created its schema yet)
    of the PostgreSQL database at ``url``, read in a read-only session."""
    conn = await _read_only(url)
    try:
        server = str(await conn.fetchval("SHOW server_version"))
        if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
            return server, None
        version = await conn.fetchval("SELECT MAX(version) FROM schema_migrations")
    finally:
        await conn.close()
    return server, int(version or 0)


async def last_webhook_test_id(target: Path | str) -> int:
    """The id of the newest stored (so signature-verified) reseller test webhook, 0 if none;
    ``target`` is the SQLite file or a ``postgresql://`` URL."""
    if is_postgres_url(target):
        conn = await _read_only(str(target))
        try:
            if await conn.fetchval("SELECT to_regclass('webhook_events')") is None:
                return 0
            found = await conn.fetchval(_LAST_TEST)
        finally:
            await conn.close()
        return int(found or 0)
    return await asyncio.to_thread(_sqlite_last_webhook_test_id, Path(target))


_LAST_TEST = "SELECT MAX(id) FROM webhook_events WHERE event = 'webhook.test'"


def _sqlite_last_webhook_test_id(path: Path) -> int:
    if not path.is_file():
        return 0
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as conn:
        row = conn.execute(_LAST_TEST).fetchone()
    return int(row[0] or 0)


async def _read_only(url: str) -> Any:
    settings = {"default_transaction_read_only": "on", "application_name": "esim-bot doctor"}
    import asyncpg  # only with PostgreSQL

    return await asyncpg.connect(url, timeout=10, server_settings=settings)
