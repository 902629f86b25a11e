"""What the bot remembers about its customers' eSIMs between reseller answers."""

from __future__ import annotations

from bot.pikasim import Usage
from storage import Esim, Storage

__all__ = ["EsimRecords"]


class EsimRecords:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def remember_usage(self, esim: Esim, usage: Usage) -> None:
        """Keep the reseller's latest figures, so My eSIMs shows remaining data without asking
        again; what the answer lacks keeps its last known value."""
        total, used = usage.total, usage.used
        await self._storage.esims.update_usage(
            esim.iccid,
            status=usage.status or esim.status,
            smdp_status=usage.smdp_status or esim.smdp_status,
            total_bytes=total if total is not None else esim.total_bytes,
            used_bytes=used if used is not None else esim.used_bytes,
            expires_at=usage.expire_time.isoformat() if usage.expire_time else esim.expires_at,
        )
