"""Admins' broadcasts: what is being sent, and how far it got.

Recipients go in user id order; ``next_user_id`` is checkpointed every few messages, so a
restart resumes where the last checkpoint left off (the few messages after it may go twice,
never is anyone skipped).
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database, Row, now

__all__ = ["Broadcast", "BroadcastsRepo"]


@dataclass(frozen=True, slots=True)
class Broadcast:
    id: int
    admin_id: int
    chat_id: int
    message_id: int | None  # the progress message, edited in place
    text: str
    language: str
    total: int
    next_user_id: int
    sent: int
    blocked: int
    failed: int
    status: str  # sending, done
    created_at: int
    finished_at: int | None

    @classmethod
    def from_row(cls, row: Row) -> Broadcast:
        return cls(**dict(row))


class BroadcastsRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        *,
        admin_id: int,
        chat_id: int,
        message_id: int | None,
        text: str,
        language: str,
        total: int,
    ) -> Broadcast:
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "INSERT INTO broadcasts (admin_id, chat_id, message_id, text, language, total,"
                " next_user_id, sent, blocked, failed, status, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0, 0, 'sending', ?) RETURNING *",
                (admin_id, chat_id, message_id, text, language, total, now()),
            )
        assert row is not None
        return Broadcast.from_row(row)

    async def checkpoint(
        self, broadcast_id: int, *, next_user_id: int, sent: int, blocked: int, failed: int
    ) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE broadcasts SET next_user_id = ?, sent = ?, blocked = ?, failed = ?"
                " WHERE id = ?",
                (next_user_id, sent, blocked, failed, broadcast_id),
            )

    async def finish(self, broadcast_id: int) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE broadcasts SET status = 'done', finished_at = ? WHERE id = ?",
                (now(), broadcast_id),
            )

    async def unfinished(self) -> list[Broadcast]:
        rows = await self._db.fetchall(
            "SELECT * FROM broadcasts WHERE status = 'sending' ORDER BY id"
        )
        return [Broadcast.from_row(row) for row in rows]
