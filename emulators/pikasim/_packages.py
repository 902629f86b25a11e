"""The package record of the simulated catalog and its JSON form."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ._util import GB, money, num

__all__ = ["Network", "Package", "retail_price"]


@dataclass(frozen=True)
class Network:
    location_name: str
    location_code: str
    operators: tuple[tuple[str, str], ...]  # (operatorName, networkType)

    def to_json(self) -> dict[str, Any]:
        return {
            "locationName": self.location_name,
            "locationCode": self.location_code,
            "operatorList": [
                {"operatorName": name, "networkType": kind} for name, kind in self.operators
            ],
        }


@dataclass(frozen=True)
class Package:
    code: str
    name: str
    place: str  # "Japan", "Europe", "Global"
    location: str  # ISO code, region code or "GL"
    location_code: str | None  # ISO code; None for multi-country plans
    region: str | None  # region name for multi-country plans
    networks: tuple[Network, ...]
    volume_gb: float
    duration: int
    speed: str
    price: int
    ip_export: str | None
    max_privacy: bool
    support_topup: bool
    active_type: int
    non_refundable: bool = False
    plan_type: str = "data"  # data | data_voice_sms | topup
    voice_minutes: int = 0
    sms_count: int = 0

    @property
    def volume(self) -> int:
        return int(self.volume_gb * GB)

    @property
    def is_global(self) -> bool:
        return self.location == "GL"

    @property
    def is_topup(self) -> bool:
        return self.plan_type == "topup"

    @property
    def has_voice(self) -> bool:
        return self.plan_type == "data_voice_sms"

    @property
    def slug(self) -> str:
        return self.name.lower().replace(" ", "-").replace(".", "-")

    def to_json(self) -> dict[str, Any]:
        retail = retail_price(self.price)
        return {
            "packageCode": self.code,
            "name": self.name,
            "slug": self.slug,
            "location": self.location,
            "locationCode": self.location_code,
            "region": self.region,
            "isGlobalPackage": self.is_global,
            "locationNetworkList": [network.to_json() for network in self.networks],
            "volume": self.volume,
            "volumeGB": num(self.volume_gb),
            "dataType": 1,
            "duration": self.duration,
            "durationUnit": "DAY",
            "speed": self.speed,
            "price": self.price,
            "priceFormatted": money(self.price),
            "suggestedRetailPrice": retail,
            "suggestedRetailPriceFormatted": money(retail),
            "currency": "USD",
            "ipExport": self.ip_export,
            "maxPrivacy": self.max_privacy,
            "smsStatus": 1 if self.has_voice else 0,
            "supportTopUpType": self.support_topup,
            "activeType": self.active_type,
            "description": self.description(),
            "planType": self.plan_type,
            "hasVoice": self.has_voice,
            "hasSms": self.has_voice,
            "voiceMinutes": self.voice_minutes,
            "smsCount": self.sms_count,
            "phoneNumberIncluded": self.has_voice,
            "nonRefundable": self.non_refundable,
            "requiresActivationDate": False,
            "isTopUp": self.is_topup,
        }

    def description(self) -> str:
        data = volume_label(self.volume_gb)
        if self.is_topup:
            return f"{data} top-up for {self.place} eSIMs, adds {self.duration} days"
        extra = " with a phone number, calls and SMS" if self.has_voice else ""
        return f"{self.duration}-day {self.place} eSIM with {data} data{extra}"


def volume_label(volume_gb: float) -> str:
    return f"{int(volume_gb * 1024)}MB" if volume_gb < 1 else f"{num(volume_gb)}GB"


def retail_price(cost: int) -> int:
    """API prices are 10% below the website price; round that up to a ``.x9`` price."""
    return math.ceil(cost / 0.9 / 10) * 10 - 1
