"""The daily upkeep that keeps a long history cheap: the /stats and /audit roll-ups filled, old
webhook events and audit entries pruned, and the freed pages given back to the file system.

Runs once soon after start and then daily (bot.app schedules it). Every step is idempotent,
so a crash halfway only leaves work for the next run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from storage import Storage, now
from storage.rollup import DAY, today
from storage.stats import StatsRepo

__all__ = ["Upkeep", "UpkeepReport"]

log = logging.getLogger(__name__)

_ROLLUP_DAYS = 30  # the longest /stats period, and /audit 30


@dataclass(frozen=True, slots=True)
class UpkeepReport:
    webhook_events: int  # deleted
    audit_entries: int  # deleted
    vacuum_switched: bool


class Upkeep:
    def __init__(self, storage: Storage, retention_days: int, audit_log_keep: int) -> None:
        self._storage = storage
        self._retention_days = retention_days
        self._audit_log_keep = audit_log_keep

    async def run(self) -> UpkeepReport:
        # /stats then finds every closed day of its longest period already counted
        await StatsRepo(self._storage.db).days(today() - (_ROLLUP_DAYS - 1))
        await self._storage.books.totals((today() - _ROLLUP_DAYS) * DAY, today() * DAY)
        events = await self._storage.webhook_events.prune(now() - self._retention_days * DAY)
        entries = await self._storage.audit.prune(self._audit_log_keep)
        switched = await self._storage.db.reclaim()
        if events or entries or switched:
            log.info("upkeep: pruned %d webhook events, %d audit entries", events, entries)
        return UpkeepReport(events, entries, switched)
