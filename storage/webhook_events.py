"""Incoming reseller webhooks, stored under a unique key before they are processed."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database, Row, now
from storage.orders import FINAL

_FINAL = sorted(status.value for status in FINAL)

__all__ = ["WebhookEvent", "WebhookEventsRepo"]


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    id: int
    dedup_key: str
    event: str
    payload: str
    received_at: int
    processed_at: int | None
    outcome: str | None
    order_id: int | None = None  # the order it was applied to: kept while that is not final

    @classmethod
    def from_row(cls, row: Row) -> WebhookEvent:
        return cls(**dict(row))


class WebhookEventsRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def store(self, dedup_key: str, event: str, payload: str) -> int | None:
        """Store an event; returns its id, or None when this event was seen before."""
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "INSERT INTO webhook_events (dedup_key, event, payload, received_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (dedup_key, event, payload, now()),
            )
            if changed != 1:
                return None
            row = await tx.fetchone(
                "SELECT id FROM webhook_events WHERE dedup_key = ?", (dedup_key,)
            )
        return None if row is None else int(row["id"])

    async def get(self, event_id: int) -> WebhookEvent | None:
        row = await self._db.fetchone("SELECT * FROM webhook_events WHERE id = ?", (event_id,))
        return None if row is None else WebhookEvent.from_row(row)

    async def mark_processed(
        self, event_id: int, outcome: str, order_id: int | None = None
    ) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE webhook_events SET processed_at = ?, outcome = ?, order_id = ?"
                " WHERE id = ?",
                (now(), outcome, order_id, event_id),
            )

    async def prune(self, before: int, batch: int = 5000) -> int:
        """Delete events processed before ``before`` whose order (if any) is final; in small
        batches, each its own transaction, so the bot's writes never wait long. Returns how
        many were deleted."""
        final = ", ".join(f"'{status}'" for status in _FINAL)
        deleted = 0
        while True:
            async with self._db.transaction() as tx:
                changed = await tx.execute(
                    "DELETE FROM webhook_events WHERE id IN (SELECT e.id FROM webhook_events e"
                    " LEFT JOIN orders o ON o.id = e.order_id"
                    " WHERE e.processed_at IS NOT NULL AND e.processed_at < ?"
                    f" AND (o.id IS NULL OR o.status IN ({final})) LIMIT ?)",
                    (before, batch),
                )
            deleted += changed
            if changed < batch:
                return deleted

    async def unprocessed(self) -> list[WebhookEvent]:
        rows = await self._db.fetchall(
            "SELECT * FROM webhook_events WHERE processed_at IS NULL ORDER BY id"
        )
        return [WebhookEvent.from_row(row) for row in rows]

    async def latest(self) -> WebhookEvent | None:
        row = await self._db.fetchone("SELECT * FROM webhook_events ORDER BY id DESC LIMIT 1")
        return None if row is None else WebhookEvent.from_row(row)
