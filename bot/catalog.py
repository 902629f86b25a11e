"""The catalog: synced from the reseller into SQLite, served to browsing from memory.

Browsing is the hot path, so it never calls the reseller and never queries the database: the
whole catalog (a few thousand plans at most) lives in a small in-memory index rebuilt after
each sync.

A fresh process is not ready to sell until it has a catalog: :attr:`CatalogService.state` is
``loading`` until the first sync completes (or a fresh catalog saved by an earlier run is
loaded), then ``ok``. If that first sync fails with nothing saved to serve, the state is
``failed`` and :meth:`CatalogService.first_sync` retries with backoff until it succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any

from bot.i18n import cldr
from bot.pikasim import Package, PikaSimError, Priority
from storage import Plan

if TYPE_CHECKING:
    from bot.pikasim import PikaSimClient
    from storage import Storage

__all__ = ["FAILED", "LOADING", "OK", "CatalogIndex", "CatalogService", "plan_from_package"]

log = logging.getLogger(__name__)

_SYNCED_AT = "catalog_synced_at"
GLOBAL = "GL"


@cache
def _country_codes_by_name() -> dict[str, str]:
    territories = cldr.all_territories("en")
    return {name.lower(): code for code, name in territories.items() if len(code) == 2}


def _country_code(name: str, code: str | None) -> str | None:
    if code and len(code) == 2 and code.isalpha():
        return code.upper()
    return _country_codes_by_name().get(name.strip().lower())


def plan_from_package(package: Package) -> Plan:
    countries = sorted(
        {
            code
            for country in package.countries
            if (code := _country_code(country.name, country.code)) is not None
        }
    )
    location = (package.location or package.location_code or "").upper()
    if package.is_global or location == GLOBAL:
        scope = "global"
    elif len(location) == 2 and len(countries) <= 1:
        scope = "country"
        countries = countries or [location]
    else:
        scope = "region"
    volume = package.volume
    return Plan(
        code=package.package_code,
        name=package.name or package.package_code,
        scope=scope,
        location=location or GLOBAL,
        region=package.region,
        countries=tuple(countries),
        volume_bytes=volume,
        duration_days=package.duration_days or 0,
        price_cents=package.price_cents,
        supports_topup=package.supports_topup,
        max_privacy=bool(package.max_privacy),
        details=_details(package),
    )


def _details(package: Package) -> dict[str, Any]:
    return {
        "speed": package.speed,
        "ip_export": package.ip_export,
        "active_type": package.active_type,
        "description": package.description,
        "sms_status": package.sms_status,
        "non_refundable": package.non_refundable,
        "suggested_retail_cents": package.suggested_retail_price_cents,
        "networks": [
            {
                "country": _country_code(country.name, country.code),
                "name": country.name,
                "operators": [
                    {"name": operator.name, "network_type": operator.network_type}
                    for operator in country.operators
                ],
            }
            for country in package.countries
        ],
    }


class CatalogIndex:
    """Plans by code, by country and by region: everything browsing asks, in memory."""

    def __init__(self, plans: Iterable[Plan] = ()) -> None:
        self.by_code: dict[str, Plan] = {}
        self._country: dict[str, list[Plan]] = defaultdict(list)
        self._covering: dict[str, list[Plan]] = defaultdict(list)
        self._regions: dict[str, list[Plan]] = defaultdict(list)
        self._global: list[Plan] = []
        for plan in sorted(plans, key=_plan_order):
            self._add(plan)

    def _add(self, plan: Plan) -> None:
        self.by_code[plan.code] = plan
        if plan.scope == "country":
            for country in plan.countries:
                self._country[country].append(plan)
            return
        if plan.scope == "global":
            self._global.append(plan)
        else:
            self._regions[plan.location].append(plan)
        for country in plan.countries:
            self._covering[country].append(plan)

    def __len__(self) -> int:
        return len(self.by_code)

    def country_plans(self, country: str) -> list[Plan]:
        return self._country.get(country, [])

    def covering(self, country: str) -> list[Plan]:
        """Regional and global plans that include ``country``."""
        return self._covering.get(country, [])

    def region_plans(self, region: str) -> list[Plan]:
        return self._regions.get(region, [])

    def global_plans(self) -> list[Plan]:
        return self._global

    def regions(self) -> dict[str, str]:
        """Region code -> its name as the reseller spells it."""
        return {code: plans[0].region or code for code, plans in sorted(self._regions.items())}

    def countries(self) -> list[str]:
        """ISO codes of every country with at least one plan of its own or covering it."""
        return sorted(set(self._country) | set(self._covering))


def _plan_order(plan: Plan) -> tuple[int, int, int]:
    return (plan.volume_bytes, plan.duration_days, plan.price_cents)


LOADING, OK, FAILED = "loading", "ok", "failed"


class CatalogService:
    def __init__(
        self,
        storage: Storage,
        reseller: PikaSimClient,
        refresh_hours: float,
        *,
        retry_seconds: float = 2.0,
        retry_max_seconds: float = 300.0,
    ) -> None:
        self._storage = storage
        self._reseller = reseller
        self._refresh_seconds = refresh_hours * 3600
        self._retry_seconds = retry_seconds
        self._retry_max_seconds = retry_max_seconds
        self._lock = asyncio.Lock()
        self._settled = asyncio.Event()  # set when the state first leaves "loading"
        self.index = CatalogIndex()
        self.state = LOADING
        self._task: asyncio.Task[None] | None = None

    @property
    def size(self) -> int:
        return len(self.index)

    @property
    def ready(self) -> bool:
        return self.state == OK

    async def wait_settled(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` seconds) until the first sync has succeeded or failed."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._settled.wait()
        return self._settled.is_set()

    def _settle(self, state: str) -> None:
        self.state = state
        self._settled.set()

    async def load(self) -> None:
        self.index = CatalogIndex(await self._storage.catalog.active())

    async def refresh_if_stale(self) -> bool:
        """Sync unless the saved catalog is fresh; True when a fresh catalog is served."""
        synced_at = await self._storage.meta.get(_SYNCED_AT)
        fresh = synced_at is not None and time.time() - float(synced_at) < self._refresh_seconds
        if not len(self.index):
            await self.load()
        if fresh and len(self.index):
            return True
        return await self.refresh()

    def start(self) -> None:
        """Start :meth:`first_sync` in the background; :meth:`close` stops it."""
        self._task = asyncio.get_running_loop().create_task(self.first_sync(), name="catalog")

    async def close(self) -> None:
        """Stop a first sync still retrying, and release customers waiting for it."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._settled.set()

    async def first_sync(self) -> None:
        """At start: serve a fresh saved catalog or sync one; until there is a catalog to
        serve, retry with backoff (customers are told the shop opens shortly meanwhile)."""
        delay = self._retry_seconds
        while True:
            try:
                synced = await self.refresh_if_stale()
            except Exception:  # a database hiccup must not leave the shop loading forever
                log.exception("the first catalog sync failed")
                synced = False
            if len(self.index):
                if not synced:
                    log.warning("the first catalog sync failed; serving the saved catalog")
                self._settle(OK)
                return
            self._settle(FAILED)
            log.warning("no catalog to sell from yet; retrying the sync in %.0f s", delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._retry_max_seconds)

    async def refresh(self) -> bool:
        """Fetch the whole catalog; on failure keep serving the cached one."""
        async with self._lock:
            try:
                packages = await self._reseller.all_packages(priority=Priority.BACKGROUND)
            except PikaSimError as error:
                log.warning("catalog sync failed, keeping the cached catalog: %s", error)
                return False
            plans = [plan_from_package(p) for p in packages if not p.is_unlimited]
            if not plans:
                log.warning("the reseller returned an empty catalog; keeping the cached one")
                return False
            await self._storage.catalog.replace_all(plans)
            await self._storage.meta.set(_SYNCED_AT, str(time.time()))
            self.index = CatalogIndex(plans)
            log.info(
                "catalog synced: %d plans in %d countries", len(plans), len(self.index.countries())
            )
            return True
