"""What every part of the order code shares: storage, the reseller, alerts, locks, crash points."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from telegram.error import TelegramError

from bot.orders._delivery import Delivery
from storage import Order, OrderStatus, Storage

if TYPE_CHECKING:
    from telegram import Bot

    from bot.alerts import Alerts
    from bot.pikasim import PikaSimClient
    from bot.settings import Settings
    from bot.wallet import Wallet

__all__ = ["CRASH_ENV", "Core", "crash_point", "short"]

log = logging.getLogger("bot.orders")

CRASH_ENV = "ESIM_BOT_CRASH_AT"


def crash_point(name: str) -> None:
    """Fault injection for the crash tests: die here, like a power cut, when asked to."""
    if os.environ.get(CRASH_ENV) == name:
        log.warning("crash point %s reached: exiting abruptly", name)
        os._exit(77)


def short(charge_id: str) -> str:
    return charge_id[:6] + "…" if len(charge_id) > 8 else charge_id


class Core:
    """The shared parts; the bot and the delivery are handed in once the application exists."""

    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        reseller: PikaSimClient,
        alerts: Alerts,
        wallet: Wallet,
        *,
        bot: Bot,
        delivery: Delivery,
        spawn: Callable[[Awaitable[Any]], object] = asyncio.ensure_future,
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.reseller = reseller
        self.alerts = alerts
        self.wallet = wallet
        self.webhooks_expected = False
        self.bot = bot
        self.delivery = delivery
        self._locks: dict[int | str, asyncio.Lock] = {}
        self._waiters: set[asyncio.Task[None]] = set()
        # Application tasks are awaited on its stop(), so work in flight finishes cleanly.
        self.spawn = spawn
        # The facade's advance(): the one way an order moves on (set by ``Orders``).
        self.advance: Callable[[int], Awaitable[Any]] = _not_wired

    # -- locks and background waits ---------------------------------------------------------

    def lock(self, key: int | str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        if len(self._locks) > 1000:  # forget idle locks so the map cannot grow forever
            idle = [k for k, v in self._locks.items() if not v.locked() and not _has_waiters(v)]
            for other in [k for k in idle if k != key]:
                del self._locks[other]
        return lock

    def busy(self, key: int | str) -> bool:
        lock = self._locks.get(key)
        return lock is not None and lock.locked()

    def wait_then(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        """Run something that mostly sleeps; shutdown cancels it (the reconciler covers it)."""
        task = asyncio.ensure_future(coroutine)
        self._waiters.add(task)
        task.add_done_callback(self._waiters.discard)

    async def cancel_waits(self) -> None:
        for task in list(self._waiters):
            task.cancel()
        await asyncio.gather(*self._waiters, return_exceptions=True)

    # -- telling people ---------------------------------------------------------------------

    async def progress(self, order: Order, stage: str) -> None:
        if order.is_topup and stage != "delayed":
            return
        try:
            message_id = await self.delivery.progress(order, stage)
        except TelegramError as error:
            log.info("progress message for %s not shown: %s", order.reference, error)
            return
        if message_id is not None and message_id != order.progress_message_id:
            await self.storage.orders.update(order, progress_message_id=message_id)

    async def needs_attention(self, order: Order, why: str, **changes: Any) -> Order:
        order = await self.storage.orders.transition(
            order, OrderStatus.NEEDS_ATTENTION, failure_reason=why[:200], **changes
        )
        await self.alerts.send(
            f"attention-{order.reference}",
            f"Order {order.reference} needs attention: {why}. See /order {order.reference}.",
            critical=True,
        )
        await self.tell(self.delivery.needs_attention(order), order)
        return order

    async def tell(self, message: Awaitable[Any], order: Order) -> None:
        """Send a customer message; a failure to tell never stops the money path."""
        try:
            await message
        except TelegramError as error:
            log.info("could not tell the customer about %s: %s", order.reference, error)


async def _not_wired(order_id: int) -> None:
    raise RuntimeError("the order facade has not wired advance()")


def _has_waiters(lock: asyncio.Lock) -> bool:
    # A lock just released still has its woken waiter queued: dropping it then would let a
    # newcomer take a second lock for the same order.
    return bool(getattr(lock, "_waiters", None))
