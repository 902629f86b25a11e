"""Telegram users who talked to the bot, with their chosen language."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database, Row, now

__all__ = ["User", "UsersRepo"]


@dataclass(frozen=True, slots=True)
class User:
    id: int
    first_name: str
    username: str | None
    language_code: str | None
    language: str | None
    created_at: int
    last_seen_at: int

    @classmethod
    def from_row(cls, row: Row) -> User:
        return cls(**dict(row))


class UsersRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def upsert(
        self, user_id: int, first_name: str, username: str | None, language_code: str | None
    ) -> None:
        stamp = now()
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO users (id, first_name, username, language_code, created_at,"
                " last_seen_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
                " first_name = excluded.first_name, username = excluded.username,"
                " language_code = excluded.language_code, last_seen_at = excluded.last_seen_at",
                (user_id, first_name, username, language_code, stamp, stamp),
            )

    async def get(self, user_id: int) -> User | None:
        row = await self._db.fetchone("SELECT * FROM users WHERE id = ?", (user_id,))
        return None if row is None else User.from_row(row)

    async def set_language(self, user_id: int, language: str) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("UPDATE users SET language = ? WHERE id = ?", (language, user_id))

    async def languages(self) -> dict[int, str]:
        """Every user's chosen language, loaded once so handlers need no query per update."""
        rows = await self._db.fetchall("SELECT id, language FROM users WHERE language IS NOT NULL")
        return {int(row["id"]): str(row["language"]) for row in rows}
