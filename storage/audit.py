"""The admin audit log: who did what, when."""

from __future__ import annotations

from storage.db import Database, Row, now

__all__ = ["AuditRepo"]


class AuditRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(
        self, admin_id: int, action: str, target: str | None = None, details: str | None = None
    ) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO audit_log (admin_id, action, target, details, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (admin_id, action, target, details, now()),
            )

    async def prune(self, keep: int, batch: int = 5000) -> int:
        """Keep the newest ``keep`` entries; older ones go, in short batches. Returns how many
        were deleted."""
        newest = await self._db.fetchval("SELECT MAX(id) FROM audit_log")
        if newest is None or newest <= keep:
            return 0
        deleted = 0
        while True:
            async with self._db.transaction() as tx:
                changed = await tx.execute(
                    "DELETE FROM audit_log WHERE id IN"
                    " (SELECT id FROM audit_log WHERE id <= ? ORDER BY id LIMIT ?)",
                    (int(newest) - keep, batch),
                )
            deleted += changed
            if changed < batch:
                return deleted

    async def latest(self, limit: int = 20) -> list[Row]:
        return await self._db.fetchall("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", (limit,))
