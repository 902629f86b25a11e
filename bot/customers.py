"""What the bot keeps about its customers and its operators' actions: profiles, chosen
language, reminder preference, and the admins' audit log."""

from __future__ import annotations

from storage import Storage

__all__ = ["Customers"]


class Customers:
    def __init__(self, storage: Storage, languages: dict[int, str]) -> None:
        self._storage = storage
        self._languages = languages  # the in-memory map every update's language comes from

    async def seen(
        self, user_id: int, first_name: str, username: str | None, language_code: str | None
    ) -> None:
        """Keep the user's profile; written only when it changed, or once a day."""
        await self._storage.users.touch(user_id, first_name, username, language_code)

    async def choose_language(self, user_id: int, language: str) -> None:
        await self._storage.users.set_language(user_id, language)
        self._languages[user_id] = language

    async def set_reminders(self, user_id: int, on: bool) -> None:
        await self._storage.users.set_reminders(user_id, on)

    async def audit(
        self, admin_id: int, action: str, target: str | None, details: str | None
    ) -> None:
        """An admin's command or button, for the audit log."""
        await self._storage.audit.record(
            admin_id, action, target, (details or None) and details[:500]
        )
