"""The reseller wallet as last seen, so pre-checkout can decide locally and admins get alerts."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from bot.pikasim import PikaSimError, Priority
from bot.pricing import usd

if TYPE_CHECKING:
    from bot.alerts import Alerts
    from bot.pikasim import PikaSimClient

__all__ = ["Wallet"]

log = logging.getLogger(__name__)

_REREAD_SECONDS = 30.0


class Wallet:
    def __init__(self, reseller: PikaSimClient, alerts: Alerts, low_balance_cents: int) -> None:
        self._reseller = reseller
        self._alerts = alerts
        self._low_balance_cents = low_balance_cents
        self.cents: int | None = None  # unknown until the first successful read
        self._read_at = float("-inf")
        self.reread_seconds = _REREAD_SECONDS

    async def refresh(self) -> int | None:
        try:
            balance = await self._reseller.balance(priority=Priority.BACKGROUND)
        except PikaSimError as error:
            log.info("could not read the wallet balance: %s", error)
            return self.cents
        self.seen(balance.balance_cents)
        self._read_at = time.monotonic()
        return self.cents

    def seen(self, cents: int) -> None:
        self.cents = cents

    def spent(self, cents: int) -> None:
        """Keep the local figure close between reads: an order was just charged."""
        if self.cents is not None:
            self.cents -= cents

    def credit(self, cents: int) -> None:
        """A cancel refunded ``cents`` to the wallet."""
        if self.cents is not None:
            self.cents += cents

    def can_cover(self, cents: int) -> bool:
        return self.cents is None or self.cents >= cents

    async def can_cover_now(self, cents: int) -> bool:
        """``can_cover``, re-reading the balance first (at most every 30 s) when the local
        figure says no: a deposit must help the next customer, not after the next refresh."""
        if self.can_cover(cents):
            return True
        if time.monotonic() - self._read_at >= self.reread_seconds:
            await self.refresh()
        return self.can_cover(cents)

    async def alert_if_low(self) -> None:
        if self.cents is not None and self.cents < self._low_balance_cents:
            await self._alerts.send(
                "low-balance",
                f"The reseller wallet is low: {usd(self.cents)} (alert threshold"
                f" {usd(self._low_balance_cents)}). Top it up with /deposit.",
            )
