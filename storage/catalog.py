"""The reseller catalog, cached so that browsing never calls the reseller."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from storage.db import Database, Row, now

__all__ = ["CatalogRepo", "Plan"]


@dataclass(frozen=True, slots=True)
class Plan:
    code: str
    name: str
    scope: str  # "country", "region" or "global"
    location: str  # ISO country code, region code or "GL"
    region: str | None
    countries: tuple[str, ...]
    volume_bytes: int
    duration_days: int
    price_cents: int
    supports_topup: bool
    max_privacy: bool
    details: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def volume_gb(self) -> float:
        return self.volume_bytes / 1024**3


class CatalogRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def replace_all(self, plans: Sequence[Plan]) -> None:
        """Store a full catalog; plans no longer sold stay (orders refer to them) but inactive."""
        stamp = now()
        async with self._db.transaction() as tx:
            await tx.execute("UPDATE packages SET active = 0")
            await tx.execute("DELETE FROM package_countries")
            await tx.executemany(
                "INSERT INTO packages (code, name, scope, location, region, volume_bytes,"
                " duration_days, price_cents, supports_topup, max_privacy, details, active,"
                " synced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)"
                " ON CONFLICT (code) DO UPDATE SET name = excluded.name, scope = excluded.scope,"
                " location = excluded.location, region = excluded.region,"
                " volume_bytes = excluded.volume_bytes, duration_days = excluded.duration_days,"
                " price_cents = excluded.price_cents, supports_topup = excluded.supports_topup,"
                " max_privacy = excluded.max_privacy, details = excluded.details, active = 1,"
                " synced_at = excluded.synced_at",
                [_plan_row(plan, stamp) for plan in plans],
            )
            await tx.executemany(
                "INSERT INTO package_countries (package_code, country_code) VALUES (?, ?)"
                " ON CONFLICT DO NOTHING",
                [(plan.code, country) for plan in plans for country in plan.countries],
            )

    async def active(self) -> list[Plan]:
        rows = await self._db.fetchall("SELECT * FROM packages WHERE active = 1 ORDER BY code")
        countries = await self._countries()
        return [_plan(row, countries.get(row["code"], ())) for row in rows]

    async def get(self, code: str) -> Plan | None:
        row = await self._db.fetchone("SELECT * FROM packages WHERE code = ?", (code,))
        if row is None:
            return None
        country_rows = await self._db.fetchall(
            "SELECT country_code FROM package_countries WHERE package_code = ?"
            " ORDER BY country_code",
            (code,),
        )
        return _plan(row, tuple(r["country_code"] for r in country_rows))

    async def _countries(self) -> dict[str, tuple[str, ...]]:
        rows = await self._db.fetchall(
            "SELECT package_code, country_code FROM package_countries"
            " ORDER BY package_code, country_code"
        )
        grouped: dict[str, list[str]] = {}
        for row in rows:
            grouped.setdefault(row["package_code"], []).append(row["country_code"])
        return {code: tuple(values) for code, values in grouped.items()}


def _plan_row(plan: Plan, stamp: int) -> tuple[Any, ...]:
    return (
        plan.code,
        plan.name,
        plan.scope,
        plan.location,
        plan.region,
        plan.volume_bytes,
        plan.duration_days,
        plan.price_cents,
        int(plan.supports_topup),
        int(plan.max_privacy),
        json.dumps(plan.details, ensure_ascii=False, separators=(",", ":")),
        stamp,
    )


def _plan(row: Row, countries: tuple[str, ...]) -> Plan:
    return Plan(
        code=row["code"],
        name=row["name"],
        scope=row["scope"],
        location=row["location"],
        region=row["region"],
        countries=countries,
        volume_bytes=int(row["volume_bytes"]),
        duration_days=int(row["duration_days"]),
        price_cents=int(row["price_cents"]),
        supports_topup=bool(row["supports_topup"]),
        max_privacy=bool(row["max_privacy"]),
        details=json.loads(row["details"]),
    )
