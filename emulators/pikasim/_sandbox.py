"""``Sandbox``: the state of one simulated reseller account, its fault knobs and its tasks."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Coroutine
from typing import Any

from ._catalog import Catalog, build_catalog
from ._clock import Clock
from ._config import SandboxConfig
from ._esims import Esim
from ._faults import Faults, RateLimiter
from ._ids import IdFactory
from ._models import Deposit, Order, RecordedRequest, Topup, Transaction, WebhookDelivery
from ._shop import Shop
from ._wallet import Wallet
from ._webhooks import WebhookSender

__all__ = ["Sandbox"]

log = logging.getLogger("emulators.pikasim")


class Sandbox:
    """One simulated PikaSim reseller account. ``create_app`` serves it over HTTP."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        cfg = self.config
        self.clock = Clock()
        self.catalog: Catalog = build_catalog(cfg.seed)
        ids = IdFactory(cfg.seed if cfg.id_seed is None else cfg.id_seed)
        self.wallet = Wallet(ids, self.clock.now)
        self.wallet.post("deposit", cfg.initial_balance_cents, "Initial sandbox deposit")
        self.faults = Faults()
        self.limiter = RateLimiter(cfg)
        self.webhooks = WebhookSender(cfg, self.clock)
        self.webhooks.url = cfg.webhook_url
        self.shop = Shop(
            cfg,
            catalog=self.catalog,
            wallet=self.wallet,
            clock=self.clock,
            ids=ids,
            webhooks=self.webhooks,
            spawn=self._spawn,
        )
        self.requests: list[RecordedRequest] = []
        self._tasks: set[asyncio.Task[None]] = set()

    # -- inspection ---------------------------------------------------------------------------
    @property
    def balance_cents(self) -> int:
        return self.wallet.balance

    @property
    def orders(self) -> dict[str, Order]:
        return self.shop.orders

    @property
    def esims(self) -> dict[str, Esim]:
        return self.shop.esims

    @property
    def topups(self) -> dict[str, Topup]:
        return self.shop.topups

    @property
    def deposits(self) -> dict[str, Deposit]:
        return self.shop.deposits

    @property
    def transactions(self) -> list[Transaction]:
        return self.wallet.transactions

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Every delivery attempt that went on the wire (retries and duplicates included)."""
        return self.webhooks.deliveries

    @property
    def dropped_webhooks(self) -> list[WebhookDelivery]:
        return self.webhooks.dropped

    @property
    def webhook_url(self) -> str | None:
        return self.webhooks.url

    def now(self) -> float:
        """The simulated time (wall clock plus everything ``advance`` added)."""
        return self.clock.now()

    # -- fault knobs --------------------------------------------------------------------------
    def fail_next(
        self,
        count: int = 1,
        status: int = 500,
        path_prefix: str | None = None,
        after: bool = False,
    ) -> None:
        """Answer the next ``count`` authenticated API requests (optionally only those whose
        path starts with ``path_prefix``, with or without ``/api/v1/reseller``) with ``status``.
        ``after=True`` runs the handler first, so e.g. the order IS created but the client
        sees the error."""
        self.faults.fail_next(count, status, path_prefix, after)

    def fail_for(self, seconds: float, status: int = 500) -> None:
        self.faults.fail_for(time.time(), seconds, status)

    def rate_limit_for(self, seconds: float) -> None:
        """A 429 storm: every API request answers 429 (with rate-limit headers) for a while."""
        self.faults.storm_until = time.time() + seconds

    def drop_webhooks(self, count: int = 1) -> None:
        self.webhooks.drop_count += count

    def duplicate_webhooks(self, count: int = 1) -> None:
        self.webhooks.duplicate_count += count

    def delay_webhooks(self, seconds: float) -> None:
        """Hold every following webhook back this long (simulated seconds); 0 switches off."""
        self.webhooks.delay = seconds

    def fail_orders(self, count: int = 1, reason: str = "No stock") -> None:
        self.shop.order_failures += [reason] * count

    def hostile_esims(
        self, count: int = 1, iccid: str | None = None, matching_id: str | None = None
    ) -> None:
        """The next ``count`` eSIMs carry this ICCID and/or matching id (so activation code)
        as given, however malformed: for testing that the bot distrusts reseller data."""
        override = {"iccid": iccid, "matching_id": matching_id}
        self.shop.esim_overrides += [override] * count

    def rename_package(self, code: str, name: str) -> None:
        """Give a package any name, however hostile (HTML, thousands of characters)."""
        package = self.catalog.packages.get(code)
        if package is None:
            raise KeyError(code)
        self.catalog.packages[code] = dataclasses.replace(package, name=name)

    def clear_faults(self) -> None:
        self.faults.clear()
        self.webhooks.clear_faults()
        self.shop.order_failures.clear()
        self.shop.esim_overrides.clear()

    def set_balance(self, cents: int) -> None:
        self.wallet.set_balance(cents)

    def complete_deposit(self, deposit_id: str) -> Transaction:
        """Credit a Stripe session / BTCPay invoice, as if the customer had paid it."""
        return self.shop.complete_deposit(deposit_id)

    # -- simulated customer -------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Move the simulated clock: data usage grows, validity passes, delays elapse."""
        self.clock.advance(seconds)
        now = self.clock.now()
        for esim in self.esims.values():
            esim.refresh(now)

    def install(self, iccid: str) -> Esim:
        esim = self._esim(iccid)
        esim.install(self.clock.now())
        return esim

    def consume(self, iccid: str, bytes_used: int) -> Esim:
        esim = self._esim(iccid)
        esim.consume(self.clock.now(), bytes_used)
        return esim

    def _esim(self, iccid: str) -> Esim:
        try:
            return self.esims[iccid]
        except KeyError:
            raise KeyError(f"unknown eSIM {iccid}") from None

    # -- background work ----------------------------------------------------------------------
    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("sandbox background task failed", exc_info=task.exception())

    @property
    def pending_tasks(self) -> int:
        return len(self._tasks)

    async def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until no provisioning, top-up or webhook task is pending."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._tasks:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"{len(self._tasks)} sandbox task(s) still pending")
            await asyncio.wait(set(self._tasks), timeout=remaining)

    async def aclose(self) -> None:
        """Cancel whatever is still pending (provisioning, webhook retries)."""
        tasks = set(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
