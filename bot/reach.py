"""Who may still get a message from us: a user who blocked the bot gets nothing more.

Telegram answers ``Forbidden`` to a message for someone who blocked the bot; that is
remembered (``users.blocked_at``) and kept in memory, so every proactive sender (order
messages, care notices, broadcasts) can skip them without a query. Writing to the bot again
(or unblocking it) clears the mark.
"""

from __future__ import annotations

import logging

from storage import Storage

__all__ = ["Reach"]

log = logging.getLogger(__name__)


class Reach:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._blocked: set[int] = set()

    async def load(self) -> None:
        self._blocked = await self._storage.users.blocked_ids()

    def blocked(self, user_id: int) -> bool:
        return user_id in self._blocked

    @property
    def blocked_count(self) -> int:
        return len(self._blocked)

    async def forbidden(self, user_id: int) -> None:
        """Telegram refused a message to this user: they blocked the bot."""
        if user_id in self._blocked:
            return
        self._blocked.add(user_id)
        await self._storage.users.set_blocked(user_id, True)
        log.info("user %s blocked the bot: no more messages to them", user_id)

    async def back(self, user_id: int) -> None:
        """The user wrote to the bot (or unblocked it): they can be messaged again."""
        if user_id not in self._blocked:
            return
        self._blocked.discard(user_id)
        await self._storage.users.set_blocked(user_id, False)
        log.info("user %s is back: messages to them resume", user_id)
