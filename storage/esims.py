"""eSIMs delivered to customers, with the last known status and usage."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database, Row, Transaction, now

__all__ = ["Esim", "EsimsRepo"]


@dataclass(frozen=True, slots=True)
class Esim:
    iccid: str
    order_id: int
    user_id: int
    package_code: str
    activation_code: str
    qr_code_url: str | None
    short_url: str | None
    status: str | None
    smdp_status: str | None
    total_bytes: int | None
    used_bytes: int | None
    expires_at: str | None
    created_at: int
    updated_at: int

    @classmethod
    def from_row(cls, row: Row) -> Esim:
        return cls(**dict(row))

    @property
    def smdp_address(self) -> str:
        parts = self.activation_code.split("$")
        return parts[1] if len(parts) >= 3 else ""

    @property
    def matching_id(self) -> str:
        parts = self.activation_code.split("$")
        return parts[2] if len(parts) >= 3 else ""


class EsimsRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self,
        tx: Transaction,
        *,
        iccid: str,
        order_id: int,
        user_id: int,
        package_code: str,
        activation_code: str,
        qr_code_url: str | None,
        short_url: str | None,
    ) -> None:
        stamp = now()
        await tx.execute(
            "INSERT INTO esims (iccid, order_id, user_id, package_code, activation_code,"
            " qr_code_url, short_url, status, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                iccid,
                order_id,
                user_id,
                package_code,
                activation_code,
                qr_code_url,
                short_url,
                "GOT_RESOURCE",
                stamp,
                stamp,
            ),
        )

    async def get(self, iccid: str) -> Esim | None:
        row = await self._db.fetchone("SELECT * FROM esims WHERE iccid = ?", (iccid,))
        return None if row is None else Esim.from_row(row)

    async def for_order(self, order_id: int) -> Esim | None:
        row = await self._db.fetchone("SELECT * FROM esims WHERE order_id = ?", (order_id,))
        return None if row is None else Esim.from_row(row)

    async def owned_by(self, iccid: str, user_id: int) -> Esim | None:
        """The eSIM only if ``user_id`` owns it: the one look-up user handlers may use."""
        row = await self._db.fetchone(
            "SELECT * FROM esims WHERE iccid = ? AND user_id = ?", (iccid, user_id)
        )
        return None if row is None else Esim.from_row(row)

    async def for_user(self, user_id: int, limit: int | None = None, offset: int = 0) -> list[Esim]:
        """A customer's eSIMs, newest first; views pass a page's ``limit`` (None: all of them)."""
        page = " LIMIT ? OFFSET ?" if limit is not None else ""
        rows = await self._db.fetchall(
            "SELECT * FROM esims WHERE user_id = ? ORDER BY created_at DESC, iccid" + page,
            (user_id, limit, offset) if limit is not None else (user_id,),
        )
        return [Esim.from_row(row) for row in rows]

    async def count_for_user(self, user_id: int) -> int:
        return int(
            await self._db.fetchval("SELECT COUNT(*) FROM esims WHERE user_id = ?", (user_id,))
        )

    async def set_status(self, iccid: str, status: str, smdp_status: str | None) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE esims SET status = ?, smdp_status = ?, updated_at = ? WHERE iccid = ?",
                (status, smdp_status, now(), iccid),
            )

    async def update_usage(
        self,
        iccid: str,
        *,
        status: str | None,
        smdp_status: str | None,
        total_bytes: int | None,
        used_bytes: int | None,
        expires_at: str | None,
    ) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE esims SET status = ?, smdp_status = ?, total_bytes = ?, used_bytes = ?,"
                " expires_at = ?, updated_at = ? WHERE iccid = ?",
                (status, smdp_status, total_bytes, used_bytes, expires_at, now(), iccid),
            )
