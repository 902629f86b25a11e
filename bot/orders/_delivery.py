"""What the order code needs from the chat side: a small protocol the wiring hands in.

The order code never imports ``handlers``; ``handlers.delivery.Notifier`` implements this. Every
method is safe to repeat: after a crash a step may run again.
"""

from __future__ import annotations

from typing import Protocol

from storage import Esim, Order

__all__ = ["Delivery"]


class Delivery(Protocol):
    def progress_sent(self, order_id: int, message_id: int) -> None:
        """The order's progress message went out (the eSIM may be on the wire before the
        order's row says so: delivery still turns that message into "ready")."""

    async def progress(self, order: Order, stage: str) -> int | None:
        """Show ``stage`` in the order's progress message; returns the message id."""

    async def deliver(self, order: Order, esim: Esim) -> None:
        """Send the eSIM (QR photo and manual-entry details)."""

    async def topup_done(self, order: Order) -> None: ...

    async def refunded(self, order: Order, reason: str) -> None: ...

    async def needs_attention(self, order: Order) -> None: ...

    async def late(self, order: Order) -> None:
        """Tell the customer once that the order is delayed (wait, or ask for a refund)."""

    async def rehearsal_refunded(self, order: Order) -> None:
        """Sandbox mode: the eSIM just delivered is simulated, and the Stars are back."""
