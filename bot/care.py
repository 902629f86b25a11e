"""After the sale: low-data alerts, expiry reminders and "you're connected", without spending
the reseller budget that paying customers need.

The reseller sends no usage events, so a round every ``CARE_INTERVAL_SECONDS`` does two things:

- expiry reminders (3 days and 1 day before, and a note once expired) from the expiry stored
  with each eSIM: no reseller call at all;
- usage polling of the eSIMs whose owners can be told something, most urgent first (least data
  left, then soonest expiry), within a background share of the budget
  (``CARE_BUDGET_PERCENT``): a request starts only while the share has room *and* the budget
  keeps at least a share's worth of slots free for customers, and never while anyone waits.

Each notice is claimed in the database before its message goes (see ``storage.care``), so it
goes once per threshold whatever the rounds and restarts. Low-data notices are keyed by the
eSIM's total data and expiry reminders by the expiry, so a top-up re-arms them.
What the customer reads is the chat side's business: ``CareNotices``, handed in by the wiring.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from bot.esim_data import valid_iccid
from bot.pikasim import PikaSimError, Priority, RateLimited, RequestBudget, Usage
from storage import Storage, Watched

if TYPE_CHECKING:
    from bot.pikasim import PikaSimClient
    from bot.reach import Reach
    from bot.settings import Settings

__all__ = ["Care", "CareNotices", "CareShare", "RoundReport"]

log = logging.getLogger(__name__)

DAY = 86_400
LOW_DATA = (95, 80)  # percent used; the higher first, so a jump past both sends one notice
IN_USE = frozenset({"IN_USE"})
_EXPIRED_NOTE_WITHIN = 2 * DAY  # an eSIM that expired longer ago gets no note


class CareNotices(Protocol):
    """The chat side. Each returns "sent", "blocked" (Forbidden) or "retry" (try next round)."""

    async def low_data(self, watched: Watched, percent: int, left_bytes: int) -> str: ...

    async def expiry(self, watched: Watched, days: int) -> str:
        """``days`` left: 3 or 1; 0 when it has expired."""

    async def connected(self, watched: Watched) -> str: ...


def _always() -> bool:
    return True


class CareShare:
    """At most ``percent`` of the budget's limit per window for polling, and only while the
    budget has more than that much room left for everyone else."""

    def __init__(self, budget: RequestBudget, percent: int) -> None:
        self._budget = budget
        self._percent = percent
        self._ended: deque[float] = deque()  # when our own requests finished (monotonic)

    @property
    def size(self) -> int:
        return max(1, self._budget.effective_limit * self._percent // 100)

    def _used(self, now: float) -> int:
        while self._ended and self._ended[0] <= now - self._budget.window:
            self._ended.popleft()
        return len(self._ended)

    def may_start(self) -> bool:
        size = self.size
        return self._used(time.monotonic()) < size and self._budget.room(Priority.BACKGROUND) > size

    async def wait(self, deadline: float, keep_going: Callable[[], bool] = _always) -> bool:
        """Wait until a request may start; False once ``deadline`` (monotonic) has passed or
        ``keep_going()`` says stop (the bot is shutting down)."""
        while not self.may_start():
            left = deadline - time.monotonic()
            if left <= 0 or not keep_going():
                return False
            await asyncio.sleep(min(0.25, left))
        return True

    def done(self) -> None:
        """One of our requests finished: it counts against the share for a window."""
        self._ended.append(time.monotonic())


class RoundReport:
    def __init__(self) -> None:
        self.polled = 0
        self.notices: list[tuple[str, str]] = []  # (iccid, notice) sent this round
        self.skipped = 0  # eSIMs left for the next round (share used up or time up)


class Care:
    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        reseller: PikaSimClient,
        reach: Reach,
        notices: CareNotices,
    ) -> None:
        self._settings = settings
        self._storage = storage
        self._reseller = reseller
        self._reach = reach
        self._notices = notices
        self.share = CareShare(reseller.budget, settings.care_budget_percent)
        self._running = asyncio.Lock()

    async def run_round(self, keep_going: Callable[[], bool] = _always) -> RoundReport | None:
        """One round; None when the last one is still running (it is never doubled).
        ``keep_going()`` turning False (shutdown) ends the round early."""
        if self._running.locked():
            return None
        async with self._running:
            report = RoundReport()
            watched = [w for w in await self._storage.care.watched() if _tellable(w)]
            for item in watched:
                await self._remind_expiry(item, report)
            if self._settings.care_budget_percent > 0:
                await self._poll(watched, report, keep_going)
            return report

    # -- expiry, from what is stored ----------------------------------------------------------

    async def _remind_expiry(self, watched: Watched, report: RoundReport) -> None:
        expires = _parse_expiry(watched.esim.expires_at)
        if expires is None:
            return
        left = expires - time.time()
        key = watched.esim.expires_at
        if left <= 0:
            if -left <= _EXPIRED_NOTE_WITHIN:
                await self._notify(watched, f"expired:{key}", report, days=0)
        elif left <= DAY:
            await self._notify(watched, f"expiry1:{key}", report, days=1, also=(f"expiry3:{key}",))
        elif left <= 3 * DAY:
            await self._notify(watched, f"expiry3:{key}", report, days=3)

    # -- usage, within the share ----------------------------------------------------------------

    async def _poll(
        self, watched: list[Watched], report: RoundReport, keep_going: Callable[[], bool]
    ) -> None:
        deadline = time.monotonic() + self._settings.care_interval_seconds * 0.9
        due = sorted((w for w in watched if _pollable(w)), key=_urgency)
        for index, item in enumerate(due):
            if not keep_going() or not await self.share.wait(deadline, keep_going):
                report.skipped = len(due) - index
                return
            try:
                usage = await self._reseller.usage(
                    item.esim.iccid, priority=Priority.BACKGROUND, retry=False
                )
            except RateLimited as error:  # the account is busy: the customers come first
                log.info("care round stops: %s", error)
                report.skipped = len(due) - index
                return
            except PikaSimError as error:
                log.info("usage of %s not polled: %s", item.esim.iccid, error)
                continue
            finally:
                self.share.done()
            report.polled += 1
            await self._apply(item, usage, report)

    async def _apply(self, watched: Watched, usage: Usage, report: RoundReport) -> None:
        esim = watched.esim
        total = _bytes(usage.total_data_bytes, usage.total_data_gb, usage.total_data_mb)
        used = _bytes(usage.used_data_bytes, usage.used_data_gb, usage.used_data_mb)
        total = total if total is not None else esim.total_bytes
        used = used if used is not None else esim.used_bytes
        status = (usage.status or esim.status or "").upper() or None
        expires_at = usage.expire_time.isoformat() if usage.expire_time else esim.expires_at
        await self._storage.esims.update_usage(
            esim.iccid,
            status=status,
            smdp_status=usage.smdp_status or esim.smdp_status,
            total_bytes=total,
            used_bytes=used,
            expires_at=expires_at,
        )
        if status != (esim.status or "").upper():
            log.info("eSIM %s: %s -> %s", esim.iccid, esim.status, status)
        if status in IN_USE or (status == "ENABLED" and (used or 0) > 0):
            await self._notify(watched, "connected", report)
        if total and used is not None and status not in ("SUSPENDED", "REVOKED", "CANCELLED"):
            percent = min(100, used * 100 // total)
            for threshold in LOW_DATA:
                if percent >= threshold:
                    lower = tuple(f"low{t}:{total}" for t in LOW_DATA if t < threshold)
                    await self._notify(
                        watched, f"low{threshold}:{total}", report, percent=percent,
                        left=max(0, total - used), also=lower,
                    )  # fmt: skip
                    break

    # -- telling the customer, once -------------------------------------------------------------

    async def _notify(
        self,
        watched: Watched,
        notice: str,
        report: RoundReport,
        *,
        days: int = 0,
        percent: int = 0,
        left: int = 0,
        also: tuple[str, ...] = (),
    ) -> None:
        iccid, user_id = watched.esim.iccid, watched.esim.user_id
        if self._reach.blocked(user_id) or not await self._storage.care.claim(iccid, notice):
            return
        for lesser in also:  # a later notice makes the earlier ones pointless
            await self._storage.care.claim(iccid, lesser)
        notices = self._notices
        if notice == "connected":
            result = await notices.connected(watched)
        elif notice.startswith("low"):
            result = await notices.low_data(watched, percent, left)
        else:
            result = await notices.expiry(watched, days)
        if result == "retry":
            await self._storage.care.release(iccid, notice)
        elif result == "sent":
            report.notices.append((iccid, notice.split(":", 1)[0]))


def _pollable(watched: Watched) -> bool:
    """Worth a reseller call: a valid ICCID, not expired (by its status or stored expiry)."""
    expires = _parse_expiry(watched.esim.expires_at)
    expired = (watched.esim.status or "").upper() == "EXPIRED" or (
        expires is not None and expires <= time.time()
    )
    return valid_iccid(watched.esim.iccid) and not expired


def _tellable(watched: Watched) -> bool:
    return watched.reminders and not watched.blocked


def _urgency(watched: Watched) -> tuple[int, float, float]:
    esim = watched.esim
    in_use = (esim.status or "").upper() not in ("GOT_RESOURCE", "RELEASED", "")
    left = esim.total_bytes - (esim.used_bytes or 0) if esim.total_bytes is not None else math.inf
    expires = _parse_expiry(esim.expires_at)
    return (0 if in_use else 1, left, expires if expires is not None else math.inf)


def _parse_expiry(value: str | None) -> float | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _bytes(exact: int | None, gb: float | None, mb: float | None) -> int | None:
    if exact is not None:
        return exact
    if gb is not None:
        return int(gb * 1024**3)
    if mb is not None:
        return int(mb * 1024**2)
    return None
