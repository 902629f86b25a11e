"""The people of the playground: three customers (en, es, ru) and an operator."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ADMIN_ID", "CAST", "Person"]

# Ids far from real Telegram users' so that a copied database can never mistake them.
ADMIN_ID = 9_000_001


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    language: str
    admin: bool = False

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "language": self.language, "admin": self.admin}


CAST = (
    Person(9_000_101, "Alice", "en"),
    Person(9_000_102, "Lucía", "es"),
    Person(9_000_103, "Иван", "ru"),
    Person(ADMIN_ID, "Operator", "en", admin=True),
)
