"""A deterministic (per seed) catalog of data, phone and top-up packages."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

from ._geo import COUNTRIES, GLOBAL, REGIONS, Country, Region
from ._packages import Network, Package, volume_label

__all__ = ["Catalog", "PackageQuery", "build_catalog"]

Combo = tuple[int, float]  # (duration days, volume GB)
# fmt: off
_COUNTRY_COMBOS: tuple[Combo, ...] = (
    (1, 0.5), (1, 1), (3, 1), (3, 2), (7, 2), (7, 3), (7, 5), (10, 3), (10, 5),
    (15, 2), (15, 5), (15, 10), (30, 3), (30, 10), (30, 20), (30, 50),
)
_MULTI_COMBOS: tuple[Combo, ...] = (
    (1, 1), (7, 3), (10, 2), (15, 5), (30, 3), (30, 10), (30, 20), (30, 50),
)
# fmt: on
_ANCHORS: tuple[Combo, ...] = ((7, 1), (15, 3), (30, 5))  # JP_7D_1GB, GL_15D_3GB, EU_30D_5GB...
_TOPUPS: tuple[Combo, ...] = ((7, 1), (15, 3), (30, 5), (30, 10))
_PHONE_COUNTRIES = ("US", "GB", "CA", "AU", "DE", "FR", "ES", "JP")
_MAX_PRIVACY_EXITS = ("US", "NL", "SG", "DE", "GB", "JP")
_RETIRED = {"JP_5D_1GB": "JP_7D_1GB", "US_5D_1GB": "US_7D_1GB", "TH_5D_1GB": "TH_7D_1GB"}


@dataclass(frozen=True)
class _Place:
    location: str
    name: str
    location_code: str | None
    region: str | None
    price_index: int
    networks: tuple[Network, ...]
    standard_only: bool = False


@dataclass
class PackageQuery:
    country: str | None = None
    region: str | None = None
    duration: int | None = None
    min_data: float | None = None
    max_data: float | None = None
    privacy: str = "all"  # max | standard | all
    type: str = "data"  # data | phone | topup | all

    def matches(self, package: Package) -> bool:
        checks = (
            self.country is None or package.location_code == self.country.upper(),
            self.region is None or _in_region(package, self.region),
            self.duration is None or package.duration == self.duration,
            self.min_data is None or package.volume_gb >= self.min_data,
            self.max_data is None or package.volume_gb <= self.max_data,
            self.privacy == "all" or package.max_privacy == (self.privacy == "max"),
            _type_matches(package, self.type),
        )
        return all(checks)


def _in_region(package: Package, region: str) -> bool:
    wanted = region.strip().lower()
    if package.region is not None and package.region.lower() == wanted:
        return True
    return package.location_code is None and package.location.lower() == wanted


def _type_matches(package: Package, kind: str) -> bool:
    if kind == "topup":
        return package.is_topup
    if package.is_topup:
        return False
    return kind == "all" or (kind == "phone") == package.has_voice


@dataclass
class Catalog:
    packages: dict[str, Package]  # sellable: data and phone plans
    topups: dict[str, Package]
    retired: dict[str, str] = field(default_factory=lambda: dict(_RETIRED))

    def get(self, code: str) -> Package | None:
        return self.packages.get(code) or self.topups.get(code)

    def search(self, query: PackageQuery) -> list[Package]:
        pool = list(self.topups.values()) if query.type == "topup" else self.packages.values()
        return [package for package in pool if query.matches(package)]

    def topup_options(self, package: Package) -> list[Package]:
        if not package.support_topup:
            return []
        return [p for p in self.topups.values() if p.location == package.location]

    @property
    def countries(self) -> set[str]:
        return {p.location_code for p in self.packages.values() if p.location_code}


def build_catalog(seed: int) -> Catalog:
    packages: list[Package] = []
    topups: list[Package] = []
    for place, rng, extra in _places(seed):
        combos = _pick_combos(rng, place, extra)
        block = [_package(rng, place, duration, volume) for duration, volume in combos]
        packages += block
        if any(p.support_topup for p in block):
            topups += [_topup(rng, place, duration, volume) for duration, volume in _TOPUPS]
    packages += _phone_packages(seed)
    packages.sort(key=_sort_key)
    return Catalog({p.code: p for p in packages}, {p.code: p for p in topups})


def _sort_key(package: Package) -> tuple[int, str, int, float, str]:
    kind = 0 if package.location_code else (2 if package.is_global else 1)
    return (kind, package.location, package.duration, package.volume_gb, package.code)


def _places(seed: int) -> list[tuple[_Place, random.Random, int]]:
    places = []
    for country in COUNTRIES:
        rng = random.Random(f"catalog-{seed}-{country.code}")
        extra = rng.randint(6, 8) if country.major else rng.randint(3, 5)
        places.append((_country_place(rng, country), rng, extra))
    for region in (*REGIONS, GLOBAL):
        rng = random.Random(f"catalog-{seed}-{region.code}")
        places.append((_region_place(rng, region), rng, rng.randint(3, 5)))
    return places


def _country_place(rng: random.Random, country: Country) -> _Place:
    network = _network(rng, country, len(country.operators))
    return _Place(
        country.code,
        country.name,
        country.code,
        None,
        country.price_index,
        (network,),
        standard_only=country.code == "CN",
    )


def _region_place(rng: random.Random, region: Region) -> _Place:
    if region.code == "GL":
        members, per_country = list(COUNTRIES), 1
    else:
        members, per_country = [c for c in COUNTRIES if region.code in c.regions], 2
    networks = tuple(_network(rng, country, per_country) for country in members)
    return _Place(region.code, region.name, None, region.name, region.price_index, networks)


def _network(rng: random.Random, country: Country, count: int) -> Network:
    share_5g = 0.6 if country.major else 0.25
    operators = tuple(
        (name, "5G" if rng.random() < share_5g else "4G") for name in country.operators[:count]
    )
    return Network(country.name, country.code, operators)


def _pick_combos(rng: random.Random, place: _Place, extra: int) -> list[Combo]:
    pool = _MULTI_COMBOS if place.location_code is None else _COUNTRY_COMBOS
    return [*_ANCHORS, *rng.sample(pool, extra)]


def _price(rng: random.Random, index: int, duration: int, volume: float) -> int:
    base = index * volume**0.65 * (1 + 0.015 * (duration - 7))
    return max(49, round(base * rng.uniform(0.95, 1.05)))


def _code(location: str, duration: int, volume: float) -> str:
    return f"{location}_{duration}D_{volume_label(volume)}"


def _plan_name(place: str, duration: int, volume: float) -> str:
    days = "Day" if duration == 1 else "Days"
    return f"{place} {duration} {days} {volume_label(volume)}"


def _package(rng: random.Random, place: _Place, duration: int, volume: float) -> Package:
    max_privacy = not place.standard_only and rng.random() < 0.6
    if max_privacy:
        ip_export: str | None = rng.choice(_MAX_PRIVACY_EXITS)
    else:
        ip_export = rng.choice(("HK", None))
    fast = any(kind == "5G" for network in place.networks for _, kind in network.operators)
    return Package(
        code=_code(place.location, duration, volume),
        name=_plan_name(place.name, duration, volume),
        place=place.name,
        location=place.location,
        location_code=place.location_code,
        region=place.region,
        networks=place.networks,
        volume_gb=volume,
        duration=duration,
        speed="4G/5G" if fast else rng.choice(("4G/LTE", "3G/4G")),
        price=_price(rng, place.price_index, duration, volume),
        ip_export=ip_export,
        max_privacy=max_privacy,
        support_topup=rng.random() < 0.85,
        active_type=rng.choice((1, 2)),
        non_refundable=rng.random() < 0.05,
    )


def _topup(rng: random.Random, place: _Place, duration: int, volume: float) -> Package:
    base = _package(rng, place, duration, volume)
    return replace(
        base,
        code=f"{place.location}_TOPUP_{volume_label(volume)}",
        name=f"{place.name} Top-up {volume_label(volume)}",
        price=round(base.price * 0.95),
        support_topup=False,
        non_refundable=True,
        plan_type="topup",
    )


def _phone_packages(seed: int) -> list[Package]:
    result = []
    for country in COUNTRIES:
        if country.code not in _PHONE_COUNTRIES:
            continue
        rng = random.Random(f"catalog-{seed}-{country.code}-phone")
        place = _country_place(rng, country)
        for duration, volume in ((15, 5), (30, 10)):
            data = _package(rng, place, duration, volume)
            result.append(
                replace(
                    data,
                    code=f"{country.code}_PHONE_{duration}D_{volume_label(volume)}",
                    name=f"{country.name} {duration} Days {volume_label(volume)} + Calls & SMS",
                    price=round(data.price * 1.6),
                    plan_type="data_voice_sms",
                    voice_minutes=rng.choice((-1, 100, 300)),
                    sms_count=rng.choice((-1, 100)),
                )
            )
    return result
