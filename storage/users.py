"""Telegram users who talked to the bot, with their chosen language.

Every message would otherwise cost an fsync'd write of the same row, so :meth:`UsersRepo.touch`
writes only when the profile changed or the last write is a day old; it remembers what it
wrote (and reads the row once after a restart) to know.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database, Row, now

__all__ = ["SEEN_EVERY_SECONDS", "User", "UsersRepo"]

SEEN_EVERY_SECONDS = 86_400  # last_seen_at is kept to the day
_REMEMBERED = 100_000  # profiles kept in memory; forgotten all at once beyond that

Profile = tuple[str, str | None, str | None]  # first name, username, language code


@dataclass(frozen=True, slots=True)
class User:
    id: int
    first_name: str
    username: str | None
    language_code: str | None
    language: str | None
    created_at: int
    last_seen_at: int
    blocked_at: int | None = None  # Telegram said Forbidden: nothing more is sent to them
    reminders: int = 1  # care notices (low data, expiry) on or off (/settings)

    @classmethod
    def from_row(cls, row: Row) -> User:
        return cls(**dict(row))


class UsersRepo:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._written: dict[int, tuple[Profile, int]] = {}  # user id -> (profile, last_seen_at)

    async def touch(
        self, user_id: int, first_name: str, username: str | None, language_code: str | None
    ) -> bool:
        """Record that the user was seen; writes (and returns True) only when the profile
        changed or it was last written more than a day ago."""
        profile: Profile = (first_name, username, language_code)
        written = self._written.get(user_id)
        if written is None:
            row = await self.get(user_id)
            if row is not None:
                written = ((row.first_name, row.username, row.language_code), row.last_seen_at)
        fresh = written is not None and now() - written[1] < SEEN_EVERY_SECONDS
        if written is not None and fresh and written[0] == profile:
            self._remember(user_id, written)
            return False
        await self.upsert(user_id, first_name, username, language_code)
        return True

    def _remember(self, user_id: int, written: tuple[Profile, int]) -> None:
        if len(self._written) >= _REMEMBERED and user_id not in self._written:
            self._written.clear()
        self._written[user_id] = written

    async def upsert(
        self, user_id: int, first_name: str, username: str | None, language_code: str | None
    ) -> None:
        stamp = now()
        self._written.pop(user_id, None)  # until the write is committed, nothing is known
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO users (id, first_name, username, language_code, created_at,"
                " last_seen_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
                " first_name = excluded.first_name, username = excluded.username,"
                " language_code = excluded.language_code, last_seen_at = excluded.last_seen_at",
                (user_id, first_name, username, language_code, stamp, stamp),
            )
        self._remember(user_id, ((first_name, username, language_code), stamp))

    async def get(self, user_id: int) -> User | None:
        row = await self._db.fetchone("SELECT * FROM users WHERE id = ?", (user_id,))
        return None if row is None else User.from_row(row)

    async def set_language(self, user_id: int, language: str) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("UPDATE users SET language = ? WHERE id = ?", (language, user_id))

    async def set_blocked(self, user_id: int, blocked: bool) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE users SET blocked_at = ? WHERE id = ?",
                (now() if blocked else None, user_id),
            )

    async def blocked_ids(self) -> set[int]:
        rows = await self._db.fetchall("SELECT id FROM users WHERE blocked_at IS NOT NULL")
        return {int(row["id"]) for row in rows}

    async def set_reminders(self, user_id: int, on: bool) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("UPDATE users SET reminders = ? WHERE id = ?", (int(on), user_id))

    async def reachable_ids(self) -> list[int]:
        """Every user who has not blocked the bot (a broadcast's recipients), by id."""
        rows = await self._db.fetchall("SELECT id FROM users WHERE blocked_at IS NULL ORDER BY id")
        return [int(row["id"]) for row in rows]

    async def languages(self) -> dict[int, str]:
        """Every user's chosen language, loaded once so handlers need no query per update."""
        rows = await self._db.fetchall("SELECT id, language FROM users WHERE language IS NOT NULL")
        return {int(row["id"]): str(row["language"]) for row in rows}
