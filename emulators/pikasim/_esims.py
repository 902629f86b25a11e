"""The simulated eSIM: installation, data usage over (simulated) time, validity, top-ups."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._packages import Package

__all__ = ["ACTIVE", "FINAL", "SMDP_HOST", "Esim", "EsimStateError"]

SMDP_HOST = "rsp.sandbox.pikasim.test"
ASSET_BASE = "https://sandbox.pikasim.test"
ACTIVE = ("ENABLED", "IN_USE")
FINAL = ("EXPIRED", "CANCELLED")
DAY = 86_400


class EsimStateError(ValueError):
    """The eSIM is not in a state that allows the operation."""


@dataclass
class Esim:
    iccid: str
    order_id: str
    external_order_id: str | None
    package: Package
    matching_id: str
    imsi: str
    msisdn: str | None
    created_at: float
    usage_per_minute: int  # bytes the simulated user consumes per minute once installed
    total_bytes: int = 0
    used_bytes: int = 0
    status: str = "GOT_RESOURCE"
    smdp_status: str = "RELEASED"
    installed_at: float | None = None
    validity_start: float | None = None
    validity_days: int = 0
    accrued_minutes: int = 0
    package_list: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.total_bytes:
            self.total_bytes = self.package.volume
            self.validity_days = self.package.duration
            self.package_list.append(self._package_entry(self.package, self.created_at))

    # -- links --------------------------------------------------------------------------------
    @property
    def activation_code(self) -> str:
        return f"LPA:1${SMDP_HOST}${self.matching_id}"

    @property
    def qr_code_url(self) -> str:
        return f"{ASSET_BASE}/qr/{self.matching_id}.png"

    @property
    def short_url(self) -> str:
        return f"{ASSET_BASE}/e/{self.matching_id.replace('-', '')[:10].lower()}"

    @property
    def lpa_url(self) -> str:
        return f"{ASSET_BASE}/lpa/{self.iccid}"

    @property
    def remaining_bytes(self) -> int:
        return max(0, self.total_bytes - self.used_bytes)

    @property
    def expires_at(self) -> float | None:
        if self.validity_start is None:
            return None
        return self.validity_start + self.validity_days * DAY

    # -- transitions --------------------------------------------------------------------------
    def install(self, now: float) -> None:
        if (self.status, self.smdp_status) != ("GOT_RESOURCE", "RELEASED"):
            raise EsimStateError(f"eSIM {self.iccid} cannot be installed: status {self.status}")
        self.status = self.smdp_status = "ENABLED"
        self.installed_at = now
        if self.package.active_type == 1:  # validity starts on installation
            self.validity_start = now

    def refresh(self, now: float) -> None:
        """Account for the data the user consumed up to ``now`` and for expiry."""
        if self.installed_at is None or self.status in FINAL:
            return
        minutes = int((now - self.installed_at) // 60)
        if minutes > self.accrued_minutes and self.status in ACTIVE:
            if self.validity_start is None:  # activeType 2: first network connection
                self.validity_start = self.installed_at + 60 * (self.accrued_minutes + 1)
            expires_at = self.validity_start + self.validity_days * DAY
            last_minute = min(minutes, int((expires_at - self.installed_at) // 60))
            self._use(max(0, last_minute - self.accrued_minutes) * self.usage_per_minute)
        self.accrued_minutes = max(self.accrued_minutes, minutes)
        expires_at_now = self.expires_at
        if expires_at_now is not None and now >= expires_at_now:
            self.status, self.smdp_status = "EXPIRED", "DISABLED"

    def consume(self, now: float, count: int) -> None:
        self.refresh(now)
        if self.installed_at is None or self.status in FINAL:
            raise EsimStateError(f"eSIM {self.iccid} cannot use data: status {self.status}")
        if self.validity_start is None:
            self.validity_start = now
        self._use(count)

    def add_topup(self, now: float, package: Package) -> None:
        self.refresh(now)
        if self.status in FINAL:
            raise EsimStateError(f"eSIM {self.iccid} cannot be topped up: status {self.status}")
        self.total_bytes += package.volume
        self.validity_days += package.duration
        self.package_list.append(self._package_entry(package, now))
        if self.status == "USED_UP":
            self.status = "IN_USE"

    def cancel(self) -> None:
        self.status, self.smdp_status = "CANCELLED", "REVOKED"

    def _use(self, count: int) -> None:
        if count <= 0 or self.status not in ACTIVE:
            return
        self.used_bytes = min(self.total_bytes, self.used_bytes + count)
        self.status = "USED_UP" if self.used_bytes >= self.total_bytes else "IN_USE"

    @staticmethod
    def _package_entry(package: Package, at: float) -> dict[str, Any]:
        return {"package": package, "createTime": at}
