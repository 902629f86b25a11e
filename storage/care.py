"""After the sale: the eSIMs worth watching, and which care notices each has had.

A notice (``low80:<total bytes>``, ``expiry3:<expiry>``, ``connected``…) is claimed, committed,
before its message goes: a crash or a restart never sends it twice. A message Telegram could
not take for a passing reason is released, so the next round tries it again.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from storage.db import Database, now
from storage.esims import Esim

__all__ = ["CareRepo", "Watched"]

_ESIM_FIELDS = tuple(field.name for field in dataclasses.fields(Esim))
_GONE = ("CANCELLED", "REVOKED")  # expired ones stay: they may still be owed the expiry note


@dataclass(frozen=True, slots=True)
class Watched:
    """A delivered eSIM that is not cancelled, with what its owner wants."""

    esim: Esim
    reminders: bool
    blocked: bool
    language: str | None  # chosen in the bot, else the order's, else Telegram's
    plan: str  # the plan's name as sold


class CareRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def watched(self) -> list[Watched]:
        marks = ", ".join("?" for _ in _GONE)
        rows = await self._db.fetchall(
            "SELECT e.*, u.reminders AS u_reminders, u.blocked_at AS u_blocked_at,"
            " COALESCE(u.language, o.language, u.language_code) AS u_language,"
            " o.package_name AS o_package_name"
            " FROM esims e JOIN orders o ON o.id = e.order_id"
            " LEFT JOIN users u ON u.id = e.user_id"
            f" WHERE o.status = 'delivered' AND COALESCE(e.status, '') NOT IN ({marks})"
            " ORDER BY e.iccid",
            _GONE,
        )
        return [
            Watched(
                esim=Esim(**{name: row[name] for name in _ESIM_FIELDS}),
                reminders=row["u_reminders"] is None or bool(row["u_reminders"]),
                blocked=row["u_blocked_at"] is not None,
                language=row["u_language"],
                plan=str(row["o_package_name"]),
            )
            for row in rows
        ]

    async def claim(self, iccid: str, notice: str) -> bool:
        """Record that ``notice`` goes out for this eSIM; False when it already went."""
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "INSERT INTO care_notices (iccid, notice, sent_at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (iccid, notice, now()),
            )
        return changed == 1

    async def release(self, iccid: str, notice: str) -> None:
        """The message did not go for a passing reason: the next round may try again."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "DELETE FROM care_notices WHERE iccid = ? AND notice = ?", (iccid, notice)
            )

    async def notices(self, iccid: str) -> set[str]:
        rows = await self._db.fetchall("SELECT notice FROM care_notices WHERE iccid = ?", (iccid,))
        return {str(row["notice"]) for row in rows}
